/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wat.c - minting and checking workload access tokens; see wat.h.
 */
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "es256.h"
#include "secmem.h"
#include "wat.h"

#define NONCE_LEN	12
#define TAG_LEN		16
#define SIG_LEN		ES256_SIG_LEN
#define CLAIMS_MAX	1024
#define BODY_MAX	(8 + NONCE_LEN + CLAIMS_MAX + TAG_LEN)

static const char invalid[] = "the workload access token is not valid";

static int b64url_encode(const unsigned char *in, size_t len, char *out,
    size_t cap);

/* base64url without padding; 0 or -1 when out is too small. */
static int
b64url_encode(const unsigned char *in, size_t len, char *out, size_t cap)
{
	size_t n = 4 * ((len + 2) / 3), i;

	if (n + 1 > cap)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (i = 0; i < n; i++)
		out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	return 0;
}

/* Strict: only the base64url alphabet, no padding; -1 on anything else. */
static int
b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap,
    size_t *outlen)
{
	char buf[WAT_MAX + 4];
	size_t i, pad = (4 - len % 4) % 4;
	int n;

	if (len == 0 || len > WAT_MAX || pad == 3)
		return -1;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9')))
			return -1;
		buf[i] = c;
	}
	memset(buf + len, '=', pad);
	if ((len + pad) / 4 * 3 > cap + 2)
		return -1;
	{
		unsigned char tmp[WAT_MAX];

		n = EVP_DecodeBlock(tmp, (unsigned char *)buf, (int)(len + pad));
		if (n < 0 || (size_t)n < pad || (size_t)n - pad > cap) {
			OPENSSL_cleanse(tmp, sizeof(tmp));
			return -1;
		}
		memcpy(out, tmp, (size_t)n - pad);
		*outlen = (size_t)n - pad;
		OPENSSL_cleanse(tmp, sizeof(tmp));
	}
	/*
	 * Canonical only: the last character may carry unused low bits, and
	 * a token that decodes to the same bytes from other text would be a
	 * second spelling of it.  Encode again and compare.
	 */
	{
		char again[WAT_MAX + 4];

		if (b64url_encode(out, *outlen, again, sizeof(again)) != 0 ||
		    strlen(again) != len || memcmp(again, in, len) != 0)
			return -1;
	}
	return 0;
}

/*
 * A software public key from a DER SPKI, which must be EC P-256 and
 * nothing more, and its key id.  NULL when it is not.
 */
