/* SPDX-License-Identifier: Apache-2.0 */
/*
 * parent.c - the privileged monitor.
 *
 * It never reads network input.  It opens the listeners and the audit
 * log, runs the self-tests, fork+execs the worker with its descriptors,
 * and then only: appends the worker's audit events (fixed-size records,
 * checked field by field), signs checkpoints with the HSM audit key,
 * restarts a worker that dies (with backoff), reloads on SIGHUP and
 * drains on SIGTERM.  A worker that sends an unknown, oversized or
 * out-of-order message is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "audit.h"
#include "authz.h"
#include "daemon.h"
#include "ipc.h"
#include "listen.h"
#include "log.h"
#include "oauth_vendor.h"
#include "provider.h"
#include "secmem.h"
#include "selftest.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	5000
#define HEALTHY_SECONDS	30	/* a worker up this long resets backoff */
#define STOP_SECONDS	10	/* drain time before SIGKILL */
#define START_FAILURES_MAX 5	/* workers dying before READY: give up */

enum worker_state { W_NONE, W_STARTING, W_READY };

struct parent {
	struct av_config	*cfg;
	const struct parent_opts *opts;
	struct listeners	 ls;
	struct hsm		*hsm;
	struct hsm_provider	*prov;
	EVP_PKEY		*audit_key;
	struct audit_log	*audit;
	pid_t			 worker;
	int			 ipc[IPC_CHANNELS_MAX];	/* our ends; -1 closed */
	int			 nipc;
	enum worker_state	 state;
	time_t			 started;
	unsigned		 backoff_ms;
	unsigned		 restarts;
	unsigned		 start_failures;	/* in a row */
	bool			 notified;	/* systemd told READY=1 */
	/* What was checked and audited, handed to every worker: the
	 * configuration's text and the policy files, sealed. */
	struct authz_sources	 files;
	int			 state_fd;
	/*
	 * hsm.pin = env:NAME: reading it wipes and unsets the variable, but
	 * every worker needs it too; the parent keeps it in locked memory
	 * and puts it back only in the child's environment, just before
	 * exec.  (file: sources are simply read again by each worker.)
	 */
	char			*env_pin;	/* secmem, HSM_PIN_MAX + 1 */
	const char		*env_pin_name;
};

static volatile sig_atomic_t got_term, got_hup, got_chld;
static int sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	/* Wake poll(); the pipe is non-blocking, a full pipe is fine. */
	if (write(sig_pipe[1], &c, 1) == -1)
		errno = saved;
	errno = saved;
}

static int
setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A file-size limit must be a write error (fail closed), not death. */
	signal(SIGXFSZ, SIG_IGN);
	return 0;
}

/*
 * systemd readiness (Type=notify) without libsystemd: one datagram with
 * "READY=1" to $NOTIFY_SOCKET.  Returns true when there was nobody to
 * tell or the message went out.
 */
static bool
sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	int fd;
	bool sent;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sun.sun_path))
		return true;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	sent = sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sun, len) == 7;
	close(fd);
	return sent;
}

static void
fd_arg(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "%d", fd);
}

static void
close_channels(struct parent *p)
{
	int i;

	for (i = 0; i < p->nipc; i++)
		if (p->ipc[i] >= 0)
			close(p->ipc[i]);
	p->nipc = 0;
}

