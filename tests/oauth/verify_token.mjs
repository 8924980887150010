// SPDX-License-Identifier: Apache-2.0
// verify_token.mjs JWKS_URI ISSUER AUDIENCE < TOKENS - verify each token
// (one a line) with npm jose against the JWKS the appliance publishes,
// fetched over TLS (NODE_EXTRA_CA_CERTS: the test CA), as any downstream
// resource server would.  Prints one JSON line per token: {ok, header,
// payload} or {ok: false, code, message}.
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createInterface } from 'node:readline';

const [jwksUri, issuer, audience] = process.argv.slice(2);
const jwks = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 0 });
const lines = createInterface({ input: process.stdin });

for await (const token of lines) {
  if (token === '')
    continue;
  try {
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer, audience, algorithms: ['ES256'], typ: 'at+jwt',
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
    });
    console.log(JSON.stringify({ ok: true, header: protectedHeader,
      payload }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, code: e.code,
      message: e.message }));
  }
}