static EVP_PKEY *
p256_public(const unsigned char *der, size_t len,
    unsigned char kid[WAT_KID_LEN])
{
	const unsigned char *p = der;
	unsigned char md[32];
	unsigned int mdlen = 0;
	char group[32];
	EVP_PKEY *pub;

	if (len == 0 || len > WAT_SPKI_MAX ||
	    (pub = d2i_PUBKEY_ex(NULL, &p, (long)len, NULL,
	    "provider=default")) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	if (p != der + len || !EVP_PKEY_is_a(pub, "EC") ||
	    EVP_PKEY_get_group_name(pub, group, sizeof(group), NULL) != 1 ||
	    strcmp(group, "prime256v1") != 0 ||
	    EVP_Digest(der, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md)) {
		EVP_PKEY_free(pub);
		ERR_clear_error();
		return NULL;
	}
	memcpy(kid, md, WAT_KID_LEN);
	return pub;
}

int
wat_keys_init(struct wat_keys *k, EVP_PKEY *sign,
    const unsigned char tek[WAT_TEK_LEN], const char *audience, int64_t ttl,
    struct av_err *e)
{
	static const char probe[] = "agentvault token-signing key check";
	unsigned char *der = NULL, sig[ES256_SIG_LEN];
	int len, locked;

	memset(k, 0, sizeof(*k));
	if ((len = i2d_PUBKEY(sign, &der)) > 0 &&
	    (size_t)len <= sizeof(k->spki)) {
		memcpy(k->spki, der, (size_t)len);
		k->spki_len = (size_t)len;
		k->verify = p256_public(k->spki, k->spki_len, k->kid);
	}
	OPENSSL_free(der);
	ERR_clear_error();
	if (k->verify == NULL)
		return av_fail(e, AV_E_INTERNAL, "the token-signing key is not "
		    "an EC P-256 key");
	/* Halves that do not match would mint tokens nobody accepts. */
	if (es256_sign(sign, probe, sizeof(probe) - 1, sig) != 0 ||
	    !es256_verify(k->verify, probe, sizeof(probe) - 1, sig)) {
		wat_keys_free(k);
		return av_fail(e, AV_E_INTERNAL, "the token-signing key fails "
		    "its signature check");
	}
	if ((k->tek = secmem_map(WAT_TEK_LEN, &locked)) == NULL) {
		wat_keys_free(k);
		return av_fail(e, AV_E_INTERNAL, "token key set-up failed");
	}
	memcpy(k->tek, tek, WAT_TEK_LEN);
	EVP_PKEY_up_ref(sign);
	k->sign = sign;
	k->ttl = ttl;
	snprintf(k->audience, sizeof(k->audience), "%s", audience);
	return 0;
}

int
wat_keys_add_previous(struct wat_keys *k,
    const unsigned char kid[WAT_KID_LEN], const unsigned char *spki,
    size_t len, int64_t not_after, struct av_err *e)
{
	struct wat_previous *p;
	unsigned char got[WAT_KID_LEN];

	if (k->nprev == WAT_PREVIOUS_MAX)
		return av_fail(e, AV_E_INTERNAL, "more than %d previous "
		    "token-signing keys", WAT_PREVIOUS_MAX);
	p = &k->prev[k->nprev];
	if ((p->verify = p256_public(spki, len, got)) == NULL ||
	    memcmp(got, kid, WAT_KID_LEN) != 0 ||
	    memcmp(got, k->kid, WAT_KID_LEN) == 0) {
		EVP_PKEY_free(p->verify);
		p->verify = NULL;
		return av_fail(e, AV_E_INTERNAL, "a previous token-signing "
		    "key's record does not match its key id");
	}
	memcpy(p->kid, kid, WAT_KID_LEN);
	p->not_after = not_after;
	k->nprev++;
	return 0;
}

void
wat_keys_free(struct wat_keys *k)
{
	size_t i;

	for (i = 0; i < k->nprev; i++)
		EVP_PKEY_free(k->prev[i].verify);
	EVP_PKEY_free(k->sign);
	EVP_PKEY_free(k->verify);
	secmem_unmap(k->tek, WAT_TEK_LEN);
	memset(k, 0, sizeof(*k));
}

static int
gcm(const struct wat_keys *k, int enc, const unsigned char *nonce,
    const unsigned char *aad, size_t aadlen, const unsigned char *in,
    size_t len, unsigned char *out, unsigned char tag[TAG_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, ok;

	ok = c != NULL && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, k->tek,
	    nonce, enc) == 1 &&
	    EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) == 1 &&
	    EVP_CipherUpdate(c, out, &n, in, (int)len) == 1 &&
	    (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
	    tag) == 1) &&
	    EVP_CipherFinal_ex(c, out + n, &m) == 1 &&
	    (!enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
	    tag) == 1);
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

int
wat_mint(const struct wat_keys *k, const char *workload, const char *user,
    int64_t now, char *out, size_t len, struct av_err *e)
{
	return wat_mint_until(k, workload, user, now, now + k->ttl, out, len,
	    e);
}

int
wat_mint_until(const struct wat_keys *k, const char *workload,
    const char *user, int64_t now, int64_t exp, char *out, size_t len,
    struct av_err *e)
{
	unsigned char body[BODY_MAX], nonce_id[16], raw[SIG_LEN];
	char jti[33], *claims = NULL, b1[2 * BODY_MAX], b2[2 * SIG_LEN];
	size_t clen, blen, i;
	json_t *j;
	int rc = -1;

	if (exp > now + k->ttl)
		exp = now + k->ttl;
	if (exp <= now)
		return av_fail(e, AV_E_VALIDATION, "the token would expire "
		    "before it is issued");
	if (RAND_bytes(nonce_id, sizeof(nonce_id)) != 1 ||
	    RAND_bytes(body + 8, NONCE_LEN) != 1)
		return av_fail(e, AV_E_INTERNAL, "no randomness");
	for (i = 0; i < sizeof(nonce_id); i++)
		snprintf(jti + 2 * i, 3, "%02x", nonce_id[i]);
	j = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:s}", "v", 1, "aud",
	    k->audience, "wid", workload, "sub", user, "iat", (json_int_t)now,
	    "exp", (json_int_t)exp, "jti", jti);
	if (j != NULL)
		claims = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (claims == NULL || (clen = strlen(claims)) > CLAIMS_MAX) {
		av_fail(e, AV_E_INTERNAL, "token claims too large");
		goto done;
	}
	memcpy(body, k->kid, WAT_KID_LEN);
	if (gcm(k, 1, body + 8, body, 8, (unsigned char *)claims, clen,
	    body + 8 + NONCE_LEN, body + 8 + NONCE_LEN + clen) != 0) {
		av_fail(e, AV_E_INTERNAL, "token encryption failed");
		goto done;
	}
	blen = 8 + NONCE_LEN + clen + TAG_LEN;
	if (b64url_encode(body, blen, b1, sizeof(b1)) != 0)
		goto fail;
	/* The HSM signs "avwat1.<body>": the prefix is bound too. */
	snprintf(out, len, "%s%s", WAT_PREFIX, b1);
	if (es256_sign(k->sign, out, strlen(out), raw) != 0 ||
	    b64url_encode(raw, SIG_LEN, b2, sizeof(b2)) != 0 ||
	    strlen(out) + 1 + strlen(b2) + 1 > len)
		goto fail;
	strncat(out, ".", len - strlen(out) - 1);
	strncat(out, b2, len - strlen(out) - 1);
	rc = 0;
	goto done;
