/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.h - the tamper-evident audit trail (spec section 10).
 *
 * One JSON object per line, hash-chained, with periodic checkpoints that
 * the audit key (in the HSM, through the OpenSSL provider) signs.  The
 * format, what verification proves and what it does not are in
 * docs/audit.md.
 *
 * Writer (audit.c): only the privileged parent appends.  An audit_log is
 * not thread-safe: one thread appends.  The process must ignore SIGXFSZ
 * (a file size limit then shows up as a short write, i.e. an error).
 *
 * Fail-closed rule: audit_append() returns 0 only when the record is in
 * the file (and on stable storage when sync is set) and every checkpoint
 * that was due has been written.  On -1 the caller fails the request.
 * After a write or fsync error the log refuses every further append until
 * it is closed and opened again.
 *
 * Verifier (audit_verify.c): reads a log line by line (never the whole
 * file), checks every record and stops at the first bad line.  It needs
 * nothing from the writer.
 *
 * Errors: functions return 0 or -1 and put one sentence into err (errlen
 * bytes, always NUL-terminated when errlen > 0).
 */
#ifndef AV_AUDIT_H
#define AV_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <openssl/evp.h>

#define AUDIT_VERSION		1
/* Longest line, counting its newline.  Longer lines are errors. */
#define AUDIT_LINE_MAX		65536
/* Bounds of the event's strings, in bytes. */
#define AUDIT_ID_MAX		1024	/* request_id, resource */
#define AUDIT_OPERATION_MAX	128	/* operation, error */
/* Deepest nesting of caller and detail objects (the object itself is 1). */
#define AUDIT_JSON_DEPTH_MAX	16
/* Bounds of audit_open()'s checkpoint_records. */
#define AUDIT_CHECKPOINT_MAX	1000000
#define AUDIT_HEX_LEN		64	/* SHA-256 in lower-case hex */
#define AUDIT_HMAC_KEY_MIN	16	/* bytes; use 32 random bytes */
#define AUDIT_BATCH_BYTES	(256 * 1024)	/* buffered by a batch */

/* audit_open() flags. */
#define AUDIT_OPEN_RECOVER	0x1	/* cut a torn final line, log it */

/* audit_open() returns this when the file ends in a torn line (no final
 * newline) and AUDIT_OPEN_RECOVER was not given. */
#define AUDIT_ERR_TORN		(-2)

struct audit_log;

/*
 * One call.  request_id (1..AUDIT_ID_MAX bytes), operation
 * (1..AUDIT_OPERATION_MAX) and outcome ("allowed", "denied" or "error")
 * are required; resource (..AUDIT_ID_MAX) and error (..AUDIT_OPERATION_MAX)
 * are optional (NULL).  All must be UTF-8; request_id, operation, outcome
 * and error must not contain control characters.  resource may (it is
 * escaped), since it can echo what a client sent.  caller and detail are
 * optional JSON objects (borrowed, not stolen), at most
 * AUDIT_JSON_DEPTH_MAX deep, with no real (floating-point) numbers and no
 * NUL in strings or keys.  Never put a secret here: identifiers of secrets
 * go through audit_hmac_id().  A record whose line would exceed
 * AUDIT_LINE_MAX is refused.  A refused event writes nothing and leaves
 * the log usable; the request still fails closed.
 */
struct audit_event {
	const char	*request_id, *operation, *resource, *outcome, *error;
	const char	*decision;	/* the policy decision, or NULL */
	json_t		*caller;
	json_t		*detail;
};

/*
 * Open (O_RDWR|O_APPEND|O_CREAT|O_CLOEXEC|O_NOFOLLOW, mode 0640) the log
 * at path and take an exclusive flock(2) on it.  The file must be a regular
 * file, not writable by group or others.  sign_key is an EC P-256 key (an
 * HSM key through the provider, or a software key); the log holds a
 * reference to it.  A checkpoint is written after every checkpoint_records
 * records (1..AUDIT_CHECKPOINT_MAX).
 *
 * An empty file gets a genesis record.  An existing file must start with a
 * genesis record of the same key (one key per file: start a new file when
 * the key changes); its last line is parsed and its own hash checked, and
 * seq and the chain continue from it.  The rest of the file is not read:
 * run the verifier for that.  If the file ends in a torn line (bytes after
 * the last newline, e.g. a write cut short by a crash or a full disk):
 * without AUDIT_OPEN_RECOVER this returns AUDIT_ERR_TORN and changes
 * nothing; with it the torn bytes are cut off and a "recovered" record
 * (their length and SHA-256) is appended.
 * Returns 0, -1 or AUDIT_ERR_TORN.
 */
