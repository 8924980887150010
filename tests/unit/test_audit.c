/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_audit.c - unit tests for the audit trail (daemon/audit.c,
 * daemon/audit_verify.c).
 *
 * Logs are written in a temporary directory with software P-256 keys.
 * Tampering is done the way an attacker with write access to the file
 * would do it: edit, delete, swap, duplicate or cut lines, and then, to
 * get past the hash chain, recompute every hash after the edit with an
 * independent implementation of the format (rechain() below) and re-sign
 * checkpoints with another key.  Each case checks the exact first bad
 * line and reason.
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
 *     -Wmissing-prototypes -I. tests/unit/test_audit.c daemon/audit.c \
 *     daemon/audit_verify.c -ljansson -lcrypto -lcmocka
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "daemon/audit.h"

#define NCALLS		50
#define INTERVAL	10
#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

static char tmpdir[PATH_MAX];
static EVP_PKEY *key_a, *key_b;
static char kid_a[AUDIT_HEX_LEN + 1], kid_b[AUDIT_HEX_LEN + 1];
static int serial;

/* ---- helpers ---- */

/* A fresh path in the temporary directory. */
static void
new_path(char *buf, size_t len, const char *what)
{
	int n = snprintf(buf, len, "%s/%s-%d.log", tmpdir, what, serial++);

	assert_true(n > 0 && (size_t)n < len);
}

struct lines {
	char	**v;
	size_t	  n;
};

/* All lines of a file that ends in a newline, without the newlines. */
static void
lines_read(const char *path, struct lines *l)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	assert_non_null(fp);
	memset(l, 0, sizeof(*l));
	while ((len = getline(&line, &cap, fp)) > 0) {
		assert_int_equal(line[len - 1], '\n');
		line[len - 1] = '\0';
		l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
		assert_non_null(l->v);
		l->v[l->n] = strdup(line);
		assert_non_null(l->v[l->n]);
		l->n++;
	}
	free(line);
	fclose(fp);
}

static void
lines_write(const char *path, const struct lines *l)
{
	FILE *fp = fopen(path, "w");
	size_t i;

	assert_non_null(fp);
	for (i = 0; i < l->n; i++)
		fprintf(fp, "%s\n", l->v[i]);
	assert_int_equal(fclose(fp), 0);
}

static void
lines_free(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Insert text as line index i (0-based), or delete it with NULL. */
static void
lines_put(struct lines *l, size_t i, const char *text)
{
	assert_true(i <= l->n);
	if (text == NULL) {
		assert_true(i < l->n);
		free(l->v[i]);
		memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) *
		    sizeof(*l->v));
		l->n--;
		return;
	}
	l->v = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	assert_non_null(l->v);
	memmove(&l->v[i + 1], &l->v[i], (l->n - i) * sizeof(*l->v));
	l->v[i] = strdup(text);
	assert_non_null(l->v[i]);
	l->n++;
}

/* Replace the first "from" in line i with "to". */
static void
lines_replace(struct lines *l, size_t i, const char *from, const char *to)
{
	char *p, *s;
	size_t len;

	p = strstr(l->v[i], from);
	assert_non_null(p);
	len = strlen(l->v[i]) - strlen(from) + strlen(to) + 1;
	s = malloc(len);
	assert_non_null(s);
	snprintf(s, len, "%.*s%s%s", (int)(p - l->v[i]), l->v[i], to,
	    p + strlen(from));
	free(l->v[i]);
	l->v[i] = s;
}

static char *
member_of(const char *line, const char *name)
{
	json_t *o = json_loads(line, 0, NULL), *v;
	char *s = NULL;

	assert_non_null(o);
	v = json_object_get(o, name);
	if (json_is_string(v))
		s = strdup(json_string_value(v));
	json_decref(o);
	return s;
}

static int
is_type(const char *line, const char *type)
{
	char *t = member_of(line, "type");
	int r = t != NULL && strcmp(t, type) == 0;

	free(t);
	return r;
}

/* Index of the k-th (0-based) line of a type at or after index from. */
static size_t
find_type(const struct lines *l, const char *type, size_t from, int k)
{
	size_t i;

	for (i = from; i < l->n; i++)
		if (is_type(l->v[i], type) && k-- == 0)
			return i;
	fail_msg("no %s line", type);
	return 0;
}

static void
sha256_hex(const void *a, size_t alen, const void *b, size_t blen,
    char out[AUDIT_HEX_LEN + 1])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int mdlen;
	size_t i;

	assert_non_null(c);
	assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(c, a, alen), 1);
	if (b != NULL)
		assert_int_equal(EVP_DigestUpdate(c, b, blen), 1);
	assert_int_equal(EVP_DigestFinal_ex(c, md, &mdlen), 1);
	EVP_MD_CTX_free(c);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
kid_of(EVP_PKEY *k, char kid[AUDIT_HEX_LEN + 1])
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(k, &der);

	assert_true(len > 0);
	sha256_hex(der, (size_t)len, NULL, 0, kid);
	OPENSSL_free(der);
}

/* base64url(raw r||s) of an ECDSA P-256 signature over SHA-256(head). */
static void
forge_sig(EVP_PKEY *k, const char *head, char out[AUDIT_SIG_B64_LEN + 1])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char der[128], raw[64];
	const unsigned char *p = der;
	size_t derlen = sizeof(der);
	const BIGNUM *r, *s;
	ECDSA_SIG *es;

	assert_int_equal(EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL,
	    k, NULL), 1);
	assert_int_equal(EVP_DigestSign(c, der, &derlen,
	    (const unsigned char *)head, strlen(head)), 1);
	EVP_MD_CTX_free(c);
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	assert_non_null(es);
	ECDSA_SIG_get0(es, &r, &s);
	assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
	assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
	ECDSA_SIG_free(es);
	audit_b64url(raw, sizeof(raw), out, AUDIT_SIG_B64_LEN + 1);
	assert_int_equal(strlen(out), AUDIT_SIG_B64_LEN);
}

/*
 * The forger: recompute prev and hash of lines [from, to) from scratch
 * (independently of the library), as an attacker would after an edit.
 * fix_head: set checkpoints' head and records to match the chain.
 * signer: re-sign checkpoints with it and write kid (also into a genesis
 * record); NULL keeps their sig and kid.
 */
