/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox.c - what the worker gives up before it reads network input.
 *
 * In order: rlimits, the unprivileged user (groups, gid, uid), no new
 * privileges, not dumpable (no core, no ptrace), Landlock (when the kernel
 * has it), and last a seccomp allowlist whose default action kills the
 * process.  The allowlist is the table below: adding a syscall is an
 * interface change and should be reviewed as one.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"

/* Syscalls the worker may make with any arguments. */
static const int allow_any[] = {
	/* I/O on descriptors it already has or opens (Landlock limits where) */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(close),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(flock),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
	SCMP_SYS(openat), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(getdents64), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(readlink), SCMP_SYS(getcwd),
	SCMP_SYS(dup), SCMP_SYS(dup3), SCMP_SYS(pipe2), SCMP_SYS(eventfd2),
	/* memory (mmap and mprotect are filtered below) */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	SCMP_SYS(mlock), SCMP_SYS(munlock),
	/* the event loop and sockets it was given or accepts */
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(recvfrom),
	SCMP_SYS(recvmsg), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	SCMP_SYS(sendmmsg),	/* glibc's resolver: A and AAAA at once */
	SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(socketpair),
	/* threads, time, signals, randomness */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(gettid), SCMP_SYS(getpid), SCMP_SYS(getppid),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(sigaltstack), SCMP_SYS(tgkill), SCMP_SYS(getrandom),
	SCMP_SYS(prlimit64), SCMP_SYS(uname), SCMP_SYS(sysinfo),
	SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
};

static int
add_rules(scmp_filter_ctx ctx)
{
	static const struct {
		int	domain, type;
	} inet[] = {
		{ AF_INET, SOCK_STREAM }, { AF_INET, SOCK_DGRAM },
		{ AF_INET6, SOCK_STREAM }, { AF_INET6, SOCK_DGRAM },
	};
	/* Families libraries try and do without: syslog(3) and nscd
	 * (AF_UNIX), getaddrinfo's interface list (AF_NETLINK). */
	static const int probed[] = { AF_UNIX, AF_NETLINK };
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(allow_any) / sizeof(allow_any[0]) && rc == 0;
	    i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allow_any[i], 0);
	/* No executable memory: mmap/mprotect without PROT_EXEC only. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect),
		    1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* Threads only, never new processes. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	/* glibc 2.36 tries clone3 first: make it fall back to clone. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(clone3), 0);
	/*
	 * New sockets: TCP and UDP over IPv4 and IPv6 only (outbound HTTP
	 * and DNS).  Unix and netlink sockets fail rather than kill,
	 * because libraries probe: SoftHSM2 logs through syslog(3), which
	 * tries /dev/log on every message; getaddrinfo(3) lists interfaces
	 * over netlink to sort several addresses, and does without.  The
	 * refusal of Unix sockets is what keeps connect(2) to them shut:
	 * seccomp cannot read connect's address, so connect is allowed,
	 * and every Unix socket the worker holds is already connected or
	 * listening.
	 */
	for (i = 0; i < sizeof(inet) / sizeof(inet[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
		    SCMP_A0(SCMP_CMP_EQ, inet[i].domain),
		    SCMP_A1(SCMP_CMP_MASKED_EQ, ~(SOCK_NONBLOCK | SOCK_CLOEXEC),
		    inet[i].type));
	for (i = 0; i < sizeof(probed) / sizeof(probed[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
		    SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, probed[i]));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect),
		    0);
	/* glibc's resolver sizes a DNS answer before reading it. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
		    SCMP_A1(SCMP_CMP_EQ, FIONREAD));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
		    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
	return rc;
}

/*
 * AGENTVAULT_SECCOMP_DEBUG=1: trap instead of kill and name the syscall
 * on stderr before exiting, to find what a new code path needs.
 */
static void
sigsys_report(int sig, siginfo_t *si, void *ctx)
{
	char msg[96];
	int n;

	(void)sig;
	(void)ctx;
	n = snprintf(msg, sizeof(msg), "agentvaultd-worker: seccomp: "
	    "syscall %d is not allowed\n", si->si_syscall);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0)
		_exit(SIGSYS + 128);
	_exit(SIGSYS + 128);
}

