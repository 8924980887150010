// SPDX-License-Identifier: Apache-2.0
// vendors.mjs - the authorization and token endpoints of GitHub, Slack,
// Google, Atlassian, Salesforce and Microsoft, emulated on loopback as each
// vendor documents them, for the tests of the vendor presets' quirks.
//
//   node vendors.mjs [--stdin] CONFIG.json
//
// Listens on 127.0.0.1 and prints one line "ready http://127.0.0.1:PORT".
// The vendor is chosen by the Host header (github.com, slack.com, ...):
// requests reach it as an HTTPS proxy would send them (CONNECT to a
// vendor's host, then TLS with the config's certificate: the daemon keeps
// the presets' real URLs and is given https_proxy and a CA bundle), as a
// plain HTTP proxy request, or directly with the host as the first path
// segment (http://127.0.0.1:PORT/github.com/login/oauth/access_token).
// The authorization endpoint consents at once, as the config's user (or
// the X-Test-User header), and redirects.  docs/testing.md has the
// configuration and the /__test/ endpoints.
import './node-version.mjs';
import { readFileSync } from 'node:fs';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import tls from 'node:tls';

const SECRET = new Set(['client_secret', 'code', 'code_verifier',
	'refresh_token', 'client_assertion', 'assertion']);
// Entra ID's on-behalf-of: RFC 7523's JWT bearer grant.
const JWT_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CODE_TTL = 600;

function die(msg) {
	process.stderr.write(`vendors: ${msg}\n`);
	process.exit(2);
}

const args = process.argv.slice(2);
const watchStdin = args[0] === '--stdin';
if (watchStdin)
	args.shift();
if (args.length !== 1)
	die('usage: node vendors.mjs [--stdin] CONFIG.json');
let cfg;
try {
	cfg = JSON.parse(readFileSync(args[0], 'utf8'));
} catch (e) {
	die(`${args[0]}: ${e.message}`);
}
if (!Array.isArray(cfg.clients))
	die(`${args[0]}: "clients" must be a list`);

let requests = [];
const codes = new Map();		// code -> grant
const refreshTokens = new Map();	// refresh token -> grant
const accessTokens = new Map();		// access token -> what it is
const failures = new Map();		// vendor -> { error, times }
const ignoreAccept = new Set();		// vendors answering in their default format

const rnd = (n) => randomBytes(n).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function digest(v) {
	const h = createHash('sha256').update(String(v)).digest('hex');
	return `<redacted sha256:${h.slice(0, 16)}>`;
}

function redact(params) {
	const out = {};
	for (const [k, v] of Object.entries(params))
		out[k] = SECRET.has(k) ? digest(v) : v;
	return out;
}

function client(vendor, id) {
	return cfg.clients.find((c) => c.vendor === vendor &&
	    c.client_id === id) ?? null;
}

function scopeList(s, sep) {
	return (s ?? '').split(sep).map((x) => x.trim()).filter((x) => x);
}

// ---- answers in each vendor's own format ----

function send(res, status, type, body, headers = {}) {
	res.writeHead(status, { 'content-type': type,
		'content-length': Buffer.byteLength(body),
		'cache-control': 'no-store', ...headers });
	res.end(body);
}

function json(res, status, obj) {
	send(res, status, 'application/json; charset=utf-8',
		JSON.stringify(obj));
}

// RFC 6749 section 5.2 answers, for the vendors that keep to it.
const STATUS = { invalid_client: 401, server_error: 500 };

function issue(v, grant, withRefresh) {
	const t = { access: (v.prefix[grant.kind] ?? v.prefix.access) +
		rnd(24), refresh: null };
	if (withRefresh)
		t.refresh = v.prefix.refresh + rnd(32);
	accessTokens.set(t.access, { vendor: v.name,
		client_id: grant.client_id, user: grant.user,
		scope: grant.scope, tenant: grant.tenant ?? null,
		kind: grant.kind ?? 'user', expires_at: now() + v.ttl });
	if (t.refresh)
		refreshTokens.set(t.refresh, { ...grant });
	return t;
}

