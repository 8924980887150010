/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c - agentvault-ceremony: command line.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony.h"

#define DEFAULT_MODULE	"/usr/lib/softhsm/libsofthsm2.so"
#define DEFAULT_TOKEN	"pkcs11:token=agentvault"

static const char usage_text[] =
"usage: agentvault-ceremony COMMAND [OPTIONS]\n"
"\n"
"Key ceremonies for the Agent Vault appliance's HSM token.\n"
"\n"
"commands:\n"
"  dev-token  --dir DIR [--label LABEL]\n"
"        Create a fresh SoftHSM2 token for development and tests in DIR:\n"
"        DIR/softhsm2.conf, DIR/tokens/, random PINs in DIR/user.pin and\n"
"        DIR/so.pin (mode 0600).  Point SOFTHSM2_CONF at DIR/softhsm2.conf\n"
"        afterwards.  Refuses a DIR that already holds a token.\n"
"  init       --pin SOURCE --out DIR [--force] [--tls-name NAME]...\n"
"        Generate the appliance's keys in the token (vault KEK, token-\n"
"        signing, TLS, audit and CA keys), issue the appliance CA and TLS\n"
"        certificates (DIR/ca.pem, DIR/tls.pem) through the HSM, and print\n"
"        the key inventory.  Refuses to replace existing keys without\n"
"        --force.  TLS names default to localhost and agentvault.\n"
"  inventory  --pin SOURCE\n"
"        Print the key inventory: labels, URIs, attributes, key check\n"
"        values and public-key fingerprints.\n"
"  rotate-token-key  --pin SOURCE [--label LABEL]\n"
"        Generate a new token-signing key (EC P-256, sensitive, never\n"
"        extractable) beside the current one and print its URI, key id\n"
"        (kid) and fingerprint.  Point hsm.token_signing_key at the URI\n"
"        and reload agentvaultd: new tokens are signed with it, the\n"
"        previous key's tokens are accepted until they expire.  LABEL\n"
"        ([A-Za-z0-9._-], at most 64) defaults to\n"
"        agentvault-token-signing-YYYYMMDDTHHMMSSZ (UTC).\n"
"  new-oauth-client-key  --pin SOURCE --label LABEL\n"
"        Generate a key pair (EC P-256, sensitive, never extractable) for\n"
"        private_key_jwt client authentication at an identity provider,\n"
"        and print its public JWK (kid: its RFC 7638 thumbprint) to\n"
"        register there as the client's key.  LABEL starts with\n"
"        " CER_LABEL_OAUTH_CLIENT " (at most 64 of [A-Za-z0-9._-]);\n"
"        a label in use is refused.  agentvaultd loads these keys when\n"
"        it starts and on SIGHUP; a provider names one in\n"
"        privateKeyJwtConfig (docs/oauth.md).\n"
"  show-oauth-client-key  --pin SOURCE --label LABEL\n"
"        Print such a key's inventory entry and public JWK again.\n"
"\n"
"common options:\n"
"  --module PATH   PKCS#11 module (default $AGENTVAULT_PKCS11_MODULE or\n"
"                  " DEFAULT_MODULE ")\n"
"  --token URI     the token, as a pkcs11: URI (default " DEFAULT_TOKEN ")\n"
"  --pin SOURCE    where the user PIN is: file:PATH (mode 0600) or env:NAME.\n"
"                  A PIN itself is never accepted on the command line.\n"
"  -h, --help      this text\n"
"\n"
"exit status: 0 success, 1 failure, 2 usage error\n";

static int
usage(FILE *f, int code)
{
	fputs(usage_text, f);
	return code;
}

/* A DNS name for a certificate: LDH labels and dots, nothing else (a
 * comma would smuggle more subjectAltName entries into the extension). */
static bool
host_name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253 || s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

bool
cer_label_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > CER_LABEL_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

int
cer_fail(const char *what, CK_RV rv)
{
	char buf[256];

	fprintf(stderr, "agentvault-ceremony: %s: %s\n", what,
	    hsm_rv_describe(rv, buf, sizeof(buf)));
	return 1;
}

struct hsm *
cer_open(const struct cer_opts *o)
{
	struct hsm *h = NULL;
	CK_RV rv;

	if ((rv = hsm_open(o->module, o->token, 2, &h)) != CKR_OK) {
		cer_fail(o->token, rv);
		return NULL;
	}
	if ((rv = hsm_login(h, o->pin)) != CKR_OK) {
		cer_fail("login", rv);
		hsm_close(h);
		return NULL;
	}
	return h;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "token", required_argument, NULL, 't' },
		{ "pin", required_argument, NULL, 'p' },
		{ "dir", required_argument, NULL, 'd' },
		{ "label", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ "tls-name", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cer_opts o;
	const char *cmd;
	int c;

	/* PINs pass through this process: no core dumps, no ptrace. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	memset(&o, 0, sizeof(o));
	o.module = getenv("AGENTVAULT_PKCS11_MODULE");
	if (o.module == NULL)
		o.module = DEFAULT_MODULE;
	o.token = DEFAULT_TOKEN;
	if (argc < 2)
		return usage(stderr, 2);
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "help") == 0)
		return usage(stdout, 0);
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.module = optarg; break;
		case 't': o.token = optarg; break;
		case 'p': o.pin = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'l': o.label = optarg; break;
		case 'o': o.out = optarg; break;
		case 'f': o.force = true; break;
		case 'n':
			if (!host_name_ok(optarg)) {
				fprintf(stderr, "agentvault-ceremony: "
				    "--tls-name takes a DNS name (letters, "
				    "digits, '-' and '.')\n");
				return 2;
			}
			if (o.n_tls_names == CER_TLS_NAMES_MAX) {
				fprintf(stderr, "agentvault-ceremony: at most "
				    "%d --tls-name\n", CER_TLS_NAMES_MAX);
				return 2;
			}
			o.tls_names[o.n_tls_names++] = optarg;
			break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 2);
		}
	}
	if (optind != argc)
		return usage(stderr, 2);
	if (o.pin != NULL && strncmp(o.pin, "file:", 5) != 0 &&
	    strncmp(o.pin, "env:", 4) != 0) {
		fprintf(stderr, "agentvault-ceremony: --pin takes file:PATH or "
		    "env:NAME; a PIN on the command line is visible to every "
		    "user of this machine and is refused\n");
		return 2;
	}
	if (strcmp(cmd, "dev-token") == 0) {
		if (o.dir == NULL)
			return usage(stderr, 2);
		if (o.label == NULL)
			o.label = "agentvault";
		return cer_dev_token(&o);
	}
	if (o.pin == NULL) {
		fprintf(stderr, "agentvault-ceremony: %s needs --pin\n", cmd);
		return 2;
	}
	if (strcmp(cmd, "init") == 0) {
		if (o.out == NULL)
			return usage(stderr, 2);
		return cer_init(&o);
	}
	if (strcmp(cmd, "inventory") == 0)
		return cer_inventory(&o);
	if (strcmp(cmd, "rotate-token-key") == 0)
		return cer_rotate_token_key(&o);
	if (strcmp(cmd, "new-oauth-client-key") == 0)
		return cer_oauth_client_key(&o, true);
	if (strcmp(cmd, "show-oauth-client-key") == 0)
		return cer_oauth_client_key(&o, false);
	fprintf(stderr, "agentvault-ceremony: unknown command '%s'\n", cmd);
	return usage(stderr, 2);
}