static void
rechain(struct lines *l, size_t from, size_t to, bool fix_head,
    EVP_PKEY *signer, const char *kid)
{
	char prev[AUDIT_HEX_LEN + 1], hash[AUDIT_HEX_LEN + 1];
	char sig[AUDIT_SIG_B64_LEN + 1], *c, *p;
	json_t *o;
	size_t i;

	for (i = from; i < to && i < l->n; i++) {
		if (i == 0)
			snprintf(prev, sizeof(prev), "%s", ZERO_HASH);
		else {
			p = member_of(l->v[i - 1], "hash");
			assert_non_null(p);
			snprintf(prev, sizeof(prev), "%s", p);
			free(p);
		}
		o = json_loads(l->v[i], 0, NULL);
		assert_non_null(o);
		json_object_set_new(o, "prev", json_string(prev));
		if (is_type(l->v[i], "checkpoint")) {
			if (fix_head) {
				json_object_set_new(o, "head",
				    json_string(prev));
				json_object_set_new(o, "records", json_integer(
				    json_integer_value(json_object_get(o,
				    "seq")) - 1));
			}
			if (signer != NULL) {
				forge_sig(signer, json_string_value(
				    json_object_get(o, "head")), sig);
				json_object_set_new(o, "sig", json_string(sig));
				json_object_set_new(o, "kid", json_string(kid));
			}
		}
		if (is_type(l->v[i], "genesis") && signer != NULL)
			json_object_set_new(o, "kid", json_string(kid));
		json_object_del(o, "hash");
		c = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS |
		    JSON_ENSURE_ASCII);
		assert_non_null(c);
		/* SHA-256(prev || "\n" || canonical) */
		{
			size_t n = AUDIT_HEX_LEN + 1 + strlen(c);
			char *buf = malloc(n);

			assert_non_null(buf);
			memcpy(buf, prev, AUDIT_HEX_LEN);
			buf[AUDIT_HEX_LEN] = '\n';
			memcpy(buf + AUDIT_HEX_LEN + 1, c, strlen(c));
			sha256_hex(buf, n, NULL, 0, hash);
			free(buf);
		}
		free(c);
		json_object_set_new(o, "hash", json_string(hash));
		c = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
		assert_non_null(c);
		free(l->v[i]);
		l->v[i] = c;
		json_decref(o);
	}
}

static void
append_n(struct audit_log *a, int first, int n)
{
	static const char *const outcomes[] = { "allowed", "denied", "error" };
	char rid[32], err[256], hid[AUDIT_HEX_LEN + 1];
	static const unsigned char hkey[32] = { 1, 2, 3 };
	struct audit_event ev;
	json_t *caller, *detail;
	int i;

	for (i = first; i < first + n; i++) {
		snprintf(rid, sizeof(rid), "req-%d", i);
		assert_int_equal(audit_hmac_id(hkey, sizeof(hkey), rid, hid),
		    0);
		caller = json_pack("{s:s, s:i, s:i, s:i}", "kind", "unix",
		    "uid", 1000 + i % 3, "gid", 1000, "pid", 4000 + i);
		detail = json_pack("{s:s, s:s, s:[i, b, n]}", "secret", hid,
		    "note", "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80",
		    "list", i, i % 2, NULL);
		assert_non_null(caller);
		assert_non_null(detail);
		memset(&ev, 0, sizeof(ev));
		ev.request_id = rid;
		ev.operation = i % 2 ? "GetTokenVault" :
		    "GetWorkloadAccessToken";
		ev.resource = "arn:aws:bedrock-agentcore:us-east-1:"
		    "123456789012:token-vault/default";
		ev.outcome = outcomes[i % 3];
		ev.error = i % 3 == 2 ? "ValidationException" : NULL;
		ev.caller = caller;
		ev.detail = i % 4 == 0 ? NULL : detail;
		if (audit_append(a, &ev, i % 5 == 0, err, sizeof(err)) != 0)
			fail_msg("append %d: %s", i, err);
		json_decref(caller);
		json_decref(detail);
	}
}

/* A closed log with genesis, n calls and checkpoints every interval. */
static void
make_log(char *path, size_t len, const char *what, int n, unsigned interval)
{
	struct audit_log *a = NULL;
	char err[256];

	new_path(path, len, what);
	if (audit_open(path, key_a, interval, 0, &a, err, sizeof(err)) != 0)
		fail_msg("open: %s", err);
	append_n(a, 0, n);
	audit_close(a);
}

static void
expect_ok(const char *path, EVP_PKEY *pub, struct audit_verify_result *res)
{
	if (audit_verify_file(path, pub, res) != 0)
		fail_msg("verify: line %ju: %s (%s)", (uintmax_t)res->bad_line,
		    audit_verify_reason(res->reason), res->detail);
	assert_int_equal(res->reason, AUDIT_V_OK);
	assert_int_equal(res->bad_line, 0);
}

static void
expect_bad(const char *path, EVP_PKEY *pub, uint64_t line,
    enum audit_reason reason)
{
	struct audit_verify_result res;

	assert_int_equal(audit_verify_file(path, pub, &res), -1);
	if (res.reason != reason || res.bad_line != line)
		fail_msg("expected line %ju: %s; got line %ju: %s (%s)",
		    (uintmax_t)line, audit_verify_reason(reason),
		    (uintmax_t)res.bad_line, audit_verify_reason(res.reason),
		    res.detail);
	assert_false(res.uncovered);
}

