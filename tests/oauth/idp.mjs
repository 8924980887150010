// SPDX-License-Identifier: Apache-2.0
// idp.mjs - a real OpenID provider (npm oidc-provider) on loopback for the
// tests, with knobs that make its token endpoint misbehave.
//
//   node idp.mjs [--stdin] CONFIG.json
//
// Listens on 127.0.0.1 (the config's "port", default 0: any free port) and
// prints one line "ready <issuer>" on stdout.  Exits on SIGTERM or SIGINT,
// and with --stdin also when standard input ends (the harness holds a pipe,
// so a test that dies leaves no provider behind).  docs/testing.md lists the
// configuration keys and the /__test/ endpoints.
import './node-version.mjs';
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import Provider, { errors } from 'oidc-provider';
import { SignJWT, createLocalJWKSet, createRemoteJWKSet, decodeJwt,
	decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, jwtVerify }
	from 'jose';

const MODES = /^(normal|hang|garbage|huge|5\d\d)$/;
const HUGE = 10 * 1024 * 1024;
// Token request parameters whose values are credentials: the request log
// keeps a hash of them, enough to tell two values apart.
const SECRET = new Set(['client_secret', 'client_assertion', 'code',
	'code_verifier', 'refresh_token', 'assertion', 'subject_token',
	'actor_token', 'password']);
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
// On-behalf-of: RFC 8693 token exchange and RFC 7523 section 2.1.
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TT = 'urn:ietf:params:oauth:token-type:';
const DOWNSTREAM = 'urn:agentvault:test:downstream';

function die(msg) {
	process.stderr.write(`idp: ${msg}\n`);
	process.exit(2);
}

// Standard output carries the "ready" line only: the provider's notices go
// to standard error.
console.info = console.error;
console.log = console.error;

const args = process.argv.slice(2);
const watchStdin = args[0] === '--stdin';
if (watchStdin)
	args.shift();
if (args.length !== 1)
	die('usage: node idp.mjs [--stdin] CONFIG.json');
let cfg;
try {
	cfg = JSON.parse(readFileSync(args[0], 'utf8'));
} catch (e) {
	die(`${args[0]}: ${e.message}`);
}
if (!Array.isArray(cfg.clients))
	die(`${args[0]}: "clients" must be a list`);

let mode = { token: 'normal', times: null };
let requests = [];
const refreshTokens = new Set();
// The on-behalf-of exchanges so far, what each grant checked; an injected
// refusal; the actor JWT issuers trusted (issuer -> JWKS).
let exchanges = [];
let exchangeFail = null;
const actorIssuers = new Map();

// The token endpoint answers as the mode says; "times" puts it back to
// normal after that many requests.
function takeMode() {
	const m = mode.token;
	if (m !== 'normal' && mode.times !== null && --mode.times <= 0)
		mode = { token: 'normal', times: null };
	return m;
}

function digest(v) {
	const h = createHash('sha256').update(String(v)).digest('hex');
	return `<redacted sha256:${h.slice(0, 16)}>`;
}

function readBody(req, limit) {
	return new Promise((resolve, reject) => {
		const chunks = [];
		let n = 0;
		req.on('data', (c) => {
			n += c.length;
			if (n > limit) {
				reject(new Error('request body too large'));
				req.destroy();
				return;
			}
			chunks.push(c);
		});
		req.on('end', () => resolve(Buffer.concat(chunks).toString()));
		req.on('error', reject);
	});
}

// One log entry: what the client sent, with credentials hashed, and how
// it authenticated.
function record(headers, body, m) {
	const params = {};
	for (const [k, v] of Object.entries(body ?? {}))
		params[k] = SECRET.has(k) ? digest(v) : v;
	const e = {
		time: new Date().toISOString(),
		grant_type: body?.grant_type ?? null,
		client_id: body?.client_id ?? null,
		auth_method: 'none',
		params,
		mode: m,
		status: null,
	};
	const auth = headers.authorization ?? '';
	if (/^basic /i.test(auth)) {
		e.auth_method = 'client_secret_basic';
		const user = Buffer.from(auth.slice(6).trim(), 'base64')
			.toString().split(':')[0];
		try {
			e.client_id = decodeURIComponent(user.replace(/\+/g, ' '));
		} catch {
			e.client_id = user;
		}
	} else if (body?.client_assertion_type === JWT_BEARER) {
		try {
			const h = decodeProtectedHeader(body.client_assertion);
			const claims = decodeJwt(body.client_assertion);
			e.auth_method = /^HS/.test(h.alg) ? 'client_secret_jwt' :
				'private_key_jwt';
			e.assertion = { alg: h.alg, kid: h.kid ?? null, claims };
			e.client_id ??= claims.sub ?? null;
		} catch {
			e.auth_method = 'invalid_assertion';
		}
	} else if (body?.client_secret !== undefined) {
		e.auth_method = 'client_secret_post';
	}
	requests.push(e);
	return e;
}

