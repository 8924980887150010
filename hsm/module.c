/* SPDX-License-Identifier: Apache-2.0 */
/*
 * module.c - loading PKCS#11 modules.
 *
 * C_Initialize is per process, not per caller: two hsm handles on the same
 * module (the appliance's token and a customer's token served by the same
 * library) must share one initialisation, and the module is finalised only
 * when the last handle goes.  That is the one piece of process-wide state
 * in hsm/, behind a mutex.
 *
 * Modules are never dlclose()d: several modules (SoftHSM2 among them)
 * register atexit handlers or thread keys that crash once unmapped, and
 * keeping them mapped keeps sanitizer stack traces readable.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MODULES_MAX 8

struct hsm_module {
	char			 path[4096];
	CK_FUNCTION_LIST	*fn;
	unsigned		 refs;
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hsm_module modules[MODULES_MAX];

CK_BBOOL hsm_true = CK_TRUE, hsm_false = CK_FALSE;

static CK_RV
module_load(struct hsm_module *m, const char *path)
{
	CK_C_GetFunctionList get_list;
	CK_C_INITIALIZE_ARGS args;
	CK_FUNCTION_LIST *fn = NULL;
	void *dl;
	CK_RV rv;

	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL)
		return HSM_R_MODULE_LOAD;
	*(void **)&get_list = dlsym(dl, "C_GetFunctionList");
	if (get_list == NULL || get_list(&fn) != CKR_OK || fn == NULL)
		return HSM_R_MODULE_LOAD;
	if (fn->version.major != 2)
		return HSM_R_MODULE_LOAD;

	/* Let the module use OS locks: the session pool is used by threads. */
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = fn->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return rv;
	m->fn = fn;
	return CKR_OK;
}

CK_RV
hsm_module_get(const char *path, struct hsm_module **out,
    CK_FUNCTION_LIST **fn)
{
	struct hsm_module *m = NULL, *spare = NULL;
	size_t i;
	CK_RV rv = CKR_OK;

	if (path == NULL || strlen(path) >= sizeof(modules[0].path))
		return HSM_R_BAD_INPUT;
	pthread_mutex_lock(&modules_lock);
	for (i = 0; i < MODULES_MAX; i++) {
		if (modules[i].refs > 0 && strcmp(modules[i].path, path) == 0)
			m = &modules[i];
		else if (modules[i].refs == 0 && spare == NULL)
			spare = &modules[i];
	}
	if (m == NULL) {
		if (spare == NULL) {
			rv = HSM_R_NO_MEMORY;
			goto done;
		}
		if ((rv = module_load(spare, path)) != CKR_OK)
			goto done;
		m = spare;
		memcpy(m->path, path, strlen(path) + 1);
	}
	m->refs++;
	*out = m;
	*fn = m->fn;
done:
	pthread_mutex_unlock(&modules_lock);
	return rv;
}

void
hsm_module_put(struct hsm_module *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&modules_lock);
	if (m->refs > 0 && --m->refs == 0) {
		m->fn->C_Finalize(NULL);
		m->fn = NULL;
		m->path[0] = '\0';
	}
	pthread_mutex_unlock(&modules_lock);
}

void
hsm_unpad(char *dst, size_t dstlen, const unsigned char *src, size_t srclen)
{
	size_t n = srclen;

	while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
		n--;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}
