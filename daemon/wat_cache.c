/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wat_cache.c - a per-thread memo of verified workload access tokens.
 *
 * An agent presents the same token for every call until it expires, and
 * checking one costs an ECDSA verification (tens of microseconds, more
 * than the rest of GetResourceApiKey together).  A token that verified
 * once is remembered by its SHA-256 until its expiry: a hit proves the
 * caller holds exactly the bytes that verified.  Per thread, so no lock;
 * direct-mapped, so a collision only costs a verification.
 */
#include <string.h>

#include <openssl/sha.h>

#include "wat.h"

#define CACHE_SLOTS	256	/* a power of two */

struct slot {
	const struct wat_keys	*keys;		/* that verified it */
	unsigned char		digest[SHA256_DIGEST_LENGTH];
	struct wat_claims	claims;
};

static __thread struct slot cache[CACHE_SLOTS];

int
wat_verify_cached(const struct wat_keys *k, const char *token, int64_t now,
    struct wat_claims *out, struct av_err *e)
{
	unsigned char d[SHA256_DIGEST_LENGTH];
	size_t len = strnlen(token, WAT_MAX + 1);
	struct slot *s;

	if (len > WAT_MAX)
		return wat_verify(k, token, now, out, e);
	SHA256((const unsigned char *)token, len, d);
	s = &cache[(d[0] | (unsigned)d[1] << 8) & (CACHE_SLOTS - 1)];
	if (s->keys == k && memcmp(s->digest, d, sizeof(d)) == 0 &&
	    s->claims.iat <= now + WAT_SKEW && now < s->claims.exp) {
		*out = s->claims;
		return 0;
	}
	if (wat_verify(k, token, now, out, e) != 0)
		return -1;
	s->keys = k;
	memcpy(s->digest, d, sizeof(d));
	s->claims = *out;
	return 0;
}
