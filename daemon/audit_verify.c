/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit_verify.c - offline verification of an audit log, and the record
 * rules the writer (audit.c) shares with it.
 *
 * The log is read one line at a time into a fixed buffer of
 * AUDIT_LINE_MAX bytes; a longer line is an error, so memory stays
 * bounded whatever the file holds.  Each line is checked on its own
 * (audit_record_check: JSON, no reals, depth, canonical encoding, members,
 * its own hash), then against the line before it (seq, prev), and a
 * checkpoint against its signature.  The first failure stops the run and
 * is reported with its line number.
 *
 * Why the encoding check: the hash covers the JSON value (canonical form,
 * sorted keys), not the bytes of the line.  Requiring each line to be
 * exactly what jansson's compact, ASCII-escaped dump of the parsed value
 * gives back makes every byte of the line matter: no extra whitespace,
 * no alternative escapes, no "1e0" for 1, no duplicate keys.  Only the
 * order of object members is the writer's choice.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "daemon/audit.h"
#include "daemon/es256.h"

#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

static const char *const reasons[] = {
	[AUDIT_V_OK] = "OK",
	[AUDIT_V_IO] = "read error",
	[AUDIT_V_EMPTY] = "empty log",
	[AUDIT_V_TOO_LONG] = "line too long",
	[AUDIT_V_TRUNCATED] = "truncated last line",
	[AUDIT_V_MALFORMED] = "malformed JSON",
	[AUDIT_V_FLOAT] = "floating-point value",
	[AUDIT_V_NONCANONICAL] = "non-canonical encoding",
	[AUDIT_V_INVALID] = "invalid record",
	[AUDIT_V_HASH] = "hash mismatch",
	[AUDIT_V_SEQ] = "seq out of order",
	[AUDIT_V_PREV] = "prev does not match the previous record",
	[AUDIT_V_GENESIS] = "genesis record missing or misplaced",
	[AUDIT_V_HEAD] = "checkpoint head mismatch",
	[AUDIT_V_KID] = "unknown kid",
	[AUDIT_V_SIG] = "bad checkpoint signature",
	[AUDIT_V_KEY] = "verification key is not EC P-256",
};

const char *
audit_verify_reason(enum audit_reason r)
{
	if ((size_t)r >= sizeof(reasons) / sizeof(reasons[0]) ||
	    reasons[r] == NULL)
		return "unknown reason";
	return reasons[r];
}

/* ---- encodings ---- */

void
audit_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
}

static const char b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Unpadded base64url; out needs 4 * ceil(len / 3) + 1 bytes at most. */
void
audit_b64url(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;
	uint32_t v;

	if (outlen == 0)
		return;
	for (i = 0; i + 2 < len && o + 4 < outlen; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url_chars[(v >> 18) & 63];
		out[o++] = b64url_chars[(v >> 12) & 63];
		out[o++] = b64url_chars[(v >> 6) & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (len - i == 1 && o + 2 < outlen) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64url_chars[(v >> 18) & 63];
		out[o++] = b64url_chars[(v >> 12) & 63];
	} else if (len - i == 2 && o + 3 < outlen) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url_chars[(v >> 18) & 63];
		out[o++] = b64url_chars[(v >> 12) & 63];
		out[o++] = b64url_chars[(v >> 6) & 63];
	}
	out[o] = '\0';
}

static int
b64url_value(int c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64url_chars, c)) == NULL)
		return -1;
	return (int)(p - b64url_chars);
}

/*
 * Strict decoding of exactly AUDIT_SIG_B64_LEN characters into
 * AUDIT_SIG_LEN bytes: no padding, no other characters, and the unused
 * low bits of the last character must be zero (one text per signature).
 */
static bool
b64url_decode_sig(const char *in, size_t len, unsigned char out[AUDIT_SIG_LEN])
{
	size_t i, o = 0;
	uint32_t acc = 0;
	int bits = 0, v;

	if (len != AUDIT_SIG_B64_LEN)
		return false;
	for (i = 0; i < len; i++) {
		if ((v = b64url_value((unsigned char)in[i])) < 0)
			return false;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= AUDIT_SIG_LEN)
				return false;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	return o == AUDIT_SIG_LEN && acc == 0;
}