int	audit_open(const char *path, EVP_PKEY *sign_key,
	    unsigned checkpoint_records, int flags, struct audit_log **out,
	    char *err, size_t errlen);

/*
 * Append one "call" record with a single write(2); fsync(2) when sync is
 * set (control-plane writes, before the reply).  A checkpoint that is due
 * is written first (one left over from an earlier failed signature) and
 * after the record.  Returns 0, or -1: bad event, short write, ENOSPC,
 * EIO, fsync failure, signature failure, or the log is in the failed state.
 * -1 after the record itself was written is possible (the checkpoint after
 * it failed); err says so.
 */
int	audit_append(struct audit_log *a, const struct audit_event *ev,
	    bool sync, char *err, size_t errlen);

/*
 * Batching (the parent, under load): between audit_batch_begin() and
 * audit_batch_end(), audit_append() and audit_checkpoint() chain records
 * into memory (up to AUDIT_BATCH_BYTES, then written early) instead of
 * writing each; their 0 then means "chained", not "in the file".
 * audit_batch_end() writes the rest with one write(2) and one fsync(2) if
 * any record asked for it.  Only its 0 says every record since
 * audit_batch_begin() is in the file: answer no caller before it.
 */
void	audit_batch_begin(struct audit_log *a);
int	audit_batch_end(struct audit_log *a, char *err, size_t errlen);

/* Write a signed checkpoint now (no-op if the last record is one) and
 * fsync.  Returns 0 or -1. */
int	audit_checkpoint(struct audit_log *a, char *err, size_t errlen);

/* The last checkpoint line this writer wrote (no newline), or NULL.  Ship
 * it off the box: it is what detects truncation of the tail. */
const char *audit_last_checkpoint(const struct audit_log *a);

/* Write a final checkpoint if records were appended since the last one
 * (unless the log is in the failed state), then close.  NULL is a no-op. */
void	audit_close(struct audit_log *a);

/*
 * out = lower-case hex HMAC-SHA256(key, id): how an identifier of a secret
 * appears in the log.  keylen >= AUDIT_HMAC_KEY_MIN.  Returns 0 or -1
 * (out is then "").
 */
int	audit_hmac_id(const unsigned char *key, size_t keylen, const char *id,
	    char out[AUDIT_HEX_LEN + 1]);

/* ---- verification (audit_verify.c) ---- */

/* Why a log failed; audit_verify_reason() names them. */
enum audit_reason {
	AUDIT_V_OK = 0,
	AUDIT_V_IO,		/* "read error" */
	AUDIT_V_EMPTY,		/* "empty log" */
	AUDIT_V_TOO_LONG,	/* "line too long" */
	AUDIT_V_TRUNCATED,	/* "truncated last line" */
	AUDIT_V_MALFORMED,	/* "malformed JSON" */
	AUDIT_V_FLOAT,		/* "floating-point value" */
	AUDIT_V_NONCANONICAL,	/* "non-canonical encoding" */
	AUDIT_V_INVALID,	/* "invalid record" */
	AUDIT_V_HASH,		/* "hash mismatch" */
	AUDIT_V_SEQ,		/* "seq out of order" */
	AUDIT_V_PREV,		/* "prev does not match the previous record" */
	AUDIT_V_GENESIS,	/* "genesis record missing or misplaced" */
	AUDIT_V_HEAD,		/* "checkpoint head mismatch" */
	AUDIT_V_KID,		/* "unknown kid" */
	AUDIT_V_SIG,		/* "bad checkpoint signature" */
	AUDIT_V_KEY,		/* "verification key is not EC P-256" */
};

#define AUDIT_WARN_UNCOVERED \
	"records after the last checkpoint are not covered by a signature"