static size_t
file_lines(const char *path)
{
	struct lines l;
	size_t n;

	lines_read(path, &l);
	n = l.n;
	lines_free(&l);
	return n;
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* ---- writing and verifying ---- */

static void
test_write_verify(void **state)
{
	struct audit_verify_result res;
	struct lines l;
	char path[PATH_MAX];
	size_t i, calls = 0, cps = 0;
	FILE *fp;

	(void)state;
	make_log(path, sizeof(path), "good", NCALLS, INTERVAL);
	lines_read(path, &l);
	assert_true(is_type(l.v[0], "genesis"));
	assert_true(is_type(l.v[l.n - 1], "checkpoint"));
	for (i = 0; i < l.n; i++) {
		calls += is_type(l.v[i], "call");
		cps += is_type(l.v[i], "checkpoint");
		/* Compact, ASCII only. */
		assert_null(strpbrk(l.v[i], "\t\r"));
		assert_null(strstr(l.v[i], "\": "));
		for (const char *p = l.v[i]; *p != '\0'; p++)
			assert_true((unsigned char)*p < 0x80);
	}
	assert_int_equal(calls, NCALLS);
	assert_int_equal(cps, 1 + (NCALLS + 1) / INTERVAL);
	/* The first checkpoint follows the genesis and INTERVAL-1 calls. */
	assert_true(is_type(l.v[INTERVAL], "checkpoint"));
	/* Secrets never appear: the HMAC'd request id does, in "secret". */
	assert_null(strstr(l.v[2], "\"secret\":\"req-"));
	lines_free(&l);

	expect_ok(path, key_a, &res);
	assert_int_equal(res.records, 1 + calls + cps);
	assert_int_equal(res.checkpoints, cps);
	assert_int_equal(res.checkpoints_verified, cps);
	assert_true(res.covered);
	assert_int_equal(res.covered_seq, res.last_seq - 1);
	assert_int_equal(res.last_seq, res.records - 1);
	assert_false(res.uncovered);

	/* Chain only: the same, no signature checked. */
	expect_ok(path, NULL, &res);
	assert_int_equal(res.checkpoints, cps);
	assert_int_equal(res.checkpoints_verified, 0);

	/* The FILE * interface. */
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_int_equal(audit_verify_fp(fp, key_a, &res), 0);
	fclose(fp);
	assert_int_equal(res.checkpoints_verified, cps);
}

static void
test_checkpoint_explicit(void **state)
{
	struct audit_verify_result res;
	struct audit_log *a = NULL;
	struct lines l;
	char path[PATH_MAX], err[256];
	size_t n;

	(void)state;
	new_path(path, sizeof(path), "explicit");
	assert_int_equal(audit_open(path, key_a, 1000, 0, &a, err,
	    sizeof(err)), 0);
	assert_null(audit_last_checkpoint(a));
	append_n(a, 0, 3);
	assert_int_equal(audit_checkpoint(a, err, sizeof(err)), 0);
	n = file_lines(path);
	assert_int_equal(n, 5);
	/* Nothing new: no second checkpoint. */
	assert_int_equal(audit_checkpoint(a, err, sizeof(err)), 0);
	assert_int_equal(file_lines(path), n);
	lines_read(path, &l);
	assert_non_null(audit_last_checkpoint(a));
	assert_string_equal(audit_last_checkpoint(a), l.v[l.n - 1]);
	lines_free(&l);
	audit_close(a);
	/* Nothing since the last checkpoint: close adds none. */
	assert_int_equal(file_lines(path), n);
	expect_ok(path, key_a, &res);
	assert_int_equal(res.covered_seq, 3);
}

/* A batch: nothing in the file until its end, then one chain. */
static void
test_batch(void **state)
{
	struct audit_verify_result res;
	struct audit_log *a = NULL;
	char path[PATH_MAX], err[256];

	(void)state;
	new_path(path, sizeof(path), "batch");
	assert_int_equal(audit_open(path, key_a, 4, 0, &a, err,
	    sizeof(err)), 0);
	assert_int_equal(file_lines(path), 1);
	audit_batch_begin(a);
	append_n(a, 0, 6);		/* a checkpoint falls inside */
	assert_int_equal(file_lines(path), 1);
	assert_int_equal(audit_batch_end(a, err, sizeof(err)), 0);
	assert_int_equal(file_lines(path), 1 + 6 + 1);
	/* An empty batch writes nothing. */
	audit_batch_begin(a);
	assert_int_equal(audit_batch_end(a, err, sizeof(err)), 0);
	assert_int_equal(file_lines(path), 8);
	/* Outside a batch, appends go straight to the file again (this
	 * one with the next checkpoint). */
	append_n(a, 6, 1);
	assert_int_equal(file_lines(path), 10);
	audit_close(a);
	expect_ok(path, key_a, &res);
	assert_int_equal(res.checkpoints_verified, 2);
}

/* ---- tampering ---- */

static void
test_tamper_char(void **state)
{
	struct audit_verify_result res;
	struct lines l;
	char path[PATH_MAX];

	(void)state;
	make_log(path, sizeof(path), "char", NCALLS, INTERVAL);
	lines_read(path, &l);
	assert_true(is_type(l.v[19], "call"));
	lines_replace(&l, 19, "\"request_id\":\"req-", "\"request_id\":\"rEq-");
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_HASH);
	expect_bad(path, NULL, 20, AUDIT_V_HASH);

	/* Recompute that record's own hash only: the next link breaks. */
	rechain(&l, 19, 20, false, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, 21, AUDIT_V_PREV);

	/* Recompute the whole chain after it: only the signature of the next
	 * checkpoint catches it, and only with the key. */
	rechain(&l, 19, l.n, true, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, find_type(&l, "checkpoint", 19, 0) + 1,
	    AUDIT_V_SIG);
	expect_ok(path, NULL, &res);
	lines_free(&l);
}

static void
test_tamper_lines(void **state)
{
	struct lines l, orig;
	char path[PATH_MAX], *tmp;

	(void)state;
	make_log(path, sizeof(path), "lines", NCALLS, INTERVAL);
	lines_read(path, &orig);

	/* Delete line 20 (seq 19): line 20 now holds seq 20. */
	lines_read(path, &l);
	lines_put(&l, 19, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_SEQ);
	lines_free(&l);

	/* Swap lines 20 and 21. */
	lines_write(path, &orig);
	lines_read(path, &l);
	tmp = l.v[19];
	l.v[19] = l.v[20];
	l.v[20] = tmp;
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_SEQ);
	lines_free(&l);

	/* Duplicate line 20. */
	lines_write(path, &orig);
	lines_read(path, &l);
	lines_put(&l, 20, l.v[19]);
	lines_write(path, &l);
	expect_bad(path, key_a, 21, AUDIT_V_SEQ);
	lines_free(&l);

	/* Delete line 20 and renumber and rechain the rest: the next
	 * checkpoint's signature fails. */
	lines_write(path, &orig);
	lines_read(path, &l);
	lines_put(&l, 19, NULL);
	for (size_t i = 19; i < l.n; i++) {
		char from[32], to[32];

		snprintf(from, sizeof(from), "\"seq\":%zu,", i + 1);
		snprintf(to, sizeof(to), "\"seq\":%zu,", i);
		lines_replace(&l, i, from, to);
	}
	rechain(&l, 19, l.n, true, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, find_type(&l, "checkpoint", 19, 0) + 1,
	    AUDIT_V_SIG);
	lines_free(&l);

	/* A genesis record in the middle. */
	lines_write(path, &orig);
	lines_read(path, &l);
	lines_put(&l, 5, l.v[0]);
	rechain(&l, 5, l.n, true, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, 6, AUDIT_V_SEQ);
	lines_replace(&l, 5, "\"seq\":0,", "\"seq\":5,");
	for (size_t i = 6; i < l.n; i++) {
		char from[32], to[32];

		snprintf(from, sizeof(from), "\"seq\":%zu,", i - 1);
		snprintf(to, sizeof(to), "\"seq\":%zu,", i);
		lines_replace(&l, i, from, to);
	}
	rechain(&l, 5, l.n, true, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, 6, AUDIT_V_GENESIS);
	lines_free(&l);

	/* The first line is not a genesis record. */
	lines_write(path, &orig);
	lines_read(path, &l);
	lines_put(&l, 0, NULL);
	lines_replace(&l, 0, "\"seq\":1,", "\"seq\":0,");
	rechain(&l, 0, l.n, true, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, 1, AUDIT_V_GENESIS);
	lines_free(&l);

	lines_free(&orig);
}

