/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench_hsm.c - ES256 signatures per second through the provider next to
 * the raw C_Sign ceiling of the same token, and KEK wraps/unwraps per
 * second.  Measures; asserts nothing.  BENCH_SECONDS sets each run's length.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "hsm.h"
#include "provider.h"
#include "../unit/testenv.h"

#define SIGN_URI "pkcs11:object=agentvault-token-signing;type=private"
#define KEK_URI "pkcs11:object=agentvault-kek;type=secret-key"
#define LAT_MAX 1000000

static double seconds = 3.0;
static struct hsm *hsm;
static struct hsm_key sign_key, kek;
static EVP_PKEY *pkey;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum op { OP_RAW_SIGN, OP_PROVIDER_SIGN, OP_WRAP, OP_UNWRAP };

struct run {
	enum op	 op;
	long	 count;
	int	 errors;
	double	*lat;		/* per-operation latency, seconds */
	long	 nlat;
};

/* One raw C_SignInit + C_Sign on a session this thread keeps. */
static int
raw_sign(CK_SESSION_HANDLE s)
{
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	unsigned char dgst[32] = { 7 }, sig[64];
	CK_ULONG len = sizeof(sig);
	CK_FUNCTION_LIST *fn = hsm_fn(hsm);

	return fn->C_SignInit(s, &mech, sign_key.handle) == CKR_OK &&
	    fn->C_Sign(s, dgst, sizeof(dgst), sig, &len) == CKR_OK;
}

static int
provider_sign(void)
{
	static const unsigned char msg[200] = { 1 };
	unsigned char sig[80];
	size_t len = sizeof(sig);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	ok = EVP_DigestSignInit_ex(c, NULL, "SHA256", NULL, NULL, pkey,
	    NULL) == 1 && EVP_DigestSign(c, sig, &len, msg, sizeof(msg)) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

static void *
worker(void *arg)
{
	struct run *r = arg;
	uint8_t dek[HSM_DEK_LEN] = { 3 }, w[HSM_WRAPPED_DEK_LEN];
	CK_SESSION_HANDLE s = 0;
	double start = now(), t0, t1 = start;
	int ok = 1;

	if (r->op == OP_RAW_SIGN)
		hsm_session_get(hsm, &s);
	hsm_kek_wrap(hsm, &kek, dek, w);
	while (t1 - start < seconds) {
		t0 = t1;
		switch (r->op) {
		case OP_RAW_SIGN: ok = raw_sign(s); break;
		case OP_PROVIDER_SIGN: ok = provider_sign(); break;
		case OP_WRAP: ok = hsm_kek_wrap(hsm, &kek, dek, w) == CKR_OK;
			break;
		case OP_UNWRAP: ok = hsm_kek_unwrap(hsm, &kek, w, dek) ==
			CKR_OK; break;
		}
		t1 = now();
		if (!ok)
			r->errors++;
		if (r->lat != NULL && r->nlat < LAT_MAX)
			r->lat[r->nlat++] = t1 - t0;
		r->count++;
	}
	if (r->op == OP_RAW_SIGN)
		hsm_session_put(hsm, s);
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Run op on n threads; returns operations per second. */
static double
measure(enum op op, int n, double *p50, double *p99)
{
	struct run r[2];
	pthread_t t[2];
	double start = now(), total = 0;
	int i;

	for (i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].op = op;
		if (i == 0 && p50 != NULL)
			r[i].lat = calloc(LAT_MAX, sizeof(double));
		pthread_create(&t[i], NULL, worker, &r[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		total += (double)r[i].count;
		if (r[i].errors > 0)
			fprintf(stderr, "bench: %d errors\n", r[i].errors);
	}
	if (p50 != NULL && r[0].lat != NULL && r[0].nlat > 0) {
		qsort(r[0].lat, (size_t)r[0].nlat, sizeof(double), cmp_double);
		*p50 = r[0].lat[r[0].nlat / 2] * 1e6;
		*p99 = r[0].lat[r[0].nlat * 99 / 100] * 1e6;
	}
	free(r[0].lat);
	return total / (now() - start);
}

int
main(void)
{
	struct hsm_provider *prov;
	double raw1, raw2, prov1, prov2, wrap, unwrap, p50 = 0, p99 = 0;
	const char *s = getenv("BENCH_SECONDS");

	if (s != NULL && atof(s) > 0)
		seconds = atof(s);
	hsm = testenv_hsm(4);
	if (hsm_find_key(hsm, SIGN_URI, CKO_PRIVATE_KEY, &sign_key) != CKR_OK ||
	    hsm_find_key(hsm, KEK_URI, CKO_SECRET_KEY, &kek) != CKR_OK ||
	    !hsm_provider_load(hsm, NULL, &prov) ||
	    (pkey = hsm_provider_load_key(NULL, SIGN_URI)) == NULL) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	raw1 = measure(OP_RAW_SIGN, 1, NULL, NULL);
	raw2 = measure(OP_RAW_SIGN, 2, NULL, NULL);
	prov1 = measure(OP_PROVIDER_SIGN, 1, &p50, &p99);
	prov2 = measure(OP_PROVIDER_SIGN, 2, NULL, NULL);
	wrap = measure(OP_WRAP, 1, NULL, NULL);
	unwrap = measure(OP_UNWRAP, 1, NULL, NULL);

	printf("HSM benchmark (SoftHSM2, %.1f s per run)\n", seconds);
	printf("  %-44s %10s %8s\n", "operation", "ops/s", "ratio");
	printf("  %-44s %10.0f %8s\n", "raw C_Sign ECDSA P-256, 1 thread (ceiling)",
	    raw1, "1.00");
	printf("  %-44s %10.0f %8.2f\n", "ES256 EVP_DigestSign via provider, 1 thread",
	    prov1, prov1 / raw1);
	printf("  %-44s %10.0f %8s\n", "raw C_Sign ECDSA P-256, 2 threads", raw2,
	    "1.00");
	printf("  %-44s %10.0f %8.2f\n", "ES256 via provider, 2 threads", prov2,
	    prov2 / raw2);
	printf("  %-44s %10.0f\n", "KEK wrap (RFC 5649) of a 32-byte DEK", wrap);
	printf("  %-44s %10.0f\n", "KEK unwrap of a 32-byte DEK", unwrap);
	printf("  provider ES256 latency, 1 thread: p50 %.1f us, p99 %.1f us\n",
	    p50, p99);
	EVP_PKEY_free(pkey);
	hsm_provider_unload(prov);
	hsm_close(hsm);
	return 0;
}
