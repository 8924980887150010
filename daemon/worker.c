/* SPDX-License-Identifier: Apache-2.0 */
/*
 * worker.c - the unprivileged, sandboxed process that serves the API.
 *
 * Started by the parent as `agentvaultd --worker` with its descriptors
 * already open (IPC socket, listeners).  While still privileged it logs
 * into the HSM, opens the vault and the database and builds the TLS
 * context with the HSM key; then it enters the sandbox and starts one
 * event loop per configured thread.  Audit events go to the parent, which
 * alone writes the log; a call whose event is not acknowledged fails.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "api.h"
#include "daemon.h"
#include "ipc.h"
#include "log.h"
#include "outbound.h"
#include "provider.h"
#include "sandbox.h"

#define THREADS_MAX 64
#define DRAIN_SECONDS 5
#define EXPIRE_SECONDS 5	/* how often expired DEKs are wiped */

struct worker {
	const struct av_config	*cfg;
	struct api_ctx		 api;
	struct hsm		*hsm;		/* the appliance's token */
	struct hsm		*kek_hsm;	/* = hsm, or the customer's */
	struct hsm_provider	*prov;
	SSL_CTX			*tls;		/* Unix sockets */
	SSL_CTX			*tls_tcp;	/* TCP, with client certs */
	const struct worker_fds	*fds;		/* ipc[0] control, ipc[i] loop i-1 */
	unsigned		 live_connections;
	struct event_base	*bases[THREADS_MAX];
	pthread_t		 threads[THREADS_MAX];
	unsigned		 nthreads;
	struct httpd		*httpds[THREADS_MAX * 3];
	unsigned		 nhttpds;
	struct event_base	*main_base;
	struct event		*drain_timer;
	time_t			 drain_deadline;
	bool			 draining;
};

/*
 * Copy a field into a fixed-size record, printable ASCII only: the parent
 * takes anything else for a hostile worker, and the text may come from a
 * client (a resource name).
 */
static void
copy_field(char *dst, size_t len, const char *src)
{
	size_t i;

	snprintf(dst, len, "%s", src != NULL ? src : "");
	for (i = 0; dst[i] != '\0'; i++)
		if (dst[i] < 0x20 || dst[i] > 0x7e)
			dst[i] = '?';
}

/*
 * Each event loop thread owns one IPC channel, a pipeline to the parent:
 * the loop sends a call's audit event and goes on serving; the reply
 * waits in the loop's queue until the parent answers for it (answers come
 * in order, several at a time).  No lock, no waiting on other loops.
 */
struct loop {
	struct event_base	*base;
	int			 channel;
	struct event		*answers;	/* the channel is readable */
	struct api_reply	*head, *tail;	/* awaiting an answer */
	struct outbound		*outbound;	/* HTTP to identity providers */
};

static __thread struct loop *my_loop;

/* api_outbound_fn */
static struct outbound *
worker_outbound(void *arg)
{
	(void)arg;
	return my_loop->outbound;
}

/* api_base_fn */
static struct event_base *
worker_base(void *arg)
{
	(void)arg;
	return my_loop->base;
}

/* api_audit_fn: send the event, queue the reply behind it. */
static int
worker_audit(const struct api_audit *ev, struct api_reply *reply, void *arg)
{
	struct ipc_audit_event m;
	struct loop *l = my_loop;

	(void)arg;
	memset(&m, 0, sizeof(m));
	copy_field(m.request_id, sizeof(m.request_id), ev->request_id);
	copy_field(m.operation, sizeof(m.operation), ev->operation);
	copy_field(m.outcome, sizeof(m.outcome), ev->outcome);
	copy_field(m.error, sizeof(m.error), ev->error);
	copy_field(m.resource, sizeof(m.resource), ev->resource);
	copy_field(m.subject, sizeof(m.subject), ev->caller->subject);
	copy_field(m.principal, sizeof(m.principal), ev->principal);
	copy_field(m.decision, sizeof(m.decision), ev->decision);
	copy_field(m.user_issuer, sizeof(m.user_issuer), ev->user_issuer);
	copy_field(m.user_subject_hash, sizeof(m.user_subject_hash),
	    ev->user_subject_hash);
	m.listener = ev->caller->listener;
	m.has_cred = ev->caller->has_cred;
	m.uid = ev->caller->uid;
	m.gid = ev->caller->gid;
	m.pid = ev->caller->pid;
	if (l == NULL || l->channel < 0 || ipc_send(l->channel, IPC_AUDIT,
	    ev->sync ? IPC_F_SYNC : 0, &m, sizeof(m)) != 0)
		return -1;
	reply->next = NULL;
	if (l->tail != NULL)
		l->tail->next = reply;
	else
		l->head = reply;
	l->tail = reply;
	return 0;
}

