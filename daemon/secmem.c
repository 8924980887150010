/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "secmem.h"

static size_t
round_pages(size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (len + page - 1) / page * page;
}

void *
secmem_map(size_t len, int *locked)
{
	size_t n = round_pages(len);
	void *p;

	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	    -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Keep secrets out of core dumps even if dumps are re-enabled. */
	(void)madvise(p, n, MADV_DONTDUMP);
	(void)madvise(p, n, MADV_DONTFORK);
	*locked = mlock(p, n) == 0;
	return p;
}

void
secmem_unmap(void *p, size_t len)
{
	size_t n = round_pages(len);

	if (p == NULL)
		return;
	OPENSSL_cleanse(p, n);
	munlock(p, n);
	munmap(p, n);
}
