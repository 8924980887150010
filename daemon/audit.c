/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.c - the audit log writer (see audit.h, docs/audit.md).
 *
 * Each record is built as a jansson object in a fixed member order (v,
 * seq, time, type, the type's members, prev, hash), hashed over its
 * canonical form (sorted keys, without "hash") and written as one compact,
 * ASCII-escaped line with one write(2) on an O_APPEND descriptor.
 *
 * The writer produces only lines the verifier accepts by construction:
 * its own members are well-formed, caller and detail objects pass the
 * verifier's audit_json_check() (no reals, no NUL, bounded depth) and
 * jansson refuses to dump invalid UTF-8, and jansson's compact dump of a
 * parsed compact dump is the same text.  Re-parsing every line to prove
 * it again would double the cost of an append (measured: about 2x), so
 * that is left to the tests and to tests/fuzz/fuzz_audit_verify.c, which
 * feeds arbitrary JSON objects through the writer and verifies the result.
 *
 * Failure handling: a bad event is refused before anything is written and
 * leaves the log usable.  A short or failed write(2) or fsync(2) puts the
 * log into the failed state: after it the file's contents or their
 * durability are unknown (a torn line may be on disk, an fsync error may
 * have dropped dirty pages), so nothing more is appended until the log is
 * opened again, which finds and reports the torn line.  A signature that
 * fails leaves the file consistent: the checkpoint stays due and the next
 * append tries again before it writes anything.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "daemon/audit.h"
#include "daemon/es256.h"

#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define TAIL_CHUNK	4096

struct audit_log {
	int		 fd;
	EVP_PKEY	*key;		/* signs checkpoints (a reference) */
	EVP_PKEY	*pub;		/* its public half, checks signatures */
	char		 kid[AUDIT_HEX_LEN + 1];
	char		 prev[AUDIT_HEX_LEN + 1];	/* last record's hash */
	uint64_t	 seq;		/* of the next record */
	unsigned	 interval;	/* records between checkpoints */
	unsigned	 since;		/* records since the last checkpoint */
	bool		 failed;	/* a write or fsync failed */
	char		*last_cp;	/* last checkpoint line we wrote */
	bool		 batching;	/* between batch_begin and _end */
	bool		 batch_sync;	/* a batched record asked for fsync */
	size_t		 batch_len;
	char		 batch[AUDIT_BATCH_BYTES];
	char		 line[AUDIT_LINE_MAX];
	char		 canon[AUDIT_LINE_MAX];
};

static void seterr(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- building records ---- */

static int
now_utc(char out[32])
{
	struct timespec ts;
	struct tm tm;
	int n;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return -1;
	n = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec > 60 ? 60 : tm.tm_sec,
	    ts.tv_nsec / 1000000L);
	return n == 24 ? 0 : -1;
}

/* json_object_set_new() that tolerates a NULL value (returns -1). */
static int
put(json_t *o, const char *k, json_t *v)
{
	if (v == NULL)
		return -1;
	return json_object_set_new(o, k, v);
}

/* A record with v, seq, time and type; NULL on failure. */
static json_t *
record_new(const struct audit_log *a, const char *type)
{
	json_t *o;
	char t[32];

	if (now_utc(t) != 0 || (o = json_object()) == NULL)
		return NULL;
	if (put(o, "v", json_integer(AUDIT_VERSION)) != 0 ||
	    put(o, "seq", json_integer((json_int_t)a->seq)) != 0 ||
	    put(o, "time", json_string(t)) != 0 ||
	    put(o, "type", json_string(type)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/*
 * One write(2) of buf, then fsync(2) when sync is set.  EINTR before
 * anything was written is retried.  Any failure puts the log in the failed
 * state.
 */
static int
write_out(struct audit_log *a, const char *buf, size_t n, bool sync,
    char *err, size_t errlen)
{
	ssize_t w = 0;

	/* n is 0 when a batch written early is left to fsync. */
	while (n > 0 && (w = write(a->fd, buf, n)) == -1 && errno == EINTR)
		;
	if (w < 0 || (size_t)w != n) {
		a->failed = true;
		if (w < 0)
			seterr(err, errlen, "audit: write: %s",
			    strerror(errno));
		else
			seterr(err, errlen, "audit: short write (%zd of %zu "
			    "bytes)", w, n);
		return -1;
	}
	if (sync && fsync(a->fd) != 0) {
		a->failed = true;
		seterr(err, errlen, "audit: fsync: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Write what the batch holds; fsync when sync and a record asked. */
static int
flush_batch(struct audit_log *a, bool sync, char *err, size_t errlen)
{
	bool do_sync = sync && a->batch_sync;
	int rc = 0;

	if (a->batch_len > 0 || do_sync)
		rc = write_out(a, a->batch, a->batch_len, do_sync, err, errlen);
	a->batch_len = 0;
	if (sync)
		a->batch_sync = false;
	return rc;
}

/*
 * Finish rec (prev, hash) and write it as one line (or add it to the
 * batch); fsync when sync.  Consumes rec.  Returns 0; -1 with a->failed untouched when the record
 * is refused (nothing written); -1 with a->failed set when the write or
 * fsync failed.
 */
static int
emit(struct audit_log *a, json_t *rec, bool sync, char *err, size_t errlen)
{
	char hash[AUDIT_HEX_LEN + 1];
	size_t n;
	int ret = -1;

	if (put(rec, "prev", json_string(a->prev)) != 0) {
		seterr(err, errlen, "audit: out of memory");
		goto out;
	}
	n = json_dumpb(rec, a->canon, sizeof(a->canon), JSON_COMPACT |
	    JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	if (n == 0 || n > sizeof(a->canon)) {
		seterr(err, errlen, "audit: record cannot be serialised or is "
		    "longer than %d bytes", AUDIT_LINE_MAX - 1);
		goto out;
	}
	if (audit_chain_hash(a->prev, a->canon, n, hash) != 0 ||
	    put(rec, "hash", json_string(hash)) != 0) {
		seterr(err, errlen, "audit: cannot hash the record");
		goto out;
	}
	n = json_dumpb(rec, a->line, sizeof(a->line) - 1, JSON_COMPACT |
	    JSON_ENSURE_ASCII);
	if (n == 0 || n > sizeof(a->line) - 1) {
		seterr(err, errlen, "audit: record longer than %d bytes",
		    AUDIT_LINE_MAX - 1);
		goto out;
	}
	a->line[n++] = '\n';

	if (!a->batching) {
		if (write_out(a, a->line, n, sync, err, errlen) != 0)
			goto out;
	} else {
		/* A full batch goes out now; its fsync waits for the end. */
		if (a->batch_len + n > sizeof(a->batch) &&
		    flush_batch(a, false, err, errlen) != 0)
			goto out;
		memcpy(a->batch + a->batch_len, a->line, n);
		a->batch_len += n;
		a->batch_sync |= sync;
	}
	memcpy(a->prev, hash, sizeof(a->prev));
	a->seq++;
	ret = 0;
 out:
	json_decref(rec);
	return ret;
}

static int
write_genesis(struct audit_log *a, char *err, size_t errlen)
{
	json_t *rec;

	if ((rec = record_new(a, "genesis")) == NULL ||
	    put(rec, "kid", json_string(a->kid)) != 0) {
		json_decref(rec);
		seterr(err, errlen, "audit: out of memory");
		return -1;
	}
	if (emit(a, rec, true, err, errlen) != 0)
		return -1;
	a->since = 1;
	return 0;
}

/* ---- signing ---- */

/* raw r||s ECDSA P-256 signature over SHA-256(head), checked with pub. */
static int
sign_head(struct audit_log *a, const char *head,
    unsigned char raw[AUDIT_SIG_LEN], char *err, size_t errlen)
{
	int ret = -1;

	if (es256_sign(a->key, head, AUDIT_HEX_LEN, raw) != 0) {
		seterr(err, errlen, "audit: the audit key could not sign the "
		    "checkpoint");
		goto out;
	}
	/* A signature that does not verify would make the log unverifiable. */
	if (!audit_sig_verify(a->pub, head, raw)) {
		seterr(err, errlen, "audit: the audit key made a signature "
		    "that does not verify");
		goto out;
	}
	ret = 0;
 out:
	return ret;
}

int
audit_checkpoint(struct audit_log *a, char *err, size_t errlen)
{
	unsigned char raw[AUDIT_SIG_LEN];
	char sig[AUDIT_SIG_B64_LEN + 1];
	json_t *rec;

	if (a == NULL) {
		seterr(err, errlen, "audit: no log");
		return -1;
	}
	if (a->failed) {
		seterr(err, errlen, "audit: the log failed after an earlier "
		    "write error; reopen it");
		return -1;
	}
	if (a->since == 0)
		return 0;
	if (sign_head(a, a->prev, raw, err, errlen) != 0)
		return -1;
	audit_b64url(raw, sizeof(raw), sig, sizeof(sig));
	if ((rec = record_new(a, "checkpoint")) == NULL ||
	    put(rec, "head", json_string(a->prev)) != 0 ||
	    put(rec, "records", json_integer((json_int_t)(a->seq - 1))) != 0 ||
	    put(rec, "kid", json_string(a->kid)) != 0 ||
	    put(rec, "alg", json_string("ES256")) != 0 ||
	    put(rec, "sig", json_string(sig)) != 0) {
		json_decref(rec);
		seterr(err, errlen, "audit: out of memory");
		return -1;
	}
	if (emit(a, rec, true, err, errlen) != 0)
		return -1;
	a->since = 0;
	/* a->line still holds the line, newline included. */
	free(a->last_cp);
	a->last_cp = strndup(a->line, strcspn(a->line, "\n"));
	return 0;
}

void
audit_batch_begin(struct audit_log *a)
{
	a->batching = true;
	a->batch_len = 0;
	a->batch_sync = false;
}

int
audit_batch_end(struct audit_log *a, char *err, size_t errlen)
{
	a->batching = false;
	if (a->failed) {
		a->batch_len = 0;
		seterr(err, errlen, "audit: the log failed after an earlier "
		    "write error; reopen it");
		return -1;
	}
	return flush_batch(a, true, err, errlen);
}

const char *
audit_last_checkpoint(const struct audit_log *a)
{
	return a != NULL ? a->last_cp : NULL;
}

/* ---- appending ---- */

static bool
str_ok(const char *s, size_t min, size_t max, bool controls)
{
	size_t i, len;

	if (s == NULL)
		return min == 0;
	len = strnlen(s, max + 1);
	if (len < min || len > max)
		return false;
	if (!controls)
		for (i = 0; i < len; i++)
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return false;
	return true;
}

/* The call record for ev, or NULL (err says why). */
static json_t *
call_record(struct audit_log *a, const struct audit_event *ev, char *err,
    size_t errlen)
{
	char why[128];
	json_t *rec, *v;

	if (!str_ok(ev->request_id, 1, AUDIT_ID_MAX, false)) {
		seterr(err, errlen, "audit: bad request_id");
		return NULL;
	}
	if (!str_ok(ev->operation, 1, AUDIT_OPERATION_MAX, false)) {
		seterr(err, errlen, "audit: bad operation");
		return NULL;
	}
	if (ev->outcome == NULL || (strcmp(ev->outcome, "allowed") != 0 &&
	    strcmp(ev->outcome, "denied") != 0 &&
	    strcmp(ev->outcome, "error") != 0)) {
		seterr(err, errlen, "audit: outcome must be allowed, denied "
		    "or error");
		return NULL;
	}
	if (!str_ok(ev->resource, 0, AUDIT_ID_MAX, true)) {
		seterr(err, errlen, "audit: resource longer than %d bytes",
		    AUDIT_ID_MAX);
		return NULL;
	}
	if (ev->error != NULL &&
	    !str_ok(ev->error, 1, AUDIT_OPERATION_MAX, false)) {
		seterr(err, errlen, "audit: bad error name");
		return NULL;
	}
	if (!str_ok(ev->decision, 0, AUDIT_ID_MAX, false)) {
		seterr(err, errlen, "audit: bad decision");
		return NULL;
	}
	if (ev->caller != NULL && (!json_is_object(ev->caller) ||
	    audit_json_check(ev->caller, 1, why, sizeof(why)) != AUDIT_V_OK)) {
		seterr(err, errlen, "audit: caller must be a JSON object "
		    "without reals, NULs or deep nesting");
		return NULL;
	}
	if (ev->detail != NULL && (!json_is_object(ev->detail) ||
	    audit_json_check(ev->detail, 1, why, sizeof(why)) != AUDIT_V_OK)) {
		seterr(err, errlen, "audit: detail must be a JSON object "
		    "without reals, NULs or deep nesting");
		return NULL;
	}

	if ((rec = record_new(a, "call")) == NULL)
		goto oom;
	/* json_string() is NULL for invalid UTF-8: put() then fails. */
	if ((v = json_string(ev->request_id)) == NULL) {
		seterr(err, errlen, "audit: request_id is not UTF-8");
		goto bad;
	}
	if (put(rec, "request_id", v) != 0)
		goto oom;
	if (ev->caller != NULL &&
	    json_object_set(rec, "caller", ev->caller) != 0)
		goto oom;
	if ((v = json_string(ev->operation)) == NULL) {
		seterr(err, errlen, "audit: operation is not UTF-8");
		goto bad;
	}
	if (put(rec, "operation", v) != 0)
		goto oom;
	if (ev->resource != NULL) {
		if ((v = json_string(ev->resource)) == NULL) {
			seterr(err, errlen, "audit: resource is not UTF-8");
			goto bad;
		}
		if (put(rec, "resource", v) != 0)
			goto oom;
	}
	if (put(rec, "outcome", json_string(ev->outcome)) != 0)
		goto oom;
	if (ev->error != NULL) {
		if ((v = json_string(ev->error)) == NULL) {
			seterr(err, errlen, "audit: error is not UTF-8");
			goto bad;
		}
		if (put(rec, "error", v) != 0)
			goto oom;
	}
	if (ev->decision != NULL) {
		if ((v = json_string(ev->decision)) == NULL) {
			seterr(err, errlen, "audit: decision is not UTF-8");
			goto bad;
		}
		if (put(rec, "decision", v) != 0)
			goto oom;
	}
	if (ev->detail != NULL &&
	    json_object_set(rec, "detail", ev->detail) != 0)
		goto oom;
	return rec;
 oom:
	seterr(err, errlen, "audit: out of memory");
 bad:
	json_decref(rec);
	return NULL;
}

int
audit_append(struct audit_log *a, const struct audit_event *ev, bool sync,
    char *err, size_t errlen)
{
	char why[256];
	json_t *rec;

	if (a == NULL || ev == NULL) {
		seterr(err, errlen, "audit: no log or no event");
		return -1;
	}
	if (a->failed) {
		seterr(err, errlen, "audit: the log failed after an earlier "
		    "write error; reopen it");
		return -1;
	}
	/* A checkpoint left due by a failed signature comes first. */
	if (a->since >= a->interval &&
	    audit_checkpoint(a, err, errlen) != 0)
		return -1;
	if ((rec = call_record(a, ev, err, errlen)) == NULL)
		return -1;
	if (emit(a, rec, sync, err, errlen) != 0)
		return -1;
	a->since++;
	if (a->since >= a->interval && audit_checkpoint(a, why,
	    sizeof(why)) != 0) {
		seterr(err, errlen, "audit: record written, but the "
		    "checkpoint after it failed: %s", why);
		return -1;
	}
	return 0;
}

/* ---- opening ---- */

/* Where the last '\n' before end is, or -1 if none; -2 on a read error. */
static off_t
last_newline(int fd, off_t end)
{
	char buf[TAIL_CHUNK];
	off_t pos = end;
	size_t n;
	ssize_t r;

	while (pos > 0) {
		n = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		pos -= (off_t)n;
		if ((r = pread(fd, buf, n, pos)) < 0 || (size_t)r != n)
			return -2;
		while (n > 0)
			if (buf[--n] == '\n')
				return pos + (off_t)n;
	}
	return -1;
}

/* Read exactly len bytes at off. */
static int
read_at(int fd, char *buf, size_t len, off_t off)
{
	ssize_t r;
	size_t done = 0;

	while (done < len) {
		r = pread(fd, buf + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* Check the line in a->line[0, len) and fill rec. */
static int
check_buf(struct audit_log *a, size_t len, const char *which,
    struct audit_record *rec, char *err, size_t errlen)
{
	enum audit_reason r;
	char why[192];

	r = audit_record_check(a->line, len, a->canon, rec, why, sizeof(why));
	if (r != AUDIT_V_OK) {
		seterr(err, errlen, "audit: the %s line is bad (%s: %s); run "
		    "the verifier", which, audit_verify_reason(r), why);
		return -1;
	}
	return 0;
}

/* SHA-256 of the bytes [off, end), in hex. */
static int
hash_range(int fd, off_t off, off_t end, char out[AUDIT_HEX_LEN + 1])
{
	EVP_MD_CTX *ctx;
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);
	char buf[TAIL_CHUNK];
	size_t n;
	int ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while (ok && off < end) {
		n = end - off > (off_t)sizeof(buf) ? sizeof(buf) :
		    (size_t)(end - off);
		ok = read_at(fd, buf, n, off) == 0 &&
		    EVP_DigestUpdate(ctx, buf, n);
		off += (off_t)n;
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	audit_hex(md, sizeof(md), out);
	return 0;
}

/* fsync the directory that holds path, so a new file's name is durable. */
static int
sync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash;
	int dfd, ret;

	if ((slash = strrchr(path, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return -1;
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	ret = fsync(dfd);
	close(dfd);
	return ret;
}

/* Continue the chain of an existing, non-empty file. */
static int
resume(struct audit_log *a, off_t size, int flags, char *err, size_t errlen)
{
	struct audit_record rec;
	char dropped[AUDIT_HEX_LEN + 1];
	off_t nl, complete, start;
	const char *p;
	size_t n;
	json_t *r;

	if ((nl = last_newline(a->fd, size)) == -2) {
		seterr(err, errlen, "audit: cannot read the log: %s",
		    strerror(errno));
		return -1;
	}
	complete = nl + 1;	/* bytes in complete lines */
	if (complete < size && !(flags & AUDIT_OPEN_RECOVER)) {
		seterr(err, errlen, "audit: the log ends in a torn line (%jd "
		    "bytes after the last newline); open it with recovery to "
		    "cut them off, or inspect it first",
		    (intmax_t)(size - complete));
		return AUDIT_ERR_TORN;
	}
	if (complete > 0) {
		/* The first line: a genesis record for our key. */
		n = complete > AUDIT_LINE_MAX ? AUDIT_LINE_MAX :
		    (size_t)complete;
		if (read_at(a->fd, a->line, n, 0) != 0) {
			seterr(err, errlen, "audit: cannot read the log");
			return -1;
		}
		if ((p = memchr(a->line, '\n', n)) == NULL) {
			seterr(err, errlen, "audit: the first line is longer "
			    "than %d bytes", AUDIT_LINE_MAX - 1);
			return -1;
		}
		if (check_buf(a, (size_t)(p - a->line), "first", &rec, err,
		    errlen) != 0)
			return -1;
		if (rec.type != AUDIT_T_GENESIS || rec.seq != 0) {
			seterr(err, errlen, "audit: the log does not start "
			    "with a genesis record");
			return -1;
		}
		if (strcmp(rec.kid, a->kid) != 0) {
			seterr(err, errlen, "audit: the log was started with "
			    "another audit key (kid %.16s..., ours %.16s...): "
			    "start a new log file for a new key", rec.kid,
			    a->kid);
			return -1;
		}
		/* The last complete line: where the chain goes on. */
		if ((nl = last_newline(a->fd, complete - 1)) == -2) {
			seterr(err, errlen, "audit: cannot read the log");
			return -1;
		}
		start = nl + 1;
		if (complete - 1 - start > AUDIT_LINE_MAX - 1) {
			seterr(err, errlen, "audit: the last line is longer "
			    "than %d bytes", AUDIT_LINE_MAX - 1);
			return -1;
		}
		n = (size_t)(complete - 1 - start);
		if (read_at(a->fd, a->line, n, start) != 0) {
			seterr(err, errlen, "audit: cannot read the log");
			return -1;
		}
		if (check_buf(a, n, "last", &rec, err, errlen) != 0)
			return -1;
		if (rec.seq >= (uint64_t)INT64_MAX) {
			seterr(err, errlen, "audit: seq exhausted");
			return -1;
		}
		a->seq = rec.seq + 1;
		memcpy(a->prev, rec.hash, sizeof(a->prev));
		a->since = rec.type == AUDIT_T_CHECKPOINT ? 0 : 1;
	}
	if (complete == size)
		return 0;

	/* Recovery: cut the torn bytes off and say so in the log. */
	if (hash_range(a->fd, complete, size, dropped) != 0) {
		seterr(err, errlen, "audit: cannot read the torn line");
		return -1;
	}
	if (ftruncate(a->fd, complete) != 0 || fsync(a->fd) != 0) {
		seterr(err, errlen, "audit: cannot cut off the torn line: %s",
		    strerror(errno));
		return -1;
	}
	if (complete == 0 && write_genesis(a, err, errlen) != 0)
		return -1;
	if ((r = record_new(a, "recovered")) == NULL ||
	    put(r, "dropped_bytes", json_integer((json_int_t)(size -
	    complete))) != 0 ||
	    put(r, "dropped_sha256", json_string(dropped)) != 0) {
		json_decref(r);
		seterr(err, errlen, "audit: out of memory");
		return -1;
	}
	if (emit(a, r, true, err, errlen) != 0)
		return -1;
	a->since++;
	return 0;
}

int
audit_open(const char *path, EVP_PKEY *sign_key, unsigned checkpoint_records,
    int flags, struct audit_log **out, char *err, size_t errlen)
{
	struct audit_log *a = NULL;
	struct stat st;
	unsigned char *der = NULL;
	const unsigned char *p;
	int len, ret = -1;

	seterr(err, errlen, "audit: unknown error");
	if (out != NULL)
		*out = NULL;
	if (path == NULL || sign_key == NULL || out == NULL ||
	    checkpoint_records == 0 ||
	    checkpoint_records > AUDIT_CHECKPOINT_MAX ||
	    (flags & ~AUDIT_OPEN_RECOVER) != 0) {
		seterr(err, errlen, "audit: bad arguments to audit_open");
		return -1;
	}
	if (!audit_key_is_p256(sign_key)) {
		ERR_clear_error();
		seterr(err, errlen, "audit: the audit key is not an EC P-256 "
		    "key");
		return -1;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		seterr(err, errlen, "audit: out of memory");
		return -1;
	}
	a->fd = -1;
	a->interval = checkpoint_records;
	memcpy(a->prev, ZERO_HASH, sizeof(a->prev));
	if (!EVP_PKEY_up_ref(sign_key)) {
		seterr(err, errlen, "audit: EVP_PKEY_up_ref failed");
		goto fail;
	}
	a->key = sign_key;
	/* The public half as a software key: kid and signature checks. */
	if ((len = i2d_PUBKEY(sign_key, &der)) <= 0 ||
	    (p = der, a->pub = d2i_PUBKEY(NULL, &p, len)) == NULL ||
	    audit_key_id(a->pub, a->kid) != 0) {
		seterr(err, errlen, "audit: cannot read the audit key's "
		    "public half");
		goto fail;
	}

	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (a->fd < 0) {
		seterr(err, errlen, "audit: %s: %s", path, errno == ELOOP ?
		    "is a symbolic link" : strerror(errno));
		goto fail;
	}
	if (flock(a->fd, LOCK_EX | LOCK_NB) != 0) {
		seterr(err, errlen, "audit: %s: %s", path,
		    errno == EWOULDBLOCK ? "in use by another writer" :
		    strerror(errno));
		goto fail;
	}
	if (fstat(a->fd, &st) != 0) {
		seterr(err, errlen, "audit: %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "audit: %s: not a regular file", path);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		seterr(err, errlen, "audit: %s: writable by group or others",
		    path);
		goto fail;
	}
	if (st.st_size == 0) {
		if (write_genesis(a, err, errlen) != 0)
			goto fail;
		if (sync_dir(path) != 0) {
			seterr(err, errlen, "audit: cannot fsync the directory "
			    "of %s: %s", path, strerror(errno));
			goto fail;
		}
	} else if ((ret = resume(a, st.st_size, flags, err, errlen)) != 0)
		goto fail;
	OPENSSL_free(der);
	seterr(err, errlen, "%s", "");
	*out = a;
	return 0;
 fail:
	OPENSSL_free(der);
	ERR_clear_error();
	a->failed = true;	/* no final checkpoint */
	audit_close(a);
	return ret == AUDIT_ERR_TORN ? AUDIT_ERR_TORN : -1;
}

void
audit_close(struct audit_log *a)
{
	char why[256];

	if (a == NULL)
		return;
	if (a->fd >= 0 && !a->failed && a->since > 0)
		(void)audit_checkpoint(a, why, sizeof(why));
	if (a->fd >= 0)
		close(a->fd);
	EVP_PKEY_free(a->key);
	EVP_PKEY_free(a->pub);
	free(a->last_cp);
	free(a);
}

/* ---- identifiers of secrets ---- */

int
audit_hmac_id(const unsigned char *key, size_t keylen, const char *id,
    char out[AUDIT_HEX_LEN + 1])
{
	unsigned char md[32];
	size_t mdlen = 0;

	out[0] = '\0';
	if (key == NULL || keylen < AUDIT_HMAC_KEY_MIN || id == NULL)
		return -1;
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
	    (const unsigned char *)id, strlen(id), md, sizeof(md),
	    &mdlen) == NULL || mdlen != sizeof(md)) {
		ERR_clear_error();
		return -1;
	}
	audit_hex(md, sizeof(md), out);
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}
