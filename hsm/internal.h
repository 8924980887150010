/* SPDX-License-Identifier: Apache-2.0 */
/*
 * internal.h - what the files of hsm/ share and nobody else sees.
 */
#ifndef AV_HSM_INTERNAL_H
#define AV_HSM_INTERNAL_H

#include <pthread.h>

#include "hsm.h"

struct hsm_module;

struct hsm {
	struct hsm_module	*mod;
	CK_FUNCTION_LIST	*fn;
	CK_SLOT_ID		 slot;
	char			 label[33];
	char			 serial[17];
	CK_MECHANISM_TYPE	 wrap_mech;	/* RFC 5649 key wrap */

	pthread_mutex_t		 pool_lock;
	pthread_cond_t		 pool_cond;
	CK_SESSION_HANDLE	 pool[HSM_POOL_MAX];
	unsigned		 pool_size;
	unsigned		 pool_free;	/* pool[0..pool_free) are idle */

	pthread_mutex_t		 login_lock;
	bool			 logged_in;
	bool			 pin_failed;	/* never retry a wrong PIN */
};

/* module.c: one load and C_Initialize per module path per process. */
CK_RV hsm_module_get(const char *path, struct hsm_module **out,
    CK_FUNCTION_LIST **fn);
void hsm_module_put(struct hsm_module *m);

/* token.c: does the URI's token/slot/library part name h's token? */
struct hsm_uri;
bool hsm_uri_selects(struct hsm *h, const struct hsm_uri *u);

/* session.c */
CK_RV hsm_pool_open(struct hsm *h, unsigned size);
void hsm_pool_close(struct hsm *h);

/* Copy a space-padded PKCS#11 string into a C string, trimming padding. */
void hsm_unpad(char *dst, size_t dstlen, const unsigned char *src,
    size_t srclen);

/* The CK_BBOOLs every template points at. */
extern CK_BBOOL hsm_true, hsm_false;

#endif /* AV_HSM_INTERNAL_H */
