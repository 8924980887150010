/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vault.c - DEK cache in locked memory, AES-256-GCM sealing with AAD.
 *
 * The cache is a fixed table in one secmem mapping.  A DEK is looked up
 * and used (EVP_*Init_ex copies it into OpenSSL's cipher context) with the
 * cache lock held, so the key bytes are never copied anywhere else; a
 * miss unwraps straight into its slot.  OpenSSL's expanded key schedule
 * lives in its heap for the duration of one operation and is cleansed by
 * EVP_CIPHER_CTX_free.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "secmem.h"
#include "vault.h"

#define SEAL_VERSION	1
#define NONCE_LEN	12
#define TAG_LEN		16
#define PROBES		16	/* slots looked at for one id */
#define AAD_MAX		(3 * (4 + 1024) + 4 + 8 + 16)
#define AAD_FIELD_MAX	1024

struct dek_slot {
	int64_t		id;		/* 0: empty */
	time_t		expires;
	uint8_t		key[HSM_DEK_LEN];
};

struct vault {
	struct hsm		*hsm;
	struct hsm_key		 kek;
	unsigned		 ttl;
	pthread_mutex_t		 lock;
	struct dek_slot		*slots;		/* secmem, VAULT_CACHE_SLOTS */
	int			 locked;
	uint64_t		 unwraps, hits;
};

static time_t
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int
vault_open(struct hsm *h, const struct hsm_key *kek, unsigned ttl_seconds,
    struct vault **out, struct av_err *e)
{
	struct vault *v;
	const char *why = NULL;
	CK_RV rv;

	*out = NULL;
	if ((rv = hsm_kek_check(h, kek, &why)) != CKR_OK)
		return av_fail(e, AV_E_INTERNAL, "the vault KEK is unusable: %s",
		    why != NULL ? why : hsm_rv_text(rv));
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return av_fail(e, AV_E_INTERNAL, "out of memory");
	v->slots = secmem_map(VAULT_CACHE_SLOTS * sizeof(struct dek_slot),
	    &v->locked);
	if (v->slots == NULL) {
		free(v);
		return av_fail(e, AV_E_INTERNAL, "cannot map the DEK cache");
	}
	v->hsm = h;
	v->kek = *kek;
	v->ttl = ttl_seconds;
	pthread_mutex_init(&v->lock, NULL);
	*out = v;
	return 0;
}

void
vault_close(struct vault *v)
{
	if (v == NULL)
		return;
	secmem_unmap(v->slots, VAULT_CACHE_SLOTS * sizeof(struct dek_slot));
	pthread_mutex_destroy(&v->lock);
	free(v);
}

static size_t
slot_start(int64_t id)
{
	uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ULL;

	return (size_t)(x >> 32) % VAULT_CACHE_SLOTS;
}

static void
slot_clear(struct dek_slot *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

/* With the lock held: the live slot for id, or NULL. */
static struct dek_slot *
slot_find(struct vault *v, int64_t id, time_t t)
{
	size_t i, start = slot_start(id);
	struct dek_slot *s;

	for (i = 0; i < PROBES; i++) {
		s = &v->slots[(start + i) % VAULT_CACHE_SLOTS];
		if (s->id == id) {
			if (s->expires > t)
				return s;
			slot_clear(s);
		}
	}
	return NULL;
}

/* With the lock held: a slot to (re)use for id: empty, expired, or oldest. */
static struct dek_slot *
slot_claim(struct vault *v, int64_t id, time_t t)
{
	size_t i, start = slot_start(id);
	struct dek_slot *s, *best = NULL;

	for (i = 0; i < PROBES; i++) {
		s = &v->slots[(start + i) % VAULT_CACHE_SLOTS];
		if (s->id == 0 || s->id == id || s->expires <= t) {
			best = s;
			break;
		}
		if (best == NULL || s->expires < best->expires)
			best = s;
	}
	slot_clear(best);
	best->id = id;
	best->expires = t + (time_t)v->ttl;
	return best;
}

int
vault_dek_new(struct vault *v, uint8_t dek[HSM_DEK_LEN],
    uint8_t wrapped[HSM_WRAPPED_DEK_LEN], struct av_err *e)
{
	CK_RV rv;

	if (RAND_priv_bytes(dek, HSM_DEK_LEN) != 1)
		return av_fail(e, AV_E_ENCRYPTION, "no randomness for a data key");
	if ((rv = hsm_kek_wrap(v->hsm, &v->kek, dek, wrapped)) != CKR_OK) {
		OPENSSL_cleanse(dek, HSM_DEK_LEN);
		return av_fail(e, AV_E_ENCRYPTION, "the HSM could not wrap a "
		    "data key: %s", hsm_rv_name(rv));
	}
	return 0;
}

void
vault_dek_remember(struct vault *v, int64_t dek_id, uint8_t dek[HSM_DEK_LEN])
{
	struct dek_slot *s;

	pthread_mutex_lock(&v->lock);
	s = slot_claim(v, dek_id, now());
	memcpy(s->key, dek, HSM_DEK_LEN);
	pthread_mutex_unlock(&v->lock);
	OPENSSL_cleanse(dek, HSM_DEK_LEN);
}

void
vault_dek_forget(struct vault *v, int64_t dek_id)
{
	struct dek_slot *s;

	pthread_mutex_lock(&v->lock);
	if ((s = slot_find(v, dek_id, now())) != NULL)
		slot_clear(s);
	pthread_mutex_unlock(&v->lock);
}

size_t
vault_expire(struct vault *v)
{
	time_t t = now();
	size_t i, n = 0;

	pthread_mutex_lock(&v->lock);
	for (i = 0; i < VAULT_CACHE_SLOTS; i++)
		if (v->slots[i].id != 0 && v->slots[i].expires <= t) {
			slot_clear(&v->slots[i]);
			n++;
		}
	pthread_mutex_unlock(&v->lock);
	return n;
}

void
vault_stats(struct vault *v, struct vault_stats *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&v->lock);
	out->unwraps = v->unwraps;
	out->cache_hits = v->hits;
	for (i = 0; i < VAULT_CACHE_SLOTS; i++)
		out->cached += v->slots[i].id != 0;
	pthread_mutex_unlock(&v->lock);
	out->locked = v->locked;
}

/* Length-prefixed fields: no two different records give the same AAD. */
static int
aad_build(const struct vault_aad *a, int64_t dek_id, uint8_t *buf,
    size_t *len)
{
	const char *fields[3] = { a->type, a->name, a->owner };
	size_t off = 0, n, i;
	uint64_t id = (uint64_t)dek_id;

	memcpy(buf, "agentvault/v1\0\0\0", 16);
	off = 16;
	for (i = 0; i < 3; i++) {
		if (fields[i] == NULL ||
		    (n = strlen(fields[i])) > AAD_FIELD_MAX)
			return -1;
		buf[off++] = (uint8_t)(n >> 24);
		buf[off++] = (uint8_t)(n >> 16);
		buf[off++] = (uint8_t)(n >> 8);
		buf[off++] = (uint8_t)n;
		memcpy(buf + off, fields[i], n);
		off += n;
	}
	for (i = 0; i < 4; i++)
		buf[off++] = (uint8_t)(a->version >> (24 - 8 * i));
	for (i = 0; i < 8; i++)
		buf[off++] = (uint8_t)(id >> (56 - 8 * i));
	*len = off;
	return 0;
}

/*
 * With the DEK for dek_id (from the cache, or unwrapped into it), run
 * the cipher init of ctx.  The lock is held across so the key is used in
 * place.
 */
static int
cipher_init(struct vault *v, int64_t dek_id,
    const uint8_t wrapped[HSM_WRAPPED_DEK_LEN], EVP_CIPHER_CTX *ctx,
    const uint8_t nonce[NONCE_LEN], int enc, struct av_err *e)
{
	struct dek_slot *s;
	time_t t = now();
	int ok;
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&v->lock);
	if ((s = slot_find(v, dek_id, t)) != NULL) {
		v->hits++;
	} else {
		s = slot_claim(v, dek_id, t);
		rv = hsm_kek_unwrap(v->hsm, &v->kek, wrapped, s->key);
		if (rv != CKR_OK)
			slot_clear(s);
		else
			v->unwraps++;
	}
	ok = rv == CKR_OK &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, s->key, nonce, enc) == 1;
	pthread_mutex_unlock(&v->lock);
	if (rv != CKR_OK)
		return av_fail(e, AV_E_DECRYPTION, "the HSM could not unwrap "
		    "the data key: %s", hsm_rv_name(rv));
	if (!ok)
		return av_fail(e, AV_E_INTERNAL, "cipher initialisation failed");
	return 0;
}