function hugeBody() {
	const head = '{"access_token":"';
	const tail = '","token_type":"Bearer","expires_in":60}';
	return Buffer.from(head + 'A'.repeat(HUGE - head.length - tail.length) +
		tail);
}

async function signingKeys() {
	const keys = [];
	for (const [alg, kid] of [['RS256', 'test-rs256'],
	    ['ES256', 'test-es256']]) {
		const { privateKey } = await generateKeyPair(alg,
			{ extractable: true });
		keys.push({ ...await exportJWK(privateKey), kid, alg,
			use: 'sig' });
	}
	return keys;
}

// ---- on-behalf-of grants ----

function publicKeys(keys) {
	return keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub);
}

// A subject token (or assertion): a JWT this provider signed, for anyone.
async function verifySubject(token, jwks, issuer) {
	try {
		const { payload, protectedHeader } = await jwtVerify(token, jwks,
			{ issuer });
		if (typeof payload.sub !== 'string')
			throw new Error('no sub');
		return { iss: payload.iss, sub: payload.sub,
			aud: payload.aud ?? null, exp: payload.exp ?? null,
			typ: protectedHeader.typ ?? null,
			client_id: payload.client_id ?? payload.azp ?? null };
	} catch (e) {
		throw new errors.InvalidGrant(`subject token: ${e.code ?? e.message}`);
	}
}

// An actor token: the same client's client-credentials token, or a JWT of
// a trusted issuer (the appliance's workload JWTs) for this provider.
async function verifyActor(provider, ctx, token, type, issuer) {
	const client = ctx.oidc.client;
	if (type === `${TT}access_token`) {
		const t = await provider.ClientCredentials.find(token);
		if (!t || t.isExpired)
			throw new errors.InvalidGrant('actor token: not an active ' +
				'access token');
		if (t.clientId !== client.clientId)
			throw new errors.InvalidGrant('actor token: issued to ' +
				'another client');
		return { type: 'access_token', sub: t.clientId,
			client_id: t.clientId, scope: t.scope ?? null };
	}
	if (type === `${TT}jwt`) {
		let iss;
		try {
			iss = decodeJwt(token).iss;
		} catch {
			throw new errors.InvalidGrant('actor token: not a JWT');
		}
		const jwks = actorIssuers.get(iss);
		if (!jwks)
			throw new errors.InvalidGrant('actor token: untrusted issuer');
		try {
			const { payload, protectedHeader } = await jwtVerify(token,
				jwks, { issuer: iss, audience: [issuer,
				`${issuer}/token`] });
			return { type: 'jwt', iss, sub: payload.sub ?? null,
				aud: payload.aud, scope: payload.scope ?? null,
				alg: protectedHeader.alg, kid: protectedHeader.kid ?? null };
		} catch (e) {
			throw new errors.InvalidGrant(`actor token: ${e.code ?? e.message}`);
		}
	}
	throw new errors.InvalidRequest('unsupported actor_token_type');
}

// The downstream access token: the user as sub, the actor as act.
async function downstreamToken(ctx, key, issuer, subject, actor, e) {
	const p = ctx.oidc.params;
	const ttl = cfg.exchange_ttl ?? 300;
	const now = Math.floor(Date.now() / 1000);
	const claims = { sub: subject.sub, client_id: ctx.oidc.client.clientId,
		jti: randomBytes(16).toString('hex') };
	if (p.scope)
		claims.scope = p.scope;
	if (actor)
		claims.act = { sub: actor.sub };
	const aud = p.audience ?? p.resource ?? DOWNSTREAM;
	const jwt = await new SignJWT(claims)
		.setProtectedHeader({ alg: 'ES256', kid: 'test-es256',
			typ: 'at+jwt' })
		.setIssuer(issuer).setAudience(aud).setIssuedAt(now)
		.setExpirationTime(now + ttl).sign(key);
	e.issued = { sub: claims.sub, aud, act: claims.act ?? null,
		scope: claims.scope ?? null, exp: now + ttl };
	ctx.body = { access_token: jwt, token_type: 'Bearer', expires_in: ttl };
	if (p.scope)
		ctx.body.scope = p.scope;
}