/* Release the first n queued replies, audited or not. */
static void
release_replies(struct loop *l, uint32_t n, bool audited)
{
	struct api_reply *r;

	while (n-- > 0 && (r = l->head) != NULL) {
		if ((l->head = r->next) == NULL)
			l->tail = NULL;
		api_reply_finish(r, audited);
	}
}

/* The parent's answers on this loop's channel. */
static void
on_answers(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_audit_answer a;
	struct loop *l = arg;
	struct ipc_hdr h;
	int rc;

	(void)what;
	while ((rc = ipc_try_recv(fd, &h, &a, sizeof(a))) == 1) {
		if ((h.type != IPC_AUDIT_OK && h.type != IPC_AUDIT_FAIL) ||
		    h.len != sizeof(a) || a.count == 0 ||
		    a.count > IPC_AUDIT_BATCH)
			break;
		release_replies(l, a.count, h.type == IPC_AUDIT_OK);
	}
	if (rc == 2)
		return;
	/* The parent is gone or confused: nothing here can be audited. */
	log_error("audit channel %s: failing every call", rc == 0 ?
	    "closed" : "broken");
	event_del(l->answers);
	release_replies(l, UINT32_MAX, false);
	close(l->channel);
	l->channel = -1;
}

/* api_bad_ipc_fn: frames the parent must refuse (test hooks only). */
static void
worker_bad_ipc(const char *kind, void *arg)
{
	static char big[IPC_MAX_PAYLOAD + 64];
	struct worker *w = arg;
	struct ipc_hdr h = { sizeof(big), IPC_AUDIT, 0 };
	struct iovec iov[2] = { { &h, sizeof(h) }, { big, sizeof(big) } };
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };

	(void)w;
	if (strcmp(kind, "unknown") == 0)
		ipc_send(my_loop->channel, 77, 0, NULL, 0);
	else if (strcmp(kind, "out-of-order") == 0)	/* READY, on a loop's */
		ipc_send(my_loop->channel, IPC_READY, 0, NULL, 0);
	else if (strcmp(kind, "oversized") == 0)
		(void)sendmsg(my_loop->channel, &msg, MSG_NOSIGNAL);
}

static int
fail_hsm(const char *what, CK_RV rv)
{
	char buf[256];

	log_error("%s: %s", what, hsm_rv_describe(rv, buf, sizeof(buf)));
	return -1;
}

/* Log into the token(s) and find the KEK (service- or customer-managed). */
static int
open_hsm(struct worker *w)
{
	const struct av_config *c = w->cfg;
	const char *why = NULL;
	CK_RV rv;

	if ((rv = hsm_open(c->hsm.module, c->hsm.token, c->hsm.pool_size,
	    &w->hsm)) != CKR_OK)
		return fail_hsm(c->hsm.token, rv);
	if ((rv = hsm_login(w->hsm, c->hsm.pin)) != CKR_OK)
		return fail_hsm("HSM login", rv);
	w->kek_hsm = w->hsm;
	if (c->vault.kek_mode == AV_KEK_CUSTOMER_MANAGED) {
		if ((rv = hsm_open(c->vault.customer.module,
		    c->vault.customer.token, c->hsm.pool_size,
		    &w->kek_hsm)) != CKR_OK)
			return fail_hsm(c->vault.customer.token, rv);
		if ((rv = hsm_login(w->kek_hsm, c->vault.customer.pin)) !=
		    CKR_OK)
			return fail_hsm("customer HSM login", rv);
		rv = hsm_find_key(w->kek_hsm, c->vault.customer.key,
		    CKO_SECRET_KEY, &w->api.kek);
	} else {
		rv = hsm_find_key(w->hsm, c->vault.kek, CKO_SECRET_KEY,
		    &w->api.kek);
	}
	if (rv != CKR_OK)
		return fail_hsm("the vault KEK", rv);
	if ((rv = hsm_kek_check(w->kek_hsm, &w->api.kek, &why)) != CKR_OK) {
		log_error("the vault KEK is refused: %s",
		    why != NULL ? why : hsm_rv_text(rv));
		return -1;
	}
	return 0;
}