static bool
is_hex64(const char *s, size_t len)
{
	size_t i;

	if (len != AUDIT_HEX_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
has_control(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static bool
digits(const char *s, size_t n, int lo, int hi)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ", UTC. */
static bool
is_time(const char *s, size_t len)
{
	if (len != 24)
		return false;
	return digits(s, 4, 0, 9999) && s[4] == '-' &&
	    digits(s + 5, 2, 1, 12) && s[7] == '-' &&
	    digits(s + 8, 2, 1, 31) && s[10] == 'T' &&
	    digits(s + 11, 2, 0, 23) && s[13] == ':' &&
	    digits(s + 14, 2, 0, 59) && s[16] == ':' &&
	    digits(s + 17, 2, 0, 60) && s[19] == '.' &&
	    digits(s + 20, 3, 0, 999) && s[23] == 'Z';
}

/* ---- keys and signatures ---- */

int
audit_key_is_p256(EVP_PKEY *key)
{
	char group[32];
	size_t glen = 0;

	if (key == NULL || !EVP_PKEY_is_a(key, "EC"))
		return 0;
	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
	    group, sizeof(group), &glen))
		return 0;
	return strcmp(group, "prime256v1") == 0;
}

int
audit_key_id(EVP_PKEY *key, char kid[AUDIT_HEX_LEN + 1])
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = sizeof(md);
	int len, ret = -1;

	kid[0] = '\0';
	if ((len = i2d_PUBKEY(key, &der)) > 0 &&
	    EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) &&
	    mdlen == sizeof(md)) {
		audit_hex(md, sizeof(md), kid);
		ret = 0;
	}
	OPENSSL_free(der);
	return ret;
}

int
audit_sig_verify(EVP_PKEY *pub, const char *head,
    const unsigned char sig[AUDIT_SIG_LEN])
{
	return es256_verify(pub, head, AUDIT_HEX_LEN, sig);
}

int
audit_chain_hash(const char *prev, const char *canonical, size_t clen,
    char hash_hex[AUDIT_HEX_LEN + 1])
{
	EVP_MD_CTX *ctx;
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	int ok;

	hash_hex[0] = '\0';
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, prev, AUDIT_HEX_LEN) &&
	    EVP_DigestUpdate(ctx, "\n", 1) &&
	    EVP_DigestUpdate(ctx, canonical, clen) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == sizeof(md);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	audit_hex(md, sizeof(md), hash_hex);
	return 0;
}

/* ---- one record ---- */

/*
 * No reals anywhere, no NUL in strings or keys (the parser already
 * refuses those; a writer's json_t may have them), containers at most
 * AUDIT_JSON_DEPTH_MAX below the record.  depth is v's depth (the record
 * is 0).  Bounded recursion: the depth check comes first.
 */
enum audit_reason
audit_json_check(const json_t *v, int depth, char *detail, size_t detaillen)
{
	enum audit_reason r;
	const char *key;
	json_t *e;
	size_t i, klen;

	switch (json_typeof(v)) {
	case JSON_REAL:
		snprintf(detail, detaillen, "real numbers are not allowed");
		return AUDIT_V_FLOAT;
	case JSON_STRING:
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(detail, detaillen, "NUL in a string");
			return AUDIT_V_INVALID;
		}
		return AUDIT_V_OK;
	case JSON_OBJECT:
	case JSON_ARRAY:
		if (depth > AUDIT_JSON_DEPTH_MAX) {
			snprintf(detail, detaillen, "nested deeper than %d",
			    AUDIT_JSON_DEPTH_MAX);
			return AUDIT_V_INVALID;
		}
		break;
	default:
		return AUDIT_V_OK;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			if ((r = audit_json_check(e, depth + 1, detail,
			    detaillen)) != AUDIT_V_OK)
				return r;
		return AUDIT_V_OK;
	}
	json_object_keylen_foreach((json_t *)v, key, klen, e) {
		if (strlen(key) != klen) {
			snprintf(detail, detaillen, "NUL in a key");
			return AUDIT_V_INVALID;
		}
		if ((r = audit_json_check(e, depth + 1, detail, detaillen)) !=
		    AUDIT_V_OK)
			return r;
	}
	return AUDIT_V_OK;
}