function registerObo(provider, keys, issuer) {
	const jwks = createLocalJWKSet({ keys: publicKeys(keys) });
	const es = keys.find((k) => k.kid === 'test-es256');
	const key = importJWK(es, 'ES256');
	const begin = (ctx, grant) => {
		const p = ctx.oidc.params;
		const e = { time: new Date().toISOString(), grant_type: grant,
			client_id: ctx.oidc.client.clientId,
			auth_method: ctx.oidc.client.tokenEndpointAuthMethod,
			subject_token_type: p.subject_token_type ?? null,
			actor_token_type: p.actor_token_type ?? null,
			requested_token_type: p.requested_token_type ?? null,
			requested_token_use: p.requested_token_use ?? null,
			scope: p.scope ?? null, audience: p.audience ?? null,
			resource: p.resource ?? null, subject: null, actor: null,
			issued: null, error: null };
		exchanges.push(e);
		if (exchangeFail !== null) {
			const err = exchangeFail.error;
			if (exchangeFail.times !== null && --exchangeFail.times <= 0)
				exchangeFail = null;
			throw new errors.CustomOIDCProviderError(err,
				'refused by the test harness');
		}
		return e;
	};
	const run = (grant, body) => async (ctx, next) => {
		let e = null;
		try {
			e = begin(ctx, grant);
			await body(ctx, e);
		} catch (err) {
			if (e === null)
				e = exchanges[exchanges.length - 1];
			e.error = err.error ?? 'server_error';
			throw err;
		}
		await next();
	};
	provider.registerGrantType(TOKEN_EXCHANGE, run(TOKEN_EXCHANGE,
	    async (ctx, e) => {
		const p = ctx.oidc.params;
		if (!p.subject_token || !p.subject_token_type)
			throw new errors.InvalidRequest('subject_token and ' +
				'subject_token_type are required');
		if (![`${TT}access_token`, `${TT}jwt`, `${TT}id_token`]
		    .includes(p.subject_token_type))
			throw new errors.InvalidRequest('unsupported ' +
				'subject_token_type');
		if (!p.actor_token !== !p.actor_token_type)
			throw new errors.InvalidRequest('actor_token and ' +
				'actor_token_type go together');
		if (p.requested_token_type &&
		    p.requested_token_type !== `${TT}access_token`)
			throw new errors.InvalidRequest('unsupported ' +
				'requested_token_type');
		e.subject = await verifySubject(p.subject_token, jwks, issuer);
		if (p.actor_token)
			e.actor = await verifyActor(provider, ctx, p.actor_token,
				p.actor_token_type, issuer);
		await downstreamToken(ctx, await key, issuer, e.subject, e.actor,
			e);
		ctx.body.issued_token_type = `${TT}access_token`;
	}), ['subject_token', 'subject_token_type', 'actor_token',
	    'actor_token_type', 'requested_token_type', 'scope', 'audience',
	    'resource'], ['audience', 'resource']);
	provider.registerGrantType(JWT_GRANT, run(JWT_GRANT, async (ctx, e) => {
		const p = ctx.oidc.params;
		if (!p.assertion)
			throw new errors.InvalidRequest('assertion is required');
		// Entra ID's on-behalf-of: the parameter is required there.
		if (cfg.require_on_behalf_of && p.requested_token_use !==
		    'on_behalf_of')
			throw new errors.InvalidRequest('requested_token_use ' +
				'must be on_behalf_of');
		e.subject = await verifySubject(p.assertion, jwks, issuer);
		await downstreamToken(ctx, await key, issuer, e.subject, null, e);
	}), ['assertion', 'scope', 'requested_token_use', 'audience',
	    'resource'], ['audience', 'resource']);
}

// The downstream API: GET /whoami with a bearer token this provider
// issued for DOWNSTREAM (or the config's downstream_audience).
function downstreamApi(issuer) {
	const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
	const audience = cfg.downstream_audience ?? DOWNSTREAM;
	const seen = [];
	const srv = http.createServer(async (req, res) => {
		const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(
			req.headers.authorization ?? '');
		if (req.url !== '/whoami' || !m)
			return reply(res, req.url === '/whoami' ? 401 : 404,
				{ error: 'invalid_request' });
		try {
			const { payload } = await jwtVerify(m[1], jwks,
				{ issuer, audience, typ: 'at+jwt' });
			seen.push({ ok: true, sub: payload.sub });
			return reply(res, 200, { sub: payload.sub,
				act: payload.act ?? null, scope: payload.scope ?? null,
				client_id: payload.client_id ?? null });
		} catch (e) {
			seen.push({ ok: false, reason: e.code ?? e.message });
			return reply(res, 401, { error: 'invalid_token',
				reason: e.code ?? e.message });
		}
	});
	return { srv, audience, seen };
}