/* fork + exec ourselves as the worker, descriptors at fixed numbers. */
static int
spawn_worker(struct parent *p)
{
	int sv[IPC_CHANNELS_MAX][2], nchan, i;
	char pin[HSM_PIN_MAX + 1];
	pid_t pid;

	nchan = 1 + (int)(p->cfg->limits.threads < IPC_CHANNELS_MAX - 1 ?
	    p->cfg->limits.threads : IPC_CHANNELS_MAX - 1);
	for (i = 0; i < nchan; i++)
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
		    sv[i]) != 0) {
			log_error("socketpair: %s", strerror(errno));
			while (i-- > 0) {
				close(sv[i][0]);
				close(sv[i][1]);
			}
			return -1;
		}
	/* The secmem page is not inherited (MADV_DONTFORK): copy it. */
	if (p->env_pin != NULL)
		memcpy(pin, p->env_pin, sizeof(pin));
	pid = fork();
	if (pid != 0)
		OPENSSL_cleanse(pin, sizeof(pin));
	if (pid == -1) {
		log_error("fork: %s", strerror(errno));
		for (i = 0; i < nchan; i++) {
			close(sv[i][0]);
			close(sv[i][1]);
		}
		return -1;
	}
	if (pid == 0) {
		char ipc[IPC_CHANNELS_MAX * 8], admin[16], agent[16], tcp[16];
		char state[16];
		char *argv[18];
		size_t off = 0;
		int n = 0;

		/* dup() clears close-on-exec on the copies the worker keeps. */
		for (i = 0; i < nchan; i++)
			off += (size_t)snprintf(ipc + off, sizeof(ipc) - off,
			    "%s%d", i > 0 ? "," : "", dup(sv[i][1]));
		fd_arg(admin, sizeof(admin), p->ls.admin >= 0 ?
		    dup(p->ls.admin) : -1);
		fd_arg(agent, sizeof(agent), p->ls.agent >= 0 ?
		    dup(p->ls.agent) : -1);
		fd_arg(tcp, sizeof(tcp), p->ls.tcp >= 0 ? dup(p->ls.tcp) : -1);
		fd_arg(state, sizeof(state), dup(p->state_fd));
		argv[n++] = (char *)p->opts->self;
		argv[n++] = "--worker";
		argv[n++] = "-c";
		argv[n++] = (char *)p->opts->config_path;
		argv[n++] = "--ipc-fds";
		argv[n++] = ipc;
		argv[n++] = "--admin-fd";
		argv[n++] = admin;
		argv[n++] = "--agent-fd";
		argv[n++] = agent;
		argv[n++] = "--tcp-fd";
		argv[n++] = tcp;
		argv[n++] = "--state-fd";
		argv[n++] = state;
		if (!p->opts->sandbox)
			argv[n++] = "--no-sandbox";
		argv[n] = NULL;
		if (p->env_pin != NULL && setenv(p->env_pin_name, pin, 1) != 0)
			_exit(127);
		execv(p->opts->self, argv);
		_exit(127);
	}
	for (i = 0; i < nchan; i++) {
		close(sv[i][1]);
		p->ipc[i] = sv[i][0];
	}
	p->nipc = nchan;
	p->worker = pid;
	p->state = W_STARTING;
	p->started = time(NULL);
	log_info("worker %d started", (int)pid);
	return 0;
}

static void
kill_worker(struct parent *p, const char *why)
{
	if (p->worker <= 0)
		return;
	log_error("killing worker %d: %s", (int)p->worker, why);
	kill(p->worker, SIGKILL);
}

/* A field of a fixed-size record: NUL-terminated, printable ASCII. */
static bool
field_ok(const char *f, size_t size, bool may_be_empty)
{
	const char *end = memchr(f, '\0', size);
	const char *c;

	if (end == NULL || (!may_be_empty && end == f))
		return false;
	for (c = f; c < end; c++)
		if (*c < 0x20 || *c > 0x7e)
			return false;
	return true;
}

