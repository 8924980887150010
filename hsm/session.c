/* SPDX-License-Identifier: Apache-2.0 */
/*
 * session.c - a fixed pool of read-write sessions shared by threads.
 *
 * PKCS#11 sessions are not safe for concurrent use, but one session per
 * operation is: a thread borrows a session, runs one complete operation
 * (C_SignInit + C_Sign, C_WrapKey...) and gives it back.  Login state is
 * per token, so all sessions of the pool are logged in together.
 */
#include "internal.h"

CK_RV
hsm_pool_open(struct hsm *h, unsigned size)
{
	CK_RV rv;

	for (h->pool_size = 0; h->pool_size < size; h->pool_size++) {
		rv = h->fn->C_OpenSession(h->slot,
		    CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		    &h->pool[h->pool_size]);
		if (rv != CKR_OK) {
			hsm_pool_close(h);
			return rv;
		}
	}
	h->pool_free = h->pool_size;
	return CKR_OK;
}

void
hsm_pool_close(struct hsm *h)
{
	unsigned i;

	for (i = 0; i < h->pool_size; i++)
		h->fn->C_CloseSession(h->pool[i]);
	h->pool_size = h->pool_free = 0;
}

CK_RV
hsm_session_get(struct hsm *h, CK_SESSION_HANDLE *s)
{
	pthread_mutex_lock(&h->pool_lock);
	while (h->pool_free == 0)
		pthread_cond_wait(&h->pool_cond, &h->pool_lock);
	*s = h->pool[--h->pool_free];
	pthread_mutex_unlock(&h->pool_lock);
	return CKR_OK;
}

void
hsm_session_release(struct hsm *h, CK_SESSION_HANDLE s, CK_RV rv)
{
	CK_SESSION_HANDLE fresh;

	/*
	 * A session the module closed, or left with an operation it cannot
	 * cancel (v2.40 has no C_SessionCancel), is replaced: open the new
	 * one first, since closing the last session would log us out.
	 */
	if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
	    rv == CKR_OPERATION_ACTIVE || rv == CKR_BUFFER_TOO_SMALL) {
		if (h->fn->C_OpenSession(h->slot, CKF_SERIAL_SESSION |
		    CKF_RW_SESSION, NULL, NULL, &fresh) == CKR_OK) {
			h->fn->C_CloseSession(s);
			s = fresh;
		}
	}
	hsm_session_put(h, s);
}

void
hsm_session_put(struct hsm *h, CK_SESSION_HANDLE s)
{
	pthread_mutex_lock(&h->pool_lock);
	h->pool[h->pool_free++] = s;
	pthread_cond_signal(&h->pool_cond);
	pthread_mutex_unlock(&h->pool_lock);
}