function configuration(keys) {
	const resources = cfg.resources ?? {};
	const accounts = cfg.accounts ?? {};
	const c = {
		clients: cfg.clients,
		jwks: { keys },
		cookies: { keys: [randomBytes(32).toString('hex')] },
		ttl: { Interaction: 600, Session: 3600, Grant: 3600,
			...(cfg.ttl ?? {}) },
		// The clients' scopes are the provider's: none to list twice.
		scopes: [...new Set(['openid', 'offline_access',
			...(cfg.scopes ?? []),
			...cfg.clients.flatMap((cl) => cl.scope?.split(' ') ?? [])])],
		claims: {
			openid: ['sub'],
			email: ['email', 'email_verified'],
			profile: ['name'],
		},
		features: {
			devInteractions: { enabled: true },
			clientCredentials: { enabled: true },
			introspection: { enabled: true },
			revocation: { enabled: true },
			resourceIndicators: {
				enabled: true,
				defaultResource: (ctx, client, oneOf) =>
					oneOf ?? cfg.default_resource,
				useGrantedResource: () => true,
				getResourceServerInfo(ctx, indicator) {
					if (!Object.hasOwn(resources, indicator))
						throw new errors.InvalidTarget();
					return resources[indicator];
				},
			},
		},
		async findAccount(ctx, sub) {
			return {
				accountId: sub,
				claims: () => ({ sub, ...(accounts[sub] ?? {}) }),
			};
		},
		// Every client allowed the grant gets a refresh token, with
		// or without offline_access.
		issueRefreshToken: (ctx, client) =>
			client.grantTypeAllowed('refresh_token'),
		// Without external fonts: the page may be opened by a browser.
		renderError(ctx, out) {
			ctx.type = 'html';
			ctx.body = '<!DOCTYPE html><title>error</title><h1>error</h1>' +
				Object.entries(out).map(([k, v]) =>
				`<pre>${k}: ${String(v).replace(/[<>&]/g, '')}</pre>`)
				.join('');
		},
	};
	if (typeof cfg.rotate_refresh_tokens === 'boolean') {
		const r = cfg.rotate_refresh_tokens;
		c.rotateRefreshToken = () => r;
	}
	if (typeof cfg.pkce_required === 'boolean') {
		const r = cfg.pkce_required;
		c.pkce = { required: () => r };
	}
	return c;
}

async function tokenMiddleware(ctx, next) {
	if (ctx.method !== 'POST' || ctx.path !== '/token')
		return next();
	const m = takeMode();
	if (m === 'normal') {
		await next();
		const e = record(ctx.headers, ctx.oidc?.body, m);
		e.status = ctx.status;
		if (ctx.body?.error)
			e.error = ctx.body.error;
		return undefined;
	}
	let body;
	try {
		body = Object.fromEntries(new URLSearchParams(
			await readBody(ctx.req, 1024 * 1024)));
	} catch {
		body = {};
	}
	const e = record(ctx.headers, body, m);
	if (m === 'hang') {
		// Never answered: the connection stays open until the
		// client gives up or the provider stops.
		ctx.respond = false;
		return undefined;
	}
	ctx.type = 'application/json';
	if (m === 'garbage') {
		ctx.status = 200;
		ctx.body = '{"access_token": "garbage", "token_type": ';
	} else if (m === 'huge') {
		ctx.status = 200;
		ctx.body = hugeBody();
	} else {
		ctx.status = Number(m);
		ctx.body = JSON.stringify({ error: 'server_error',
			error_description: 'injected by the test harness' });
	}
	e.status = ctx.status;
	return undefined;
}

function reply(res, status, obj) {
	const b = JSON.stringify(obj);
	res.writeHead(status, { 'content-type': 'application/json',
		'content-length': Buffer.byteLength(b) });
	res.end(b);
}

async function revoke(provider, body) {
	const values = body.all === true ? [...refreshTokens] :
		[body.refresh_token];
	let n = 0;
	for (const v of values) {
		if (typeof v !== 'string')
			continue;
		const t = await provider.RefreshToken.find(v,
			{ ignoreExpiration: true });
		if (t) {
			await t.destroy();
			n++;
		}
	}
	return n;
}