static int
audit_from_worker(struct parent *p, const struct ipc_hdr *h,
    const struct ipc_audit_event *m)
{
	struct audit_event ev;
	char err[256];
	json_t *caller;
	int rc;

	if (h->len != sizeof(*m) ||
	    !field_ok(m->request_id, sizeof(m->request_id), false) ||
	    !field_ok(m->operation, sizeof(m->operation), false) ||
	    !field_ok(m->outcome, sizeof(m->outcome), false) ||
	    !field_ok(m->error, sizeof(m->error), true) ||
	    !field_ok(m->resource, sizeof(m->resource), true) ||
	    !field_ok(m->subject, sizeof(m->subject), true) ||
	    !field_ok(m->principal, sizeof(m->principal), true) ||
	    !field_ok(m->decision, sizeof(m->decision), true) ||
	    !field_ok(m->user_issuer, sizeof(m->user_issuer), true) ||
	    !field_ok(m->user_subject_hash, sizeof(m->user_subject_hash),
	    true) ||
	    m->listener < 1 || m->listener > 3 || m->has_cred > 1)
		return -2;	/* malformed: the worker is not ours any more */
	caller = json_pack("{s:s}", "listener", m->listener == 1 ? "admin" :
	    m->listener == 2 ? "agent" : "tcp");
	if (m->has_cred) {
		json_object_set_new(caller, "uid", json_integer(m->uid));
		json_object_set_new(caller, "gid", json_integer(m->gid));
		json_object_set_new(caller, "pid", json_integer(m->pid));
	}
	if (m->subject[0] != '\0')
		json_object_set_new(caller, "subject",
		    json_string(m->subject));
	if (m->principal[0] != '\0')
		json_object_set_new(caller, "principal",
		    json_string(m->principal));
	memset(&ev, 0, sizeof(ev));
	ev.request_id = m->request_id;
	ev.operation = m->operation;
	ev.resource = m->resource;
	ev.outcome = m->outcome;
	ev.error = m->error[0] != '\0' ? m->error : NULL;
	ev.decision = m->decision[0] != '\0' ? m->decision : NULL;
	ev.caller = caller;
	/* The user of a validated JWT: its issuer, its subject hashed. */
	if (m->user_issuer[0] != '\0')
		ev.detail = json_pack("{s:s, s:s}", "userIssuer",
		    m->user_issuer, "userSubjectSha256", m->user_subject_hash);
	rc = audit_append(p->audit, &ev, (h->flags & IPC_F_SYNC) != 0, err,
	    sizeof(err));
	json_decref(ev.detail);
	json_decref(caller);
	if (rc != 0)
		log_error("audit: %s", err);
	return rc;
}

/* Answer n events of a loop's channel in order: runs of OK and FAIL. */
static int
answer_events(struct parent *p, int chan, const bool *ok, unsigned n)
{
	struct ipc_audit_answer a;
	unsigned i, run;

	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n && ok[i + run] == ok[i]; run++)
			;
		a.count = run;
		if (ipc_send(p->ipc[chan], ok[i] ? IPC_AUDIT_OK :
		    IPC_AUDIT_FAIL, 0, &a, sizeof(a)) != 0)
			return -1;
	}
	return 0;
}

/*
 * The messages waiting on channel chan; the state machine says what may
 * come: READY once, on channel 0, first; audit records on the loops'
 * channels after READY; nothing else, ever.  Audit records are taken up
 * to IPC_AUDIT_BATCH at a time, written with one write and at most one
 * fsync, and only then answered.
 */
