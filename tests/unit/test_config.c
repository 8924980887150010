/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_config.c - unit tests for the daemon configuration (daemon/config.c).
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
 *     -Wmissing-prototypes -I. -Ihsm -I/usr/include/p11-kit-1 \
 *     tests/unit/test_config.c daemon/config.c hsm/uri.c -lyaml -lcmocka
 * Run from the top of the tree (the example file is read from
 * daemon/agentvault.yaml.example; that test is skipped elsewhere).
 *
 * Assumes the users and groups every Debian system has: root (uid and gid
 * 0) and nobody (uid 65534).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config.h"

#define NAME		"t.yaml"
#define EXAMPLE		"daemon/agentvault.yaml.example"
#define MINIMAL		"hsm:\n  pin: env:AV_PIN\n"

/* A file that sets every key, most of them to something else than the
 * default. */
static const char full_yaml[] =
    "# every key\n"
    "appliance:\n"
    "  partition: aws-us-gov\n"
    "  region: us-gov-west-1\n"
    "  account: \"123456789012\"\n"
    "  name: vault-01.lab\n"
    "paths:\n"
    "  state_dir: /srv/av/state/\n"
    "  audit_log: /srv/av/log/audit.log\n"
    "  run_dir: /srv/av/run\n"
    "listen:\n"
    "  admin_socket:\n"
    "    path: /srv/av/run/adm.sock\n"
    "    mode: 0640\n"
    "    group: root\n"
    "  agent_socket:\n"
    "    mode: \"0666\"\n"
    "    group: 4242\n"
    "  tcp:\n"
    "    address: \"::1\"\n"
    "    port: 8443\n"
    "    client_ca: /srv/av/clients.pem\n"
    "    public_name: vault.example.com\n"
    "hsm:\n"
    "  module: /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so\n"
    "  token: \"pkcs11:token=av%20main;serial=0123\"\n"
    "  pin: \"file:/etc/agentvault/pin\"\n"
    "  pool_size: 64\n"
    "  tls_key: \"pkcs11:object=tls\"\n"
    "  tls_cert: /srv/av/tls.crt\n"
    "  audit_key: \"pkcs11:id=%01%02;type=private\"\n"
    "  token_signing_key: \"pkcs11:token=other;object=tsk;type=private\"\n"
    "vault:\n"
    "  kek_mode: customer-managed\n"
    "  kek: \"pkcs11:object=kek\"\n"
    "  dek_ttl_seconds: 86400\n"
    "  customer:\n"
    "    module: /opt/vendor/lib/p11.so\n"
    "    token: \"pkcs11:token=cust\"\n"
    "    pin: env:CUSTOMER_PIN\n"
    "    key: \"pkcs11:object=cmk;type=secret-key\"\n"
    "tokens:\n"
    "  ttl_seconds: 43200\n"
    "limits:\n"
    "  max_connections: 65536\n"
    "  max_header_bytes: 1024\n"
    "  max_body_bytes: 16777216\n"
    "  read_timeout_seconds: 600\n"
    "  idle_timeout_seconds: 1\n"
    "  threads: 8\n"
    "sandbox:\n"
    "  enabled: false\n"
    "  user: nobody\n"
    "  landlock: false\n"
    "outbound:\n"
    "  connect_timeout_ms: 100\n"
    "  timeout_ms: 300000\n"
    "  max_response_bytes: 16777216\n"
    "  max_transfers: 4096\n"
    "  ca_bundle: /srv/av/idp-ca.pem\n"
    "  allow_http_loopback: true\n"
    "oauth:\n"
    "  session_ttl_seconds: 3600\n"
    "agent_tokens:\n"
    "  issuer: https://vault.example.com:8443/sts\n"
    "  ttl_seconds: 3600\n"
    "  audiences: [\"https://api.example.com\", urn:example:inventory]\n"
    "authorizer:\n"
    "  discovery_url: https://idp.example.com/t/1/.well-known/"
    "openid-configuration\n"
    "  allowed_audiences: [api://agents, \"https://vault.example\"]\n"
    "  allowed_clients: [agent-app]\n"
    "  allowed_scopes: [agents:invoke, openid]\n"
    "  required_claims:\n"
    "    - {claim: tenant, equals: acme}\n"
    "    - claim: groups\n"
    "      contains_any: [admins, \"agent users\"]\n"
    "    - {claim: \"https://example.com/roles\", contains: agent}\n"
    "  jwks_ttl_seconds: 600\n"
    "  jwks_refresh_min_seconds: 5\n"
    "  jwks_max_stale_seconds: 3600\n"
    "policy:\n"
    "  dir: /srv/av/policies\n"
    "principals:\n"
    "  - name: admin\n"
    "    uids: [root, 1000]\n"
    "    gids: [root]\n"
    "    policies: [AgentVaultFullAccess]\n"
    "  - name: agents\n"
    "    kind: caller\n"
    "    uids:\n"
    "      - 1001\n"
    "    gids: [100, 4294967294]\n"
    "    subjects: [\"CN=agent-7,O=Acme Corp\", 'CN=a\\, b+UID=8,O=\"x\"']\n"
    "    tags:\n"
    "      tenant: acme\n"
    "      \"cost center\": \"\"\n"
    "      team: \"support\\tdesk\"\n"
    "    policies: [AgentVaultAgentAccess, tenant-abac, x.y_Z-1]\n"
    "  - name: runtime-1\n"
    "    kind: runtime\n"
    "    uids: [4242]\n"
    "    policies: [AgentVaultServiceAccess]\n"
    "  - {name: gw.a_B, kind: gateway, uids: [nobody], gids: [4243, 4244], "
    "tags: {}, policies: []}\n"
    "audit:\n"
    "  checkpoint_records: 1000000\n"
    "  checkpoint_seconds: 1\n"
    "log:\n"
    "  level: debug\n";

/* Heap copies: the struct is large. */
static struct av_config *cfg_a, *cfg_b, *cfg_def;

static int
setup(void **state)
{
	(void)state;
	cfg_a = malloc(sizeof(*cfg_a));
	cfg_b = malloc(sizeof(*cfg_b));
	cfg_def = malloc(sizeof(*cfg_def));
	if (cfg_a == NULL || cfg_b == NULL || cfg_def == NULL)
		return -1;
	av_config_defaults(cfg_def);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(cfg_a);
	free(cfg_b);
	free(cfg_def);
	return 0;
}