/* Kinds of top-level members. */
enum member_kind {
	M_VERSION,	/* integer AUDIT_VERSION */
	M_UINT,		/* integer >= 0 */
	M_TIME,
	M_TYPE,
	M_HEX,		/* 64 lower-case hex digits */
	M_ID,		/* string 1..AUDIT_ID_MAX, no control characters */
	M_TEXT,		/* string 0..AUDIT_ID_MAX */
	M_OP,		/* string 1..AUDIT_OPERATION_MAX, no control chars */
	M_OUTCOME,
	M_OBJECT,
	M_ALG,
	M_SIG,
};

#define T_G	(1U << AUDIT_T_GENESIS)
#define T_C	(1U << AUDIT_T_CALL)
#define T_K	(1U << AUDIT_T_CHECKPOINT)
#define T_R	(1U << AUDIT_T_RECOVERED)
#define T_ALL	(T_G | T_C | T_K | T_R)

static const struct member {
	const char		*name;
	enum member_kind	 kind;
	unsigned		 types;		/* where it may appear */
	unsigned		 required;	/* where it must appear */
} members[] = {
	{ "v",			M_VERSION,	T_ALL,	T_ALL },
	{ "seq",		M_UINT,		T_ALL,	T_ALL },
	{ "time",		M_TIME,		T_ALL,	T_ALL },
	{ "type",		M_TYPE,		T_ALL,	T_ALL },
	{ "prev",		M_HEX,		T_ALL,	T_ALL },
	{ "hash",		M_HEX,		T_ALL,	T_ALL },
	{ "kid",		M_HEX,		T_G | T_K, T_G | T_K },
	{ "head",		M_HEX,		T_K,	T_K },
	{ "records",		M_UINT,		T_K,	T_K },
	{ "alg",		M_ALG,		T_K,	T_K },
	{ "sig",		M_SIG,		T_K,	T_K },
	{ "request_id",		M_ID,		T_C,	T_C },
	{ "caller",		M_OBJECT,	T_C,	0 },
	{ "operation",		M_OP,		T_C,	T_C },
	{ "resource",		M_TEXT,		T_C,	0 },
	{ "outcome",		M_OUTCOME,	T_C,	T_C },
	{ "error",		M_OP,		T_C,	0 },
	{ "decision",		M_TEXT,		T_C,	0 },
	{ "detail",		M_OBJECT,	T_C,	0 },
	{ "dropped_bytes",	M_UINT,		T_R,	T_R },
	{ "dropped_sha256",	M_HEX,		T_R,	T_R },
};
#define NMEMBERS	(sizeof(members) / sizeof(members[0]))

static const struct {
	const char	*name;
	enum audit_type	 type;
} type_names[] = {
	{ "genesis",	AUDIT_T_GENESIS },
	{ "call",	AUDIT_T_CALL },
	{ "checkpoint",	AUDIT_T_CHECKPOINT },
	{ "recovered",	AUDIT_T_RECOVERED },
};