static void
worker_message(struct parent *p, int chan)
{
	static union {
		struct ipc_audit_event	ev;
		char			raw[IPC_MAX_PAYLOAD + 1];
	} buf;
	bool ok[IPC_AUDIT_BATCH], answer = true;
	struct ipc_hdr h;
	char err[256];
	unsigned n = 0, i;
	int rc;

	audit_batch_begin(p->audit);
	while (n < IPC_AUDIT_BATCH) {
		rc = ipc_try_recv(p->ipc[chan], &h, &buf, sizeof(buf));
		if (rc == 2)		/* nothing more for now */
			break;
		if (rc == 0) {		/* EOF: the worker is going */
			close(p->ipc[chan]);
			p->ipc[chan] = -1;
			answer = false;
			break;
		}
		if (rc < 0) {
			kill_worker(p, "malformed message");
			answer = false;
			break;
		}
		if (h.type == IPC_READY && chan == 0 &&
		    p->state == W_STARTING && h.len == 0) {
			p->state = W_READY;
			p->start_failures = 0;
			log_info("worker %d ready", (int)p->worker);
			if (!p->notified)
				p->notified = sd_notify_ready();
			continue;
		}
		if (h.type != IPC_AUDIT || chan == 0 ||
		    p->state != W_READY || (h.flags & ~IPC_F_SYNC) != 0) {
			kill_worker(p, "unexpected message");
			answer = false;
			break;
		}
		rc = audit_from_worker(p, &h, &buf.ev);
		if (rc == -2) {
			kill_worker(p, "malformed audit record");
			answer = false;
			break;
		}
		ok[n++] = rc == 0;
	}
	if (audit_batch_end(p->audit, err, sizeof(err)) != 0) {
		if (n > 0)
			log_error("audit: %s", err);
		for (i = 0; i < n; i++)
			ok[i] = false;
	}
	if (answer && answer_events(p, chan, ok, n) != 0)
		kill_worker(p, "cannot answer");
}

static void
reap(struct parent *p)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != p->worker)
			continue;
		if (WIFSIGNALED(status))
			log_error("worker %d killed by signal %d%s", (int)pid,
			    WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
			    " (a syscall outside the sandbox)" : "");
		else
			log_info("worker %d exited with status %d", (int)pid,
			    WEXITSTATUS(status));
		close_channels(p);
		p->worker = 0;
		if (p->state == W_STARTING)
			p->start_failures++;
		p->state = W_NONE;
		if (time(NULL) - p->started >= HEALTHY_SECONDS)
			p->backoff_ms = BACKOFF_MIN_MS;
	}
}

/* Wait up to timeout_ms for messages and serve them; 0 when none came. */
static int
serve_channels(struct parent *p, int timeout_ms, short *sig_revents)
{
	struct pollfd pfd[1 + IPC_CHANNELS_MAX];
	int i, n;

	pfd[0] = (struct pollfd){ sig_pipe[0], POLLIN, 0 };
	for (i = 0; i < p->nipc; i++)
		pfd[1 + i] = (struct pollfd){ p->ipc[i], POLLIN, 0 };
	n = poll(pfd, (nfds_t)(1 + p->nipc), timeout_ms);
	if (sig_revents != NULL)
		*sig_revents = n > 0 ? pfd[0].revents : 0;
	for (i = 0; n > 0 && i < p->nipc; i++)
		if (p->ipc[i] >= 0 && (pfd[1 + i].revents & (POLLIN | POLLHUP)))
			worker_message(p, i);
	return n;
}

static void
stop_worker(struct parent *p)
{
	time_t deadline = time(NULL) + STOP_SECONDS;
	int status;

	if (p->worker <= 0)
		return;
	kill(p->worker, SIGTERM);
	while (time(NULL) < deadline) {
		if (waitpid(p->worker, &status, WNOHANG) == p->worker) {
			close_channels(p);
			p->worker = 0;
			return;
		}
		/* Keep answering audit events while the worker drains. */
		serve_channels(p, 100, NULL);
	}
	kill(p->worker, SIGKILL);
	waitpid(p->worker, &status, 0);
	close_channels(p);
	p->worker = 0;
}

/*
 * Principals and policy files are changed by editing files: record what
 * is now in force (each principal's policies, each file's SHA-256) as a
 * call record, fsynced, before the worker that enforces it starts.
 */