static void
test_truncated(void **state)
{
	char path[PATH_MAX];
	size_t n;

	(void)state;
	make_log(path, sizeof(path), "trunc", NCALLS, INTERVAL);
	n = file_lines(path);
	assert_int_equal(truncate(path, file_size(path) - 10), 0);
	expect_bad(path, key_a, n, AUDIT_V_TRUNCATED);
	/* Cut just the final newline. */
	make_log(path, sizeof(path), "trunc", NCALLS, INTERVAL);
	assert_int_equal(truncate(path, file_size(path) - 1), 0);
	expect_bad(path, key_a, n, AUDIT_V_TRUNCATED);
	/* Cut after a newline: a valid, shorter log, and the verifier can
	 * only say that the tail is not covered (docs/audit.md). */
	{
		struct audit_verify_result res;
		struct lines l;

		make_log(path, sizeof(path), "trunc", NCALLS, INTERVAL);
		lines_read(path, &l);
		lines_put(&l, l.n - 1, NULL);
		lines_write(path, &l);
		lines_free(&l);
		expect_ok(path, key_a, &res);
		assert_true(res.uncovered);
	}
	/* Empty file, lone newline. */
	new_path(path, sizeof(path), "empty");
	fclose(fopen(path, "w"));
	expect_bad(path, key_a, 1, AUDIT_V_EMPTY);
	{
		FILE *fp = fopen(path, "w");

		fputs("\n", fp);
		fclose(fp);
	}
	expect_bad(path, key_a, 1, AUDIT_V_MALFORMED);
}

static void
test_checkpoint_sig(void **state)
{
	struct lines l;
	char path[PATH_MAX], *s1, *s2;
	size_t c1, c2;

	(void)state;
	make_log(path, sizeof(path), "sig", NCALLS, INTERVAL);
	lines_read(path, &l);
	c1 = find_type(&l, "checkpoint", 0, 0);
	c2 = find_type(&l, "checkpoint", 0, 1);
	s1 = member_of(l.v[c1], "sig");
	s2 = member_of(l.v[c2], "sig");
	/* Replace the second checkpoint's signature with the first's. */
	lines_replace(&l, c2, s2, s1);
	lines_write(path, &l);
	expect_bad(path, key_a, c2 + 1, AUDIT_V_HASH);
	/* And fix the chain: the signature itself is caught. */
	rechain(&l, c2, l.n, true, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, c2 + 1, AUDIT_V_SIG);
	/* Without the key, a well-formed signature cannot be judged... */
	{
		struct audit_verify_result res;

		expect_ok(path, NULL, &res);
		assert_int_equal(res.checkpoints_verified, 0);
	}
	/* ...but a malformed one can. */
	lines_replace(&l, c2, s1, "AAAA");
	rechain(&l, c2, l.n, true, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, NULL, c2 + 1, AUDIT_V_SIG);
	free(s1);
	free(s2);
	lines_free(&l);
}

static void
test_other_key(void **state)
{
	struct audit_verify_result res;
	struct lines l, orig;
	char path[PATH_MAX];
	size_t c;

	(void)state;
	make_log(path, sizeof(path), "resign", NCALLS, INTERVAL);
	lines_read(path, &orig);

	/* Edit line 20, rechain and re-sign with key B under B's kid. */
	lines_read(path, &l);
	lines_replace(&l, 19, "\"req-", "\"forged-");
	rechain(&l, 19, l.n, true, key_b, kid_b);
	lines_write(path, &l);
	c = find_type(&l, "checkpoint", 19, 0);
	expect_bad(path, key_a, c + 1, AUDIT_V_KID);
	/* Chain only: the kid differs from the genesis record's. */
	expect_bad(path, NULL, c + 1, AUDIT_V_KID);
	lines_free(&l);

	/* Same, but keep A's kid: the signature is wrong. */
	lines_write(path, &orig);
	lines_read(path, &l);
	lines_replace(&l, 19, "\"req-", "\"forged-");
	rechain(&l, 19, l.n, true, key_b, kid_a);
	lines_write(path, &l);
	expect_bad(path, key_a, c + 1, AUDIT_V_SIG);
	lines_free(&l);

	/* Rewrite everything, genesis included, with key B: only the pinned
	 * key tells the logs apart. */
	lines_read(path, &l);
	rechain(&l, 0, l.n, true, key_b, kid_b);
	lines_write(path, &l);
	expect_bad(path, key_a, 1, AUDIT_V_KID);
	expect_ok(path, key_b, &res);
	lines_free(&l);

	/* A verification key that is not P-256. */
	{
		EVP_PKEY *rsa = EVP_RSA_gen(1024);

		assert_non_null(rsa);
		assert_int_equal(audit_verify_file(path, rsa, &res), -1);
		assert_int_equal(res.reason, AUDIT_V_KEY);
		EVP_PKEY_free(rsa);
	}
	lines_free(&orig);
}

static void
test_head_mismatch(void **state)
{
	struct lines l;
	char path[PATH_MAX], *head, *other;
	size_t c;

	(void)state;
	make_log(path, sizeof(path), "head", NCALLS, INTERVAL);
	lines_read(path, &l);
	c = find_type(&l, "checkpoint", 0, 1);
	head = member_of(l.v[c], "head");
	other = member_of(l.v[3], "hash");
	lines_replace(&l, c, head, other);
	rechain(&l, c, l.n, false, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, c + 1, AUDIT_V_HEAD);
	free(head);
	free(other);
	lines_free(&l);

	/* records that does not match its seq. */
	make_log(path, sizeof(path), "head", NCALLS, INTERVAL);
	lines_read(path, &l);
	c = find_type(&l, "checkpoint", 0, 1);
	lines_replace(&l, c, "\"records\":", "\"records\":1");
	rechain(&l, c, l.n, false, NULL, NULL);
	lines_write(path, &l);
	expect_bad(path, key_a, c + 1, AUDIT_V_HEAD);
	lines_free(&l);
}

