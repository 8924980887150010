/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_audit_verify.c - libFuzzer target for the audit log verifier
 * (daemon/audit_verify.c), and for writer/verifier agreement
 * (daemon/audit.c).
 *
 * 1. The input is a log, verified from memory (fmemopen) with a fixed
 *    public key and again without a key.  Besides memory safety:
 *    - a result is either OK (no bad line) or a failure with a known
 *      reason at a line inside the input (or the line after it);
 *    - a log that verifies with the key verifies without it, with the
 *      same counts;
 *    - without the key, the verifier never fails earlier than with it,
 *      and at the same line for the same reason.
 * 2. If the input is a JSON object, it goes through the writer as the
 *    caller and detail of a call record (and a short input as resource):
 *    whatever the writer accepts must verify.  The writer does not
 *    re-parse its lines (audit.c), so this is where that is proven.
 *
 * The seeds in tests/fuzz/corpus/audit_verify/ were written by the writer
 * with the private half of FUZZ_PUB_PEM, which is not kept: to make new
 * signed seeds, generate a new P-256 key, write logs with it and replace
 * FUZZ_PUB_PEM.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 \
 *     -D_GNU_SOURCE -I. tests/fuzz/fuzz_audit_verify.c daemon/audit.c \
 *     daemon/audit_verify.c -ljansson -lcrypto
 * Run:   ./a.out -max_len=16384 tests/fuzz/corpus/audit_verify
 */
#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "daemon/audit.h"

#define FUZZ_PUB_PEM \
	"-----BEGIN PUBLIC KEY-----\n" \
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQiDDHZW5SdhPa5SEoPOpaA518qBm\n" \
	"cdZ3nJ+Li3GHdn7x1gwej6awFZ5szqhPheHQIEa12oU6FyF5gPCJ6hJtiQ==\n" \
	"-----END PUBLIC KEY-----\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *fuzz_pub;	/* verifies the seeds */
static EVP_PKEY *writer_key;	/* random, for the writer half */
static char log_path[256];

static void
init(void)
{
	const char *base;
	char dir[128];
	BIO *b;

	b = BIO_new_mem_buf(FUZZ_PUB_PEM, -1);
	if (b == NULL ||
	    (fuzz_pub = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL)) == NULL)
		abort();
	BIO_free(b);
	if ((writer_key = EVP_EC_gen("P-256")) == NULL)
		abort();
	/* tmpfs if there is one: the writer fsyncs. */
	base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof(dir), "%s/fuzz_audit.XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(log_path, sizeof(log_path), "%s/audit.log", dir);
	umask(022);
}

static FILE *
open_input(char *copy, size_t size)
{
	/* fmemopen wants a size > 0: an empty input is an empty file. */
	if (size == 0)
		return fopen("/dev/null", "r");
	return fmemopen(copy, size, "r");
}

static uint64_t
count_lines(const uint8_t *data, size_t size)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < size; i++)
		n += data[i] == '\n';
	return n;
}

static void
check_verifier(const uint8_t *data, size_t size)
{
	struct audit_verify_result k, c;
	uint64_t lines = count_lines(data, size);
	char *copy;
	FILE *fp;
	int rk, rc;

	if ((copy = malloc(size + 1)) == NULL)
		abort();
	memcpy(copy, data, size);

	if ((fp = open_input(copy, size)) == NULL)
		abort();
	rk = audit_verify_fp(fp, fuzz_pub, &k);
	fclose(fp);
	if ((fp = open_input(copy, size)) == NULL)
		abort();
	rc = audit_verify_fp(fp, NULL, &c);
	fclose(fp);
	free(copy);

	if (rk == 0) {
		if (k.reason != AUDIT_V_OK || k.bad_line != 0 ||
		    k.records != lines || k.records == 0 ||
		    k.checkpoints_verified != k.checkpoints ||
		    k.last_seq != k.records - 1 ||
		    (k.covered && k.covered_seq >= k.last_seq) ||
		    k.uncovered == (k.covered && k.covered_seq + 1 ==
		    k.last_seq))
			abort();
		/* The key only adds checks. */
		if (rc != 0 || c.records != k.records ||
		    c.checkpoints != k.checkpoints ||
		    c.checkpoints_verified != 0 || c.uncovered != k.uncovered)
			abort();
		return;
	}
	if (rk != -1 || k.reason == AUDIT_V_OK || k.bad_line == 0 ||
	    k.bad_line > lines + 1 ||
	    strcmp(audit_verify_reason(k.reason), "unknown reason") == 0 ||
	    k.records + 1 != k.bad_line)
		abort();
	if (rc == 0) {
		/* Only the key can tell. */
		if (k.reason != AUDIT_V_KID && k.reason != AUDIT_V_SIG)
			abort();
		return;
	}
	if (rc != -1 || c.bad_line < k.bad_line ||
	    (c.bad_line == k.bad_line && c.reason != k.reason))
		abort();
}

static void
check_writer(const uint8_t *data, size_t size)
{
	struct audit_verify_result res;
	struct audit_event ev;
	struct audit_log *a = NULL;
	char err[256], why[128], *text = NULL;
	json_t *obj;
	bool fits;
	int r1, r2;

	obj = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return;
	}
	/* Each copy of obj dumps to at most 3 bytes per input byte (a 4-byte
	 * UTF-8 character becomes a 12-byte surrogate pair). */
	fits = size < 8192 &&
	    audit_json_check(obj, 1, why, sizeof(why)) == AUDIT_V_OK;
	if (size <= AUDIT_ID_MAX && memchr(data, '\0', size) == NULL) {
		if ((text = malloc(size + 1)) == NULL)
			abort();
		memcpy(text, data, size);
		text[size] = '\0';
	}
	unlink(log_path);
	if (audit_open(log_path, writer_key, 2, 0, &a, err, sizeof(err)) != 0)
		abort();
	memset(&ev, 0, sizeof(ev));
	ev.request_id = "fuzz";
	ev.operation = "Fuzz";
	ev.outcome = "error";
	ev.caller = obj;
	ev.detail = obj;
	r1 = audit_append(a, &ev, false, err, sizeof(err));
	ev.caller = ev.detail = NULL;
	ev.resource = text;
	r2 = text != NULL ? audit_append(a, &ev, false, err, sizeof(err)) : -1;
	audit_close(a);
	json_decref(obj);

	/* Whatever was accepted must verify; a refusal left the log whole. */
	if (audit_verify_file(log_path, writer_key, &res) != 0) {
		fprintf(stderr, "writer/verifier disagree: line %ju: %s (%s)\n",
		    (uintmax_t)res.bad_line, audit_verify_reason(res.reason),
		    res.detail);
		abort();
	}
	if (res.uncovered)
		abort();
	/* And what should be accepted was. */
	if ((fits && r1 != 0) || (text != NULL && r2 != 0)) {
		fprintf(stderr, "writer refused: %s\n", err);
		abort();
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		init();
		ready = 1;
	}
	check_verifier(data, size);
	check_writer(data, size);
	return 0;
}
