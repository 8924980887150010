/*
 * hsm.h - the only interface to PKCS#11 in Agent Vault.
 *
 * Everything that touches a token goes through these functions: module
 * loading, the session pool, login, key lookup by RFC 7512 URI, the vault
 * KEK (wrap/unwrap of data keys) and key generation for ceremonies.  The
 * OpenSSL provider (hsm_provider_load) lets the rest of the code sign and
 * serve TLS with HSM keys through ordinary EVP/SSL calls.
 *
 * Error convention: every function that can fail returns a CK_RV.  CKR_OK
 * is success; the CKR_* values of PKCS#11 pass through unchanged, and the
 * failures that are ours (bad URI, key not found, PIN file unreadable...)
 * are HSM_R_* values in the vendor-defined range.  hsm_rv_name() and
 * hsm_rv_text() turn any of them into a name and a sentence.
 *
 * An hsm handle is thread-safe.  It must not be used across fork(): open
 * it in the process that uses it.
 */
#ifndef AV_HSM_H
#define AV_HSM_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <p11-kit/pkcs11.h>
#include <openssl/evp.h>

struct hsm;

/* Our own failures, in PKCS#11's vendor-defined range ('AV' marks them). */
#define HSM_R_BASE           (CKR_VENDOR_DEFINED | 0x41560000UL)
#define HSM_R_URI_SYNTAX     (HSM_R_BASE + 1)  /* malformed pkcs11: URI */
#define HSM_R_NOT_FOUND      (HSM_R_BASE + 2)  /* no object matches */
#define HSM_R_AMBIGUOUS      (HSM_R_BASE + 3)  /* several objects match */
#define HSM_R_NO_TOKEN       (HSM_R_BASE + 4)  /* no token matches */
#define HSM_R_PIN_SOURCE     (HSM_R_BASE + 5)  /* PIN file/env unusable */
#define HSM_R_PIN_NOT_RETRIED (HSM_R_BASE + 6) /* an earlier login failed */
#define HSM_R_MODULE_LOAD    (HSM_R_BASE + 7)  /* dlopen/C_GetFunctionList */
#define HSM_R_KEY_ATTRS      (HSM_R_BASE + 8)  /* key lacks required attrs */
#define HSM_R_BAD_INPUT      (HSM_R_BASE + 9)  /* caller passed bad sizes */
#define HSM_R_NO_MEMORY      (HSM_R_BASE + 10)
#define HSM_R_EXISTS         (HSM_R_BASE + 11) /* object already exists */
#define HSM_R_OPENSSL        (HSM_R_BASE + 12) /* an OpenSSL call failed */
#define HSM_R_URI_UNSPECIFIC (HSM_R_BASE + 13) /* URI names no object */
#define HSM_R_NO_WRAP_MECH   (HSM_R_BASE + 14) /* no RFC 5649 key wrap */

/* "CKR_PIN_INCORRECT", "HSM_R_NOT_FOUND", or "CKR_UNKNOWN". */
const char *hsm_rv_name(CK_RV rv);
/* One sentence for people: "the PIN is incorrect". */
const char *hsm_rv_text(CK_RV rv);
/* "CKR_PIN_INCORRECT (0xa0): the PIN is incorrect" into buf; returns buf. */
const char *hsm_rv_describe(CK_RV rv, char *buf, size_t len);

/* ---- module, token, sessions, login (module.c, token.c, session.c,
 * login.c) ---- */

#define HSM_PIN_MAX       256   /* longest PIN accepted, bytes */
#define HSM_POOL_MAX      64    /* most sessions a pool keeps */
#define HSM_LABEL_MAX     128   /* CKA_LABEL bytes we handle */
#define HSM_ID_MAX        64    /* CKA_ID bytes we handle */

/*
 * Load the module at module_path, pick the one token matching token_uri (a
 * pkcs11: URI; only its token attributes are used; "pkcs11:" alone matches
 * when exactly one token is present) and open pool_size read-write
 * sessions (1..HSM_POOL_MAX).
 */
CK_RV hsm_open(const char *module_path, const char *token_uri,
    unsigned pool_size, struct hsm **out);
void hsm_close(struct hsm *h);

/*
 * Log in as the user with a PIN read from pin_source: "file:/path" (a
 * regular file, not a symlink, with no permission bits for group or
 * others; one trailing "\n" or "\r\n" is stripped) or "env:NAME" (the
 * variable is wiped and unset).  Never from argv.  The PIN is cleansed after use.
 * A wrong PIN is never retried by this handle: later calls return
 * HSM_R_PIN_NOT_RETRIED, so the token cannot be locked by retries.
 * PKCS#11 keeps login state per token and process: once one handle is
 * logged in, another handle on the same token is too, and the module
 * answers its C_Login with "already logged in" without checking its PIN.
 */