static void
test_forged_tail(void **state)
{
	struct audit_verify_result res, before;
	struct lines l;
	char path[PATH_MAX], *line;

	(void)state;
	make_log(path, sizeof(path), "tail", NCALLS, INTERVAL);
	expect_ok(path, key_a, &before);
	lines_read(path, &l);
	/* A new call record after the last checkpoint, correctly chained. */
	line = strdup(l.v[l.n - 2]);
	assert_non_null(line);
	lines_put(&l, l.n, line);
	free(line);
	{
		char from[32], to[32];

		snprintf(from, sizeof(from), "\"seq\":%zu,", l.n - 3);
		snprintf(to, sizeof(to), "\"seq\":%zu,", l.n - 1);
		lines_replace(&l, l.n - 1, from, to);
	}
	rechain(&l, l.n - 1, l.n, false, NULL, NULL);
	lines_write(path, &l);
	lines_free(&l);

	/* Not an error, but a warning: nothing signs it. */
	expect_ok(path, key_a, &res);
	assert_true(res.uncovered);
	assert_int_equal(res.records, before.records + 1);
	assert_int_equal(res.covered_seq, before.covered_seq);
	assert_int_equal(res.checkpoints_verified, before.checkpoints);
	assert_non_null(strstr(res.detail, "after the last checkpoint"));
}

static void
test_bad_lines(void **state)
{
	struct lines l, orig;
	char path[PATH_MAX], *big;
	json_t *o;

	(void)state;
	make_log(path, sizeof(path), "bad", NCALLS, INTERVAL);
	lines_read(path, &orig);

	/* A float, rechained so that only the float is wrong. */
	lines_read(path, &l);
	o = json_loads(l.v[19], 0, NULL);
	assert_non_null(o);
	json_object_set_new(o, "detail", json_pack("{s:f}", "x", 1.5));
	free(l.v[19]);
	l.v[19] = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	rechain(&l, 19, l.n, true, key_a, kid_a);
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_FLOAT);
	lines_free(&l);

	/* A huge line; the longest allowed one is judged as JSON. */
	big = malloc(AUDIT_LINE_MAX + 10);
	assert_non_null(big);
	memset(big, 'x', AUDIT_LINE_MAX + 9);
	big[AUDIT_LINE_MAX + 9] = '\0';
	lines_write(path, &orig);
	lines_read(path, &l);
	lines_put(&l, 19, big);
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_TOO_LONG);
	lines_free(&l);
	big[AUDIT_LINE_MAX] = '\0';	/* 65536 bytes + newline */
	lines_read(path, &l);
	lines_put(&l, 19, NULL);
	lines_put(&l, 19, big);
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_TOO_LONG);
	lines_free(&l);
	big[AUDIT_LINE_MAX - 1] = '\0';	/* 65535 bytes + newline: allowed */
	lines_read(path, &l);
	lines_put(&l, 19, NULL);
	lines_put(&l, 19, big);
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_MALFORMED);
	lines_free(&l);
	free(big);

	/* Whitespace and other encodings of the same value. */
	lines_write(path, &orig);
	lines_read(path, &l);
	lines_replace(&l, 19, "{\"v\":1,", "{\"v\": 1,");
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_NONCANONICAL);
	lines_replace(&l, 19, "{\"v\": 1,", "{\"v\":1,");
	lines_replace(&l, 19, "\"req-", "\"\\u0072eq-");
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_NONCANONICAL);
	lines_free(&l);

	/* Duplicate keys, an unknown member, a wrong version, not an object,
	 * a NUL. */
	lines_write(path, &orig);
	lines_read(path, &l);
	lines_replace(&l, 19, "{\"v\":1,", "{\"v\":1,\"v\":1,");
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_MALFORMED);
	lines_free(&l);

	lines_write(path, &orig);
	lines_read(path, &l);
	lines_replace(&l, 19, "{\"v\":1,", "{\"v\":1,\"extra\":true,");
	rechain(&l, 19, l.n, true, key_a, kid_a);
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_INVALID);
	lines_free(&l);

	lines_write(path, &orig);
	lines_read(path, &l);
	lines_replace(&l, 19, "{\"v\":1,", "{\"v\":2,");
	rechain(&l, 19, l.n, true, key_a, kid_a);
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_INVALID);
	lines_free(&l);

	lines_write(path, &orig);
	lines_read(path, &l);
	free(l.v[19]);
	l.v[19] = strdup("[1,2,3]");
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_MALFORMED);
	lines_free(&l);

	lines_write(path, &orig);
	lines_read(path, &l);
	lines_replace(&l, 19, "\"req-", "\"\\u0000-");
	lines_write(path, &l);
	expect_bad(path, key_a, 20, AUDIT_V_MALFORMED);
	lines_free(&l);

	lines_free(&orig);
}

/* ---- reopening ---- */

