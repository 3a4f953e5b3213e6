// Drives openid-client (Node) against a mockauth issuer, printing JSON lines.
//   node device_and_assertion.mjs device ISSUER CLIENT_ID
//     the device flow (RFC 8628): prints the device authorization response,
//     then polls until the token endpoint answers, and prints the tokens.
//   node device_and_assertion.mjs private_key_jwt ISSUER CLIENT_ID PRIVATE_JWK
//     client_credentials authenticated by private_key_jwt (RFC 7523 2.2).
//   node device_and_assertion.mjs register ISSUER - METADATA_JSON
//     dynamic registration (RFC 7591), then client_credentials as the new client.
// Over https, Node trusts the test CA through NODE_EXTRA_CA_CERTS.
import * as client from "openid-client";

const [mode, issuer, clientId, extra] = process.argv.slice(2);
const print = (value) => console.log(JSON.stringify(value));

try {
  if (mode === "device") {
    const config = await client.discovery(new URL(issuer), clientId, {}, client.None());
    const started = await client.initiateDeviceAuthorization(config, { scope: "openid" });
    print(started);
    const tokens = await client.pollDeviceAuthorizationGrant(config, started);
    print({ token_type: tokens.token_type, access_token: tokens.access_token,
            id_token: tokens.id_token ?? null, sub: tokens.claims()?.sub ?? null });
  } else if (mode === "private_key_jwt") {
    const jwk = JSON.parse(extra);
    const key = await crypto.subtle.importKey(
      "jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const config = await client.discovery(
      new URL(issuer), clientId, {}, client.PrivateKeyJwt({ key, kid: jwk.kid }));
    const tokens = await client.clientCredentialsGrant(config, { scope: "api" });
    print({ token_type: tokens.token_type, access_token: tokens.access_token });
  } else if (mode === "register") {
    const config = await client.dynamicClientRegistration(new URL(issuer), JSON.parse(extra));
    const tokens = await client.clientCredentialsGrant(config);
    print({ client_id: config.clientMetadata().client_id,
            registration_client_uri: config.clientMetadata().registration_client_uri,
            token_type: tokens.token_type, access_token: tokens.access_token });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (error) {
  print({ error: String(error), code: error.code ?? null, cause: String(error.cause ?? "") });
  process.exitCode = 1;
}
