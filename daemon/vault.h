/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault.h - envelope encryption of secret fields.
 *
 * Every secret record has its own data key (DEK): 32 random bytes, wrapped
 * by the HSM KEK (hsm_kek_wrap) and stored wrapped.  The record's secret
 * is sealed with AES-256-GCM under its DEK; the additional data binds the
 * ciphertext to the record (type, name, owner, version, DEK id), so a
 * ciphertext moved to another record fails to open.  Unwrapped DEKs live
 * in a small cache in locked, undumpable memory and are wiped after a TTL.
 * Deleting a record's DEK row is a crypto-erase: nothing can open its
 * ciphertext any more.
 */
#ifndef AV_VAULT_H
#define AV_VAULT_H

#include <stdint.h>
#include <stddef.h>

#include "hsm.h"
#include "error.h"

#define VAULT_SEAL_OVERHEAD	(1 + 12 + 16)	/* version, nonce, tag */
#define VAULT_SECRET_MAX	(64 * 1024)	/* largest plaintext sealed */
#define VAULT_CACHE_SLOTS	1024

/* What a ciphertext is bound to. */
struct vault_aad {
	const char	*type;		/* "api-key", "oauth2-client-secret"... */
	const char	*name;		/* the record's name */
	const char	*owner;		/* workload identity, or "" */
	uint32_t	 version;	/* record version */
};

struct vault;

/* kek: the KEK, already found (and checked) on h.  ttl: DEK cache TTL. */
int vault_open(struct hsm *h, const struct hsm_key *kek, unsigned ttl_seconds,
    struct vault **out, struct av_err *e);
void vault_close(struct vault *v);

/* A fresh DEK, wrapped under the KEK.  Its plaintext is not kept: the
 * caller stores the wrapped form, gets a DEK id, then calls vault_seal. */
int vault_dek_new(struct vault *v, uint8_t dek[HSM_DEK_LEN],
    uint8_t wrapped[HSM_WRAPPED_DEK_LEN], struct av_err *e);
/* Put an unwrapped DEK in the cache under its id (vault_dek_new's result,
 * once the store has given it an id); dek is wiped. */
void vault_dek_remember(struct vault *v, int64_t dek_id,
    uint8_t dek[HSM_DEK_LEN]);
/* Drop a DEK from the cache (its row is being deleted). */
void vault_dek_forget(struct vault *v, int64_t dek_id);
/* Wipe every cached DEK whose TTL has passed; returns how many. */
size_t vault_expire(struct vault *v);

/*
 * Seal pt (at most VAULT_SECRET_MAX bytes) into out, which must have room
 * for pt_len + VAULT_SEAL_OVERHEAD bytes.  The DEK comes from the cache,
 * or from unwrapping `wrapped` in the HSM.
 */
int vault_seal(struct vault *v, int64_t dek_id,
    const uint8_t wrapped[HSM_WRAPPED_DEK_LEN], const struct vault_aad *aad,
    const uint8_t *pt, size_t pt_len, uint8_t *out, size_t *out_len,
    struct av_err *e);
/* Open a sealed blob; out needs blob_len - VAULT_SEAL_OVERHEAD bytes. */
int vault_open_sealed(struct vault *v, int64_t dek_id,
    const uint8_t wrapped[HSM_WRAPPED_DEK_LEN], const struct vault_aad *aad,
    const uint8_t *blob, size_t blob_len, uint8_t *out, size_t *out_len,
    struct av_err *e);

/* Counters, for GetTokenVault and the benchmark. */
struct vault_stats {
	uint64_t	unwraps;	/* DEKs unwrapped in the HSM */
	uint64_t	cache_hits;
	unsigned	cached;		/* DEKs in the cache now */
	int		locked;		/* the cache is mlock()ed */
};
void vault_stats(struct vault *v, struct vault_stats *out);

#endif /* AV_VAULT_H */
