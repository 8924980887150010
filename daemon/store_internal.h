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

#endif /* AV_STORE_INTERNAL_H */