static int
seccomp_enter(bool debug, struct av_err *e)
{
	scmp_filter_ctx ctx;
	struct sigaction sa;
	int rc;

	if (debug) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = sigsys_report;
		sa.sa_flags = SA_SIGINFO;
		sigaction(SIGSYS, &sa, NULL);
	}
	/* Kill the whole process, not one thread, on anything else. */
	if ((ctx = seccomp_init(debug ? SCMP_ACT_TRAP :
	    SCMP_ACT_KILL_PROCESS)) == NULL)
		return av_fail(e, AV_E_INTERNAL, "seccomp_init failed");
	rc = add_rules(ctx);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0)
		return av_fail(e, AV_E_INTERNAL, "seccomp: %s", strerror(-rc));
	return 0;
}

static long
ll_create_ruleset(const struct landlock_ruleset_attr *attr, size_t size,
    uint32_t flags)
{
	return syscall(__NR_landlock_create_ruleset, attr, size, flags);
}

/* Landlock: the worker may read and write only beneath the given paths. */
static int
landlock_enter(const struct sandbox_opts *o, struct sandbox_report *r,
    struct av_err *e)
{
	const uint64_t ro = LANDLOCK_ACCESS_FS_EXECUTE |
	    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	const uint64_t rw = ro | LANDLOCK_ACCESS_FS_WRITE_FILE |
	    LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
	    LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_MAKE_DIR;
	struct landlock_ruleset_attr attr = {
		.handled_access_fs = rw | LANDLOCK_ACCESS_FS_MAKE_CHAR |
		    LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
		    LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM,
	};
	struct landlock_path_beneath_attr pb;
	long abi, fd;
	size_t i;

	abi = ll_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		r->landlock_abi = 0;	/* not in this kernel: say so, go on */
		return 0;
	}
	r->landlock_abi = (int)abi;
	if ((fd = ll_create_ruleset(&attr, sizeof(attr), 0)) < 0)
		return av_fail(e, AV_E_INTERNAL, "landlock: %s",
		    strerror(errno));
	for (i = 0; i < o->npaths; i++) {
		pb.allowed_access = o->paths[i].writable ? rw : ro;
		pb.parent_fd = open(o->paths[i].path, O_PATH | O_CLOEXEC);
		if (pb.parent_fd < 0)
			continue;	/* a path that is not there needs no rule */
		if (syscall(__NR_landlock_add_rule, fd,
		    LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0) {
			close(pb.parent_fd);
			close((int)fd);
			return av_fail(e, AV_E_INTERNAL, "landlock %s: %s",
			    o->paths[i].path, strerror(errno));
		}
		close(pb.parent_fd);
	}
	if (syscall(__NR_landlock_restrict_self, fd, 0) != 0) {
		close((int)fd);
		return av_fail(e, AV_E_INTERNAL, "landlock: %s",
		    strerror(errno));
	}
	close((int)fd);
	return 0;
}

static int
drop_user(const struct sandbox_opts *o, struct av_err *e)
{
	if (geteuid() != 0)
		return 0;	/* not root: nothing to drop */
	if (setgroups(0, NULL) != 0 ||
	    setresgid(o->gid, o->gid, o->gid) != 0 ||
	    setresuid(o->uid, o->uid, o->uid) != 0)
		return av_fail(e, AV_E_INTERNAL, "cannot drop to uid %u: %s",
		    (unsigned)o->uid, strerror(errno));
	/* And make sure it cannot be undone. */
	if (o->uid != 0 && setuid(0) == 0)
		return av_fail(e, AV_E_INTERNAL, "could regain root");
	/* A credential change clears the parent-death signal: set it again. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() == 1)
		return av_fail(e, AV_E_INTERNAL, "the parent is gone");
	return 0;
}

int
sandbox_enter(const struct sandbox_opts *o, struct sandbox_report *r,
    struct av_err *e)
{
	struct rlimit core = { 0, 0 };
	struct rlimit files = { o->max_files, o->max_files };

	memset(r, 0, sizeof(*r));
	if (setrlimit(RLIMIT_CORE, &core) != 0)
		return av_fail(e, AV_E_INTERNAL, "setrlimit: %s",
		    strerror(errno));
	/* A bound on descriptors is defence in depth; valgrind refuses it. */
	r->nofile = o->max_files > 0 && setrlimit(RLIMIT_NOFILE, &files) == 0;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return av_fail(e, AV_E_INTERNAL, "PR_SET_DUMPABLE: %s",
		    strerror(errno));
	if (!o->enabled)
		return 0;
	if (drop_user(o, e) != 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return av_fail(e, AV_E_INTERNAL, "PR_SET_NO_NEW_PRIVS: %s",
		    strerror(errno));
	if (o->landlock && landlock_enter(o, r, e) != 0)
		return -1;
	if (seccomp_enter(o->debug, e) != 0)
		return -1;
	r->seccomp = 1;
	return 0;
}
