/* SPDX-License-Identifier: Apache-2.0 */
/*
 * secmem.h - memory for secrets: page-aligned, locked (never swapped),
 * excluded from core dumps, wiped before it is unmapped.
 */
#ifndef AV_SECMEM_H
#define AV_SECMEM_H

#include <stddef.h>

/*
 * Map len bytes (rounded up to pages).  Returns NULL if the mapping fails;
 * a failed mlock (RLIMIT_MEMLOCK) is not fatal but is reported through
 * *locked so the caller can log it.
 */
void *secmem_map(size_t len, int *locked);
/* Wipe, unlock and unmap what secmem_map returned. */
void secmem_unmap(void *p, size_t len);

#endif /* AV_SECMEM_H */