static int
audit_policies(struct parent *p, const char *why)
{
	const struct authz_sources *files = &p->files;
	const struct av_principal *pr;
	unsigned char md[EVP_MAX_MD_SIZE];
	char hex[2 * 32 + 1], id[40], err[256];
	struct audit_event ev;
	json_t *detail, *fj, *pj, *names;
	unsigned mdlen, k;
	size_t i, j;
	int rc;

	fj = json_object();
	for (i = 0; i < files->n; i++) {
		if (EVP_Digest(files->v[i].text, files->v[i].len, md, &mdlen,
		    EVP_sha256(), NULL) != 1)
			continue;
		for (k = 0; k < mdlen && k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", md[k]);
		json_object_set_new(fj, files->v[i].name, json_string(hex));
	}
	pj = json_object();
	for (i = 0; i < p->cfg->principals.n; i++) {
		pr = &p->cfg->principals.v[i];
		names = json_array();
		for (j = 0; j < pr->policies.n; j++)
			json_array_append_new(names,
			    json_string(pr->policies.v[j]));
		json_object_set_new(pj, pr->name, names);
	}
	detail = json_pack("{s:o, s:o}", "principals", pj, "policyFiles", fj);
	memset(&ev, 0, sizeof(ev));
	snprintf(id, sizeof(id), "config-%lld", (long long)time(NULL));
	ev.request_id = id;
	ev.operation = "LoadPolicies";
	ev.resource = p->cfg->policy.dir;
	ev.outcome = "allowed";
	ev.caller = json_pack("{s:s, s:s}", "listener", "configuration",
	    "event", why);
	ev.detail = detail;
	rc = audit_append(p->audit, &ev, true, err, sizeof(err));
	json_decref(ev.caller);
	json_decref(detail);
	if (rc != 0)
		log_error("audit: %s", err);
	return rc;
}

/*
 * A new configuration and policy files, checked, or nothing changes: the
 * running worker and any worker started later (after a crash) keep what
 * was in force, whatever the files now say.
 */
static void
reload(struct parent *p)
{
	static struct av_config fresh;
	struct authz_sources files;
	char err[AV_CONFIG_ERR_SIZE], *text = NULL;
	struct av_err e;
	size_t len;
	int state;

	if (av_config_read(p->opts->config_path, &text, &len, err,
	    sizeof(err)) != 0 || av_config_parse(p->opts->config_path, text,
	    len, &fresh, err, sizeof(err)) != 0) {
		log_error("reload refused, keeping the running configuration: "
		    "%s", err);
		free(text);
		return;
	}
	if (authz_check_config(&fresh, &files, &e) != 0) {
		log_error("reload refused, keeping the running configuration: "
		    "%s", e.msg);
		free(text);
		return;
	}
	state = authz_state_seal(text, len, &files, &e);
	free(text);
	if (state == -1) {
		log_error("reload refused, keeping the running configuration: "
		    "%s", e.msg);
		authz_sources_free(&files);
		return;
	}
	log_info("configuration reloaded; restarting the worker "
	    "(listeners, HSM and audit settings need a full restart)");
	close(p->state_fd);
	p->state_fd = state;
	authz_sources_free(&p->files);
	p->files = files;
	*p->cfg = fresh;
	if (audit_policies(p, "SIGHUP") != 0)
		log_error("the new policies could not be audited");
	stop_worker(p);
}

static CK_RV
parent_login(struct parent *p)
{
	size_t len = 0;
	int locked;
	CK_RV rv;

	if (strncmp(p->cfg->hsm.pin, "env:", 4) != 0)
		return hsm_login(p->hsm, p->cfg->hsm.pin);
	if ((p->env_pin = secmem_map(HSM_PIN_MAX + 1, &locked)) == NULL)
		return HSM_R_NO_MEMORY;
	p->env_pin_name = p->cfg->hsm.pin + 4;
	if ((rv = hsm_pin_read(p->cfg->hsm.pin, p->env_pin, &len)) != CKR_OK)
		return rv;
	return hsm_login_pin(p->hsm, p->env_pin, len);
}

static int
open_audit(struct parent *p)
{
	struct av_err e;
	char err[512];
	CK_RV rv;
	int rc;

	if ((rv = hsm_open(p->cfg->hsm.module, p->cfg->hsm.token, 1,
	    &p->hsm)) != CKR_OK || (rv = parent_login(p)) != CKR_OK) {
		log_error("HSM: %s", hsm_rv_describe(rv, err, sizeof(err)));
		return -1;
	}
	if (!hsm_provider_load(p->hsm, NULL, &p->prov) ||
	    (p->audit_key = hsm_provider_load_key(NULL,
	    p->cfg->hsm.audit_key)) == NULL) {
		log_error("cannot load the audit key %s", p->cfg->hsm.audit_key);
		return -1;
	}
	if (selftest_run(p->cfg, p->hsm, err, sizeof(err)) != 0) {
		log_error("self-test failed, not serving: %s", err);
		return -1;
	}
	/* The worker parses them again; a broken build stops here. */
	if (oauth_vendors_builtin(&e) == NULL) {
		log_error("%s", e.msg);
		return -1;
	}
	rc = audit_open(p->cfg->paths.audit_log, p->audit_key,
	    p->cfg->audit.checkpoint_records, AUDIT_OPEN_RECOVER, &p->audit,
	    err, sizeof(err));
	if (rc != 0) {
		log_error("audit log: %s", err);
		return -1;
	}
	return 0;
}

int
parent_main(struct av_config *cfg, const struct parent_opts *o)
{
	static struct parent p;
	time_t next_checkpoint, now;
	struct av_err e;
	char err[512];
	int rc = 0;

	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.opts = o;
	p.nipc = 0;
	p.backoff_ms = BACKOFF_MIN_MS;
	p.files = *o->files;
	memset(o->files, 0, sizeof(*o->files));
	av_log_init("agentvaultd", cfg->log.level);
	if ((p.state_fd = authz_state_seal(o->config_text, o->config_len,
	    &p.files, &e)) == -1) {
		log_error("%s", e.msg);
		return 1;
	}
	if (setup_signals() != 0 || open_audit(&p) != 0 ||
	    audit_policies(&p, "start") != 0)
		return 1;
	if (listeners_open(cfg, &p.ls, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return 1;
	}
	if (spawn_worker(&p) != 0)
		return 1;
	next_checkpoint = time(NULL) + cfg->audit.checkpoint_seconds;
	while (!got_term) {
		short sig = 0;
		char drain[64];

		serve_channels(&p, p.worker > 0 ? 1000 : (int)p.backoff_ms,
		    &sig);
		if (sig & POLLIN)
			while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
				;
		if (got_chld) {
			got_chld = 0;
			reap(&p);
		}
		if (got_hup) {
			got_hup = 0;
			reload(&p);
		}
		if (p.worker == 0 && p.start_failures >= START_FAILURES_MAX) {
			/* It will not get better by itself: say so and stop. */
			log_error("the worker failed to start %u times in a row; "
			    "giving up (see the errors above)", p.start_failures);
			rc = 1;
			break;
		}
		if (p.worker == 0 && !got_term) {
			/* Restart, slower each time it keeps dying. */
			usleep(p.backoff_ms * 1000);
			p.backoff_ms = p.backoff_ms * 2 > BACKOFF_MAX_MS ?
			    BACKOFF_MAX_MS : p.backoff_ms * 2;
			p.restarts++;
			if (spawn_worker(&p) != 0)
				break;
		}
		now = time(NULL);
		if (now >= next_checkpoint) {
			if (audit_checkpoint(p.audit, err, sizeof(err)) != 0)
				log_error("audit checkpoint: %s", err);
			next_checkpoint = now + cfg->audit.checkpoint_seconds;
		}
	}
	log_info("stopping");
	stop_worker(&p);
	audit_close(p.audit);
	listeners_close(cfg, &p.ls);
	EVP_PKEY_free(p.audit_key);
	hsm_provider_unload(p.prov);
	hsm_close(p.hsm);
	secmem_unmap(p.env_pin, HSM_PIN_MAX + 1);
	close(p.state_fd);
	authz_sources_free(&p.files);
	return rc;
}
