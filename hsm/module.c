/* SPDX-License-Identifier: Apache-2.0 */
/*
 * module.c - loading PKCS#11 modules.
 *
 * C_Initialize is per process, not per caller: two hsm handles on the same
 * module (the appliance's token and a customer's token served by the same
 * library) must share one initialisation, and the module is finalised only
 * when the last handle goes, and only if we initialised it.  A module is
 * known by its function list, not by the path it was loaded from (two
 * paths, a symlink and its target, are one module).  That is the one piece
 * of process-wide state in hsm/, behind a mutex.
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
	CK_FUNCTION_LIST	*fn;		/* identifies the module */
	unsigned		 refs;
	bool			 initialized;	/* by us: we finalise it */
};

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hsm_module modules[MODULES_MAX];

CK_BBOOL hsm_true = CK_TRUE, hsm_false = CK_FALSE;

static CK_RV
module_function_list(const char *path, CK_FUNCTION_LIST **out)
{
	CK_C_GetFunctionList get_list;
	CK_FUNCTION_LIST *fn = NULL;
	void *dl;

	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL)
		return HSM_R_MODULE_LOAD;
	*(void **)&get_list = dlsym(dl, "C_GetFunctionList");
	if (get_list == NULL || get_list(&fn) != CKR_OK || fn == NULL ||
	    fn->version.major != 2)
		return HSM_R_MODULE_LOAD;
	*out = fn;
	return CKR_OK;
}

static CK_RV
module_initialize(struct hsm_module *m)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	/* Let the module use OS locks: the session pool is used by threads. */
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = m->fn->C_Initialize(&args);
	if (rv == CKR_OK)
		m->initialized = true;
	else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
		return rv;	/* someone else in the process owns it */
	return CKR_OK;
}

CK_RV
hsm_module_get(const char *path, struct hsm_module **out,
    CK_FUNCTION_LIST **fn)
{
	struct hsm_module *m = NULL, *spare = NULL;
	CK_FUNCTION_LIST *list;
	size_t i;
	CK_RV rv;

	if (path == NULL)
		return HSM_R_BAD_INPUT;
	pthread_mutex_lock(&modules_lock);
	if ((rv = module_function_list(path, &list)) != CKR_OK)
		goto done;
	for (i = 0; i < MODULES_MAX; i++) {
		if (modules[i].refs > 0 && modules[i].fn == list)
			m = &modules[i];
		else if (modules[i].refs == 0 && spare == NULL)
			spare = &modules[i];
	}
	if (m == NULL) {
		if (spare == NULL) {
			rv = HSM_R_NO_MEMORY;
			goto done;
		}
		memset(spare, 0, sizeof(*spare));
		spare->fn = list;
		if ((rv = module_initialize(spare)) != CKR_OK)
			goto done;
		m = spare;
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
		if (m->initialized)
			m->fn->C_Finalize(NULL);
		memset(m, 0, sizeof(*m));
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
