// The benchmark's peer: oauth2-mock-server with one RS256 key (what mockauth
// signs with), on a free loopback port, printed as "Listening on URL".
import { OAuth2Server } from "oauth2-mock-server";

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
await server.start(0, "127.0.0.1");
console.log(`Listening on ${server.issuer.url}`);
