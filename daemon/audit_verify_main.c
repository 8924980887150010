/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_verify_main.c - agentvault-audit-verify: check an audit log
 * offline (docs/audit.md).
 *
 *   agentvault-audit-verify [--key PUBKEY.pem | --cert CERT.pem] [--strict]
 *       FILE
 *
 * Exit status: 0 the log verifies; 1 it does not (or cannot be read, or
 * --strict and records after the last checkpoint); 2 usage, or the key
 * or certificate cannot be loaded.
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -I. daemon/audit_verify_main.c \
 *     daemon/audit_verify.c -ljansson -lcrypto
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "daemon/audit.h"

#define PROG	"agentvault-audit-verify"

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: " PROG " [--key PUBKEY.pem | --cert CERT.pem] [--strict] FILE\n"
"\n"
"Check an Agent Vault audit log: every record's hash, the hash chain, the\n"
"sequence numbers and, with the audit key's public key or certificate,\n"
"every checkpoint signature.  Without a key only the chain is checked.\n"
"\n"
"  --key PUBKEY.pem   the audit key's public key (PEM SubjectPublicKeyInfo)\n"
"  --cert CERT.pem    or a certificate for it\n"
"  --strict           fail if records follow the last checkpoint\n"
"  --help             this text\n"
"\n"
"Prints \"OK: ...\" and exits 0, or \"FAIL line L (seq S): reason\" and\n"
"exits 1; exits 2 on usage errors or an unreadable key.\n");
}

static EVP_PKEY *
load_key(const char *path, bool cert)
{
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (cert) {
		if ((x = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
			pk = X509_get_pubkey(x);
	} else
		pk = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
	fclose(fp);
	X509_free(x);
	if (pk == NULL)
		fprintf(stderr, PROG ": %s: no PEM %s found\n", path,
		    cert ? "certificate" : "public key");
	ERR_clear_error();
	return pk;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key",	required_argument,	NULL, 'k' },
		{ "cert",	required_argument,	NULL, 'c' },
		{ "strict",	no_argument,		NULL, 's' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 },
	};
	struct audit_verify_result res;
	const char *keyfile = NULL, *certfile = NULL;
	EVP_PKEY *pub = NULL;
	bool strict = false, have_key;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			keyfile = optarg;
			break;
		case 'c':
			certfile = optarg;
			break;
		case 's':
			strict = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1 || (keyfile != NULL && certfile != NULL)) {
		usage(stderr);
		return 2;
	}
	if (keyfile != NULL && (pub = load_key(keyfile, false)) == NULL)
		return 2;
	if (certfile != NULL && (pub = load_key(certfile, true)) == NULL)
		return 2;

	have_key = pub != NULL;
	rc = audit_verify_file(argv[optind], pub, &res);
	EVP_PKEY_free(pub);
	if (rc != 0) {
		if (res.reason == AUDIT_V_KEY) {
			fprintf(stderr, PROG ": %s\n",
			    audit_verify_reason(res.reason));
			return 2;
		}
		if (res.bad_line == 0)
			printf("FAIL: %s: %s\n",
			    audit_verify_reason(res.reason), res.detail);
		else if (res.bad_seq_known)
			printf("FAIL line %" PRIu64 " (seq %" PRIu64 "): %s\n",
			    res.bad_line, res.bad_seq,
			    audit_verify_reason(res.reason));
		else
			printf("FAIL line %" PRIu64 " (expected seq %" PRIu64
			    "): %s\n", res.bad_line, res.bad_seq,
			    audit_verify_reason(res.reason));
		if (res.bad_line != 0 && res.detail[0] != '\0')
			printf("  %s\n", res.detail);
		return 1;
	}

	printf("OK: %" PRIu64 " records, %" PRIu64 " checkpoints verified",
	    res.records, res.checkpoints_verified);
	if (res.covered)
		printf(", last checkpoint covers up to seq %" PRIu64 "\n",
		    res.covered_seq);
	else
		printf(", no checkpoint\n");
	if (!have_key && res.checkpoints > 0)
		fprintf(stderr, "WARNING: no key given: %" PRIu64 " checkpoint "
		    "signatures were not checked (chain only)\n",
		    res.checkpoints);
	if (res.uncovered) {
		fprintf(stderr, "WARNING: %s (%s)\n", AUDIT_WARN_UNCOVERED,
		    res.detail);
		if (strict)
			return 1;
	}
	return 0;
}