static bool
member_ok(const struct member *m, json_t *v)
{
	const char *s = NULL;
	size_t len = 0;
	size_t i;

	if (json_is_string(v)) {
		s = json_string_value(v);
		len = json_string_length(v);
	}
	switch (m->kind) {
	case M_VERSION:
		return json_is_integer(v) &&
		    json_integer_value(v) == AUDIT_VERSION;
	case M_UINT:
		return json_is_integer(v) && json_integer_value(v) >= 0;
	case M_TIME:
		return s != NULL && is_time(s, len);
	case M_TYPE:
		if (s == NULL)
			return false;
		for (i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
			if (strcmp(s, type_names[i].name) == 0)
				return true;
		return false;
	case M_HEX:
		return s != NULL && is_hex64(s, len);
	case M_ID:
		return s != NULL && len >= 1 && len <= AUDIT_ID_MAX &&
		    !has_control(s, len);
	case M_TEXT:
		return s != NULL && len <= AUDIT_ID_MAX;
	case M_OP:
		return s != NULL && len >= 1 && len <= AUDIT_OPERATION_MAX &&
		    !has_control(s, len);
	case M_OUTCOME:
		return s != NULL && (strcmp(s, "allowed") == 0 ||
		    strcmp(s, "denied") == 0 || strcmp(s, "error") == 0);
	case M_OBJECT:
		return json_is_object(v);
	case M_ALG:
		return s != NULL && strcmp(s, "ES256") == 0;
	case M_SIG:
		/* Its content is checked as the signature. */
		return s != NULL;
	}
	return false;
}

static void
copy_hex(char dst[AUDIT_HEX_LEN + 1], json_t *v)
{
	memcpy(dst, json_string_value(v), AUDIT_HEX_LEN);
	dst[AUDIT_HEX_LEN] = '\0';
}

enum audit_reason
audit_record_check(const char *line, size_t len, char *canon,
    struct audit_record *rec, char *detail, size_t detaillen)
{
	enum audit_reason r = AUDIT_V_INVALID;
	json_error_t jerr;
	json_t *root, *v;
	const char *key, *type;
	unsigned seen = 0, bit;
	size_t i, n, klen;
	char hash[AUDIT_HEX_LEN + 1];

	memset(rec, 0, sizeof(*rec));
	if (detaillen > 0)
		detail[0] = '\0';
	if (len >= AUDIT_LINE_MAX) {
		snprintf(detail, detaillen, "%zu bytes", len);
		return AUDIT_V_TOO_LONG;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(detail, detaillen, "column %d: %s", jerr.column,
		    jerr.text);
		return AUDIT_V_MALFORMED;
	}
	if (!json_is_object(root)) {
		snprintf(detail, detaillen, "not a JSON object");
		r = AUDIT_V_MALFORMED;
		goto out;
	}
	/* seq first, so that a report can name it whatever else is wrong. */
	v = json_object_get(root, "seq");
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		rec->seq = (uint64_t)json_integer_value(v);
		rec->seq_known = true;
	}
	if ((r = audit_json_check(root, 0, detail, detaillen)) != AUDIT_V_OK)
		goto out;

	/* Every byte counts: the line must be the canonical dump. */
	n = json_dumpb(root, canon, AUDIT_LINE_MAX, JSON_COMPACT |
	    JSON_ENSURE_ASCII);
	if (n != len || memcmp(canon, line, len) != 0) {
		snprintf(detail, detaillen, "the line is not in the writer's "
		    "compact, ASCII-escaped form");
		r = AUDIT_V_NONCANONICAL;
		goto out;
	}

	r = AUDIT_V_INVALID;
	v = json_object_get(root, "type");
	type = json_string_value(v);
	for (i = 0; type != NULL &&
	    i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strcmp(type, type_names[i].name) == 0)
			rec->type = type_names[i].type;
	if (rec->type == 0) {
		snprintf(detail, detaillen, "missing or unknown type");
		goto out;
	}
	bit = 1U << rec->type;
	json_object_keylen_foreach(root, key, klen, v) {
		for (i = 0; i < NMEMBERS; i++)
			if (strlen(members[i].name) == klen &&
			    memcmp(members[i].name, key, klen) == 0)
				break;
		if (i == NMEMBERS || (members[i].types & bit) == 0) {
			snprintf(detail, detaillen,
			    "unexpected member \"%.32s\"", key);
			goto out;
		}
		if (!member_ok(&members[i], v)) {
			snprintf(detail, detaillen, "bad value of \"%s\"",
			    members[i].name);
			goto out;
		}
		seen |= 1U << i;
	}
	for (i = 0; i < NMEMBERS; i++)
		if ((members[i].required & bit) && !(seen & (1U << i))) {
			snprintf(detail, detaillen, "missing \"%s\"",
			    members[i].name);
			goto out;
		}

	copy_hex(rec->prev, json_object_get(root, "prev"));
	copy_hex(rec->hash, json_object_get(root, "hash"));
	if (rec->type == AUDIT_T_GENESIS || rec->type == AUDIT_T_CHECKPOINT)
		copy_hex(rec->kid, json_object_get(root, "kid"));
	if (rec->type == AUDIT_T_CHECKPOINT) {
		copy_hex(rec->head, json_object_get(root, "head"));
		v = json_object_get(root, "records");
		rec->covers = (uint64_t)json_integer_value(v);
		v = json_object_get(root, "sig");
		rec->sig_ok = b64url_decode_sig(json_string_value(v),
		    json_string_length(v), rec->sig);
	}

	/* Its own hash, over the canonical form without "hash". */
	if (json_object_del(root, "hash") != 0)
		goto out;
	n = json_dumpb(root, canon, AUDIT_LINE_MAX, JSON_COMPACT |
	    JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (n == 0 || n > AUDIT_LINE_MAX) {
		snprintf(detail, detaillen, "cannot serialise the record");
		goto out;
	}
	if (audit_chain_hash(rec->prev, canon, n, hash) != 0) {
		snprintf(detail, detaillen, "SHA-256 failed");
		goto out;
	}
	if (strcmp(hash, rec->hash) != 0) {
		snprintf(detail, detaillen, "the record hashes to %.16s..., "
		    "its hash says %.16s...", hash, rec->hash);
		r = AUDIT_V_HASH;
		goto out;
	}
	r = AUDIT_V_OK;
 out:
	json_decref(root);
	return r;
}

/* ---- the whole log ---- */

enum line_status {
	LINE_OK,
	LINE_EOF,
	LINE_TOO_LONG,
	LINE_TRUNCATED,
	LINE_IO,
};

/* Read one line, without its newline, into buf (AUDIT_LINE_MAX bytes). */
static enum line_status
read_line(FILE *fp, char *buf, size_t *lenp)
{
	size_t len = 0;
	int c;

	for (;;) {
		c = getc_unlocked(fp);
		if (c == EOF) {
			*lenp = len;
			if (ferror(fp))
				return LINE_IO;
			return len == 0 ? LINE_EOF : LINE_TRUNCATED;
		}
		if (c == '\n')
			break;
		if (len >= AUDIT_LINE_MAX - 1) {
			*lenp = len + 1;
			return LINE_TOO_LONG;
		}
		buf[len++] = (char)c;
	}
	*lenp = len;
	return LINE_OK;
}

static int
fail(struct audit_verify_result *res, enum audit_reason r, uint64_t line,
    bool seq_known, uint64_t seq)
{
	res->reason = r;
	res->bad_line = line;
	res->bad_seq_known = seq_known;
	res->bad_seq = seq;
	res->uncovered = false;
	return -1;
}

int
audit_verify_fp(FILE *fp, EVP_PKEY *pub, struct audit_verify_result *res)
{
	struct audit_record rec;
	enum audit_reason r;
	enum line_status ls;
	enum audit_type last_type = 0;
	char *line = NULL, *canon = NULL;
	char prev[AUDIT_HEX_LEN + 1] = ZERO_HASH;
	char genesis_kid[AUDIT_HEX_LEN + 1] = "";
	char pub_kid[AUDIT_HEX_LEN + 1] = "";
	uint64_t lineno = 0, expect = 0;
	size_t len;
	int ret = -1;

	memset(res, 0, sizeof(*res));
	if (pub != NULL && (!audit_key_is_p256(pub) ||
	    audit_key_id(pub, pub_kid) != 0)) {
		ERR_clear_error();
		return fail(res, AUDIT_V_KEY, 0, false, 0);
	}
	if ((line = malloc(AUDIT_LINE_MAX)) == NULL ||
	    (canon = malloc(AUDIT_LINE_MAX)) == NULL) {
		snprintf(res->detail, sizeof(res->detail), "out of memory");
		fail(res, AUDIT_V_IO, 0, false, 0);
		goto out;
	}

	for (;;) {
		ls = read_line(fp, line, &len);
		if (ls == LINE_EOF)
			break;
		lineno++;
		switch (ls) {
		case LINE_TOO_LONG:
			snprintf(res->detail, sizeof(res->detail),
			    "longer than %d bytes", AUDIT_LINE_MAX - 1);
			fail(res, AUDIT_V_TOO_LONG, lineno, false, expect);
			goto out;
		case LINE_TRUNCATED:
			snprintf(res->detail, sizeof(res->detail),
			    "%zu bytes without a final newline", len);
			fail(res, AUDIT_V_TRUNCATED, lineno, false, expect);
			goto out;
		case LINE_IO:
			snprintf(res->detail, sizeof(res->detail), "%s",
			    strerror(errno));
			fail(res, AUDIT_V_IO, lineno, false, expect);
			goto out;
		default:
			break;
		}

		r = audit_record_check(line, len, canon, &rec, res->detail,
		    sizeof(res->detail));
		if (r != AUDIT_V_OK) {
			fail(res, r, lineno, rec.seq_known,
			    rec.seq_known ? rec.seq : expect);
			goto out;
		}
		if (rec.seq != expect) {
			snprintf(res->detail, sizeof(res->detail),
			    "expected seq %" PRIu64 ", found %" PRIu64,
			    expect, rec.seq);
			fail(res, AUDIT_V_SEQ, lineno, true, rec.seq);
			goto out;
		}
		if (strcmp(rec.prev, prev) != 0) {
			snprintf(res->detail, sizeof(res->detail),
			    "prev is %.16s..., the previous record's hash is "
			    "%.16s...", rec.prev, prev);
			fail(res, AUDIT_V_PREV, lineno, true, rec.seq);
			goto out;
		}
		if ((lineno == 1) != (rec.type == AUDIT_T_GENESIS)) {
			snprintf(res->detail, sizeof(res->detail), lineno == 1 ?
			    "the first record must be a genesis record" :
			    "a genesis record after the first line");
			fail(res, AUDIT_V_GENESIS, lineno, true, rec.seq);
			goto out;
		}
		if (rec.type == AUDIT_T_GENESIS) {
			memcpy(genesis_kid, rec.kid, sizeof(genesis_kid));
			if (pub != NULL && strcmp(rec.kid, pub_kid) != 0) {
				snprintf(res->detail, sizeof(res->detail),
				    "the log was started for key %.16s..., "
				    "the key given is %.16s...", rec.kid,
				    pub_kid);
				fail(res, AUDIT_V_KID, lineno, true, rec.seq);
				goto out;
			}
		}
		if (rec.type == AUDIT_T_CHECKPOINT) {
			if (strcmp(rec.head, prev) != 0 ||
			    rec.covers != rec.seq - 1) {
				snprintf(res->detail, sizeof(res->detail),
				    "the checkpoint claims %.16s... up to seq "
				    "%" PRIu64 ", the chain has %.16s... up to "
				    "seq %" PRIu64, rec.head, rec.covers, prev,
				    rec.seq - 1);
				fail(res, AUDIT_V_HEAD, lineno, true, rec.seq);
				goto out;
			}
			if (strcmp(rec.kid, genesis_kid) != 0) {
				snprintf(res->detail, sizeof(res->detail),
				    "kid %.16s... is not the genesis record's "
				    "%.16s...", rec.kid, genesis_kid);
				fail(res, AUDIT_V_KID, lineno, true, rec.seq);
				goto out;
			}
			if (!rec.sig_ok) {
				snprintf(res->detail, sizeof(res->detail),
				    "sig is not %d bytes of unpadded "
				    "base64url", AUDIT_SIG_LEN);
				fail(res, AUDIT_V_SIG, lineno, true, rec.seq);
				goto out;
			}
			if (pub != NULL) {
				if (!audit_sig_verify(pub, rec.head,
				    rec.sig)) {
					snprintf(res->detail,
					    sizeof(res->detail), "the "
					    "signature does not verify with "
					    "key %.16s...", pub_kid);
					fail(res, AUDIT_V_SIG, lineno, true,
					    rec.seq);
					goto out;
				}
				res->checkpoints_verified++;
			}
			res->checkpoints++;
			res->covered = true;
			res->covered_seq = rec.covers;
		}
		memcpy(prev, rec.hash, sizeof(prev));
		last_type = rec.type;
		res->last_seq = rec.seq;
		res->records++;
		expect++;
	}
	if (lineno == 0) {
		snprintf(res->detail, sizeof(res->detail),
		    "no genesis record");
		fail(res, AUDIT_V_EMPTY, 1, false, 0);
		goto out;
	}
	res->uncovered = last_type != AUDIT_T_CHECKPOINT;
	res->detail[0] = '\0';
	if (res->uncovered)
		snprintf(res->detail, sizeof(res->detail), "seq %" PRIu64
		    "..%" PRIu64 " after the last checkpoint",
		    res->covered ? res->covered_seq + 1 : 0, res->last_seq);
	ret = 0;
 out:
	free(line);
	free(canon);
	return ret;
}

int
audit_verify_file(const char *path, EVP_PKEY *pub,
    struct audit_verify_result *res)
{
	FILE *fp;
	int ret;

	if (path == NULL || (fp = fopen(path, "re")) == NULL) {
		memset(res, 0, sizeof(*res));
		snprintf(res->detail, sizeof(res->detail), "%s: %s",
		    path != NULL ? path : "(null)", strerror(errno));
		return fail(res, AUDIT_V_IO, 0, false, 0);
	}
	ret = audit_verify_fp(fp, pub, res);
	if (fclose(fp) != 0 && ret == 0) {
		snprintf(res->detail, sizeof(res->detail), "%s: %s", path,
		    strerror(errno));
		return fail(res, AUDIT_V_IO, 0, false, 0);
	}
	return ret;
}
