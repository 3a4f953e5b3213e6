// Drives openid-client (Node) against a mockauth issuer: discovery, the
// client_credentials grant and introspection, printing one JSON line of what
// it saw. Usage: node client_credentials.mjs ISSUER CLIENT_ID CLIENT_SECRET
// Over https, Node trusts the test CA through NODE_EXTRA_CA_CERTS.
import * as client from "openid-client";

const [issuer, clientId, clientSecret] = process.argv.slice(2);
try {
  const config = await client.discovery(new URL(issuer), clientId, clientSecret);
  const tokens = await client.clientCredentialsGrant(config);
  const introspection = await client.tokenIntrospection(config, tokens.access_token);
  const metadata = config.serverMetadata();
  console.log(JSON.stringify({
    issuer: metadata.issuer,
    token_endpoint: metadata.token_endpoint,
    token_type: tokens.token_type,
    expires_in: tokens.expires_in,
    access_token: tokens.access_token,
    active: introspection.active,
    client_id: introspection.client_id,
  }));
} catch (error) {
  console.log(JSON.stringify({ error: String(error), code: error.code ?? null, cause: String(error.cause ?? "") }));
  process.exitCode = 1;
}