static SSL_CTX *
tls_context(struct worker *w, EVP_PKEY *key, bool client_certs)
{
	const struct av_config *c = w->cfg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, c->hsm.tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
	/* Sessions are not resumed: every connection proves the HSM key. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	if (client_certs) {
		if (SSL_CTX_load_verify_locations(ctx, c->listen.tcp.client_ca,
		    NULL) != 1)
			goto fail;
		/*
		 * Asked for, not required: a browser coming back from an
		 * identity provider to the OAuth callback has none.  A
		 * certificate given must verify; a caller without one has
		 * no principal and is refused every API operation.
		 */
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	return ctx;
fail:
	log_error("TLS set-up failed (certificate %s)", c->hsm.tls_cert);
	ERR_print_errors_fp(stderr);
	SSL_CTX_free(ctx);
	return NULL;
}

static int
open_tls(struct worker *w)
{
	EVP_PKEY *key;

	if (!hsm_provider_load(w->hsm, NULL, &w->prov)) {
		log_error("cannot load the HSM provider");
		return -1;
	}
	if ((key = hsm_provider_load_key(NULL, w->cfg->hsm.tls_key)) == NULL) {
		log_error("cannot load the TLS key %s", w->cfg->hsm.tls_key);
		return -1;
	}
	w->tls = tls_context(w, key, false);
	if (w->cfg->listen.tcp.enabled)
		w->tls_tcp = tls_context(w, key,
		    w->cfg->listen.tcp.client_ca[0] != '\0');
	EVP_PKEY_free(key);
	return w->tls != NULL && (!w->cfg->listen.tcp.enabled ||
	    w->tls_tcp != NULL) ? 0 : -1;
}

/*
 * The OAuth client keys (private_key_jwt): every private key in the
 * appliance's token labelled CLIENT_KEY_PREFIX..., through the provider
 * like the TLS key, with its RFC 7638 thumbprint for kid.  A key that
 * cannot be used is left out with a warning: providers naming it fail
 * with a clear error, the rest of the appliance serves.
 */