int
vault_seal(struct vault *v, int64_t dek_id,
    const uint8_t wrapped[HSM_WRAPPED_DEK_LEN], const struct vault_aad *aad,
    const uint8_t *pt, size_t pt_len, uint8_t *out, size_t *out_len,
    struct av_err *e)
{
	uint8_t aadbuf[AAD_MAX], *nonce = out + 1;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t aadlen;
	int n = 0, m = 0, rc = -1;

	if (pt_len > VAULT_SECRET_MAX || dek_id <= 0 ||
	    aad_build(aad, dek_id, aadbuf, &aadlen) != 0)
		return av_fail(e, AV_E_VALIDATION, "secret or name too long");
	out[0] = SEAL_VERSION;
	if (RAND_bytes(nonce, NONCE_LEN) != 1 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) {
		av_fail(e, AV_E_ENCRYPTION, "cipher setup failed");
		goto done;
	}
	if (cipher_init(v, dek_id, wrapped, ctx, nonce, 1, e) != 0)
		goto done;
	if (EVP_EncryptUpdate(ctx, NULL, &n, aadbuf, (int)aadlen) != 1 ||
	    EVP_EncryptUpdate(ctx, out + 1 + NONCE_LEN, &n, pt,
	    (int)pt_len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + 1 + NONCE_LEN + n, &m) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
	    out + 1 + NONCE_LEN + n + m) != 1) {
		av_fail(e, AV_E_ENCRYPTION, "encryption failed");
		goto done;
	}
	*out_len = 1 + NONCE_LEN + (size_t)n + (size_t)m + TAG_LEN;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