CK_RV hsm_login(struct hsm *h, const char *pin_source);
/* Same, with the PIN in memory (the caller cleanses it). */
CK_RV hsm_login_pin(struct hsm *h, const char *pin, size_t pin_len);

/* Read a PIN from a pin source into buf (NUL-terminated); cleanse after. */
CK_RV hsm_pin_read(const char *pin_source, char buf[HSM_PIN_MAX + 1],
    size_t *len);

/* Borrow a session from the pool (blocks while all are busy) and return it. */
CK_RV hsm_session_get(struct hsm *h, CK_SESSION_HANDLE *s);
void hsm_session_put(struct hsm *h, CK_SESSION_HANDLE s);
/* Return a session after an operation that ended with rv: a session the
 * module closed or left mid-operation is replaced by a fresh one. */
void hsm_session_release(struct hsm *h, CK_SESSION_HANDLE s, CK_RV rv);
/* The module's function list, for code inside hsm/ only. */
CK_FUNCTION_LIST *hsm_fn(const struct hsm *h);
/*
 * The RFC 5649 mechanism this token offers: CKM_AES_KEY_WRAP_KWP (0x210B,
 * PKCS#11 3.0) when listed, else CKM_AES_KEY_WRAP_PAD (0x210A), which
 * v2.40 modules such as SoftHSM2 implement as RFC 5649.  Chosen once, at
 * hsm_open; the name is for inventories and GetTokenVault.
 */
CK_MECHANISM_TYPE hsm_wrap_mechanism(const struct hsm *h);
const char *hsm_wrap_mechanism_name(const struct hsm *h);
/* Token label and serial (space padding removed). */
const char *hsm_token_label(const struct hsm *h);
const char *hsm_token_serial(const struct hsm *h);

/* ---- keys (keys.c) ---- */

enum hsm_key_kind {
	HSM_KEY_AES = 1,
	HSM_KEY_EC_P256,
	HSM_KEY_RSA,
};

struct hsm_key {
	CK_OBJECT_HANDLE   handle;
	CK_OBJECT_CLASS    cls;        /* CKO_SECRET_KEY, CKO_PRIVATE_KEY... */
	CK_KEY_TYPE        type;       /* CKK_AES, CKK_EC, CKK_RSA */
	char               label[HSM_LABEL_MAX + 1];
	unsigned char      id[HSM_ID_MAX];
	size_t             id_len;
};

/*
 * Find the one object matching a pkcs11: URI (object, id, type; token
 * attributes must match the open token).  want_class restricts the class
 * when the URI has no type= (CK_UNAVAILABLE_INFORMATION: any).
 * Zero matches: HSM_R_NOT_FOUND; more than one: HSM_R_AMBIGUOUS.
 */
CK_RV hsm_find_key(struct hsm *h, const char *uri, CK_OBJECT_CLASS want_class,
    struct hsm_key *out);
/* The public key object that pairs with a private key (same CKA_ID). */
CK_RV hsm_find_public_for(struct hsm *h, const struct hsm_key *priv,
    struct hsm_key *out);
/* Format the URI of a key on this token into buf. */
CK_RV hsm_key_uri(const struct hsm *h, const struct hsm_key *k, char *buf,
    size_t len);

/* Generate keys for ceremonies, as token objects.  Secret and private
 * keys are sensitive and never extractable; the public halves of pairs
 * are public token objects (CKA_PRIVATE false, CKA_VERIFY true).
 * HSM_R_EXISTS when the label is taken. */
CK_RV hsm_generate_kek(struct hsm *h, const char *label,
    const unsigned char *id, size_t id_len, struct hsm_key *out);
CK_RV hsm_generate_ec_p256(struct hsm *h, const char *label,
    const unsigned char *id, size_t id_len, struct hsm_key *out_priv);
CK_RV hsm_generate_rsa(struct hsm *h, const char *label,
    const unsigned char *id, size_t id_len, unsigned bits,
    struct hsm_key *out_priv);
/*
 * The labels of the private keys whose label starts with prefix, at most
 * max of them, in the token's order, into labels (*n of them); more than
 * max is HSM_R_BAD_INPUT (with the first max kept).
 */
CK_RV hsm_list_labels(struct hsm *h, const char *prefix,
    char labels[][HSM_LABEL_MAX + 1], size_t max, size_t *n);
/* Destroy every object with this label (private, public, secret). */
CK_RV hsm_destroy_label(struct hsm *h, const char *label);

/* ---- vault KEK (kek.c) ---- */

