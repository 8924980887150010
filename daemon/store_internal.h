/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_internal.h - what the store's files (store.c, store_*.c) share.
 */
#ifndef AV_STORE_INTERNAL_H
#define AV_STORE_INTERNAL_H

#include <pthread.h>

#include <sqlite3.h>

#include "store.h"

struct store {
	sqlite3		*db;
	pthread_mutex_t	 lock;	/* one statement sequence at a time */
};

/* With s->lock held: run SQL / prepare / step to completion.  0 or -1. */
int store_exec(struct store *s, const char *sql, struct av_err *e);
sqlite3_stmt *store_prepare(struct store *s, const char *sql,
    struct av_err *e);
int store_step_done(struct store *s, sqlite3_stmt *st, struct av_err *e);

/* Run body (an expression giving 0 or -1) inside BEGIN IMMEDIATE ...
 * COMMIT under the store lock; ROLLBACK when it fails. */
#define IN_TRANSACTION(s, e, rc, body) do {				\
	pthread_mutex_lock(&(s)->lock);					\
	if (((rc) = store_exec((s), "BEGIN IMMEDIATE;", (e))) == 0) {	\
		(rc) = (body);						\
		if ((rc) == 0)						\
			(rc) = store_exec((s), "COMMIT;", (e));		\
		if ((rc) != 0)						\
			store_exec((s), "ROLLBACK;", NULL);		\
	}								\
	pthread_mutex_unlock(&(s)->lock);				\
} while (0)

/*
 * With s->lock held: step a prepared "SELECT name ... ORDER BY name LIMIT
 * ?n" (n = limit_index), reading at most max names into the array and
 * telling whether there were more; finalizes st.
 */
int store_names_page(struct store *s, sqlite3_stmt *st, int limit_index,
    unsigned max, json_t *names, bool *more, struct av_err *e);

/* With s->lock held and a transaction open: store_secret_put's body. */
int store_secret_put_locked(struct store *s, struct vault *v,
    const char *type, const char *name, const char *owner,
    const uint8_t *pt, size_t pt_len, struct av_err *e);

#endif /* AV_STORE_INTERNAL_H */