vault_open_sealed(struct vault *v, int64_t dek_id,
    const uint8_t wrapped[HSM_WRAPPED_DEK_LEN], const struct vault_aad *aad,
    const uint8_t *blob, size_t blob_len, uint8_t *out, size_t *out_len,
    struct av_err *e)
{
	uint8_t aadbuf[AAD_MAX];
	EVP_CIPHER_CTX *ctx = NULL;
	size_t aadlen, ct_len;
	int n = 0, m = 0, rc = -1;

	if (blob_len < VAULT_SEAL_OVERHEAD ||
	    blob_len > VAULT_SECRET_MAX + VAULT_SEAL_OVERHEAD ||
	    blob[0] != SEAL_VERSION || dek_id <= 0 ||
	    aad_build(aad, dek_id, aadbuf, &aadlen) != 0)
		return av_fail(e, AV_E_DECRYPTION, "the stored secret is "
		    "malformed");
	ct_len = blob_len - VAULT_SEAL_OVERHEAD;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1) {
		av_fail(e, AV_E_DECRYPTION, "cipher setup failed");
		goto done;
	}
	if (cipher_init(v, dek_id, wrapped, ctx, blob + 1, 0, e) != 0)
		goto done;
	if (EVP_DecryptUpdate(ctx, NULL, &n, aadbuf, (int)aadlen) != 1 ||
	    EVP_DecryptUpdate(ctx, out, &n, blob + 1 + NONCE_LEN,
	    (int)ct_len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	    (void *)(blob + 1 + NONCE_LEN + ct_len)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out + n, &m) != 1) {
		/* Wrong record, tampered ciphertext or wrong DEK. */
		OPENSSL_cleanse(out, ct_len);
		av_fail(e, AV_E_DECRYPTION, "the stored secret does not "
		    "authenticate");
		goto done;
	}
	*out_len = (size_t)n + (size_t)m;
	rc = 0;
done:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}