#define HSM_DEK_LEN          32  /* AES-256 data key */
#define HSM_WRAPPED_DEK_LEN  40  /* RFC 5649 output for a 32-byte key */
#define HSM_KCV_LEN          3   /* key check value bytes */
#define HSM_URI_BUF          512 /* room for the URI of one of our keys */

/*
 * Check that a key is fit to be the vault KEK: an AES-256 secret key that
 * is a token object, sensitive, not extractable and never was (so not
 * imported in clear), with wrap and unwrap allowed.  On failure, why (if
 * not NULL) names the first missing property.
 */
CK_RV hsm_kek_check(struct hsm *h, const struct hsm_key *kek,
    const char **why);
/* Wrap / unwrap a 32-byte data key under the KEK (AES key wrap with
 * padding, RFC 5649; see hsm_wrap_mechanism).  Tampering or the wrong KEK
 * makes unwrap fail; modules differ in which CK_RV they return (SoftHSM2
 * says CKR_GENERAL_ERROR), so treat any failure as "tampered or wrong
 * KEK".  dek is cleared on any failure. */
CK_RV hsm_kek_wrap(struct hsm *h, const struct hsm_key *kek,
    const uint8_t dek[HSM_DEK_LEN], uint8_t out[HSM_WRAPPED_DEK_LEN]);
CK_RV hsm_kek_unwrap(struct hsm *h, const struct hsm_key *kek,
    const uint8_t in[HSM_WRAPPED_DEK_LEN], uint8_t dek[HSM_DEK_LEN]);

/*
 * Key check value.  AES keys: the module's CKA_CHECK_VALUE (first 3 bytes
 * of AES-ECB(key, zero block), PKCS#11 v2.40).  EC/RSA keys: the first 3
 * bytes of the SHA-256 of the public key's SubjectPublicKeyInfo.
 */
CK_RV hsm_key_check_value(struct hsm *h, const struct hsm_key *k,
    uint8_t kcv[HSM_KCV_LEN]);

/* ---- public halves (pubkey.c) ---- */

#define HSM_RSA_MAX_BYTES 1024	/* 8192-bit modulus */

struct hsm_pubkey {
	CK_KEY_TYPE	type;			/* CKK_EC (P-256 only) or CKK_RSA */
	unsigned char	point[65];		/* EC: uncompressed 04||X||Y */
	unsigned char	n[HSM_RSA_MAX_BYTES];	/* RSA modulus, big-endian */
	size_t		n_len;
	unsigned char	e[8];			/* RSA public exponent */
	size_t		e_len;
};

/* Read the public half of a key pair (from the private key, or from its
 * public twin when the private object does not carry it). */
CK_RV hsm_pubkey_read(struct hsm *h, const struct hsm_key *k,
    struct hsm_pubkey *out);
/* A software, public-only EVP_PKEY with the same public key. */
CK_RV hsm_pubkey_to_evp(const struct hsm_pubkey *pub, OSSL_LIB_CTX *libctx,
    EVP_PKEY **out);
/* SHA-256 of the DER SubjectPublicKeyInfo. */
CK_RV hsm_pubkey_fingerprint(const struct hsm_pubkey *pub,
    unsigned char out[32]);

#define HSM_JWK_KID_LEN	43	/* base64url of a SHA-256, unpadded */
#define HSM_JWK_MAX	256	/* bytes of the JWK hsm_pubkey_jwk writes */
/*
 * The public JWK of an EC P-256 key (RFC 7517, 7518 6.2.1), as compact
 * JSON with kty, crv, x, y, kid, alg ES256 and use sig, into buf; kid
 * (HSM_JWK_KID_LEN + 1 bytes) is its RFC 7638 thumbprint: the base64url
 * SHA-256 of {"crv":"P-256","kty":"EC","x":"...","y":"..."}.  An RSA key
 * is HSM_R_BAD_INPUT.
 */
CK_RV hsm_pubkey_jwk(const struct hsm_pubkey *pub, char *buf, size_t len,
    char kid[HSM_JWK_KID_LEN + 1]);

/* ---- signing (sign.c): raw mechanism, used by the provider ---- */

CK_RV hsm_sign(struct hsm *h, CK_OBJECT_HANDLE key, CK_MECHANISM *mech,
    const uint8_t *in, size_t in_len, uint8_t *sig, size_t *sig_len);

/* ---- attributes (keys.c) ---- */

/* Read one attribute of at most cap bytes; *len gets its length. */
CK_RV hsm_get_attr(struct hsm *h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE t,
    void *buf, size_t cap, size_t *len);
CK_RV hsm_get_bool(struct hsm *h, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE t,
    bool *val);

#endif /* AV_HSM_H */
