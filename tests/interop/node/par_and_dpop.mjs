// Drives openid-client (Node) through PAR and DPoP against a mockauth issuer
// and one of its mock protected resources, printing one JSON line.
//   node par_and_dpop.mjs par ISSUER CLIENT_ID SECRET REDIRECT RESOURCE [dpop]
//     the code flow with PKCE through a pushed authorization request (RFC 9126):
//     pushes, opens the authorization URL as a browser would (no redirect
//     followed), redeems the code, calls the resource; with "dpop", every step
//     carries DPoP proofs of one key (RFC 9449).
//   node par_and_dpop.mjs dpop ISSUER CLIENT_ID SECRET RESOURCE
//     client_credentials with DPoP, then the resource with the bound token
//     (openid-client retries by itself when told use_dpop_nonce).
// Over https, Node trusts the test CA through NODE_EXTRA_CA_CERTS.
import * as client from "openid-client";

const [mode, issuer, clientId, secret, ...rest] = process.argv.slice(2);
const print = (value) => console.log(JSON.stringify(value));

async function callResource(config, tokens, resource, options) {
  const answer = await client.fetchProtectedResource(
    config, tokens.access_token, new URL(resource), "GET", undefined, undefined, options);
  return { status: answer.status, body: await answer.json() };
}

try {
  const config = await client.discovery(new URL(issuer), clientId, secret);
  if (mode === "par") {
    const [redirectUri, resource, withDpop] = rest;
    const options = withDpop ? { DPoP: client.getDPoPHandle(config,
      await client.randomDPoPKeyPair("ES256")) } : undefined;
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: redirectUri, scope: "openid", state, resource,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
    }, options);
    const browser = await fetch(url, { redirect: "manual" });
    const location = browser.headers.get("location");
    if (!location) throw new Error(`authorize answered ${browser.status}: ${await browser.text()}`);
    const tokens = await client.authorizationCodeGrant(config, new URL(location),
      { pkceCodeVerifier: verifier, expectedState: state }, { resource }, options);
    print({ authorization_url: url.href, token_type: tokens.token_type,
            access_token: tokens.access_token, sub: tokens.claims()?.sub ?? null,
            resource: await callResource(config, tokens, resource, options) });
  } else if (mode === "dpop") {
    const [resource] = rest;
    const options = { DPoP: client.getDPoPHandle(config, await client.randomDPoPKeyPair("ES256")) };
    const tokens = await client.clientCredentialsGrant(config, { resource }, options);
    print({ token_type: tokens.token_type, access_token: tokens.access_token,
            resource: await callResource(config, tokens, resource, options) });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (error) {
  print({ error: String(error), code: error.code ?? null, cause: String(error.cause ?? "") });
  process.exitCode = 1;
}