static void
test_reopen(void **state)
{
	struct audit_verify_result res;
	struct audit_log *a = NULL, *b = NULL;
	char path[PATH_MAX], err[256];
	size_t n;

	(void)state;
	make_log(path, sizeof(path), "reopen", 7, 5);
	expect_ok(path, key_a, &res);
	n = res.records;
	assert_int_equal(audit_open(path, key_a, 5, 0, &a, err, sizeof(err)),
	    0);
	/* One writer at a time. */
	assert_int_equal(audit_open(path, key_a, 5, 0, &b, err, sizeof(err)),
	    -1);
	assert_null(b);
	assert_non_null(strstr(err, "in use"));
	append_n(a, 100, 7);
	audit_close(a);
	expect_ok(path, key_a, &res);
	assert_true(res.records > n + 7);
	assert_false(res.uncovered);

	/* A crash without a final checkpoint: reopening continues. */
	{
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			if (audit_open(path, key_a, 1000, 0, &a, err,
			    sizeof(err)) != 0)
				_exit(1);
			append_n(a, 200, 3);
			_exit(0);	/* no audit_close() */
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	expect_ok(path, key_a, &res);
	assert_true(res.uncovered);
	n = res.records;
	assert_int_equal(audit_open(path, key_a, 1000, 0, &a, err,
	    sizeof(err)), 0);
	append_n(a, 300, 2);
	audit_close(a);
	expect_ok(path, key_a, &res);
	assert_false(res.uncovered);
	assert_int_equal(res.records, n + 3);	/* 2 calls, 1 checkpoint */

	/* Another key: refused, one key per file. */
	assert_int_equal(audit_open(path, key_b, 5, 0, &a, err, sizeof(err)),
	    -1);
	assert_null(a);
	assert_non_null(strstr(err, "another audit key"));
}

static void
test_reopen_bad_tail(void **state)
{
	struct audit_log *a = NULL;
	struct lines l;
	char path[PATH_MAX], err[256];

	(void)state;
	make_log(path, sizeof(path), "badtail", 5, 3);
	lines_read(path, &l);
	{
		/* Change one digit of the last record's hash. */
		char *h = strstr(l.v[l.n - 1], "\"hash\":\"");

		assert_non_null(h);
		h += strlen("\"hash\":\"");
		*h = *h == '0' ? '1' : '0';
	}
	lines_write(path, &l);
	lines_free(&l);
	assert_int_equal(audit_open(path, key_a, 3, 0, &a, err, sizeof(err)),
	    -1);
	assert_null(a);
	assert_non_null(strstr(err, "hash mismatch"));

	/* A first line that is not a genesis record. */
	make_log(path, sizeof(path), "badhead", 5, 3);
	lines_read(path, &l);
	lines_put(&l, 0, NULL);
	lines_write(path, &l);
	lines_free(&l);
	assert_int_equal(audit_open(path, key_a, 3, AUDIT_OPEN_RECOVER, &a,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "genesis"));
}

static void
test_torn_tail(void **state)
{
	struct audit_verify_result res;
	struct audit_log *a = NULL;
	struct lines l;
	char path[PATH_MAX], err[256];
	off_t size;
	size_t n;
	FILE *fp;
	json_t *o;

	(void)state;
	make_log(path, sizeof(path), "torn", 5, 3);
	n = file_lines(path);
	fp = fopen(path, "a");
	assert_non_null(fp);
	fputs("{\"v\":1,\"se", fp);		/* 10 bytes, no newline */
	fclose(fp);
	size = file_size(path);
	expect_bad(path, key_a, n + 1, AUDIT_V_TRUNCATED);

	/* Without the flag: refused, nothing changed. */
	assert_int_equal(audit_open(path, key_a, 3, 0, &a, err, sizeof(err)),
	    AUDIT_ERR_TORN);
	assert_null(a);
	assert_non_null(strstr(err, "torn"));
	assert_int_equal(file_size(path), size);

	/* With it: cut off, and a "recovered" record says so. */
	assert_int_equal(audit_open(path, key_a, 3, AUDIT_OPEN_RECOVER, &a,
	    err, sizeof(err)), 0);
	append_n(a, 10, 2);
	audit_close(a);
	expect_ok(path, key_a, &res);
	assert_false(res.uncovered);
	lines_read(path, &l);
	o = json_loads(l.v[find_type(&l, "recovered", 0, 0)], 0, NULL);
	assert_non_null(o);
	assert_int_equal(json_integer_value(json_object_get(o,
	    "dropped_bytes")), 10);
	{
		char h[AUDIT_HEX_LEN + 1];

		sha256_hex("{\"v\":1,\"se", 10, NULL, 0, h);
		assert_string_equal(json_string_value(json_object_get(o,
		    "dropped_sha256")), h);
	}
	json_decref(o);
	lines_free(&l);

	/* A file with nothing but a torn line. */
	new_path(path, sizeof(path), "torn-only");
	fp = fopen(path, "w");
	fputs("garbage", fp);
	fclose(fp);
	chmod(path, 0640);
	assert_int_equal(audit_open(path, key_a, 3, 0, &a, err, sizeof(err)),
	    AUDIT_ERR_TORN);
	assert_int_equal(audit_open(path, key_a, 3, AUDIT_OPEN_RECOVER, &a,
	    err, sizeof(err)), 0);
	audit_close(a);
	expect_ok(path, key_a, &res);
	lines_read(path, &l);
	assert_true(is_type(l.v[0], "genesis"));
	assert_true(is_type(l.v[1], "recovered"));
	lines_free(&l);
}

/* ---- failures ---- */

static void
test_write_failure_fsize(void **state)
{
	struct audit_verify_result res;
	struct audit_log *a = NULL;
	struct audit_event ev;
	struct rlimit old, lim;
	char path[PATH_MAX], err[256];
	size_t n;
	off_t size;
	int r;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.request_id = "r1";
	ev.operation = "GetTokenVault";
	ev.outcome = "allowed";

	/* A file size limit: the next write is cut short (SIGXFSZ is
	 * ignored, see the group set-up). */
	new_path(path, sizeof(path), "fsize");
	assert_int_equal(audit_open(path, key_a, 100, 0, &a, err,
	    sizeof(err)), 0);
	n = file_lines(path);
	size = file_size(path);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 40;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = audit_append(a, &ev, true, err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(r, -1);
	assert_non_null(strstr(err, "short write"));
	/* Refused from now on, even with room again. */
	assert_int_equal(audit_append(a, &ev, true, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "reopen"));
	assert_int_equal(audit_checkpoint(a, err, sizeof(err)), -1);
	audit_close(a);		/* no final checkpoint */
	assert_int_equal(file_size(path), size + 40);
	expect_bad(path, key_a, n + 1, AUDIT_V_TRUNCATED);
	assert_int_equal(audit_open(path, key_a, 100, 0, &a, err,
	    sizeof(err)), AUDIT_ERR_TORN);
	assert_int_equal(audit_open(path, key_a, 100, AUDIT_OPEN_RECOVER, &a,
	    err, sizeof(err)), 0);
	assert_int_equal(audit_append(a, &ev, true, err, sizeof(err)), 0);
	audit_close(a);
	expect_ok(path, key_a, &res);

	/* At the limit exactly: write(2) fails with EFBIG. */
	new_path(path, sizeof(path), "efbig");
	assert_int_equal(audit_open(path, key_a, 100, 0, &a, err,
	    sizeof(err)), 0);
	lim.rlim_cur = (rlim_t)file_size(path);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = audit_append(a, &ev, false, err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(r, -1);
	assert_non_null(strstr(err, strerror(EFBIG)));
	assert_int_equal(audit_append(a, &ev, false, err, sizeof(err)), -1);
	audit_close(a);
	/* Nothing torn: the log is whole and reopens as it is. */
	expect_ok(path, key_a, &res);
	assert_int_equal(audit_open(path, key_a, 100, 0, &a, err,
	    sizeof(err)), 0);
	audit_close(a);
}

/* ENOSPC on a tiny tmpfs, in a private mount namespace (needs root). */
static void
test_write_failure_enospc(void **state)
{
	struct audit_log *a = NULL;
	struct audit_event ev;
	char dir[PATH_MAX + 8], path[PATH_MAX + 32], err[256];
	int i, r = 0;
	pid_t pid;
	int status;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tiny", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	/* In a child, so the namespace change stays there. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) != 0 ||
		    mount("none", "/", "none", MS_REC | MS_PRIVATE,
		    NULL) != 0 ||
		    mount("tmpfs", dir, "tmpfs", 0, "size=16k") != 0)
			_exit(77);
		snprintf(path, sizeof(path), "%s/audit.log", dir);
		if (audit_open(path, key_a, 1000, 0, &a, err,
		    sizeof(err)) != 0)
			_exit(1);
		memset(&ev, 0, sizeof(ev));
		ev.request_id = "r";
		ev.operation = "GetTokenVault";
		ev.outcome = "denied";
		ev.resource = "arn:aws:bedrock-agentcore:us-east-1:"
		    "123456789012:token-vault/default/with/a/long/name";
		for (i = 0; i < 1000 && (r = audit_append(a, &ev, false, err,
		    sizeof(err))) == 0; i++)
			;
		if (r != -1 || (strstr(err, strerror(ENOSPC)) == NULL &&
		    strstr(err, "short write") == NULL))
			_exit(2);
		if (audit_append(a, &ev, false, err, sizeof(err)) != -1 ||
		    strstr(err, "reopen") == NULL)
			_exit(3);
		audit_close(a);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_sign_failure(void **state)
{
	struct audit_verify_result res;
	struct audit_log *a = NULL;
	struct audit_event ev;
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pubonly;
	char path[PATH_MAX], err[256];
	size_t n;
	int len;

	(void)state;
	/* A key that cannot sign: the public half only. */
	len = i2d_PUBKEY(key_a, &der);
	assert_true(len > 0);
	p = der;
	pubonly = d2i_PUBKEY(NULL, &p, len);
	OPENSSL_free(der);
	assert_non_null(pubonly);

	new_path(path, sizeof(path), "nosign");
	assert_int_equal(audit_open(path, pubonly, 2, 0, &a, err,
	    sizeof(err)), 0);
	EVP_PKEY_free(pubonly);		/* the log holds a reference */
	memset(&ev, 0, sizeof(ev));
	ev.request_id = "r1";
	ev.operation = "GetTokenVault";
	ev.outcome = "allowed";
	/* genesis + 1 = 2: the checkpoint is due and fails. */
	assert_int_equal(audit_append(a, &ev, true, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "record written"));
	n = file_lines(path);
	assert_int_equal(n, 2);
	/* The due checkpoint blocks the next record. */
	assert_int_equal(audit_append(a, &ev, true, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "could not sign"));
	assert_int_equal(file_lines(path), n);
	audit_close(a);
	expect_ok(path, key_a, &res);
	assert_true(res.uncovered);
	assert_false(res.covered);
}

static void
test_refused_files(void **state)
{
	struct audit_log *a = NULL;
	char path[PATH_MAX], link[PATH_MAX + 8], err[256];
	int fd;

	(void)state;
	assert_int_equal(audit_open("/dev/full", key_a, 10, 0, &a, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));

	make_log(path, sizeof(path), "target", 1, 10);
	snprintf(link, sizeof(link), "%s.lnk", path);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(audit_open(link, key_a, 10, 0, &a, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));

	new_path(path, sizeof(path), "groupw");
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0660), 0);
	close(fd);
	assert_int_equal(audit_open(path, key_a, 10, 0, &a, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "writable by group"));

	/* Arguments. */
	new_path(path, sizeof(path), "args");
	assert_int_equal(audit_open(path, key_a, 0, 0, &a, err,
	    sizeof(err)), -1);
	assert_int_equal(audit_open(path, key_a, 10, 0x100, &a, err,
	    sizeof(err)), -1);
	{
		EVP_PKEY *rsa = EVP_RSA_gen(1024);

		assert_int_equal(audit_open(path, rsa, 10, 0, &a, err,
		    sizeof(err)), -1);
		assert_non_null(strstr(err, "P-256"));
		EVP_PKEY_free(rsa);
	}
	assert_null(a);
	/* A new file is 0640, even under umask 0. */
	{
		struct stat st;
		mode_t old = umask(0);

		new_path(path, sizeof(path), "mode");
		assert_int_equal(audit_open(path, key_a, 10, 0, &a, err,
		    sizeof(err)), 0);
		umask(old);
		audit_close(a);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0640);
	}
}