static void
parse_ok(const char *text, size_t len, struct av_config *out)
{
	char err[AV_CONFIG_ERR_SIZE];

	snprintf(err, sizeof(err), "not touched");
	if (av_config_parse(NAME, text, len, out, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	assert_string_equal(err, "");
}

static void
parse_str(const char *text, struct av_config *out)
{
	parse_ok(text, strlen(text), out);
}

/* text must fail with exactly want; the output is the defaults. */
static void
bad_len(const char *text, size_t len, const char *want)
{
	char err[AV_CONFIG_ERR_SIZE];

	memset(cfg_b, 0x5a, sizeof(*cfg_b));
	if (av_config_parse(NAME, text, len, cfg_b, err, sizeof(err)) != -1)
		fail_msg("no error for:\n%s", text);
	if (strcmp(err, want) != 0)
		fail_msg("for:\n%s\nwant: %s\ngot:  %s", text, want, err);
	assert_memory_equal(cfg_b, cfg_def, sizeof(*cfg_b));
}

static void
bad(const char *text, const char *want)
{
	bad_len(text, strlen(text), want);
}

/* MINIMAL followed by text, which must fail with want. */
static void
bad_min(const char *text, const char *want)
{
	char buf[8192];

	assert_true(strlen(MINIMAL) + strlen(text) < sizeof(buf));
	(void)snprintf(buf, sizeof(buf), "%s%s", MINIMAL, text);
	bad(buf, want);
}

/* "hsm:" with a PIN source, then text (from line 3), must fail with want. */
static void
bad_hsm(const char *text, const char *want)
{
	char buf[8192];

	assert_true(strlen(text) + 32 < sizeof(buf));
	(void)snprintf(buf, sizeof(buf), "hsm:\n  pin: env:A\n%s", text);
	bad(buf, want);
}

/* Print c, parse the output, and demand the very same struct. */
static void
round_trip(const struct av_config *c)
{
	char *t1 = NULL, *t2 = NULL;
	size_t n1 = 0, n2 = 0;
	FILE *f;

	assert_non_null(f = open_memstream(&t1, &n1));
	av_config_print(c, f);
	assert_int_equal(fclose(f), 0);
	parse_ok(t1, n1, cfg_b);
	assert_memory_equal(c, cfg_b, sizeof(*c));
	/* And printing is stable. */
	assert_non_null(f = open_memstream(&t2, &n2));
	av_config_print(cfg_b, f);
	assert_int_equal(fclose(f), 0);
	assert_string_equal(t1, t2);
	free(t1);
	free(t2);
}

/* ---- valid files -------------------------------------------------------- */

static void
test_full(void **state)
{
	struct av_config *c = cfg_a;
	const struct av_principal *p;

	(void)state;
	parse_ok(full_yaml, strlen(full_yaml), c);
	assert_string_equal(c->appliance.partition, "aws-us-gov");
	assert_string_equal(c->appliance.region, "us-gov-west-1");
	assert_string_equal(c->appliance.account, "123456789012");
	assert_string_equal(c->appliance.name, "vault-01.lab");
	assert_string_equal(c->paths.state_dir, "/srv/av/state/");
	assert_string_equal(c->paths.audit_log, "/srv/av/log/audit.log");
	assert_string_equal(c->paths.run_dir, "/srv/av/run");
	assert_string_equal(c->listen.admin_socket.path,
	    "/srv/av/run/adm.sock");
	assert_int_equal(c->listen.admin_socket.mode, 0640);
	assert_true(c->listen.admin_socket.group.set);
	assert_int_equal(c->listen.admin_socket.group.gid, 0);
	/* Not given: computed from run_dir. */
	assert_string_equal(c->listen.agent_socket.path,
	    "/srv/av/run/agent.sock");
	assert_int_equal(c->listen.agent_socket.mode, 0666);
	assert_true(c->listen.agent_socket.group.set);
	assert_int_equal(c->listen.agent_socket.group.gid, 4242);
	assert_true(c->listen.tcp.enabled);
	assert_string_equal(c->listen.tcp.address, "::1");
	assert_int_equal(c->listen.tcp.port, 8443);
	assert_string_equal(c->listen.tcp.client_ca, "/srv/av/clients.pem");
	assert_string_equal(c->listen.tcp.public_name, "vault.example.com");
	assert_string_equal(c->hsm.module,
	    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so");
	assert_string_equal(c->hsm.token,
	    "pkcs11:token=av%20main;serial=0123");
	assert_string_equal(c->hsm.pin, "file:/etc/agentvault/pin");
	assert_int_equal(c->hsm.pool_size, 64);
	assert_string_equal(c->hsm.tls_key, "pkcs11:object=tls");
	assert_string_equal(c->hsm.tls_cert, "/srv/av/tls.crt");
	/* state_dir ends with '/': not doubled. */
	assert_string_equal(c->hsm.ca_cert, "/srv/av/state/ca.pem");
	assert_string_equal(c->hsm.audit_key,
	    "pkcs11:id=%01%02;type=private");
	assert_string_equal(c->hsm.token_signing_key,
	    "pkcs11:token=other;object=tsk;type=private");
	assert_int_equal(c->vault.kek_mode, AV_KEK_CUSTOMER_MANAGED);
	assert_string_equal(c->vault.kek, "pkcs11:object=kek");
	assert_int_equal(c->vault.dek_ttl_seconds, 86400);
	assert_true(c->vault.customer.present);
	assert_string_equal(c->vault.customer.module,
	    "/opt/vendor/lib/p11.so");
	assert_string_equal(c->vault.customer.token, "pkcs11:token=cust");
	assert_string_equal(c->vault.customer.pin, "env:CUSTOMER_PIN");
	assert_string_equal(c->vault.customer.key,
	    "pkcs11:object=cmk;type=secret-key");
	assert_int_equal(c->limits.max_connections, 65536);
	assert_int_equal(c->limits.max_header_bytes, 1024);
	assert_int_equal(c->limits.max_body_bytes, 16777216);
	assert_int_equal(c->limits.read_timeout_seconds, 600);
	assert_int_equal(c->limits.idle_timeout_seconds, 1);
	assert_int_equal(c->limits.threads, 8);
	assert_false(c->sandbox.enabled);
	assert_string_equal(c->sandbox.user.name, "nobody");
	assert_true(c->sandbox.user.resolved);
	assert_int_equal(c->sandbox.user.uid, 65534);
	assert_false(c->sandbox.landlock);
	assert_int_equal(c->outbound.connect_timeout_ms, 100);
	assert_int_equal(c->outbound.timeout_ms, 300000);
	assert_int_equal(c->outbound.max_response_bytes, 16777216);
	assert_int_equal(c->outbound.max_transfers, 4096);
	assert_string_equal(c->outbound.ca_bundle, "/srv/av/idp-ca.pem");
	assert_true(c->outbound.allow_http_loopback);
	assert_string_equal(c->authorizer.discovery_url, "https://idp.example."
	    "com/t/1/.well-known/openid-configuration");
	assert_int_equal(c->authorizer.allowed_audiences.n, 2);
	assert_string_equal(c->authorizer.allowed_audiences.v[1],
	    "https://vault.example");
	assert_int_equal(c->authorizer.allowed_clients.n, 1);
	assert_string_equal(c->authorizer.allowed_scopes.v[0],
	    "agents:invoke");
	assert_int_equal(c->authorizer.required_claims.n, 3);
	assert_string_equal(c->authorizer.required_claims.v[0].equals, "acme");
	assert_int_equal(c->authorizer.required_claims.v[1].contains_any.n, 2);
	assert_string_equal(c->authorizer.required_claims.v[1].contains_any.v[1],
	    "agent users");
	assert_string_equal(c->authorizer.required_claims.v[2].claim,
	    "https://example.com/roles");
	assert_string_equal(c->authorizer.required_claims.v[2].contains,
	    "agent");
	assert_int_equal(c->authorizer.jwks_ttl_seconds, 600);
	assert_int_equal(c->authorizer.jwks_refresh_min_seconds, 5);
	assert_int_equal(c->authorizer.jwks_max_stale_seconds, 3600);
	assert_string_equal(c->policy.dir, "/srv/av/policies");
	assert_int_equal(c->principals.n, 4);
	p = &c->principals.v[0];
	assert_string_equal(p->name, "admin");
	assert_int_equal(p->kind, AV_PRINCIPAL_CALLER);
	assert_int_equal(p->uids.n, 2);
	assert_int_equal(p->uids.v[0], 0);
	assert_int_equal(p->uids.v[1], 1000);
	assert_int_equal(p->gids.n, 1);
	assert_int_equal(p->gids.v[0], 0);
	assert_int_equal(p->subjects.n, 0);
	assert_int_equal(p->tags.n, 0);
	assert_int_equal(p->policies.n, 1);
	assert_string_equal(p->policies.v[0], "AgentVaultFullAccess");
	p = &c->principals.v[1];
	assert_string_equal(p->name, "agents");
	assert_int_equal(p->kind, AV_PRINCIPAL_CALLER);
	assert_int_equal(p->uids.n, 1);
	assert_int_equal(p->uids.v[0], 1001);
	assert_int_equal(p->gids.n, 2);
	assert_int_equal(p->gids.v[0], 100);
	assert_int_equal(p->gids.v[1], 4294967294U);
	assert_int_equal(p->subjects.n, 2);
	assert_string_equal(p->subjects.v[0], "CN=agent-7,O=Acme Corp");
	assert_string_equal(p->subjects.v[1], "CN=a\\, b+UID=8,O=\"x\"");
	assert_int_equal(p->tags.n, 3);
	assert_string_equal(p->tags.v[0].key, "tenant");
	assert_string_equal(p->tags.v[0].value, "acme");
	assert_string_equal(p->tags.v[1].key, "cost center");
	assert_string_equal(p->tags.v[1].value, "");
	assert_string_equal(p->tags.v[2].key, "team");
	assert_string_equal(p->tags.v[2].value, "support\tdesk");
	assert_int_equal(p->policies.n, 3);
	assert_string_equal(p->policies.v[0], "AgentVaultAgentAccess");
	assert_string_equal(p->policies.v[1], "tenant-abac");
	assert_string_equal(p->policies.v[2], "x.y_Z-1");
	p = &c->principals.v[2];
	assert_string_equal(p->name, "runtime-1");
	assert_int_equal(p->kind, AV_PRINCIPAL_RUNTIME);
	assert_int_equal(p->uids.n, 1);
	assert_int_equal(p->uids.v[0], 4242);
	assert_int_equal(p->gids.n, 0);
	assert_int_equal(p->policies.n, 1);
	p = &c->principals.v[3];
	assert_string_equal(p->name, "gw.a_B");
	assert_int_equal(p->kind, AV_PRINCIPAL_GATEWAY);
	assert_int_equal(p->uids.n, 1);
	assert_int_equal(p->uids.v[0], 65534);
	assert_int_equal(p->gids.n, 2);
	assert_int_equal(p->gids.v[1], 4244);
	assert_int_equal(p->tags.n, 0);
	assert_int_equal(p->policies.n, 0);
	assert_int_equal(c->audit.checkpoint_records, 1000000);
	assert_int_equal(c->audit.checkpoint_seconds, 1);
	assert_int_equal(c->tokens.ttl_seconds, 43200);
	assert_int_equal(c->oauth.session_ttl_seconds, 3600);
	assert_string_equal(c->agent_tokens.issuer,
	    "https://vault.example.com:8443/sts");
	assert_int_equal(c->agent_tokens.ttl_seconds, 3600);
	assert_int_equal(c->agent_tokens.audiences.n, 2);
	assert_string_equal(c->agent_tokens.audiences.v[1],
	    "urn:example:inventory");
	assert_int_equal(c->log.level, AV_LOG_DEBUG);
	assert_string_equal(av_kek_mode_name(c->vault.kek_mode),
	    "customer-managed");
	assert_string_equal(av_log_level_name(c->log.level), "debug");

	round_trip(c);
}

static void
test_defaults(void **state)
{
	const struct av_config *d = cfg_def;

	(void)state;
	assert_string_equal(d->appliance.partition, "aws");
	assert_string_equal(d->appliance.region, "us-east-1");
	assert_string_equal(d->appliance.account, "000000000000");
	assert_string_equal(d->appliance.name, "agentvault");
	assert_string_equal(d->paths.state_dir, "/var/lib/agentvault");
	assert_string_equal(d->paths.audit_log,
	    "/var/log/agentvault/audit.log");
	assert_string_equal(d->paths.run_dir, "/run/agentvault");
	assert_string_equal(d->listen.admin_socket.path,
	    "/run/agentvault/admin.sock");
	assert_int_equal(d->listen.admin_socket.mode, 0600);
	assert_false(d->listen.admin_socket.group.set);
	assert_string_equal(d->listen.agent_socket.path,
	    "/run/agentvault/agent.sock");
	assert_int_equal(d->listen.agent_socket.mode, 0660);
	assert_false(d->listen.agent_socket.group.set);
	assert_false(d->listen.tcp.enabled);
	assert_string_equal(d->listen.tcp.address, "127.0.0.1");
	assert_string_equal(d->listen.tcp.client_ca, "");
	assert_string_equal(d->listen.tcp.public_name, "");
	assert_string_equal(d->hsm.module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(d->hsm.token, "pkcs11:token=agentvault");
	assert_string_equal(d->hsm.pin, "");
	assert_int_equal(d->hsm.pool_size, 4);
	assert_string_equal(d->hsm.tls_key,
	    "pkcs11:object=agentvault-tls;type=private");
	assert_string_equal(d->hsm.tls_cert, "/var/lib/agentvault/tls.pem");
	assert_string_equal(d->hsm.ca_cert, "/var/lib/agentvault/ca.pem");
	assert_string_equal(d->hsm.audit_key,
	    "pkcs11:object=agentvault-audit;type=private");
	assert_string_equal(d->hsm.token_signing_key,
	    "pkcs11:object=agentvault-token-signing;type=private");
	assert_int_equal(d->vault.kek_mode, AV_KEK_SERVICE_MANAGED);
	assert_string_equal(d->vault.kek,
	    "pkcs11:object=agentvault-kek;type=secret-key");
	assert_int_equal(d->vault.dek_ttl_seconds, 300);
	assert_false(d->vault.customer.present);
	assert_int_equal(d->limits.max_connections, 256);
	assert_int_equal(d->limits.max_header_bytes, 8192);
	assert_int_equal(d->limits.max_body_bytes, 65536);
	assert_int_equal(d->limits.read_timeout_seconds, 10);
	assert_int_equal(d->limits.idle_timeout_seconds, 60);
	assert_int_equal(d->limits.threads, 2);
	assert_true(d->sandbox.enabled);
	assert_string_equal(d->sandbox.user.name, "agentvault");
	assert_false(d->sandbox.user.resolved);	/* not looked up */
	assert_true(d->sandbox.landlock);
	assert_int_equal(d->outbound.connect_timeout_ms, 3000);
	assert_int_equal(d->outbound.timeout_ms, 10000);
	assert_int_equal(d->outbound.max_response_bytes, 1048576);
	assert_int_equal(d->outbound.max_transfers, 256);
	assert_string_equal(d->outbound.ca_bundle,
	    "/etc/ssl/certs/ca-certificates.crt");
	assert_false(d->outbound.allow_http_loopback);
	assert_string_equal(d->authorizer.discovery_url, "");
	assert_int_equal(d->authorizer.allowed_audiences.n, 0);
	assert_int_equal(d->authorizer.required_claims.n, 0);
	assert_int_equal(d->authorizer.jwks_ttl_seconds, 3600);
	assert_int_equal(d->authorizer.jwks_refresh_min_seconds, 30);
	assert_int_equal(d->authorizer.jwks_max_stale_seconds, 86400);
	assert_string_equal(d->policy.dir, "");
	/* One principal: the admin, root, with full access. */
	assert_int_equal(d->principals.n, 1);
	assert_string_equal(d->principals.v[0].name, "admin");
	assert_int_equal(d->principals.v[0].kind, AV_PRINCIPAL_CALLER);
	assert_int_equal(d->principals.v[0].uids.n, 1);
	assert_int_equal(d->principals.v[0].uids.v[0], 0);
	assert_int_equal(d->principals.v[0].gids.n, 0);
	assert_int_equal(d->principals.v[0].subjects.n, 0);
	assert_int_equal(d->principals.v[0].tags.n, 0);
	assert_int_equal(d->principals.v[0].policies.n, 1);
	assert_string_equal(d->principals.v[0].policies.v[0],
	    "AgentVaultFullAccess");
	assert_int_equal(d->audit.checkpoint_records, 1000);
	assert_int_equal(d->audit.checkpoint_seconds, 60);
	assert_int_equal(d->tokens.ttl_seconds, 900);
	assert_int_equal(d->oauth.session_ttl_seconds, 600);
	assert_string_equal(d->agent_tokens.issuer, "");
	assert_int_equal(d->agent_tokens.ttl_seconds, 300);
	assert_int_equal(d->agent_tokens.audiences.n, 0);
	assert_int_equal(d->log.level, AV_LOG_INFO);
}

/* The smallest valid file: the defaults plus the PIN source. */
static void
test_minimal(void **state)
{
	static const char *const texts[] = {
		MINIMAL,
		"---\nhsm: {pin: \"env:AV_PIN\"}\n...\n",
		"{\"hsm\": {\"pin\": 'env:AV_PIN'}, listen: {}, policy: {}}",
		"\xef\xbb\xbfhsm:\r\n  pin: env:AV_PIN\r\n",	/* BOM, CRLF */
		"%YAML 1.1\n---\nhsm:\n  pin: env:AV_PIN  # comment\n",
	};
	size_t i;

	(void)state;
	memcpy(cfg_b, cfg_def, sizeof(*cfg_b));
	snprintf(cfg_b->hsm.pin, sizeof(cfg_b->hsm.pin), "env:AV_PIN");
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		parse_ok(texts[i], strlen(texts[i]), cfg_a);
		if (memcmp(cfg_a, cfg_b, sizeof(*cfg_a)) != 0)
			fail_msg("not the defaults: %s", texts[i]);
	}
	round_trip(cfg_a);
}

/*
 * Decisions: {} is a valid document that lacks hsm.pin; an empty file,
 * or one with comments only, is not a configuration at all.
 */
static void
test_empty(void **state)
{
	(void)state;
	bad("{}", NAME ":1:1: hsm.pin is required (a PIN source: "
	    "file:/path or env:NAME)");
	bad("hsm: {}\n", NAME ":1:1: hsm.pin is required (a PIN source: "
	    "file:/path or env:NAME)");
	bad("# nothing\n\nhsm:\n  pool_size: 2\n", NAME ":3:1: hsm.pin is "
	    "required (a PIN source: file:/path or env:NAME)");
	bad("", NAME ":1:1: empty configuration: expected a mapping "
	    "(hsm.pin at least)");
	bad_len(NULL, 0, NAME ":1:1: empty configuration: expected a mapping "
	    "(hsm.pin at least)");
	bad("# only a comment\n\n", NAME ":1:1: empty configuration: "
	    "expected a mapping (hsm.pin at least)");
	bad("---\n", NAME ":2:1: the top level must be a mapping of "
	    "sections (appliance, paths, listen, hsm, ...)");
}

static void
test_example_file(void **state)
{
	char err[AV_CONFIG_ERR_SIZE];

	(void)state;
	if (access(EXAMPLE, R_OK) != 0)
		skip();
	if (av_config_load(EXAMPLE, cfg_a, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	/* The example shows the defaults. */
	memcpy(cfg_b, cfg_def, sizeof(*cfg_b));
	snprintf(cfg_b->hsm.pin, sizeof(cfg_b->hsm.pin), "file:/etc/agentvault/pin");
	assert_memory_equal(cfg_a, cfg_b, sizeof(*cfg_a));
}

/* ---- errors, by class --------------------------------------------------- */

static void
test_unknown_keys(void **state)
{
	(void)state;
	bad("bogus: 1\n", NAME ":1:1: unknown key 'bogus' at the top level");
	bad_min("listen:\n  foo: 1\n",
	    NAME ":4:3: unknown key 'foo' in 'listen'");
	bad_min("listen:\n  tcp:\n    port: 1\n    tls: true\n",
	    NAME ":6:5: unknown key 'tls' in 'listen.tcp'");
	bad_min("principals:\n  - name: a\n    users: []\n",
	    NAME ":5:5: unknown key 'users' in 'principals[0]'");
	/* The interim caller map and services list before principals. */
	bad_min("access:\n  admin:\n    uids: [0]\n",
	    NAME ":3:1: unknown key 'access' at the top level");
	bad_min("services: []\n",
	    NAME ":3:1: unknown key 'services' at the top level");
	/* Case matters; a key is quoted safely in the message. */
	bad_min("Log: {}\n", NAME ":3:1: unknown key 'Log' at the top level");
	bad_min("log: {\"le\\tvel\": info}\n",
	    NAME ":3:7: unknown key 'le?vel' in 'log'");
	bad_min("log: {\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxx\": 1}\n", NAME ":3:7: unknown key "
	    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' in 'log'");
	/* Merge keys are just unknown keys. */
	bad_min("log:\n  <<: {level: info}\n",
	    NAME ":4:3: unknown key '<<' in 'log'");
}

static void
test_duplicates(void **state)
{
	(void)state;
	bad("hsm:\n  pin: env:A\n  pin: env:B\n",
	    NAME ":3:3: duplicate key 'pin' in 'hsm' (first at 2:3)");
	bad_min("log: {level: info}\nlog: {level: info}\n",
	    NAME ":4:1: duplicate key 'log' in 'the top level' "
	    "(first at 3:1)");
	bad_min("listen:\n  tcp: {port: 1, \"port\": 2}\n",
	    NAME ":4:18: duplicate key 'port' in 'listen.tcp' "
	    "(first at 4:9)");
}

static void
test_integers(void **state)
{
	static const char *const bad_ports[] = {
		"0", "65536", "-1", "\"8080\"", "'8080'", "0x1f90", "8e3",
		"08080", "8_080", "+8080", "8080.0", "99999999999999999999",
		"~", "\"\"", "[8080]", "{a: 1}", "true",
	};
	char buf[256], want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
		(void)snprintf(buf, sizeof(buf),
		    "listen:\n  tcp:\n    port: %s\n", bad_ports[i]);
		(void)snprintf(want, sizeof(want), NAME ":5:11: listen.tcp."
		    "port: expected an integer from 1 to 65535");
		bad_min(buf, want);
	}
	/* An empty value is YAML's null: the value's mark is the key's end. */
	bad_min("listen:\n  tcp:\n    port:\n", NAME ":5:10: listen.tcp.port: "
	    "expected an integer from 1 to 65535");
	bad_min("hsm2: 1\n", NAME ":3:1: unknown key 'hsm2' at the top level");
	bad("hsm:\n  pin: env:A\n  pool_size: 65\n",
	    NAME ":3:14: hsm.pool_size: expected an integer from 1 to 64");
	bad_min("limits: {max_header_bytes: 1023}\n", NAME ":3:28: "
	    "limits.max_header_bytes: expected an integer from 1024 to 65536");
	bad_min("limits:\n  max_body_bytes: 16777217\n", NAME ":4:19: "
	    "limits.max_body_bytes: expected an integer from 1024 to "
	    "16777216");
	bad_min("audit: {checkpoint_records: 0}\n", NAME ":3:29: "
	    "audit.checkpoint_records: expected an integer from 1 to 1000000");
	bad_min("vault:\n  dek_ttl_seconds: 86401\n", NAME ":4:20: "
	    "vault.dek_ttl_seconds: expected an integer from 1 to 86400");
	bad_min("tokens:\n  ttl_seconds: 59\n", NAME ":4:16: "
	    "tokens.ttl_seconds: expected an integer from 60 to 43200");
	bad_min("oauth:\n  session_ttl_seconds: 59\n", NAME ":4:24: "
	    "oauth.session_ttl_seconds: expected an integer from 60 to 3600");
	bad_min("oauth:\n  session_ttl_seconds: 3601\n", NAME ":4:24: "
	    "oauth.session_ttl_seconds: expected an integer from 60 to 3600");
	bad_min("oauth:\n  state_ttl: 60\n", NAME ":4:3: "
	    "unknown key 'state_ttl' in 'oauth'");
	bad_min("agent_tokens:\n  ttl_seconds: 29\n", NAME ":4:16: "
	    "agent_tokens.ttl_seconds: expected an integer from 30 to 3600");
	bad_min("agent_tokens:\n  ttl_seconds: 3601\n", NAME ":4:16: "
	    "agent_tokens.ttl_seconds: expected an integer from 30 to 3600");
	bad_min("agent_tokens:\n  issuer: http://vault.example\n", NAME
	    ":4:11: agent_tokens.issuer: expected https://HOST[:PORT][/PATH] "
	    "without a trailing '/'");
	bad_min("agent_tokens:\n  issuer: https://vault.example/\n", NAME
	    ":4:11: agent_tokens.issuer: expected https://HOST[:PORT][/PATH] "
	    "without a trailing '/'");
	bad_min("agent_tokens:\n  issuer: https://u@vault.example\n", NAME
	    ":4:11: agent_tokens.issuer: expected https://HOST[:PORT][/PATH] "
	    "without a trailing '/'");
	bad_min("agent_tokens:\n  issuer: https://vault.example?x=1\n", NAME
	    ":4:11: agent_tokens.issuer: expected an https URL without query "
	    "or fragment (RFC 3986 characters, at most 512 bytes)");
	bad_min("agent_tokens:\n  audiences: [\"a b\"]\n", NAME
	    ":4:15: agent_tokens.audiences: expected a list of audiences "
	    "(printable ASCII without spaces, at most 512 bytes each)");
	bad_min("tokens: {ttl_seconds: 43201}\n", NAME ":3:23: "
	    "tokens.ttl_seconds: expected an integer from 60 to 43200");
	bad_min("tokens: {ttl: 60}\n",
	    NAME ":3:10: unknown key 'ttl' in 'tokens'");
	bad_min("outbound:\n  connect_timeout_ms: 99\n", NAME ":4:23: "
	    "outbound.connect_timeout_ms: expected an integer from 100 to "
	    "60000");
	bad_min("outbound: {timeout_ms: 300001}\n", NAME ":3:24: "
	    "outbound.timeout_ms: expected an integer from 100 to 300000");
	bad_min("outbound: {max_response_bytes: 1023}\n", NAME ":3:32: "
	    "outbound.max_response_bytes: expected an integer from 1024 to "
	    "16777216");
	bad_min("outbound: {max_transfers: 0}\n", NAME ":3:27: "
	    "outbound.max_transfers: expected an integer from 1 to 4096");
}

static void
test_bools_enums(void **state)
{
	(void)state;
	bad_min("sandbox: {enabled: yes}\n", NAME ":3:20: sandbox.enabled: "
	    "expected true or false");
	bad_min("sandbox: {enabled: \"true\"}\n", NAME ":3:20: "
	    "sandbox.enabled: expected true or false");
	bad_min("sandbox: {landlock: True}\n", NAME ":3:21: "
	    "sandbox.landlock: expected true or false");
	bad_min("sandbox: {landlock: 1}\n", NAME ":3:21: "
	    "sandbox.landlock: expected true or false");
	bad_min("outbound: {allow_http_loopback: yes}\n", NAME ":3:33: "
	    "outbound.allow_http_loopback: expected true or false");
	bad_min("log:\n  level: verbose\n", NAME ":4:10: log.level: expected "
	    "one of: debug, info, warning, error");
	bad_min("log:\n  level: INFO\n", NAME ":4:10: log.level: expected "
	    "one of: debug, info, warning, error");
	bad_min("vault:\n  kek_mode: hsm\n", NAME ":4:13: vault.kek_mode: "
	    "expected one of: service-managed, customer-managed");
	/* Quoting a string is fine. */
	parse_str(MINIMAL "log: {level: \"warning\"}\n", cfg_a);
	assert_int_equal(cfg_a->log.level, AV_LOG_WARNING);
}

static void
test_strings(void **state)
{
	char buf[8192], want[512];
	size_t n;

	(void)state;
	bad_min("appliance:\n  name: \"\"\n", NAME ":4:9: appliance.name: "
	    "must not be empty");
	bad_min("appliance:\n  name:\n", NAME ":4:8: appliance.name: "
	    "must not be empty");
	bad_min("appliance:\n  name: null\n", NAME ":4:9: appliance.name: "
	    "must not be empty");
	bad_min("appliance:\n  partition: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    NAME ":4:14: appliance.partition: longer than 32 bytes");
	bad_min("appliance:\n  partition: AWS\n", NAME ":4:14: "
	    "appliance.partition: expected a partition such as aws "
	    "([a-z0-9-], at most 32 bytes)");
	bad_min("appliance:\n  account: 12345678901\n", NAME ":4:12: "
	    "appliance.account: expected a 12-digit account id");
	bad_min("appliance:\n  account: 1234567890123\n", NAME ":4:12: "
	    "appliance.account: longer than 12 bytes");
	bad_min("appliance:\n  account: 12345678901a\n", NAME ":4:12: "
	    "appliance.account: expected a 12-digit account id");
	bad_min("appliance:\n  name: \"a b\"\n", NAME ":4:9: appliance.name: "
	    "expected a name of [A-Za-z0-9._-], at most 64 bytes");
	bad_min("appliance:\n  name: [a]\n", NAME ":4:9: appliance.name: "
	    "expected a name of [A-Za-z0-9._-], at most 64 bytes");
	/* Control characters and NUL, from escapes. */
	bad_min("paths:\n  run_dir: \"/run/a\\tb\"\n", NAME ":4:12: "
	    "paths.run_dir: contains a control character");
	bad_min("paths:\n  run_dir: \"/run/a\\0b\"\n", NAME ":4:12: "
	    "paths.run_dir: contains a control character");
	/* Paths. */
	bad_min("paths:\n  state_dir: var/lib\n", NAME ":4:14: "
	    "paths.state_dir: expected an absolute path without '..'");
	bad_min("paths:\n  state_dir: /var/../etc\n", NAME ":4:14: "
	    "paths.state_dir: expected an absolute path without '..'");
	bad_min("paths:\n  state_dir: /var/..\n", NAME ":4:14: "
	    "paths.state_dir: expected an absolute path without '..'");
	parse_str(MINIMAL "paths:\n  state_dir: /var/..x/.../a..\n", cfg_a);
	/* PATH_MAX - 1 bytes is the longest path. */
	n = (size_t)snprintf(buf, sizeof(buf), "%spaths:\n  audit_log: /",
	    MINIMAL);
	memset(buf + n, 'a', PATH_MAX - 1);
	buf[n + PATH_MAX - 1] = '\0';
	(void)snprintf(want, sizeof(want), NAME ":4:14: paths.audit_log: "
	    "longer than %d bytes", PATH_MAX - 1);
	bad(buf, want);
	buf[strlen(buf) - 1] = '\0';
	parse_ok(buf, strlen(buf), cfg_a);
	assert_int_equal(strlen(cfg_a->paths.audit_log), PATH_MAX - 1);
	/* Any scalar over AV_CONFIG_STRING_MAX: refused before the schema. */
	n = (size_t)snprintf(buf, sizeof(buf), "%sbogus: x", MINIMAL);
	memset(buf + n, 'a', AV_CONFIG_STRING_MAX);
	buf[n + AV_CONFIG_STRING_MAX] = '\0';
	bad(buf, NAME ":3:8: a string longer than 4096 bytes");
	/* Addresses. */
	bad_min("listen: {tcp: {port: 1, address: localhost}}\n", NAME ":3:34: "
	    "listen.tcp.address: expected an IPv4 or IPv6 address (not a host "
	    "name)");
	bad_min("listen: {tcp: {port: 1, address: 1.2.3}}\n", NAME ":3:34: "
	    "listen.tcp.address: expected an IPv4 or IPv6 address (not a host "
	    "name)");
	bad_min("listen: {tcp: {port: 1, address: \"fe80::1%eth0\"}}\n",
	    NAME ":3:34: listen.tcp.address: expected an IPv4 or IPv6 address "
	    "(not a host name)");
	parse_str(MINIMAL "listen: {tcp: {port: 1, address: 0.0.0.0}}\n",
	    cfg_a);
	assert_string_equal(cfg_a->listen.tcp.address, "0.0.0.0");
	bad_min("listen: {tcp: {port: 1, public_name: \"a/b\"}}\n", NAME
	    ":3:38: listen.tcp.public_name: expected a DNS name ([A-Za-z0-9.-], "
	    "at most 253 bytes)");
}

static void
test_modes(void **state)
{
	static const struct {
		const char	*text;
		unsigned int	 mode;
	} good[] = {
		{ "0660", 0660 }, { "\"0660\"", 0660 }, { "660", 0660 },
		{ "0o640", 0640 }, { "'0600'", 0600 }, { "0", 0 },
		{ "0777", 0777 }, { "0000", 0 },
	};
	static const char *const worse[] = {
		"0800", "01777", "4755", "06600", "0o", "rw-rw----", "-1",
		"\"\"", "0x1a4", "[0660]", "~",
	};
	char buf[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		(void)snprintf(buf, sizeof(buf), "%slisten:\n  agent_socket:\n"
		    "    mode: %s\n", MINIMAL, good[i].text);
		parse_ok(buf, strlen(buf), cfg_a);
		assert_int_equal(cfg_a->listen.agent_socket.mode, good[i].mode);
	}
	for (i = 0; i < sizeof(worse) / sizeof(worse[0]); i++) {
		(void)snprintf(buf, sizeof(buf), "listen:\n  agent_socket:\n"
		    "    mode: %s\n", worse[i]);
		bad_min(buf, NAME ":5:11: listen.agent_socket.mode: expected "
		    "a file mode in octal from 0000 to 0777, such as 0660");
	}
	/* The admin socket is never open to others. */
	bad_min("listen:\n  admin_socket:\n    mode: 0602\n", NAME ":5:11: "
	    "listen.admin_socket.mode: 0602 lets others connect to the admin "
	    "socket; clear the last digit");
}

static void
test_yaml_features(void **state)
{
	(void)state;
	bad("appliance: &a {name: x}\nhsm: {pin: env:A}\n",
	    NAME ":1:12: anchors and aliases are not allowed");
	bad("hsm:\n  pin: env:A\n  token: *tok\n",
	    NAME ":3:10: aliases are not allowed");
	bad("hsm:\n  pin: env:A\n  pool_size: !!int 4\n",
	    NAME ":3:14: tags are not allowed");
	bad("hsm: !custom\n  pin: env:A\n", NAME ":1:6: tags are not allowed");
	bad("%TAG ! tag:example.com,2000:\n---\nhsm: {pin: env:A}\n",
	    NAME ":1:1: %TAG directives are not allowed");
	bad("hsm: {pin: env:A}\n---\nhsm: {pin: env:B}\n",
	    NAME ":2:1: more than one YAML document");
	bad("hsm: {pin: env:A}\n...\n---\n", NAME ":3:1: more than one YAML "
	    "document");
	bad("- hsm\n- pin\n", NAME ":1:1: the top level must be a mapping of "
	    "sections (appliance, paths, listen, hsm, ...)");
	bad("hello\n", NAME ":1:1: the top level must be a mapping of sections "
	    "(appliance, paths, listen, hsm, ...)");
	bad("? [a]\n: 1\n", NAME ":1:3: a key must be a string");
	bad("{? {a: 1}: 2}\n", NAME ":1:4: a key must be a string");
}

static void
test_syntax(void **state)
{
	(void)state;
	bad("hsm:\n  pin: env:A\n pool_size: 2\n", NAME ":3:2: did not find "
	    "expected key (while parsing a block mapping at 1:1)");
	bad("hsm: {pin: env:A}\nlog: level: info\n", NAME ":2:11: mapping "
	    "values are not allowed in this context");
	bad("hsm:\n  pin: [env:A\n", NAME ":3:1: did not find expected ',' "
	    "or ']' (while parsing a flow sequence at 2:8)");
	bad("hsm: {pin: \"env:A}\n", NAME ":2:1: found unexpected end of "
	    "stream (while scanning a quoted scalar at 1:12)");
	bad("hsm:\n\tpin: env:A\n", NAME ":2:1: found character that cannot "
	    "start any token (while scanning for the next token at 2:1)");
	/* Reader errors have an offset only: line and column are counted. */
	bad("hsm:\n  pin: env:\xff\n", NAME ":2:12: invalid leading UTF-8 "
	    "octet (0xff)");
	bad("hsm:\n  pin: \"\x01\"\n", NAME ":2:9: control characters are not "
	    "allowed (0x01)");
	bad_len("hsm:\n  pin: \0\n", 13, NAME ":2:8: control characters are "
	    "not allowed (0x00)");
}

static void
test_limits(void **state)
{
	char buf[16384];
	size_t i, n;
	char *big;

	(void)state;
	/* Nesting: the top-level mapping is level 1. */
	n = (size_t)snprintf(buf, sizeof(buf), "x: ");
	for (i = 0; i < AV_CONFIG_DEPTH_MAX - 1; i++)
		buf[n++] = '[';
	for (i = 0; i < AV_CONFIG_DEPTH_MAX - 1; i++)
		buf[n++] = ']';
	buf[n] = '\0';
	bad(buf, NAME ":1:1: unknown key 'x' at the top level");
	n = (size_t)snprintf(buf, sizeof(buf), "x: ");
	for (i = 0; i < AV_CONFIG_DEPTH_MAX; i++)
		buf[n++] = '[';
	for (i = 0; i < AV_CONFIG_DEPTH_MAX; i++)
		buf[n++] = ']';
	buf[n] = '\0';
	bad(buf, NAME ":1:19: nested deeper than 16 levels");
	/* A deep block structure, before any unknown key is looked at. */
	n = 0;
	for (i = 0; i < 20; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%*sk%zu:\n",
		    (int)(2 * i), "", i);
	bad(buf, NAME ":17:33: nested deeper than 16 levels");

	/* Lists: 64 items, not 65. */
	n = (size_t)snprintf(buf, sizeof(buf), "%sprincipals:\n  - name: a\n"
	    "    uids: [", MINIMAL);
	for (i = 0; i < AV_CONFIG_LIST_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%zu",
		    i > 0 ? ", " : "", 1000 + i);
	(void)snprintf(buf + n, sizeof(buf) - n, "]\n");
	parse_ok(buf, strlen(buf), cfg_a);
	assert_int_equal(cfg_a->principals.v[0].uids.n, AV_CONFIG_LIST_MAX);
	assert_int_equal(cfg_a->principals.v[0].uids.v[63], 1063);
	(void)snprintf(buf + n, sizeof(buf) - n, ", 5]\n");
	bad(buf, NAME ":5:396: a list of more than 64 items");

	/* Size: 1 MiB of comments parses, one byte more does not. */
	assert_non_null(big = malloc(AV_CONFIG_FILE_MAX + 1));
	memset(big, '#', AV_CONFIG_FILE_MAX + 1);
	memcpy(big, MINIMAL, strlen(MINIMAL));
	big[strlen(MINIMAL)] = '\n';
	parse_ok(big, AV_CONFIG_FILE_MAX, cfg_a);
	bad_len(big, AV_CONFIG_FILE_MAX + 1, NAME ": larger than 1048576 "
	    "bytes");
	free(big);
}

/* The first principal, "a", then its keys from line 5. */
#define P0	"principals:\n  - name: a\n"

static void
test_ids(void **state)
{
	(void)state;
	bad_min(P0 "    uids: [0, root]\n", NAME ":5:15: "
	    "principals[0].uids: uid 0 is listed twice");
	bad_min(P0 "    gids: [no_such_group_av]\n",
	    NAME ":5:12: principals[0].gids: unknown group 'no_such_group_av'");
	bad_min(P0 "    uids:\n      - no_such_user_av\n",
	    NAME ":6:9: principals[0].uids: unknown user 'no_such_user_av'");
	bad_min(P0 "    uids: [4294967295]\n", NAME ":5:12: "
	    "principals[0].uids: expected a user name or a uid from 0 to "
	    "4294967294");
	bad_min(P0 "    uids: [007]\n", NAME ":5:12: "
	    "principals[0].uids: expected a user name or a uid from 0 to "
	    "4294967294");
	/* Quoted: a name, and no user is called "1000". */
	bad_min(P0 "    uids: [\"1000\"]\n", NAME ":5:12: "
	    "principals[0].uids: unknown user '1000'");
	bad_min(P0 "    uids: [[1]]\n", NAME ":5:12: "
	    "principals[0].uids: expected a list of user names or uids");
	bad_min(P0 "    uids: 1000\n", NAME ":5:11: "
	    "principals[0].uids: expected a list of user names or uids");
	bad_min(P0 "    uids:\n", NAME ":5:10: "
	    "principals[0].uids: expected a list of user names or uids");
	bad_min(P0 "    gids: [\"\"]\n", NAME ":5:12: "
	    "principals[0].gids: must not be empty");
	bad_min("listen:\n  agent_socket:\n    group: no_such_group_av\n",
	    NAME ":5:12: listen.agent_socket.group: unknown group "
	    "'no_such_group_av'");
	bad_min("listen:\n  agent_socket:\n    group: [0]\n", NAME ":5:12: "
	    "listen.agent_socket.group: expected a group name or a gid");
	bad_min("sandbox:\n  user: root\n", NAME ":4:9: sandbox.user: 'root' "
	    "has uid 0: the worker must drop to an unprivileged user");
	bad_min("sandbox:\n  user: no_such_user_av\n", NAME ":4:9: "
	    "sandbox.user: unknown user 'no_such_user_av'");
	bad_min("sandbox:\n  user: 65534\n", NAME ":4:9: "
	    "sandbox.user: unknown user '65534'");
}

static void
test_principals(void **state)
{
	static const char example[] = MINIMAL
	    "policy:\n"
	    "  dir: /etc/agentvault/policies\n"
	    "principals:\n"
	    "  - name: admin\n"
	    "    uids: [0]\n"
	    "    policies: [AgentVaultFullAccess]\n"
	    "  - name: agents\n"
	    "    gids: [100]\n"
	    "    tags: {tenant: acme, team: support}\n"
	    "    policies: [AgentVaultAgentAccess, tenant-abac]\n"
	    "  - name: agent-runtime\n"
	    "    kind: runtime\n"
	    "    uids: [4242]\n"
	    "    policies: [AgentVaultServiceAccess]\n"
	    "  - name: remote-agent\n"
	    "    subjects: [\"CN=agent-7,O=Acme Corp\"]\n"
	    "    policies: [AgentVaultAgentAccess]\n";
	const struct av_principal *p;

	(void)state;
	parse_str(example, cfg_a);
	assert_string_equal(cfg_a->policy.dir, "/etc/agentvault/policies");
	assert_int_equal(cfg_a->principals.n, 4);
	p = &cfg_a->principals.v[1];
	assert_int_equal(p->kind, AV_PRINCIPAL_CALLER);	/* the default */
	assert_int_equal(p->gids.v[0], 100);
	assert_int_equal(p->tags.n, 2);
	assert_string_equal(p->tags.v[1].key, "team");
	assert_string_equal(p->tags.v[1].value, "support");
	assert_int_equal(cfg_a->principals.v[2].kind, AV_PRINCIPAL_RUNTIME);
	p = &cfg_a->principals.v[3];
	assert_int_equal(p->uids.n + p->gids.n, 0);
	assert_int_equal(p->subjects.n, 1);
	assert_string_equal(p->subjects.v[0], "CN=agent-7,O=Acme Corp");
	round_trip(cfg_a);

	/* A list in the file replaces the default admin; [] is nobody. */
	parse_str(MINIMAL "principals: []\n", cfg_a);
	assert_int_equal(cfg_a->principals.n, 0);
	round_trip(cfg_a);
	parse_str(MINIMAL "principals:\n  - {name: ops, gids: [0]}\n", cfg_a);
	assert_int_equal(cfg_a->principals.n, 1);
	assert_int_equal(cfg_a->principals.v[0].uids.n, 0);
	assert_int_equal(cfg_a->principals.v[0].policies.n, 0);
	round_trip(cfg_a);
	/* A uid and a gid of the same number are different ids. */
	parse_str(MINIMAL "principals:\n  - {name: a, uids: [5]}\n"
	    "  - {name: b, gids: [5]}\n", cfg_a);

	/* The principal as a whole. */
	bad_min("principals:\n  - {name: a, uids: [5]}\n"
	    "  - {name: a, uids: [6]}\n", NAME ":5:12: "
	    "principals[1].name: 'a' is already the name of principals[0]");
	bad_min("principals:\n  - {name: a, uids: [5, 7]}\n"
	    "  - {name: b, uids: [6, 7]}\n", NAME ":5:21: "
	    "principals[1].uids: uid 7 is also in principals[0]: a caller is "
	    "one principal");
	bad_min("principals:\n  - {name: a, gids: [5]}\n"
	    "  - {name: b, kind: gateway, uids: [5], gids: [5]}\n",
	    NAME ":5:47: principals[1].gids: gid 5 is also in principals[0]: "
	    "a caller is one principal");
	bad_min("principals:\n  - {name: a, subjects: [CN=x]}\n"
	    "  - {name: b, uids: [1]}\n  - {name: c, subjects: [CN=y, CN=x]}"
	    "\n", NAME ":6:25: principals[2].subjects: subject 'CN=x' is also "
	    "in principals[0]: a caller is one principal");
	/* The same name is reported before a shared id. */
	bad_min("principals:\n  - {name: a, uids: [5]}\n"
	    "  - {name: b, uids: [5]}\n  - {name: a, uids: [6]}\n",
	    NAME ":5:21: principals[1].uids: uid 5 is also in principals[0]: "
	    "a caller is one principal");
	bad_min("principals:\n  - {name: a}\n", NAME ":4:5: principals[0]: "
	    "a principal needs at least one uid, gid or subject");
	bad_min("principals:\n  - {name: a, uids: [], gids: [], subjects: [], "
	    "policies: [AgentVaultFullAccess]}\n", NAME ":4:5: principals[0]: "
	    "a principal needs at least one uid, gid or subject");
	bad_min("principals:\n  - uids: [5]\n", NAME ":4:5: principals[0].name "
	    "is required (a name of [A-Za-z0-9._-], at most 64 bytes)");
	bad_min("principals:\n  - {name: a b, uids: [5]}\n", NAME ":4:12: "
	    "principals[0].name: expected a name of [A-Za-z0-9._-], at most "
	    "64 bytes");
	bad_min("principals:\n  - {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaa, uids: [5]}\n", NAME ":4:12: "
	    "principals[0].name: longer than 64 bytes");
	bad_min("principals:\n  - {name: a, kind: lambda, uids: [5]}\n",
	    NAME ":4:21: principals[0].kind: expected one of: caller, runtime, "
	    "gateway");
	bad_min("principals:\n  - {name: a, kind: Runtime, uids: [5]}\n",
	    NAME ":4:21: principals[0].kind: expected one of: caller, runtime, "
	    "gateway");
	bad_min("principals:\n  - {name: a, uids: [5], user: x}\n",
	    NAME ":4:26: unknown key 'user' in 'principals[0]'");
	bad_min("principals:\n  - {name: a, uids: [5], name: b}\n",
	    NAME ":4:26: duplicate key 'name' in 'principals[0]' (first at "
	    "4:6)");
	bad_min("principals: {name: a}\n", NAME ":3:13: principals: expected "
	    "a list of mappings");
	bad_min("principals: [a]\n", NAME ":3:14: principals: expected a list "
	    "of mappings");
	bad_min("principals:\n", NAME ":3:12: principals: expected a list of "
	    "mappings");

	/* policy */
	bad_min("policy:\n  dir: etc/policies\n", NAME ":4:8: policy.dir: "
	    "expected an absolute path without '..'");
	bad_min("policy:\n  dir: \"\"\n", NAME ":4:8: policy.dir: must not "
	    "be empty");
	bad_min("policy:\n  dirs: /x\n", NAME ":4:3: unknown key 'dirs' in "
	    "'policy'");
	bad_min("policy: /x\n", NAME ":3:9: policy: expected a mapping");
}

/* Every principal there can be, each with every key and list full. */
static void
test_principals_full(void **state)
{
	char *buf;
	size_t size = 1024 * 1024, n, i, j;
	const struct av_principal *p;

	(void)state;
	assert_non_null(buf = malloc(size));
	n = (size_t)snprintf(buf, size, "%sprincipals:\n", MINIMAL);
	for (i = 0; i < AV_CONFIG_PRINCIPALS_MAX; i++) {
		n += (size_t)snprintf(buf + n, size - n, "  - name: p%zu\n"
		    "    kind: %s\n    uids: [%zu]\n    gids: [%zu]\n"
		    "    subjects: [", i, i % 3 == 0 ? "caller" : i % 3 == 1 ?
		    "runtime" : "gateway", 5000 + i, 6000 + i);
		for (j = 0; j < AV_PRINCIPAL_SUBJECTS_MAX; j++)
			n += (size_t)snprintf(buf + n, size - n, "%s\"CN=p%zu-"
			    "%zu,O=Acme Corp\"", j > 0 ? ", " : "", i, j);
		n += (size_t)snprintf(buf + n, size - n, "]\n    tags:\n");
		for (j = 0; j < AV_PRINCIPAL_TAGS_MAX; j++)
			n += (size_t)snprintf(buf + n, size - n, "      k%zu: "
			    "v%zu\n", j, i);
		n += (size_t)snprintf(buf + n, size - n, "    policies: [");
		for (j = 0; j < AV_PRINCIPAL_POLICIES_MAX; j++)
			n += (size_t)snprintf(buf + n, size - n, "%spol%zu",
			    j > 0 ? ", " : "", j);
		n += (size_t)snprintf(buf + n, size - n, "]\n");
	}
	assert_true(n < size - 64);
	parse_ok(buf, n, cfg_a);
	assert_int_equal(cfg_a->principals.n, AV_CONFIG_PRINCIPALS_MAX);
	p = &cfg_a->principals.v[AV_CONFIG_PRINCIPALS_MAX - 1];
	assert_string_equal(p->name, "p31");
	assert_int_equal(p->kind, AV_PRINCIPAL_RUNTIME);
	assert_int_equal(p->subjects.n, AV_PRINCIPAL_SUBJECTS_MAX);
	assert_string_equal(p->subjects.v[7], "CN=p31-7,O=Acme Corp");
	assert_int_equal(p->tags.n, AV_PRINCIPAL_TAGS_MAX);
	assert_string_equal(p->tags.v[15].key, "k15");
	assert_string_equal(p->tags.v[15].value, "v31");
	assert_int_equal(p->policies.n, AV_PRINCIPAL_POLICIES_MAX);
	assert_string_equal(p->policies.v[15], "pol15");
	round_trip(cfg_a);
	(void)snprintf(buf + n, size - n, "  - {name: x, uids: [1]}\n");
	bad(buf, NAME ":740:5: principals: more than 32 items");
	free(buf);
}

static void
test_subjects_policies(void **state)
{
	(void)state;
	parse_str(MINIMAL P0 "    subjects: [\" !~\", 'CN=\\, x']\n"
	    "    policies: []\n", cfg_a);
	assert_string_equal(cfg_a->principals.v[0].subjects.v[0], " !~");
	assert_string_equal(cfg_a->principals.v[0].subjects.v[1], "CN=\\, x");
	round_trip(cfg_a);

	bad_min(P0 "    subjects: [\"\"]\n", NAME ":5:16: "
	    "principals[0].subjects: must not be empty");
	bad_min(P0 "    subjects: [CN=a, ~]\n", NAME ":5:22: "
	    "principals[0].subjects: must not be empty");
	bad_min(P0 "    subjects: [\"CN=\\u00e9\"]\n", NAME ":5:16: "
	    "principals[0].subjects: expected a list of certificate subjects "
	    "in RFC 2253 form, such as CN=agent-7,O=Acme Corp (printable "
	    "ASCII, at most 255 bytes each)");
	bad_min(P0 "    subjects: [\"CN=a\\nO=b\"]\n", NAME ":5:16: "
	    "principals[0].subjects: contains a control character");
	bad_min(P0 "    subjects: [CN=a, CN=b, CN=a]\n", NAME ":5:28: "
	    "principals[0].subjects: 'CN=a' is listed twice");
	bad_min(P0 "    subjects: [a, b, c, d, e, f, g, h, i]\n", NAME ":5:40: "
	    "principals[0].subjects: more than 8 items");
	bad_min(P0 "    subjects: CN=a\n", NAME ":5:15: "
	    "principals[0].subjects: expected a list of certificate subjects "
	    "in RFC 2253 form, such as CN=agent-7,O=Acme Corp (printable "
	    "ASCII, at most 255 bytes each)");
	bad_min(P0 "    subjects: [[CN=a]]\n", NAME ":5:16: "
	    "principals[0].subjects: expected a list of certificate subjects "
	    "in RFC 2253 form, such as CN=agent-7,O=Acme Corp (printable "
	    "ASCII, at most 255 bytes each)");
	{
		char buf[1024], sub[300];

		memset(sub, 'a', 255);
		sub[255] = '\0';
		(void)snprintf(buf, sizeof(buf), "%s%s    subjects: [%s]\n",
		    MINIMAL, P0, sub);
		parse_ok(buf, strlen(buf), cfg_a);
		assert_int_equal(strlen(cfg_a->principals.v[0].subjects.v[0]),
		    255);
		(void)snprintf(buf, sizeof(buf), "%s%s    subjects: [%sa]\n",
		    MINIMAL, P0, sub);
		bad(buf, NAME ":5:16: principals[0].subjects: longer than 255 "
		    "bytes");
	}

	bad_min(P0 "    uids: [1]\n    policies: [a b]\n", NAME ":6:16: "
	    "principals[0].policies: expected a list of policy names of "
	    "[A-Za-z0-9._-], at most 128 bytes each");
	bad_min(P0 "    uids: [1]\n    policies: [a, b, a]\n", NAME ":6:22: "
	    "principals[0].policies: 'a' is listed twice");
	bad_min(P0 "    uids: [1]\n    policies: [a1, a2, a3, a4, a5, a6, a7, "
	    "a8, a9, b0, b1, b2, b3, b4, b5, b6, b7]\n", NAME ":6:80: "
	    "principals[0].policies: more than 16 items");
	bad_min(P0 "    uids: [1]\n    policies: {a: b}\n", NAME ":6:15: "
	    "principals[0].policies: expected a list of policy names of "
	    "[A-Za-z0-9._-], at most 128 bytes each");
	bad_min(P0 "    uids: [1]\n    policies: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n", NAME ":6:16: "
	    "principals[0].policies: longer than 128 bytes");
}

#define TAG_KEY		"expected a tag key: 1 to 128 bytes of " \
			"[A-Za-z0-9._:/=+@-], space and tab"
#define TAG_VALUE	"expected a tag value: at most 256 bytes of " \
			"[A-Za-z0-9._:/=+@-], space and tab (\"\" for none)"

static void
test_tags(void **state)
{
	const struct av_tag_list *t;

	(void)state;
	parse_str(MINIMAL P0 "    uids: [1]\n    tags:\n      \"a b\\t._:/=+@-\": "
	    "\"\"\n      Aws: x\n      aws.x: \"1 2\"\n      \"null\": \"null\"\n",
	    cfg_a);
	t = &cfg_a->principals.v[0].tags;
	assert_int_equal(t->n, 4);
	assert_string_equal(t->v[0].key, "a b\t._:/=+@-");
	assert_string_equal(t->v[0].value, "");
	assert_string_equal(t->v[1].key, "Aws");
	assert_string_equal(t->v[2].value, "1 2");
	assert_string_equal(t->v[3].key, "null");
	assert_string_equal(t->v[3].value, "null");
	round_trip(cfg_a);

	bad_min(P0 "    uids: [1]\n    tags: {tenant: a, team: b, tenant: c}\n",
	    NAME ":6:32: duplicate key 'tenant' in 'principals[0].tags' "
	    "(first at 6:12; tag keys compare ignoring case)");
	bad_min(P0 "    uids: [1]\n    tags: {tenant: a, Tenant: c}\n",
	    NAME ":6:23: duplicate key 'Tenant' in 'principals[0].tags' "
	    "(first at 6:12; tag keys compare ignoring case)");
	bad_min(P0 "    uids: [1]\n    tags: {aws:x: y}\n", NAME ":6:12: "
	    "principals[0].tags.aws:x: tag keys starting with aws: are "
	    "reserved");
	bad_min(P0 "    uids: [1]\n    tags: {AwS:: y}\n", NAME ":6:12: "
	    "principals[0].tags.AwS:: tag keys starting with aws: are "
	    "reserved");
	bad_min(P0 "    uids: [1]\n    tags: {a!: y}\n", NAME ":6:12: "
	    "principals[0].tags.a!: " TAG_KEY);
	bad_min(P0 "    uids: [1]\n    tags: {\"\": y}\n", NAME ":6:12: "
	    "principals[0].tags.: " TAG_KEY);
	bad_min(P0 "    uids: [1]\n    tags: {\"a\\0b\": y}\n", NAME ":6:12: "
	    "principals[0].tags.a?b: " TAG_KEY);
	bad_min(P0 "    uids: [1]\n    tags: {tenant: acm\\u00e9}\n",
	    NAME ":6:20: principals[0].tags.tenant: " TAG_VALUE);
	bad_min(P0 "    uids: [1]\n    tags:\n      tenant:\n", NAME ":7:14: "
	    "principals[0].tags.tenant: " TAG_VALUE);
	bad_min(P0 "    uids: [1]\n    tags: {tenant: [a]}\n", NAME ":6:20: "
	    "principals[0].tags.tenant: " TAG_VALUE);
	bad_min(P0 "    uids: [1]\n    tags: [tenant]\n", NAME ":6:11: "
	    "principals[0].tags: expected a mapping of tag keys to tag values");
	bad_min(P0 "    uids: [1]\n    tags:\n", NAME ":6:10: "
	    "principals[0].tags: expected a mapping of tag keys to tag values");
	bad_min(P0 "    uids: [1]\n    tags: {a: 1, b: 2, c: 3, d: 4, e: 5, "
	    "f: 6, g: 7, h: 8, i: 9, j: 10, k: 11, l: 12, m: 13, n: 14, o: 15, "
	    "p: 16, q: 17}\n", NAME ":6:115: principals[0].tags: more than 16 "
	    "tags");
	{
		char buf[1024], s[300];

		memset(s, 'k', 129);
		s[129] = '\0';
		(void)snprintf(buf, sizeof(buf), "%s%s    uids: [1]\n    tags: "
		    "{%s: v}\n", MINIMAL, P0, s + 1);
		parse_ok(buf, strlen(buf), cfg_a);
		(void)snprintf(buf, sizeof(buf), "%s%s    uids: [1]\n    tags: "
		    "{%s: v}\n", MINIMAL, P0, s);
		bad(buf, NAME ":6:12: principals[0].tags.kkkkkkkkkkkkkkkkkkkkk"
		    "kkkkkkkkkkkkkkkkkkkkkkkkkkk...: " TAG_KEY);
		memset(s, 'v', 257);
		s[257] = '\0';
		(void)snprintf(buf, sizeof(buf), "%s%s    uids: [1]\n    tags: "
		    "{k: %s}\n", MINIMAL, P0, s + 1);
		parse_ok(buf, strlen(buf), cfg_a);
		(void)snprintf(buf, sizeof(buf), "%s%s    uids: [1]\n    tags: "
		    "{k: %s}\n", MINIMAL, P0, s);
		bad(buf, NAME ":6:15: principals[0].tags.k: " TAG_VALUE);
	}
}

/* The rule op_common.c applies to the API's tags as well. */
static void
test_tag_alphabet(void **state)
{
	char s[300];

	(void)state;
	memset(s, 'a', sizeof(s));
	assert_true(av_tag_key_valid("a", 1));
	assert_true(av_tag_key_valid(s, 128));
	assert_false(av_tag_key_valid(s, 129));
	assert_false(av_tag_key_valid("", 0));
	assert_true(av_tag_key_valid("Az09 \t._:/=+@-", 14));
	assert_false(av_tag_key_valid("aws:x", 5));
	assert_false(av_tag_key_valid("AwS:", 4));
	assert_true(av_tag_key_valid("aws", 3));
	assert_true(av_tag_key_valid("aws.x", 5));
	assert_true(av_tag_key_valid("x:aws:", 6));
	assert_false(av_tag_key_valid("a\0b", 3));
	assert_false(av_tag_key_valid("a\nb", 3));
	assert_false(av_tag_key_valid("a,b", 3));
	assert_false(av_tag_key_valid("\xc3\xa9", 2));
	assert_true(av_tag_value_valid("", 0));
	assert_true(av_tag_value_valid("aws:x", 5));
	assert_true(av_tag_value_valid(s, 256));
	assert_false(av_tag_value_valid(s, 257));
	assert_false(av_tag_value_valid("a\0", 2));
	assert_false(av_tag_value_valid("a*", 2));
}

static void
test_uris(void **state)
{
	(void)state;
	bad_hsm("  token: agentvault\n", NAME ":3:10: hsm.token: "
	    "expected a pkcs11: URI (RFC 7512), such as "
	    "pkcs11:token=agentvault");
	bad_hsm("  token: \"pkcs11:token=a;token=b\"\n", NAME ":3:10: "
	    "hsm.token: bad pkcs11: URI: duplicate attribute");
	bad_hsm("  token: \"pkcs11:token=a?pin-value=1234\"\n",
	    NAME ":3:10: hsm.token: bad pkcs11: URI: pin-value is not "
	    "accepted: give a pin-source");
	bad_hsm("  token: \"pkcs11:token=a?module-path=/x.so\"\n",
	    NAME ":3:10: hsm.token: module-path, module-name and pin-source "
	    "do not belong in this URI: the module and the PIN source have "
	    "keys of their own");
	bad_hsm("  token: \"pkcs11:token=a;object=b\"\n", NAME ":3:10: "
	    "hsm.token: a token URI must not name an object (object=, id=, "
	    "type=)");
	bad_hsm("  tls_key: \"pkcs11:token=a\"\n", NAME ":3:12: "
	    "hsm.tls_key: a key URI must name the key with object= or id=");
	bad_hsm("  audit_key: \"pkcs11:object=a;type=public\"\n",
	    NAME ":3:14: hsm.audit_key: names a private key: type= must be "
	    "private or absent");
	bad_min("vault:\n  kek: \"pkcs11:object=a;type=private\"\n",
	    NAME ":4:8: vault.kek: names a secret key: type= must be "
	    "secret-key or absent");
	bad_min("vault:\n  kek: \"\"\n", NAME ":4:8: vault.kek: must not be "
	    "empty");
}

static void
test_pins(void **state)
{
	static const char why[] = "expected a PIN source, file:/path or "
	    "env:NAME; a PIN itself is refused: this file is not secret (it "
	    "is readable, printed by --print-config and kept in backups)";
	char want[512];

	(void)state;
	(void)snprintf(want, sizeof(want), NAME ":2:8: hsm.pin: %s", why);
	bad("hsm:\n  pin: 1234\n", want);
	bad("hsm:\n  pin: \"s3cret:pin\"\n", want);
	bad("hsm:\n  pin: File:/etc/pin\n", want);
	bad("hsm:\n  pin: file:etc/pin\n", NAME ":2:8: hsm.pin: file: needs "
	    "an absolute path without '..', such as file:/etc/agentvault/pin");
	bad("hsm:\n  pin: \"file:\"\n", NAME ":2:8: hsm.pin: file: needs "
	    "an absolute path without '..', such as file:/etc/agentvault/pin");
	bad("hsm:\n  pin: \"env:\"\n", NAME ":2:8: hsm.pin: env: needs a "
	    "variable name ([A-Za-z_][A-Za-z0-9_]*), such as "
	    "env:AGENTVAULT_PIN");
	bad("hsm:\n  pin: env:1PIN\n", NAME ":2:8: hsm.pin: env: needs a "
	    "variable name ([A-Za-z_][A-Za-z0-9_]*), such as "
	    "env:AGENTVAULT_PIN");
	bad("hsm:\n  pin: env:A-B\n", NAME ":2:8: hsm.pin: env: needs a "
	    "variable name ([A-Za-z_][A-Za-z0-9_]*), such as "
	    "env:AGENTVAULT_PIN");
	bad("hsm:\n  pin: \"\"\n", NAME ":2:8: hsm.pin: must not be empty");
	parse_str("hsm:\n  pin: env:_A9\n", cfg_a);
	assert_string_equal(cfg_a->hsm.pin, "env:_A9");
}

static void
test_cross(void **state)
{
	static const char long_run_dir[] = MINIMAL "paths:\n  run_dir: /run/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\nlisten:\n  admin_socket: {path: /run/a}\n"
	    "  agent_socket: {path: /run/b}\n";

	(void)state;
	bad_min("vault:\n  kek_mode: customer-managed\n", NAME ":4:13: "
	    "vault.kek_mode: customer-managed needs a vault.customer block "
	    "(module, token, pin, key)");
	bad_min("vault:\n  customer:\n    module: /x.so\n    token: "
	    "\"pkcs11:token=c\"\n    pin: env:P\n"
	    "    key: \"pkcs11:object=k\"\n",
	    NAME ":4:3: vault.customer: only used when vault.kek_mode is "
	    "customer-managed");
	bad_min("vault:\n  kek_mode: customer-managed\n  customer:\n"
	    "    module: /x.so\n    token: \"pkcs11:token=c\"\n"
	    "    pin: env:P\n",
	    NAME ":5:3: vault.customer.key is required (a pkcs11: URI "
	    "(RFC 7512))");
	bad_min("vault:\n  kek_mode: customer-managed\n  customer: {}\n",
	    NAME ":5:3: vault.customer.module is required (an absolute "
	    "path)");
	bad_min("listen:\n  tcp:\n    address: \"::\"\n", NAME ":4:3: "
	    "listen.tcp.port is required (an integer from 1 to 65535)");
	bad_min("listen:\n  tcp: ~\n", NAME ":4:8: listen.tcp: expected "
	    "a mapping, not an empty value (remove the key, or write {})");
	bad_min("sandbox:\n  # user: x\n", NAME ":3:9: sandbox: expected "
	    "a mapping, not an empty value (remove the key, or write {})");
	bad_min("sandbox: [enabled]\n", NAME ":3:10: sandbox: expected "
	    "a mapping");
	bad_min("listen:\n  admin_socket: {path: /run/x.sock}\n"
	    "  agent_socket: {path: /run/x.sock}\n", NAME ":5:24: the admin "
	    "and agent sockets must have different paths");
	bad_min("paths:\n  run_dir: /srv\nlisten:\n  admin_socket: "
	    "{path: /srv/agent.sock}\n", NAME ":6:24: the admin and agent "
	    "sockets must have different paths");
	bad_min("listen:\n  agent_socket:\n    path: /run/aaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaa.sock\n", NAME ":5:11: listen.agent_socket."
	    "path: longer than 107 bytes, the most a Unix socket path holds");
	bad_min("paths:\n  run_dir: /run/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\n", NAME ":4:12: paths.run_dir: too long for "
	    "listen.admin_socket.path: a Unix socket path holds at most 107 "
	    "bytes");
	/* The connect phase is part of the whole request. */
	bad_min("outbound:\n  connect_timeout_ms: 10001\n", NAME ":4:23: "
	    "outbound.connect_timeout_ms: longer than outbound.timeout_ms, "
	    "the whole request's limit");
	bad_min("outbound:\n  timeout_ms: 2000\n", NAME ":4:15: "
	    "outbound.connect_timeout_ms: longer than outbound.timeout_ms, "
	    "the whole request's limit");
	parse_str(MINIMAL "outbound: {connect_timeout_ms: 500, timeout_ms: "
	    "500}\n", cfg_a);
	/* Sockets given explicitly do not depend on run_dir. */
	parse_ok(long_run_dir, strlen(long_run_dir), cfg_a);
	assert_string_equal(cfg_a->listen.admin_socket.path, "/run/a");
	/* A default that cannot be computed: error at its directory. */
	{
		char buf[8192];
		size_t n;

		n = (size_t)snprintf(buf, sizeof(buf), "%spaths:\n  state_dir: "
		    "/", MINIMAL);
		memset(buf + n, 's', PATH_MAX - 4);
		n += PATH_MAX - 4;
		buf[n] = '\0';
		bad(buf, NAME ":4:14: paths.state_dir: too long to hold "
		    "hsm.tls_cert (tls.pem)");
	}
}

static void
test_error_buffer(void **state)
{
	char err[16];

	(void)state;
	/* Truncated, still terminated; no buffer at all is fine too. */
	memset(err, 'x', sizeof(err));
	assert_int_equal(av_config_parse(NAME, "{}", 2, cfg_a, err,
	    sizeof(err)), -1);
	assert_string_equal(err, NAME ":1:1: hsm");
	assert_int_equal(av_config_parse(NAME, "{}", 2, cfg_a, NULL, 0), -1);
	assert_int_equal(av_config_parse(NULL, "{}", 2, cfg_a, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "<config>:1:1: h");
	assert_memory_equal(cfg_a, cfg_def, sizeof(*cfg_a));
}

/* ---- files -------------------------------------------------------------- */

static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd;

	(void)unlink(path);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[256], want[512];
	char err[AV_CONFIG_ERR_SIZE];
	char *big;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/av.yaml", dir);

	write_file(path, full_yaml, strlen(full_yaml), 0644);
	if (av_config_load(path, cfg_a, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	parse_ok(full_yaml, strlen(full_yaml), cfg_b);
	assert_memory_equal(cfg_a, cfg_b, sizeof(*cfg_a));

	/* Errors carry the path. */
	write_file(path, "hsm:\n  pin: 1\n", 14, 0600);
	assert_int_equal(av_config_load(path, cfg_a, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s:2:8: hsm.pin: expected a PIN "
	    "source", path);
	assert_memory_equal(err, want, strlen(want));
	assert_memory_equal(cfg_a, cfg_def, sizeof(*cfg_a));

	write_file(path, MINIMAL, strlen(MINIMAL), 0664);
	assert_int_equal(av_config_load(path, cfg_a, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s: writable by group or others "
	    "(mode 0664); the file names the module the daemon loads: chmod "
	    "go-w it", path);
	assert_string_equal(err, want);

	write_file(path, MINIMAL, strlen(MINIMAL), 0602);
	assert_int_equal(av_config_load(path, cfg_a, err, sizeof(err)), -1);

	assert_non_null(big = calloc(1, AV_CONFIG_FILE_MAX + 1));
	memset(big, '#', AV_CONFIG_FILE_MAX + 1);
	write_file(path, big, AV_CONFIG_FILE_MAX + 1, 0600);
	free(big);
	assert_int_equal(av_config_load(path, cfg_a, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s: larger than 1048576 bytes",
	    path);
	assert_string_equal(err, want);
	assert_int_equal(unlink(path), 0);

	assert_int_equal(av_config_load(path, cfg_a, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s: cannot open: %s", path,
	    strerror(ENOENT));
	assert_string_equal(err, want);

	assert_int_equal(av_config_load(dir, cfg_a, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s: not a regular file", dir);
	assert_string_equal(err, want);

	assert_int_equal(av_config_load("/dev/null", cfg_a, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/dev/null: not a regular file");
	assert_int_equal(rmdir(dir), 0);
}

/* ---- printing ----------------------------------------------------------- */

/* The default inbound authorizer (authorizer:). */
static void
test_authorizer(void **state)
{
	(void)state;
	parse_str(MINIMAL "outbound: {allow_http_loopback: true}\n"
	    "authorizer:\n  discovery_url: http://127.0.0.1:8080/x/.well-known/"
	    "openid-configuration\n", cfg_a);
	assert_string_equal(cfg_a->authorizer.discovery_url, "http://127.0.0."
	    "1:8080/x/.well-known/openid-configuration");
	bad_min("authorizer:\n  discovery_url: http://127.0.0.1/.well-known/"
	    "openid-configuration\n", NAME ":4:18: authorizer.discovery_url: "
	    "an https:// URL ending in /.well-known/openid-configuration");
	bad_min("authorizer:\n  discovery_url: https://idp.example.com/.well-"
	    "known/oauth-authorization-server\n", NAME ":4:18: authorizer."
	    "discovery_url: an https:// URL ending in /.well-known/"
	    "openid-configuration");
	bad_min("authorizer:\n  discovery_url: https:///.well-known/"
	    "openid-configuration\n", NAME ":4:18: authorizer.discovery_url: "
	    "an https:// URL ending in /.well-known/openid-configuration");
	bad_min("authorizer:\n  discovery_url: \"https://a b/.well-known/"
	    "openid-configuration\"\n", NAME ":4:18: authorizer.discovery_url: "
	    "expected a URL of printable ASCII without spaces, at most 2048 "
	    "bytes");
	bad_min("authorizer:\n  allowed_audiences: [a]\n", NAME ":4:22: "
	    "authorizer.allowed_audiences: only used with authorizer."
	    "discovery_url");
	bad_min("authorizer:\n  discovery_url: https://i.example/.well-known/"
	    "openid-configuration\n  allowed_scopes: [\"a b\"]\n", NAME
	    ":5:20: authorizer.allowed_scopes: expected a list of scopes of "
	    "printable ASCII without spaces, at most 255 bytes each");
	bad_min("authorizer:\n  discovery_url: https://i.example/.well-known/"
	    "openid-configuration\n  required_claims:\n    - {claim: a, "
	    "equals: b, contains: c}\n", NAME ":6:7: authorizer."
	    "required_claims[0]: exactly one of equals, contains, "
	    "contains_any");
	bad_min("authorizer:\n  discovery_url: https://i.example/.well-known/"
	    "openid-configuration\n  required_claims:\n    - {claim: a}\n",
	    NAME ":6:7: authorizer.required_claims[0]: exactly one of equals, "
	    "contains, contains_any");
	bad_min("authorizer:\n  discovery_url: https://i.example/.well-known/"
	    "openid-configuration\n  required_claims:\n    - {claim: \"a b\", "
	    "equals: c}\n", NAME ":6:15: authorizer.required_claims[0].claim: "
	    "expected a claim name of [A-Za-z0-9_.:/-], at most 255 bytes");
	bad_min("authorizer:\n  jwks_ttl_seconds: 600\n  jwks_max_stale_"
	    "seconds: 60\n", NAME ":5:27: authorizer.jwks_max_stale_seconds: "
	    "shorter than authorizer.jwks_ttl_seconds");
	bad_min("authorizer:\n  jwks_refresh_min_seconds: 0\n", NAME ":4:29: "
	    "authorizer.jwks_refresh_min_seconds: expected an integer from 1 "
	    "to 3600");
}

static void
test_print(void **state)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f;

	(void)state;
	/* Odd but valid bytes survive printing. */
	parse_str(MINIMAL "paths:\n  state_dir: \"/v\\\"q\\\\b/\\u00e9/"
	    "\\U0001F600/\\x85/\\ufeff\"\n", cfg_a);
	assert_string_equal(cfg_a->paths.state_dir,
	    "/v\"q\\b/\xc3\xa9/\xf0\x9f\x98\x80/\xc2\x85/\xef\xbb\xbf");
	round_trip(cfg_a);

	/* Not set: comments. */
	memcpy(cfg_b, cfg_def, sizeof(*cfg_b));
	assert_non_null(f = open_memstream(&text, &n));
	av_config_print(cfg_b, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(text, "\n  # pin: not set (required)\n"));
	assert_non_null(strstr(text, "\n  # tcp: not configured\n"));
	assert_non_null(strstr(text, "\n  # customer: not configured\n"));
	assert_non_null(strstr(text, "\n    # group: not set\n"));
	assert_non_null(strstr(text, "\n  # user: \"agentvault\"  (resolved "
	    "when the daemon starts)\n"));
	assert_non_null(strstr(text, "\n    mode: \"0600\"\n"));
	assert_non_null(strstr(text, "\npolicy: {}\n  # dir: not set\n"));
	assert_non_null(strstr(text, "\nprincipals:\n  -\n    name: \"admin\"\n"
	    "    kind: caller\n    uids: [0]\n    gids: []\n    subjects: []\n"
	    "    tags: {}\n    policies: [\"AgentVaultFullAccess\"]\n"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_bools_enums),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_yaml_features),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_principals),
		cmocka_unit_test(test_principals_full),
		cmocka_unit_test(test_subjects_policies),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_tag_alphabet),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_pins),
		cmocka_unit_test(test_cross),
		cmocka_unit_test(test_authorizer),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