const VENDORS = {
	// https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps
	// https://docs.github.com/en/apps/oauth-apps/maintaining-oauth-apps/troubleshooting-oauth-app-access-token-request-errors
	// The token endpoint answers application/x-www-form-urlencoded unless
	// the request accepts application/json; its errors are answered with
	// status 200 and an "error" field, in the same format.  Refresh
	// tokens only for clients with "expiring": true (GitHub Apps with
	// expiring user tokens), rotated on every refresh.
	github: {
		hosts: ['github.com'],
		authorize: /^\/login\/oauth\/authorize$/,
		token: /^\/login\/oauth\/access_token$/,
		sep: ' ', ttl: 28800, grants: ['authorization_code',
			'refresh_token'], rotate: true, noTypes: true,
		prefix: { access: 'gho_', refresh: 'ghr_' },
		error(req, res, error, description) {
			this.answer(req, res, { error,
				error_description: description,
				error_uri: 'https://docs.github.com/apps/' +
				'managing-oauth-apps/troubleshooting-oauth-' +
				'app-access-token-request-errors' });
			return 200;
		},
		success(req, res, grant, cl) {
			const t = issue(this, grant, cl.expiring === true);
			const out = { access_token: t.access,
				token_type: 'bearer',
				scope: scopeList(grant.scope, ' ').join(',') };
			if (t.refresh)
				Object.assign(out, { expires_in: this.ttl,
					refresh_token: t.refresh,
					refresh_token_expires_in: 15811200 });
			this.answer(req, res, out);
			return t;
		},
		answer(req, res, obj) {
			if (/application\/json/i.test(req.headers.accept ?? '') &&
			    !ignoreAccept.has(this.name))
				return json(res, 200, obj);
			return send(res, 200,
			    'application/x-www-form-urlencoded; charset=utf-8',
			    new URLSearchParams(obj).toString());
		},
	},
	// https://docs.slack.dev/authentication/installing-with-oauth
	// https://docs.slack.dev/reference/methods/oauth.v2.access
	// Bot scopes in "scope", user scopes in "user_scope" (comma
	// separated); the answer is {"ok": true, ...} with the bot token at
	// the top and the user's under "authed_user"; errors are status 200
	// {"ok": false, "error": CODE}.  Refresh tokens only for clients with
	// "rotation": true (token rotation), rotated on every refresh.
	slack: {
		hosts: ['slack.com'],
		authorize: /^\/oauth\/v2\/authorize$/,
		token: /^\/api\/oauth\.v2\.access$/,
		sep: ',', ttl: 43200, grants: ['authorization_code',
			'refresh_token'], rotate: true, noTypes: true,
		prefix: { access: 'xoxp-', bot: 'xoxb-', refresh: 'xoxe-1-' },
		errorNames: { invalid_client: 'invalid_client_id',
			invalid_grant: 'invalid_code',
			redirect_uri_mismatch: 'bad_redirect_uri',
			unsupported_grant_type: 'invalid_grant_type' },
		error(req, res, error) {
			json(res, 200, { ok: false,
				error: this.errorNames[error] ?? error });
			return 200;
		},
		checkAuthorize(q) {
			if (!q.scope && !q.user_scope)
				return 'scope or user_scope is required';
			return null;
		},
		success(req, res, grant, cl) {
			const rot = cl.rotation === true;
			if (grant.grant_type === 'refresh_token') {
				// The refreshed token alone, at the top.
				const t = issue(this, grant, true);
				json(res, 200, { ok: true, app_id:
				    'A0EMULATED', access_token: t.access,
				    token_type: grant.kind, scope:
				    grant.scope, expires_in: this.ttl,
				    refresh_token: t.refresh, team: { id:
				    'T0EMULATED', name: 'Emulated' } });
				return t;
			}
			const out = { ok: true, app_id: 'A0EMULATED',
				authed_user: { id: `U${grant.user}` },
				team: { id: 'T0EMULATED', name: 'Emulated' },
				enterprise: null, is_enterprise_install: false };
			let first = null;
			if (grant.bot_scope) {
				const t = issue(this, { ...grant, kind: 'bot',
					scope: grant.bot_scope }, rot);
				Object.assign(out, { access_token: t.access,
					token_type: 'bot',
					scope: grant.bot_scope,
					bot_user_id: 'U0EMULBOT' });
				if (rot)
					Object.assign(out, { expires_in:
					    this.ttl, refresh_token:
					    t.refresh });
				first = t;
			}
			if (grant.scope) {
				const t = issue(this, grant, rot);
				Object.assign(out.authed_user, { scope:
				    grant.scope, access_token: t.access,
				    token_type: 'user' });
				if (rot)
					Object.assign(out.authed_user, {
					    expires_in: this.ttl,
					    refresh_token: t.refresh });
				first ??= t;
			}
			json(res, 200, out);
			return first;
		},
	},
	// https://developers.google.com/identity/protocols/oauth2/web-server
	// A refresh token only when the authorization request had
	// access_type=offline and prompt=consent (Google gives one at the
	// first consent only; "consent" makes every consent a first one);
	// refreshing gives no new refresh token.
	google: {
		hosts: ['accounts.google.com', 'oauth2.googleapis.com'],
		authorize: /^\/o\/oauth2\/v2\/auth$/,
		token: /^\/token$/,
		sep: ' ', ttl: 3599, grants: ['authorization_code',
			'refresh_token'], rotate: false,
		prefix: { access: 'ya29.', refresh: '1//' },
		redirectExtra: (g) => ({ scope: g.scope }),
		grantExtra: (q) => ({ offline: q.access_type === 'offline' &&
			scopeList(q.prompt, ' ').includes('consent') }),
		error: rfcError,
		success(req, res, grant) {
			const t = issue(this, grant, grant.offline &&
				grant.grant_type === 'authorization_code');
			const out = { access_token: t.access,
				expires_in: this.ttl, scope: grant.scope,
				token_type: 'Bearer' };
			if (t.refresh)
				out.refresh_token = t.refresh;
			json(res, 200, out);
			return t;
		},
	},
	// https://developer.atlassian.com/cloud/jira/platform/oauth-2-3lo-apps/
	// The authorization URL needs audience=api.atlassian.com and
	// prompt=consent; a refresh token needs the offline_access scope and
	// rotates on every refresh.  The token endpoint takes JSON (as in
	// Atlassian's examples) or the form encoding.
	atlassian: {
		hosts: ['auth.atlassian.com'],
		authorize: /^\/authorize$/,
		token: /^\/oauth\/token$/,
		sep: ' ', ttl: 3600, grants: ['authorization_code',
			'refresh_token'], rotate: true,
		prefix: { access: 'atl-', refresh: 'atlr-' },
		checkAuthorize(q) {
			if (q.audience !== 'api.atlassian.com')
				return 'audience must be api.atlassian.com';
			if (q.prompt !== 'consent')
				return 'prompt must be consent';
			return null;
		},
		error: rfcError,
		success(req, res, grant) {
			const t = issue(this, grant, scopeList(grant.scope,
				' ').includes('offline_access'));
			const out = { access_token: t.access,
				expires_in: this.ttl, token_type: 'Bearer',
				scope: grant.scope };
			if (t.refresh)
				out.refresh_token = t.refresh;
			json(res, 200, out);
			return t;
		},
	},
	// https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_web_server_flow.htm
	// The answer names the org's instance_url (the config's
	// "instance_url"), its identity URL, issued_at and signature, and no
	// expires_in; a refresh token needs the refresh_token (or
	// offline_access) scope and is not renewed by refreshing.  The
	// client-credentials flow answers the same, without refresh token.
	salesforce: {
		hosts: ['login.salesforce.com'],
		authorize: /^\/services\/oauth2\/authorize$/,
		token: /^\/services\/oauth2\/token$/,
		sep: ' ', ttl: 7200, grants: ['authorization_code',
			'refresh_token', 'client_credentials'], rotate: false,
		prefix: { access: '00DEMULATED!', refresh: '5Aep' },
		error: rfcError,
		success(req, res, grant) {
			const sc = scopeList(grant.scope, ' ');
			const t = issue(this, grant, grant.grant_type ===
				'authorization_code' && (sc.includes(
				'refresh_token') || sc.includes('offline_access')));
			const at = String(Date.now());
			const out = { access_token: t.access,
				signature: createHash('sha256').update(at +
				    t.access).digest('base64'),
				scope: grant.scope,
				instance_url: cfg.instance_url ??
				    'https://emulated.my.salesforce.com',
				id: 'https://login.salesforce.com/id/' +
				    `00DEMULATED/005${grant.user ?? 'APP'}`,
				token_type: 'Bearer', issued_at: at };
			if (t.refresh)
				out.refresh_token = t.refresh;
			json(res, 200, out);
			return t;
		},
	},
	// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow
	// https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
	// https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
	// Endpoints per tenant: /{tenant}/oauth2/v2.0/authorize and token,
	// the tenant one of the config's "tenants" or common, organizations,
	// consumers.  Errors carry AADSTS codes: error_codes, timestamp,
	// trace_id, correlation_id.  A refresh token with offline_access;
	// client credentials need a tenant (not common ...) and one scope
	// RESOURCE/.default.
	microsoft: {
		hosts: ['login.microsoftonline.com'],
		authorize: /^\/([^/]+)\/oauth2\/v2\.0\/authorize$/,
		token: /^\/([^/]+)\/oauth2\/v2\.0\/token$/,
		sep: ' ', ttl: 3599, grants: ['authorization_code',
			'refresh_token', 'client_credentials', JWT_GRANT],
		rotate: false,
		prefix: { access: 'eyJ0eXAiOiJKV1Qi.', refresh: '0.AAAA' },
		aadsts: { invalid_client: [7000215, 'Invalid client ' +
			'secret provided.'],
			invalid_grant: [70008, 'The provided authorization ' +
			'code or refresh token has expired due to ' +
			'inactivity.'],
			invalid_scope: [1002012, 'The provided value for ' +
			'scope is not valid.'],
			invalid_request: [900144, 'The request body must ' +
			'contain the following parameter.'],
			unsupported_grant_type: [70003, 'The app requested ' +
			'an unsupported grant type.'],
			tenant_not_found: [90002, 'Tenant not found.'],
			pkce: [501481, 'The Code_Verifier does not match the ' +
			'code_challenge supplied in the authorization ' +
			'request.'],
			obo_use: [50034, 'The request is missing ' +
			'requested_token_use=on_behalf_of.'],
			obo_assertion: [50013, 'Assertion failed signature ' +
			'validation or is not for this application.'] },
		error(req, res, error, description, key) {
			const [code, text] = this.aadsts[key ?? error] ??
				[90100, description ?? 'Error.'];
			const trace = randomUUID();
			const corr = randomUUID();
			const ts = new Date().toISOString()
				.replace('T', ' ').replace(/\.\d+Z/, 'Z');
			const status = error === 'invalid_client' ? 401 : 400;
			json(res, status, { error, error_description:
				`AADSTS${code}: ${text}\r\nTrace ID: ` +
				`${trace}\r\nCorrelation ID: ${corr}\r\n` +
				`Timestamp: ${ts}`, error_codes: [code],
				timestamp: ts, trace_id: trace,
				correlation_id: corr,
				error_uri: 'https://login.microsoftonline.com/' +
				`error?code=${code}` });
			return status;
		},
		success(req, res, grant) {
			const t = issue(this, grant, grant.grant_type !==
				'client_credentials' && scopeList(grant.scope,
				' ').includes('offline_access'));
			const out = { token_type: 'Bearer',
				scope: grant.scope, expires_in: this.ttl,
				ext_expires_in: this.ttl,
				access_token: t.access };
			if (t.refresh)
				out.refresh_token = t.refresh;
			json(res, 200, out);
			return t;
		},
	},
};
for (const [name, v] of Object.entries(VENDORS)) {
	v.name = name;
	// The tests of refreshing shorten a vendor's access tokens' lifetime.
	const ttl = cfg.ttl?.[name];
	if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0))
		die(`${args[0]}: ttl.${name} must be a positive integer`);
	v.ttl = ttl ?? v.ttl;
}

