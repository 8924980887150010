/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_internal.h - what the store's files (store.c, store_*.c) share.
 */
#ifndef AV_STORE_INTERNAL_H
#define AV_STORE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include <sqlite3.h>

#include "store.h"

#define STORE_CACHE_MAX 64	/* distinct statements kept prepared */

struct store {
	sqlite3		*db;
	pthread_mutex_t	 lock;	/* one statement sequence at a time */
	uint64_t	 generation;	/* transactions so far (atomic) */
	/* Prepared statements by SQL text (always string literals). */
	struct {
		const char	*sql;
		sqlite3_stmt	*st;
		bool		 busy;
	}		 cache[STORE_CACHE_MAX];
	size_t		 ncache;
};

/*
 * With s->lock held: run SQL / prepare / step to completion.  0 or -1.
 * store_prepare hands out a cached statement for a string literal (so
 * each SQL text is compiled once); every statement it gives goes back
 * with store_release (store_step_done releases too).
 */
int store_exec(struct store *s, const char *sql, struct av_err *e);
sqlite3_stmt *store_prepare(struct store *s, const char *sql,
    struct av_err *e);
/* store_prepare, then bind a (and b, unless NULL) as ?1 and ?2; both
 * must outlive the statement's use. */
sqlite3_stmt *store_prepare2(struct store *s, const char *sql, const char *a,
    const char *b, struct av_err *e);
void store_release(struct store *s, sqlite3_stmt *st);
int store_step_done(struct store *s, sqlite3_stmt *st, struct av_err *e);

/*
 * Run body (an expression giving 0 or -1) inside BEGIN IMMEDIATE ...
 * COMMIT under the store lock; ROLLBACK when it fails.  The generation
 * moves on before the lock is released: a cache that saw the old one
 * refreshes before any call that starts after this one's reply.
 */
#define IN_TRANSACTION(s, e, rc, body) do {				\
	pthread_mutex_lock(&(s)->lock);					\
	if (((rc) = store_exec((s), "BEGIN IMMEDIATE;", (e))) == 0) {	\
		(rc) = (body);						\
		if ((rc) == 0)						\
			(rc) = store_exec((s), "COMMIT;", (e));		\
		if ((rc) != 0)						\
			store_exec((s), "ROLLBACK;", NULL);		\
	}								\
	__atomic_add_fetch(&(s)->generation, 1, __ATOMIC_RELEASE);	\
	pthread_mutex_unlock(&(s)->lock);				\
} while (0)

/*
 * With s->lock held: step a prepared "SELECT name ... ORDER BY name LIMIT
 * ?n" (n = limit_index), reading at most max names into the array (and
 * the second column into col1, unless NULL) and telling whether there
 * were more; finalizes st.
 */
int store_names_page(struct store *s, sqlite3_stmt *st, int limit_index,
    unsigned max, json_t *names, json_t *col1, bool *more,
    struct av_err *e);

/* With s->lock held and a transaction open: store_secret_put's body. */
int store_secret_put_locked(struct store *s, struct vault *v,
    const char *type, const char *name, const char *owner,
    const uint8_t *pt, size_t pt_len, struct av_err *e);

/* With s->lock held and a transaction open: erase a provider's OAuth2
 * tokens; the data keys to forget after the commit go to deks (at most
 * max, *n of them). */
int store_oauth_erase_provider_locked(struct store *s, const char *provider,
    int64_t *deks, size_t max, size_t *n, struct av_err *e);
/*
 * With s->lock held and a transaction open: erase the sessions of an
 * OAuth2 provider with their secrets, appending the data keys to forget
 * to deks (at most max in all).
 */
int store_session_erase_provider_locked(struct store *s,
    const char *provider, int64_t *deks, size_t *ndeks, size_t max,
    struct av_err *e);

#endif /* AV_STORE_INTERNAL_H */