// The knobs: GET /__test/requests, DELETE /__test/requests,
// GET or POST /__test/mode, POST /__test/revoke.
async function admin(provider, req, res) {
	const path = new URL(req.url, 'http://x').pathname;
	let body = {};
	if (req.method === 'POST') {
		try {
			body = JSON.parse(await readBody(req, 64 * 1024) || '{}');
		} catch (e) {
			return reply(res, 400, { error: `bad JSON: ${e.message}` });
		}
	}
	if (path === '/__test/requests' && req.method === 'GET')
		return reply(res, 200, requests);
	if (path === '/__test/requests' && req.method === 'DELETE') {
		requests = [];
		return reply(res, 200, requests);
	}
	if (path === '/__test/mode' && req.method === 'GET')
		return reply(res, 200, mode);
	if (path === '/__test/mode' && req.method === 'POST') {
		const times = body.times ?? null;
		if (!MODES.test(body.token ?? '') ||
		    (times !== null && !(Number.isInteger(times) && times > 0)))
			return reply(res, 400, { error: 'token: normal, hang, ' +
				'garbage, huge or 5xx; times: a positive integer' });
		mode = { token: body.token, times };
		return reply(res, 200, mode);
	}
	if (path === '/__test/revoke' && req.method === 'POST')
		return reply(res, 200, { revoked: await revoke(provider, body) });
	if (path === '/__test/exchanges' && req.method === 'GET')
		return reply(res, 200, exchanges);
	if (path === '/__test/exchanges' && req.method === 'DELETE') {
		exchanges = [];
		return reply(res, 200, exchanges);
	}
	if (path === '/__test/exchange-fail' && req.method === 'POST') {
		const times = body.times ?? null;
		if ((body.error !== null && !/^[a-z_]{1,64}$/.test(body.error ??
		    '')) || (times !== null && !(Number.isInteger(times) &&
		    times > 0)))
			return reply(res, 400, { error: 'error: an OAuth error ' +
				'code or null; times: a positive integer' });
		exchangeFail = body.error === null ? null :
			{ error: body.error, times };
		return reply(res, 200, { exchange_fail: exchangeFail });
	}
	if (path === '/__test/actor-issuer' && req.method === 'POST') {
		if (typeof body.issuer !== 'string' ||
		    !Array.isArray(body.jwks?.keys))
			return reply(res, 400, { error: 'issuer and jwks' });
		actorIssuers.set(body.issuer, createLocalJWKSet(body.jwks));
		return reply(res, 200, { issuers: [...actorIssuers.keys()] });
	}
	if (path === '/__test/downstream' && req.method === 'GET')
		return reply(res, 200, { url: `http://127.0.0.1:${
			api.srv.address().port}`, audience: api.audience,
			seen: api.seen });
	return reply(res, 404, { error: 'no such test endpoint' });
}

const server = http.createServer();
await new Promise((resolve, reject) => {
	server.once('error', reject);
	server.listen(cfg.port ?? 0, '127.0.0.1', resolve);
});
const issuer = cfg.issuer ?? `http://127.0.0.1:${server.address().port}`;
const keys = await signingKeys();
const provider = new Provider(issuer, configuration(keys));
registerObo(provider, keys, issuer);
provider.use(tokenMiddleware);
const api = downstreamApi(issuer);
await new Promise((resolve, reject) => {
	api.srv.once('error', reject);
	api.srv.listen(0, '127.0.0.1', resolve);
});
provider.on('refresh_token.saved', (t) => refreshTokens.add(t.jti));
provider.on('refresh_token.destroyed', (t) => refreshTokens.delete(t.jti));
provider.on('server_error', (ctx, err) =>
	process.stderr.write(`idp: server_error: ${err.stack}\n`));
for (const ev of ['grant.error', 'authorization.error'])
	provider.on(ev, (ctx, err) => process.stderr.write(
		`idp: ${ev}: ${err.message} ${err.error_detail ?? ''}\n`));
const callback = provider.callback();
server.on('request', (req, res) => {
	if (req.url.startsWith('/__test/')) {
		admin(provider, req, res).catch((e) =>
			reply(res, 500, { error: e.message }));
		return;
	}
	callback(req, res);
});

function stop() {
	server.closeAllConnections();
	server.close();
	api.srv.closeAllConnections();
	api.srv.close();
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (watchStdin) {
	process.stdin.on('end', stop);
	process.stdin.resume();
}
process.stdout.write(`ready ${issuer}\n`);
