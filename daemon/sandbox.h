/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox.h - confining the worker (docs/privsep.md).
 */
#ifndef AV_SANDBOX_H
#define AV_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define SANDBOX_PATHS_MAX 16

struct sandbox_path {
	const char	*path;
	bool		 writable;
};

struct sandbox_opts {
	bool			enabled;	/* false only for valgrind/ASan */
	bool			landlock;
	bool			debug;		/* trap and name the syscall */
	uid_t			uid;		/* drop to these when root */
	gid_t			gid;
	unsigned long		max_files;	/* RLIMIT_NOFILE; 0: keep */
	struct sandbox_path	paths[SANDBOX_PATHS_MAX];
	size_t			npaths;
};

struct sandbox_report {
	int	landlock_abi;	/* 0: the kernel has no Landlock */
	int	seccomp;	/* 1: the filter is loaded */
	int	nofile;		/* 1: RLIMIT_NOFILE was set */
};

/*
 * Enter the sandbox: rlimits and undumpable always; with o->enabled also
 * the user drop, no_new_privs, Landlock and the seccomp allowlist.  Call
 * after the HSM login and after opening every file the worker keeps, and
 * before starting threads (they inherit the filter).
 */
int sandbox_enter(const struct sandbox_opts *o, struct sandbox_report *r,
    struct av_err *e);

#endif /* AV_SANDBOX_H */