static void
open_client_keys(struct worker *w)
{
	static char labels[CLIENT_KEYS_MAX][HSM_LABEL_MAX + 1];
	char uri[HSM_URI_BUF], jwk[HSM_JWK_MAX], kid[HSM_JWK_KID_LEN + 1];
	struct client_keys *t = &w->api.client_keys;
	struct hsm_pubkey pub;
	struct hsm_key k;
	size_t n = 0, i;
	CK_RV rv;

	rv = hsm_list_labels(w->hsm, CLIENT_KEY_PREFIX, labels,
	    CLIENT_KEYS_MAX, &n);
	if (rv == HSM_R_BAD_INPUT)
		log_warn("more than %d OAuth client keys in the token: only "
		    "%d loaded", CLIENT_KEYS_MAX, CLIENT_KEYS_MAX);
	else if (rv != CKR_OK)
		fail_hsm("listing the OAuth client keys", rv);
	for (i = 0; i < n; i++) {
		struct client_key *c = &t->k[t->n];

		/* The ceremony's alphabet: the label goes into a URI. */
		if (strlen(labels[i]) > CLIENT_KEY_LABEL_MAX ||
		    strspn(labels[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789._-") != strlen(labels[i])) {
			log_warn("OAuth client key \"%.64s\" left out: labels "
			    "are at most %d of [A-Za-z0-9._-]", labels[i],
			    CLIENT_KEY_LABEL_MAX);
			continue;
		}
		snprintf(uri, sizeof(uri), "pkcs11:object=%s;type=private",
		    labels[i]);
		if ((rv = hsm_find_key(w->hsm, uri, CKO_PRIVATE_KEY, &k)) !=
		    CKR_OK || (rv = hsm_pubkey_read(w->hsm, &k, &pub)) !=
		    CKR_OK || (rv = hsm_pubkey_jwk(&pub, jwk, sizeof(jwk),
		    kid)) != CKR_OK) {
			log_warn("OAuth client key %s left out: %s", labels[i],
			    hsm_rv_text(rv));
			continue;
		}
		if ((c->key = hsm_provider_load_key(NULL, uri)) == NULL) {
			log_warn("OAuth client key %s left out: the provider "
			    "cannot load it", labels[i]);
			ERR_clear_error();
			continue;
		}
		snprintf(c->label, sizeof(c->label), "%s", labels[i]);
		snprintf(c->kid, sizeof(c->kid), "%s", kid);
		t->n++;
	}
	log_info("%zu OAuth client key(s) for private_key_jwt", t->n);
}

/* SoftHSM2's "directories.tokendir = PATH", which Landlock must allow. */
static bool
softhsm_token_dir(const char *conf, char *out, size_t len)
{
	char line[PATH_MAX + 64], *p, *end;
	bool found = false;
	FILE *f;

	if ((f = fopen(conf, "re")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		p = line + strspn(line, " \t");
		if (strncmp(p, "directories.tokendir", 20) != 0)
			continue;
		p += 20 + strspn(p + 20, " \t");
		if (*p++ != '=')
			continue;
		p += strspn(p, " \t");
		end = p + strcspn(p, " \t\r\n");
		*end = '\0';
		if (*p == '/' && (size_t)(end - p) < len) {
			memcpy(out, p, (size_t)(end - p) + 1);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void
add_path(struct sandbox_opts *o, const char *path, bool writable)
{
	if (path != NULL && path[0] != '\0' && o->npaths < SANDBOX_PATHS_MAX)
		o->paths[o->npaths++] = (struct sandbox_path){ path, writable };
}

static int
enter_sandbox(struct worker *w, bool enabled)
{
	const struct av_config *c = w->cfg;
	static char conf_dir[PATH_MAX], module_dir[PATH_MAX];
	static char token_dir[PATH_MAX];
	const char *softhsm = getenv("SOFTHSM2_CONF");
	struct sandbox_opts o;
	struct sandbox_report r;
	struct av_err e;
	struct passwd *pw;

	memset(&o, 0, sizeof(o));
	o.enabled = enabled && c->sandbox.enabled;
	o.landlock = c->sandbox.landlock;
	o.debug = getenv("AGENTVAULT_SECCOMP_DEBUG") != NULL;
	/* Outbound: a connection and the resolver's socketpair, or an idle
	 * connection, per transfer. */
	o.max_files = c->limits.max_connections + 64 +
	    3UL * c->limits.threads * c->outbound.max_transfers;
	if (c->sandbox.user.resolved) {
		o.uid = c->sandbox.user.uid;
		o.gid = c->sandbox.user.gid;
	} else if ((pw = getpwnam(c->sandbox.user.name)) != NULL) {
		o.uid = pw->pw_uid;
		o.gid = pw->pw_gid;
	} else if (o.enabled && geteuid() == 0) {
		log_error("sandbox user %s does not exist",
		    c->sandbox.user.name);
		return -1;
	}
	if (o.enabled && geteuid() == 0 && o.uid == 0) {
		log_error("sandbox user %s is root: refusing to run the worker "
		    "as root", c->sandbox.user.name);
		return -1;
	}
	/* Where the worker may still read or write once confined. */
	add_path(&o, c->paths.state_dir, true);
	add_path(&o, "/usr", false);
	add_path(&o, "/lib", false);
	add_path(&o, "/etc", false);
	snprintf(module_dir, sizeof(module_dir), "%s", c->hsm.module);
	add_path(&o, dirname(module_dir), false);
	if (softhsm != NULL) {	/* SoftHSM2 keeps its token in files */
		snprintf(conf_dir, sizeof(conf_dir), "%s", softhsm);
		add_path(&o, dirname(conf_dir), true);
		if (softhsm_token_dir(softhsm, token_dir, sizeof(token_dir)))
			add_path(&o, token_dir, true);
	}
	if (sandbox_enter(&o, &r, &e) != 0) {
		log_error("sandbox: %s", e.msg);
		return -1;
	}
	if (!o.enabled)
		log_warn("the sandbox is OFF (valgrind/ASan runs only)");
	else
		log_info("sandboxed as uid %u: seccomp on, Landlock %s",
		    (unsigned)o.uid, r.landlock_abi > 0 ? "on" :
		    "not in this kernel");
	return 0;
}

static void *
loop_thread(void *arg)
{
	struct loop *l = arg;

	my_loop = l;
	event_base_dispatch(l->base);
	return NULL;
}

static int
start_loops(struct worker *w, const int *fds, const enum av_listener_kind
    *kinds, size_t nfds)
{
	struct httpd_opts o = {
		.max_head = w->cfg->limits.max_header_bytes,
		.max_body = w->cfg->limits.max_body_bytes,
		.read_timeout = w->cfg->limits.read_timeout_seconds,
		.idle_timeout = w->cfg->limits.idle_timeout_seconds,
		.max_connections = w->cfg->limits.max_connections,
		.live_connections = &w->live_connections,
	};
	struct outbound_opts oo = {
		.connect_timeout_ms = w->cfg->outbound.connect_timeout_ms,
		.timeout_ms = w->cfg->outbound.timeout_ms,
		.max_response = w->cfg->outbound.max_response_bytes,
		.max_transfers = w->cfg->outbound.max_transfers,
		.allow_http_loopback = w->cfg->outbound.allow_http_loopback,
	};
	static struct loop loops[THREADS_MAX];
	static struct httpd *groups[3][THREADS_MAX];	/* [listener][loop] */
	unsigned i;
	size_t j;

	w->nthreads = w->cfg->limits.threads < THREADS_MAX ?
	    w->cfg->limits.threads : THREADS_MAX;
	if (w->nthreads > (unsigned)w->fds->nipc - 1)
		w->nthreads = (unsigned)w->fds->nipc - 1;
	for (i = 0; i < w->nthreads; i++) {
		if ((w->bases[i] = event_base_new()) == NULL)
			return -1;
		for (j = 0; j < nfds; j++) {
			SSL_CTX *ctx = kinds[j] == AV_LISTENER_TCP ?
			    w->tls_tcp : w->tls;

			if ((groups[j][i] = httpd_new(w->bases[i], ctx, &o,
			    api_handle, &w->api)) == NULL)
				return -1;
			w->httpds[w->nhttpds++] = groups[j][i];
		}
	}
	/* Loop 0 accepts on every listener and deals connections out. */
	for (j = 0; j < nfds; j++)
		if (httpd_listen(groups[j], w->nthreads, fds[j], kinds[j]) != 0)
			return -1;
	for (i = 0; i < w->nthreads; i++) {
		loops[i] = (struct loop){ .base = w->bases[i],
		    .channel = w->fds->ipc[1 + i] };
		loops[i].answers = event_new(w->bases[i], loops[i].channel,
		    EV_READ | EV_PERSIST, on_answers, &loops[i]);
		loops[i].outbound = outbound_new(w->bases[i], &oo);
		if (loops[i].answers == NULL || loops[i].outbound == NULL ||
		    event_add(loops[i].answers, NULL) != 0)
			return -1;
		if (pthread_create(&w->threads[i], NULL, loop_thread,
		    &loops[i]) != 0)
			return -1;
	}
	return 0;
}

/*
 * SIGTERM: stop the loops once no connection is left, or after
 * DRAIN_SECONDS.  Idle keep-alive connections are closed with the loops.
 */
static void
drain_check(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	unsigned i;

	(void)fd;
	(void)what;
	if (__atomic_load_n(&w->live_connections, __ATOMIC_RELAXED) > 0 &&
	    time(NULL) < w->drain_deadline)
		return;
	for (i = 0; i < w->nthreads; i++)
		event_base_loopbreak(w->bases[i]);
	event_base_loopbreak(w->main_base);
}

/* Wipe cached data keys whose TTL has passed, whether used or not. */
static void
expire_deks(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	vault_expire(w->api.vault);
}

static void
drain(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tick = { 0, 50000 };
	unsigned i;

	(void)sig;
	(void)what;
	if (w->draining)
		return;
	w->draining = true;
	log_info("draining");
	for (i = 0; i < w->nhttpds; i++)
		httpd_stop_accepting(w->httpds[i]);
	w->drain_deadline = time(NULL) + DRAIN_SECONDS;
	w->drain_timer = event_new(w->main_base, -1, EV_PERSIST, drain_check,
	    w);
	event_add(w->drain_timer, &tick);
}

int
worker_main(const struct av_config *cfg, struct authz_sources *files,
    const struct worker_fds *fds, bool sandbox)
{
	static struct worker w;
	struct event *term, *expire;
	int lfds[3];
	enum av_listener_kind kinds[3];
	size_t n = 0;
	unsigned i;

	av_log_init("agentvaultd-worker", cfg->log.level);
	/* If the parent dies, so do we: nobody would audit our calls. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return 1;
	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.fds = fds;
	if (evthread_use_pthreads() != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	w.api.cfg = cfg;
	w.api.audit = worker_audit;
	w.api.audit_arg = &w;
	w.api.bad_ipc = worker_bad_ipc;
	w.api.outbound = worker_outbound;
	w.api.base = worker_base;
	w.api.test_hooks = getenv("AGENTVAULT_TEST_HOOKS") != NULL &&
	    strcmp(getenv("AGENTVAULT_TEST_HOOKS"), "1") == 0;
	if (open_hsm(&w) != 0)
		return 1;
	w.api.hsm = w.kek_hsm;
	{
		struct av_err e;
		char db[PATH_MAX + 16];

		snprintf(db, sizeof(db), "%s/agentvault.db",
		    cfg->paths.state_dir);
		if (vault_open(w.kek_hsm, &w.api.kek,
		    cfg->vault.dek_ttl_seconds, &w.api.vault, &e) != 0 ||
		    store_open(db, &w.api.store, &e) != 0 ||
		    api_describe_kek(&w.api, &e) != 0) {
			log_error("%s", e.msg);
			return 1;
		}
	}
	if (open_tls(&w) != 0)
		return 1;
	open_client_keys(&w);
	{
		char kid[2 * WAT_KID_LEN + 1];
		struct av_err e;

		if (api_tokens_init(&w.api, &e) != 0) {
			log_error("%s", e.msg);
			return 1;
		}
		for (i = 0; i < WAT_KID_LEN; i++)
			snprintf(kid + 2 * i, 3, "%02X", w.api.tokens.kid[i]);
		log_info("token-signing key kid %s; tokens of %zu previous "
		    "key(s) still accepted", kid, w.api.tokens.nprev);
	}
	{
		struct av_err e;

		/* The files as the parent checked and audited them. */
		authz_holder_init(&w.api.authz);
		pthread_mutex_init(&w.api.authz_load, NULL);
		w.api.policy_files = *files;
		memset(files, 0, sizeof(*files));
		if (api_authz_load(&w.api, &e) != 0) {
			log_error("%s", e.msg);
			return 1;
		}
		log_info("%zu principals; %zu policy files", cfg->principals.n,
		    w.api.policy_files.n);
	}
	{
		struct av_err e;

		/* libcurl and the CAs, while files can still be read. */
		if (outbound_global_init(&e) != 0) {
			log_error("%s", e.msg);
			return 1;
		}
		if (outbound_load_ca(cfg->outbound.ca_bundle, &e) != 0)
			log_warn("outbound.ca_bundle: %s; outbound HTTPS will "
			    "fail", e.msg);
		if ((w.api.vendors = oauth_vendors_builtin(&e)) == NULL) {
			log_error("%s", e.msg);
			return 1;
		}
	}
	if (fds->admin >= 0) {
		lfds[n] = fds->admin;
		kinds[n++] = AV_LISTENER_ADMIN;
	}
	if (fds->agent >= 0) {
		lfds[n] = fds->agent;
		kinds[n++] = AV_LISTENER_AGENT;
	}
	if (fds->tcp >= 0) {
		lfds[n] = fds->tcp;
		kinds[n++] = AV_LISTENER_TCP;
	}
	if ((w.main_base = event_base_new()) == NULL)
		return 1;
	if (enter_sandbox(&w, sandbox) != 0)
		return 1;
	/*
	 * READY goes first, on the control channel: a loop may audit its
	 * first call at once, and the parent accepts audit records only
	 * after READY.  Connections meanwhile wait in the listen backlog.
	 */
	if (ipc_send(fds->ipc[0], IPC_READY, 0, NULL, 0) != 0) {
		log_error("cannot reach the parent");
		return 1;
	}
	if (start_loops(&w, lfds, kinds, n) != 0) {
		log_error("cannot start the event loops");
		return 1;
	}
	term = evsignal_new(w.main_base, SIGTERM, drain, &w);
	evsignal_add(term, NULL);
	{
		struct timeval tick = { EXPIRE_SECONDS, 0 };

		expire = event_new(w.main_base, -1, EV_PERSIST, expire_deks,
		    &w);
		event_add(expire, &tick);
	}
	log_info("serving with %u threads", w.nthreads);
	/* The main thread only waits for SIGTERM, then for the drain. */
	event_base_dispatch(w.main_base);
	for (i = 0; i < w.nthreads; i++)
		pthread_join(w.threads[i], NULL);
	log_info("drained; exiting");
	/* Exit without tearing down: the kernel reclaims, vault_close wipes. */
	vault_close(w.api.vault);
	_exit(0);
}