static void
test_bad_events(void **state)
{
	struct audit_verify_result res;
	struct audit_log *a = NULL;
	struct audit_event ev, good;
	char path[PATH_MAX], err[256], longop[AUDIT_OPERATION_MAX + 2];
	char longid[AUDIT_ID_MAX + 2], *huge;
	json_t *deep, *o;
	size_t n;
	int i;

	(void)state;
	new_path(path, sizeof(path), "events");
	assert_int_equal(audit_open(path, key_a, 4, 0, &a, err,
	    sizeof(err)), 0);
	memset(&good, 0, sizeof(good));
	good.request_id = "r1";
	good.operation = "GetTokenVault";
	good.outcome = "allowed";
	memset(longop, 'A', sizeof(longop) - 1);
	longop[sizeof(longop) - 1] = '\0';
	memset(longid, 'i', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';

#define REFUSE(field, value) do {					\
	ev = good;							\
	ev.field = value;						\
	n = file_lines(path);						\
	assert_int_equal(audit_append(a, &ev, false, err, sizeof(err)), \
	    -1);							\
	assert_int_equal(file_lines(path), n);				\
	/* The log stays usable. */					\
	assert_int_equal(audit_append(a, &good, false, err,		\
	    sizeof(err)), 0);						\
} while (0)

	REFUSE(request_id, NULL);
	REFUSE(request_id, "");
	REFUSE(request_id, "a\nb");
	REFUSE(request_id, longid);
	REFUSE(operation, NULL);
	REFUSE(operation, longop);
	REFUSE(operation, "Get\tTokenVault");
	REFUSE(operation, "Get\x7fTokenVault");
	REFUSE(outcome, "maybe");
	REFUSE(outcome, NULL);
	REFUSE(error, "");
	REFUSE(error, "Bad\rError");
	REFUSE(resource, longid);
	REFUSE(resource, "bad utf-8 \xff\xfe");
	REFUSE(request_id, "\xc3\x28");

	o = json_pack("{s:f}", "t", 0.5);
	REFUSE(caller, o);
	REFUSE(detail, o);
	json_decref(o);
	o = json_pack("[i]", 1);
	REFUSE(caller, o);
	json_decref(o);
	o = json_object();
	json_object_set_new(o, "k", json_stringn("a\0b", 3));
	REFUSE(detail, o);
	json_decref(o);
	o = json_object();
	json_object_setn_new(o, "k\0ey", 4, json_true());
	REFUSE(detail, o);
	json_decref(o);
	o = json_object();
	json_object_set_new(o, "s", json_string_nocheck("\xff"));
	REFUSE(detail, o);
	json_decref(o);
	/* Nesting: 16 levels pass, 17 do not. */
	deep = json_object();
	for (i = 1; i < AUDIT_JSON_DEPTH_MAX; i++)
		deep = json_pack("{s:o}", "d", deep);
	ev = good;
	ev.detail = deep;
	assert_int_equal(audit_append(a, &ev, false, err, sizeof(err)), 0);
	o = json_pack("{s:o}", "d", deep);	/* takes deep */
	REFUSE(detail, o);
	json_decref(o);
	/* A record that would not fit on one line. */
	huge = malloc(AUDIT_LINE_MAX);
	assert_non_null(huge);
	memset(huge, 'h', AUDIT_LINE_MAX - 1);
	huge[AUDIT_LINE_MAX - 1] = '\0';
	o = json_pack("{s:s}", "h", huge);
	REFUSE(detail, o);
	json_decref(o);
	free(huge);
#undef REFUSE

	/* Control characters are fine (escaped) in resource. */
	ev = good;
	ev.resource = "line\nbreak \"quoted\" \\ \xe2\x82\xac";
	assert_int_equal(audit_append(a, &ev, true, err, sizeof(err)), 0);
	assert_int_equal(audit_append(NULL, &ev, true, err, sizeof(err)), -1);
	assert_int_equal(audit_append(a, NULL, true, err, sizeof(err)), -1);
	audit_close(a);
	expect_ok(path, key_a, &res);
	assert_int_equal(res.records, file_lines(path));
}