struct audit_verify_result {
	uint64_t	records;	/* good records (lines) read */
	uint64_t	checkpoints;	/* checkpoint records seen */
	uint64_t	checkpoints_verified; /* ... whose signature verified */
	bool		covered;	/* at least one checkpoint */
	uint64_t	covered_seq;	/* the last checkpoint covers 0..this */
	uint64_t	last_seq;	/* seq of the last good record */

	/* Failure: reason != AUDIT_V_OK. */
	enum audit_reason reason;
	uint64_t	bad_line;	/* 1-based; 0: not about a line */
	bool		bad_seq_known;	/* the bad line had a readable seq */
	uint64_t	bad_seq;	/* that seq, else the expected one */
	char		detail[192];	/* more about the failure */

	/* Not failures. */
	bool		uncovered;	/* AUDIT_WARN_UNCOVERED applies */
};

/*
 * Verify the log in path (or read from fp, to its end).  pub is the audit
 * key's public half (EC P-256); with NULL only the chain is checked and
 * checkpoint signatures are not (checkpoints_verified stays 0).  Returns 0
 * when every line is good (see res->uncovered), -1 otherwise (res->reason,
 * bad_line...).  res is always filled in.
 */
int	audit_verify_file(const char *path, EVP_PKEY *pub,
	    struct audit_verify_result *res);
int	audit_verify_fp(FILE *fp, EVP_PKEY *pub,
	    struct audit_verify_result *res);
const char *audit_verify_reason(enum audit_reason r);

/* ---- shared by audit.c and audit_verify.c; not for other callers ---- */

enum audit_type {
	AUDIT_T_GENESIS = 1,
	AUDIT_T_CALL,
	AUDIT_T_CHECKPOINT,
	AUDIT_T_RECOVERED,
};

#define AUDIT_SIG_LEN		64	/* raw r||s, P-256 */
#define AUDIT_SIG_B64_LEN	86	/* base64url, no padding */

/* What audit_record_check() found in one line. */
struct audit_record {
	enum audit_type	type;
	uint64_t	seq;
	char		prev[AUDIT_HEX_LEN + 1];
	char		hash[AUDIT_HEX_LEN + 1];
	char		kid[AUDIT_HEX_LEN + 1];	/* genesis, checkpoint */
	char		head[AUDIT_HEX_LEN + 1];	/* checkpoint */
	uint64_t	covers;		/* checkpoint: its "records" */
	unsigned char	sig[AUDIT_SIG_LEN];	/* checkpoint */
	bool		sig_ok;		/* sig decoded to 64 bytes */
	bool		seq_known;	/* seq was read (even if bad later) */
};

/*
 * Check one line (without its newline) on its own: JSON, no reals, depth,
 * canonical encoding, members and types, and its own hash.  Not the links
 * to other lines.  canon is a scratch buffer of AUDIT_LINE_MAX bytes.
 * Returns AUDIT_V_OK or the reason (detail filled in).
 */
enum audit_reason audit_record_check(const char *line, size_t len,
	    char *canon, struct audit_record *rec, char *detail,
	    size_t detaillen);

/* No reals, no NUL in strings or keys, containers at most
 * AUDIT_JSON_DEPTH_MAX deep; depth is v's own (the record is 0). */
enum audit_reason audit_json_check(const json_t *v, int depth, char *detail,
	    size_t detaillen);
/* hash_hex = SHA-256(prev || "\n" || canonical) in hex. */
int	audit_chain_hash(const char *prev, const char *canonical, size_t clen,
	    char hash_hex[AUDIT_HEX_LEN + 1]);
/* kid = hex SHA-256 of the key's DER SubjectPublicKeyInfo.  Returns 0/-1. */
int	audit_key_id(EVP_PKEY *key, char kid[AUDIT_HEX_LEN + 1]);
/* 1 if key is an EC P-256 key, else 0. */
int	audit_key_is_p256(EVP_PKEY *key);
/* Verify a raw r||s signature over SHA-256(head hex).  Returns 1 if good. */
int	audit_sig_verify(EVP_PKEY *pub, const char *head,
	    const unsigned char sig[AUDIT_SIG_LEN]);
void	audit_hex(const unsigned char *in, size_t len, char *out);
void	audit_b64url(const unsigned char *in, size_t len, char *out,
	    size_t outlen);

#endif /* AV_AUDIT_H */