const MS_COMMON = ['common', 'organizations', 'consumers'];

function rfcError(req, res, error, description) {
	const status = STATUS[error] ?? 400;
	json(res, status, { error, error_description: description });
	return status;
}

function vendorOf(host) {
	for (const v of Object.values(VENDORS))
		if (v.hosts.includes(host))
			return v;
	return null;
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

function tenantOk(t) {
	return MS_COMMON.includes(t) || (cfg.tenants ?? []).includes(t);
}

// ---- the authorization endpoint ----

function authorize(v, tenant, q, req, res, e) {
	const cl = client(v.name, q.client_id);
	const page = (why) => {
		e.status = 400;
		e.error = why;
		send(res, 400, 'text/html; charset=utf-8', '<!DOCTYPE html>' +
			'<title>error</title><h1>error</h1><pre>error: ' +
			`${why.replace(/[<>&]/g, '')}</pre>`);
	};
	if (v.name === 'microsoft' && !tenantOk(tenant))
		return page('AADSTS90002: tenant not found');
	if (cl === null)
		return page('unknown client_id');
	if (!(cl.redirect_uris ?? []).includes(q.redirect_uri))
		return page('redirect_uri is not registered');
	const back = (params) => {
		const u = new URL(q.redirect_uri);
		for (const [k, val] of Object.entries(params))
			if (val !== undefined && val !== null)
				u.searchParams.set(k, val);
		e.status = 302;
		e.error = params.error ?? null;
		res.writeHead(302, { location: u.toString(),
			'content-length': 0 });
		res.end();
	};
	// GitHub and Slack document no response_type: absent is fine.
	let why = q.response_type !== 'code' && !(v.noTypes &&
		q.response_type === undefined) ? 'response_type must be code' :
		v.checkAuthorize?.(q) ?? null;
	if (why === null && q.code_challenge !== undefined &&
	    q.code_challenge_method !== 'S256')
		why = 'code_challenge_method must be S256';
	if (why !== null)
		return back({ error: 'invalid_request',
			error_description: why, state: q.state });
	if (/^(1|true|yes)$/i.test(req.headers['x-test-deny'] ?? ''))
		return back({ error: 'access_denied', state: q.state });
	const user = req.headers['x-test-user'] || cfg.user || 'alice';
	const grant = { vendor: v.name, client_id: cl.client_id,
		redirect_uri: q.redirect_uri, user, tenant,
		// Slack: "scope" is the bot's, "user_scope" the user's.
		scope: v.name === 'slack' ? q.user_scope ?? '' : q.scope ?? '',
		bot_scope: v.name === 'slack' ? q.scope ?? '' : undefined,
		challenge: q.code_challenge ?? null,
		expires_at: now() + CODE_TTL, ...(v.grantExtra?.(q) ?? {}) };
	const code = rnd(20);
	codes.set(code, grant);
	e.user = user;
	return back({ code, state: q.state, ...(v.redirectExtra?.(grant) ??
		{}) });
}

// ---- the token endpoint ----

function clientAuth(headers, body) {
	const a = headers.authorization ?? '';
	if (/^basic /i.test(a)) {
		const s = Buffer.from(a.slice(6).trim(), 'base64').toString();
		const i = s.indexOf(':');
		const dec = (x) => {
			try {
				return decodeURIComponent(x.replace(/\+/g,
				    ' '));
			} catch {
				return x;
			}
		};
		return { method: 'client_secret_basic',
			id: dec(s.slice(0, i < 0 ? s.length : i)),
			secret: i < 0 ? '' : dec(s.slice(i + 1)) };
	}
	if (body.client_secret !== undefined)
		return { method: 'client_secret_post', id: body.client_id,
			secret: body.client_secret };
	return { method: 'none', id: body.client_id, secret: null };
}

function s256(v) {
	return createHash('sha256').update(v).digest('base64url');
}

async function token(v, tenant, req, res, e) {
	let raw;
	try {
		raw = await readBody(req, 1024 * 1024);
	} catch {
		raw = '';
	}
	let body;
	const type = req.headers['content-type'] ?? '';
	e.content_type = type;
	try {
		body = /application\/json/i.test(type) ? JSON.parse(raw) :
			Object.fromEntries(new URLSearchParams(raw));
		if (body === null || typeof body !== 'object')
			throw new Error('not an object');
	} catch {
		body = {};
	}
	const auth = clientAuth(req.headers, body);
	Object.assign(e, { grant_type: body.grant_type ?? null,
		client_id: auth.id ?? null, auth_method: auth.method,
		params: redact(body) });
	const fail = (error, description, key) => {
		e.error = error;
		e.status = v.error(req, res, error, description, key);
	};
	const f = failures.get(v.name);
	if (f) {
		if (--f.times <= 0)
			failures.delete(v.name);
		return fail(f.error, 'injected by the test harness');
	}
	if (v.name === 'microsoft' && !tenantOk(tenant))
		return fail('invalid_request', `tenant ${tenant}`,
			'tenant_not_found');
	const cl = client(v.name, auth.id);
	if (cl === null || auth.secret !== cl.client_secret) {
		const slack = cl === null ? 'invalid_client_id' :
			'bad_client_secret';
		return fail({ github: 'incorrect_client_credentials', slack }[
			v.name] ?? 'invalid_client', 'client authentication ' +
			'failed', 'invalid_client');
	}
	// GitHub and Slack take a code without grant_type.
	if (!v.grants.includes(body.grant_type) &&
	    !(v.noTypes && body.grant_type === undefined))
		return fail('unsupported_grant_type',
			`grant_type ${body.grant_type}`);
	let grant;
	if (body.grant_type === 'refresh_token') {
		grant = refreshTokens.get(body.refresh_token ?? '');
		if (!grant || grant.client_id !== cl.client_id)
			return fail(v.name === 'github' ?
				'bad_refresh_token' : 'invalid_grant',
				'unknown refresh token');
		if (v.rotate)
			refreshTokens.delete(body.refresh_token);
		grant = { ...grant, grant_type: 'refresh_token' };
		const t = v.success(req, res, grant, cl);
		e.status = 200;
		e.user = grant.user;
		return t;
	}
	if (body.grant_type === 'client_credentials') {
		const sc = scopeList(body.scope, ' ');
		if (v.name === 'microsoft' && MS_COMMON.includes(tenant))
			return fail('invalid_request', 'a tenant is needed',
				'tenant_not_found');
		if (v.name === 'microsoft' && (sc.length !== 1 ||
		    !sc[0].endsWith('/.default')))
			return fail('invalid_scope', 'RESOURCE/.default');
		grant = { vendor: v.name, client_id: cl.client_id,
			user: null, tenant, scope: body.scope ?? '',
			kind: 'app', grant_type: 'client_credentials' };
		e.status = 200;
		return v.success(req, res, grant, cl);
	}
	if (body.grant_type === JWT_GRANT)
		return onBehalfOf(v, req, res, body, cl, tenant, e, fail);
	grant = codes.get(body.code ?? '');
	if (!grant || grant.client_id !== cl.client_id ||
	    grant.expires_at < now() || grant.tenant !== tenant)
		return fail(v.name === 'github' ? 'bad_verification_code' :
			'invalid_grant', 'unknown, used or expired code');
	codes.delete(body.code);
	if (body.redirect_uri !== undefined &&
	    body.redirect_uri !== grant.redirect_uri)
		return fail(v.name === 'github' ? 'redirect_uri_mismatch' :
			'invalid_grant', 'redirect_uri differs');
	if (grant.challenge !== null && (body.code_verifier === undefined ||
	    s256(body.code_verifier) !== grant.challenge))
		return fail('invalid_grant', 'code_verifier', 'pkce');
	grant = { ...grant, grant_type: 'authorization_code' };
	e.status = 200;
	e.user = grant.user;
	return v.success(req, res, grant, cl);
}

// Entra ID's on-behalf-of (v2-oauth2-on-behalf-of-flow): the JWT bearer
// grant with requested_token_use=on_behalf_of; the assertion is the
// user's token for this app (aud: the client's assertion_audience, else
// its client_id), unexpired.  Its signature is the user's identity
// provider's, not checked here: the tests check it at that provider.
function onBehalfOf(v, req, res, body, cl, tenant, e, fail) {
	if (MS_COMMON.includes(tenant))
		return fail('invalid_request', 'a tenant is needed',
			'tenant_not_found');
	if (body.requested_token_use !== 'on_behalf_of')
		return fail('invalid_request', 'requested_token_use',
			'obo_use');
	let claims;
	try {
		claims = JSON.parse(Buffer.from((body.assertion ?? '')
			.split('.')[1], 'base64url').toString());
	} catch {
		claims = null;
	}
	const aud = [].concat(claims?.aud ?? []);
	if (claims === null || typeof claims.sub !== 'string' ||
	    !aud.includes(cl.assertion_audience ?? cl.client_id) ||
	    !(claims.exp > now()))
		return fail('invalid_grant', 'assertion', 'obo_assertion');
	const grant = { vendor: v.name, client_id: cl.client_id,
		user: claims.sub, tenant, scope: body.scope ?? '',
		kind: 'user', grant_type: JWT_GRANT };
	e.status = 200;
	e.user = claims.sub;
	e.obo = { requested_token_use: body.requested_token_use,
		assertion_sub: claims.sub, assertion_aud: claims.aud };
	return v.success(req, res, grant, cl);
}

// ---- the test endpoints ----

async function admin(req, res) {
	const u = new URL(req.url, 'http://x');
	let body = {};
	if (req.method === 'POST') {
		try {
			body = JSON.parse(await readBody(req, 64 * 1024) ||
			    '{}');
		} catch (err) {
			return json(res, 400, { error: `bad JSON: ${err.message}` });
		}
	}
	if (u.pathname === '/__test/requests' && req.method === 'GET')
		return json(res, 200, requests);
	if (u.pathname === '/__test/requests' && req.method === 'DELETE') {
		requests = [];
		return json(res, 200, requests);
	}
	if (u.pathname === '/__test/fail' && req.method === 'POST') {
		const times = body.times ?? 1;
		if (!Object.hasOwn(VENDORS, body.vendor ?? '') ||
		    !/^[a-z_]{1,64}$/.test(body.error ?? '') ||
		    !(Number.isInteger(times) && times > 0))
			return json(res, 400, { error: 'vendor: one of ' +
				`${Object.keys(VENDORS).join(', ')}; error: ` +
				'an error code; times: a positive integer' });
		failures.set(body.vendor, { error: body.error, times });
		return json(res, 200, { vendor: body.vendor,
			error: body.error, times });
	}
	// {vendor, ignoreAccept}: the vendor answers in its default format
	// whatever the request's Accept says (GitHub: form-encoded).
	if (u.pathname === '/__test/options' && req.method === 'POST') {
		if (!Object.hasOwn(VENDORS, body.vendor ?? '') ||
		    typeof body.ignoreAccept !== 'boolean')
			return json(res, 400, { error: 'vendor: one of ' +
				`${Object.keys(VENDORS).join(', ')}; ` +
				'ignoreAccept: a boolean' });
		if (body.ignoreAccept)
			ignoreAccept.add(body.vendor);
		else
			ignoreAccept.delete(body.vendor);
		return json(res, 200, body);
	}
	if (u.pathname === '/__test/clients' && req.method === 'POST') {
		if (!Object.hasOwn(VENDORS, body.vendor ?? '') ||
		    typeof body.client_id !== 'string')
			return json(res, 400, { error: 'a client needs a ' +
				'vendor and a client_id' });
		cfg.clients = cfg.clients.filter((c) => c.vendor !==
			body.vendor || c.client_id !== body.client_id);
		cfg.clients.push(body);
		return json(res, 200, body);
	}
	if (u.pathname === '/__test/token' && req.method === 'POST') {
		const t = accessTokens.get(body.token ?? '');
		return json(res, 200, t ? { active: t.expires_at > now(),
			...t } : { active: false });
	}
	return json(res, 404, { error: 'no such test endpoint' });
}

// One request to a vendor, recorded.
async function vendorRequest(req, res) {
	let host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
	let path;
	let url;
	try {
		url = new URL(req.url, 'http://placeholder');
	} catch {
		return json(res, 400, { error: 'bad request target' });
	}
	if (/^https?:\/\//i.test(req.url)) {	// a proxy's absolute form
		host = url.hostname;
		path = url.pathname;
	} else {
		path = url.pathname;
		const m = /^\/([a-z0-9.-]+)(\/.*)$/.exec(path);
		if (vendorOf(host) === null && m && vendorOf(m[1]) !== null) {
			host = m[1];
			path = m[2];
		}
	}
	const v = vendorOf(host);
	const e = { time: new Date().toISOString(), vendor: v?.name ?? null,
		endpoint: null, method: req.method, host, path,
		tenant: null, accept: req.headers.accept ?? null,
		status: null, error: null };
	requests.push(e);
	if (v === null)
		return json(res, 404, { error: `no vendor at ${host}` });
	let m;
	if (req.method === 'GET' && (m = v.authorize.exec(path))) {
		e.endpoint = 'authorize';
		e.tenant = m[1] ?? null;
		const q = Object.fromEntries(url.searchParams);
		e.client_id = q.client_id ?? null;
		e.params = redact(q);
		return authorize(v, e.tenant, q, req, res, e);
	}
	if (req.method === 'POST' && (m = v.token.exec(path))) {
		e.endpoint = 'token';
		e.tenant = m[1] ?? null;
		return token(v, e.tenant, req, res, e);
	}
	e.status = 404;
	return json(res, 404, { error: `${v.name}: no endpoint ${path}` });
}

function handle(req, res) {
	const p = req.url.startsWith('/__test/') ? admin(req, res) :
		vendorRequest(req, res);
	p.catch((err) => {
		process.stderr.write(`vendors: ${err.stack}\n`);
		if (!res.headersSent)
			json(res, 500, { error: err.message });
	});
}

const server = http.createServer(handle);
// CONNECT to a vendor's host: TLS with the config's certificate, then the
// same requests as above.
let tlsServer = null;
if (cfg.tls) {
	tlsServer = tls.createServer({ cert: readFileSync(cfg.tls.cert),
		key: readFileSync(cfg.tls.key), ALPNProtocols: ['http/1.1'] },
	(s) => inner.emit('connection', s));
}
const inner = http.createServer(handle);
server.on('connect', (req, sock, head) => {
	const [host, port] = req.url.split(':');
	const ok = tlsServer !== null && vendorOf(host.toLowerCase()) !== null &&
		(port ?? '443') === '443';
	requests.push({ time: new Date().toISOString(),
		vendor: vendorOf(host.toLowerCase())?.name ?? null,
		endpoint: 'connect', method: 'CONNECT', host: req.url,
		status: ok ? 200 : 403 });
	if (!ok) {
		sock.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
		return;
	}
	sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
	if (head.length)
		sock.unshift(head);
	tlsServer.emit('connection', sock);
});
server.on('clientError', (err, sock) => sock.destroy());
await new Promise((resolve, reject) => {
	server.once('error', reject);
	server.listen(cfg.port ?? 0, '127.0.0.1', resolve);
});

function stop() {
	server.closeAllConnections();
	server.close();
	process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (watchStdin) {
	process.stdin.on('end', stop);
	process.stdin.resume();
}
process.stdout.write(`ready http://127.0.0.1:${server.address().port}\n`);