/* ---- memory buffers ---- */

static void
test_verify_memory(void **state)
{
	struct audit_verify_result res;
	struct lines l;
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0, i;
	FILE *mem, *fp;

	(void)state;
	make_log(path, sizeof(path), "mem", 12, 4);
	lines_read(path, &l);
	mem = open_memstream(&buf, &len);
	assert_non_null(mem);
	for (i = 0; i < l.n; i++)
		fprintf(mem, "%s\n", l.v[i]);
	fclose(mem);
	lines_free(&l);

	fp = fmemopen(buf, len, "r");
	assert_non_null(fp);
	assert_int_equal(audit_verify_fp(fp, key_a, &res), 0);
	fclose(fp);
	/* Flip every 97th byte in turn: never accepted. */
	for (i = 0; i < len; i += 97) {
		char saved = buf[i];

		buf[i] ^= 0x01;
		fp = fmemopen(buf, len, "r");
		assert_non_null(fp);
		assert_int_equal(audit_verify_fp(fp, key_a, &res), -1);
		assert_true(res.bad_line >= 1);
		fclose(fp);
		buf[i] = saved;
	}
	free(buf);
	/* A missing file. */
	assert_int_equal(audit_verify_file("/nonexistent/audit.log", key_a,
	    &res), -1);
	assert_int_equal(res.reason, AUDIT_V_IO);
	assert_int_equal(res.bad_line, 0);
}

/* ---- identifiers of secrets ---- */

static void
test_hmac_id(void **state)
{
	/* RFC 4231 test case 1. */
	unsigned char k1[20], k2[32];
	char a[AUDIT_HEX_LEN + 1], b[AUDIT_HEX_LEN + 1], c[AUDIT_HEX_LEN + 1];
	size_t i;

	(void)state;
	memset(k1, 0x0b, sizeof(k1));
	memset(k2, 0x0c, sizeof(k2));
	assert_int_equal(audit_hmac_id(k1, sizeof(k1), "Hi There", a), 0);
	assert_string_equal(a, "b0344c61d8db38535ca8afceaf0bf12b"
	    "881dc200c9833da726e9376c2e32cff7");
	assert_int_equal(audit_hmac_id(k1, sizeof(k1), "secret-42", a), 0);
	assert_int_equal(audit_hmac_id(k2, sizeof(k2), "secret-42", b), 0);
	assert_int_equal(audit_hmac_id(k2, sizeof(k2), "secret-43", c), 0);
	assert_int_equal(strlen(a), AUDIT_HEX_LEN);
	for (i = 0; i < AUDIT_HEX_LEN; i++)
		assert_non_null(strchr("0123456789abcdef", a[i]));
	assert_string_not_equal(a, b);
	assert_string_not_equal(b, c);
	assert_null(strstr(a, "secret"));
	/* Deterministic. */
	assert_int_equal(audit_hmac_id(k2, sizeof(k2), "secret-42", c), 0);
	assert_string_equal(b, c);
	/* A short key or no id: refused. */
	assert_int_equal(audit_hmac_id(k1, AUDIT_HMAC_KEY_MIN - 1, "x", a), -1);
	assert_string_equal(a, "");
	assert_int_equal(audit_hmac_id(k1, sizeof(k1), NULL, a), -1);
	assert_int_equal(audit_hmac_id(NULL, 32, "x", a), -1);
}

/* ---- set-up ---- */

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
group_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	/* A file size limit must show up as a short write, not a signal. */
	signal(SIGXFSZ, SIG_IGN);
	umask(022);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_audit.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	key_a = EVP_EC_gen("P-256");
	key_b = EVP_EC_gen("P-256");
	if (key_a == NULL || key_b == NULL)
		return -1;
	kid_of(key_a, kid_a);
	kid_of(key_b, kid_b);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key_a);
	EVP_PKEY_free(key_b);
	if (getenv("AV_KEEP_TMP") == NULL)
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_verify),
		cmocka_unit_test(test_checkpoint_explicit),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_tamper_char),
		cmocka_unit_test(test_tamper_lines),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_checkpoint_sig),
		cmocka_unit_test(test_other_key),
		cmocka_unit_test(test_head_mismatch),
		cmocka_unit_test(test_forged_tail),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_reopen_bad_tail),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_write_failure_fsize),
		cmocka_unit_test(test_write_failure_enospc),
		cmocka_unit_test(test_sign_failure),
		cmocka_unit_test(test_refused_files),
		cmocka_unit_test(test_bad_events),
		cmocka_unit_test(test_verify_memory),
		cmocka_unit_test(test_hmac_id),
	};

	return cmocka_run_group_tests_name("audit", tests, group_setup,
	    group_teardown);
}