fail:
	av_fail(e, AV_E_INTERNAL, "the HSM could not sign the token");
done:
	if (claims != NULL) {
		OPENSSL_cleanse(claims, strlen(claims));
		free(claims);
	}
	OPENSSL_cleanse(body, sizeof(body));
	return rc;
}

static int
parse_claims(const struct wat_keys *k, const char *text, size_t len,
    int64_t now, struct wat_claims *out)
{
	const char *aud, *wid, *sub, *jti;
	json_int_t iat, exp;
	json_t *j;
	int v, rc = -1;

	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (j != NULL && json_object_size(j) == 7 &&
	    json_unpack(j, "{s:i, s:s, s:s, s:s, s:I, s:I, s:s}", "v", &v,
	    "aud", &aud, "wid", &wid, "sub", &sub, "iat", &iat, "exp", &exp,
	    "jti", &jti) == 0 && v == 1 && strcmp(aud, k->audience) == 0 &&
	    strlen(wid) <= WAT_WORKLOAD_MAX && strlen(sub) <= WAT_USER_MAX &&
	    iat <= now + WAT_SKEW && now < exp) {
		snprintf(out->workload, sizeof(out->workload), "%s", wid);
		snprintf(out->user, sizeof(out->user), "%s", sub);
		out->iat = iat;
		out->exp = exp;
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/* The key that signed tokens with this kid, if they are accepted now. */
static EVP_PKEY *
verify_key(const struct wat_keys *k, const unsigned char *kid, int64_t now)
{
	size_t i;

	if (memcmp(kid, k->kid, WAT_KID_LEN) == 0)
		return k->verify;
	for (i = 0; i < k->nprev; i++)
		if (memcmp(kid, k->prev[i].kid, WAT_KID_LEN) == 0)
			return now < k->prev[i].not_after ? k->prev[i].verify :
			    NULL;
	return NULL;
}

int
wat_verify(const struct wat_keys *k, const char *token, int64_t now,
    struct wat_claims *out, struct av_err *e)
{
	unsigned char body[BODY_MAX], raw[SIG_LEN + 4];
	char claims[CLAIMS_MAX + 1];
	const char *dot;
	EVP_PKEY *pub;
	size_t tlen, blen = 0, rlen = 0, clen;
	int rc;

	memset(out, 0, sizeof(*out));
	tlen = strnlen(token, WAT_MAX + 1);
	if (tlen > WAT_MAX || strncmp(token, WAT_PREFIX, 7) != 0 ||
	    (dot = strchr(token + 7, '.')) == NULL ||
	    b64url_decode(token + 7, (size_t)(dot - token) - 7, body,
	    sizeof(body), &blen) != 0 ||
	    b64url_decode(dot + 1, tlen - (size_t)(dot + 1 - token), raw,
	    sizeof(raw), &rlen) != 0 || rlen != SIG_LEN ||
	    blen < 8 + NONCE_LEN + TAG_LEN + 2)
		return av_fail(e, AV_E_VALIDATION, "malformed workload access "
		    "token");
	/* Signature first: nothing else is looked at in a forged token. */
	if ((pub = verify_key(k, body, now)) == NULL ||
	    !es256_verify(pub, token, (size_t)(dot - token), raw))
		return av_fail(e, AV_E_ACCESS_DENIED, invalid);
	clen = blen - 8 - NONCE_LEN - TAG_LEN;
	rc = gcm(k, 0, body + 8, body, 8, body + 8 + NONCE_LEN, clen,
	    (unsigned char *)claims, body + 8 + NONCE_LEN + clen);
	if (rc == 0)
		rc = parse_claims(k, claims, clen, now, out);
	OPENSSL_cleanse(claims, sizeof(claims));
	OPENSSL_cleanse(body, sizeof(body));
	return rc == 0 ? 0 : av_fail(e, AV_E_ACCESS_DENIED, invalid);
}
