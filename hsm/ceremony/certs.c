/* SPDX-License-Identifier: Apache-2.0 */
/*
 * certs.c - the appliance CA and TLS certificates, signed in the HSM
 * through the agentvault-hsm provider.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "ceremony.h"
#include "../provider.h"

#define CA_DAYS		3650
#define TLS_DAYS	825

static int
add_ext(X509 *issuer, X509 *subject, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, subject, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return 0;
	ok = X509_add_ext(subject, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* A certificate body with a random positive serial and validity. */
static X509 *
cert_new(EVP_PKEY *pub, const char *cn, int days)
{
	unsigned char serial[16];
	X509_NAME *name;
	BIGNUM *bn = NULL;
	X509 *x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -300) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
	    (const unsigned char *)"Agent Vault", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_pubkey(x, pub))
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static int
sign_cert(X509 *x, EVP_PKEY *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok;

	ok = md != NULL &&
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key,
	    NULL) == 1 && X509_sign_ctx(x, md) > 0;
	EVP_MD_CTX_free(md);
	return ok;
}

/* Write via a temporary file and rename, so a crash leaves no half file. */
static int
write_pem(const char *dir, const char *name, X509 *x)
{
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f;
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* A stale or planted .tmp is removed, never followed or reused. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd == -1 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "agentvault-ceremony: %s: %s\n", tmp,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	ok = PEM_write_X509(f, x) && fflush(f) == 0 && fsync(fd) == 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) != 0) {
		fprintf(stderr, "agentvault-ceremony: writing %s failed\n",
		    path);
		unlink(tmp);
		return -1;
	}
	printf("wrote %s\n", path);
	return 0;
}

/* The audit key's public half, for verifying the audit trail offline. */
static int
write_public_pem(const char *dir, const char *name, EVP_PKEY *key)
{
	char path[PATH_MAX];
	BIO *b;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((b = BIO_new_file(path, "w")) == NULL)
		return -1;
	ok = PEM_write_bio_PUBKEY(b, key);
	BIO_free(b);
	if (!ok)
		return -1;
	printf("wrote %s\n", path);
	return 0;
}

static int
issue(const struct cer_opts *o, EVP_PKEY *ca_key, EVP_PKEY *tls_key,
    const char *serial)
{
	char cn[128], san[1024];
	X509 *ca = NULL, *tls = NULL;
	size_t i, off;
	int rc = -1;

	snprintf(cn, sizeof(cn), "Agent Vault appliance CA %s", serial);
	if ((ca = cert_new(ca_key, cn, CA_DAYS)) == NULL ||
	    !X509_set_issuer_name(ca, X509_get_subject_name(ca)) ||
	    !add_ext(ca, ca, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !add_ext(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(ca, ca, NID_subject_key_identifier, "hash") ||
	    !sign_cert(ca, ca_key))
		goto done;

	off = (size_t)snprintf(san, sizeof(san), "IP:127.0.0.1,IP:::1");
	for (i = 0; i < o->n_tls_names && off < sizeof(san); i++)
		off += (size_t)snprintf(san + off, sizeof(san) - off,
		    ",DNS:%s", o->tls_names[i]);
	if (o->n_tls_names == 0)
		off += (size_t)snprintf(san + off, sizeof(san) - off,
		    ",DNS:localhost,DNS:agentvault");
	if (off >= sizeof(san))
		goto done;
	if ((tls = cert_new(tls_key, o->n_tls_names > 0 ? o->tls_names[0] :
	    "localhost", TLS_DAYS)) == NULL ||
	    !X509_set_issuer_name(tls, X509_get_subject_name(ca)) ||
	    !add_ext(ca, tls, NID_basic_constraints, "critical,CA:FALSE") ||
	    !add_ext(ca, tls, NID_key_usage, "critical,digitalSignature") ||
	    !add_ext(ca, tls, NID_ext_key_usage, "serverAuth") ||
	    !add_ext(ca, tls, NID_subject_key_identifier, "hash") ||
	    !add_ext(ca, tls, NID_authority_key_identifier, "keyid:always") ||
	    !add_ext(ca, tls, NID_subject_alt_name, san) ||
	    !sign_cert(tls, ca_key))
		goto done;
	if (write_pem(o->out, "ca.pem", ca) != 0 ||
	    write_pem(o->out, "tls.pem", tls) != 0)
		goto done;
	rc = 0;
done:
	X509_free(ca);
	X509_free(tls);
	return rc;
}

int
cer_issue_certs(struct hsm *h, const struct cer_opts *o)
{
	struct hsm_provider *prov = NULL;
	EVP_PKEY *ca_key = NULL, *tls_key = NULL, *audit_key = NULL;
	char uri[256];
	int rc = 1;

	if (!hsm_provider_load(h, NULL, &prov)) {
		fprintf(stderr, "agentvault-ceremony: cannot load the HSM "
		    "provider\n");
		ERR_print_errors_fp(stderr);
		return 1;
	}
	snprintf(uri, sizeof(uri), "pkcs11:object=%s;type=private",
	    CER_LABEL_CA);
	ca_key = hsm_provider_load_key(NULL, uri);
	snprintf(uri, sizeof(uri), "pkcs11:object=%s;type=private",
	    CER_LABEL_TLS);
	tls_key = hsm_provider_load_key(NULL, uri);
	audit_key = hsm_provider_load_key(NULL,
	    "pkcs11:object=agentvault-audit;type=private");
	if (ca_key == NULL || tls_key == NULL || audit_key == NULL) {
		fprintf(stderr, "agentvault-ceremony: cannot load the CA, TLS or "
		    "audit key through the provider\n");
		ERR_print_errors_fp(stderr);
		goto done;
	}
	if (issue(o, ca_key, tls_key, hsm_token_serial(h)) != 0) {
		fprintf(stderr, "agentvault-ceremony: issuing certificates "
		    "failed\n");
		ERR_print_errors_fp(stderr);
		goto done;
	}
	if (write_public_pem(o->out, "audit-key.pem", audit_key) != 0) {
		fprintf(stderr, "agentvault-ceremony: writing the audit "
		    "public key failed\n");
		goto done;
	}
	rc = 0;
done:
	EVP_PKEY_free(audit_key);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(tls_key);
	hsm_provider_unload(prov);
	return rc;
}
