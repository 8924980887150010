/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agentvaultd.c - command line and start-up of the appliance daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authz.h"
#include "daemon.h"
#include "log.h"

#define DEFAULT_CONFIG "/etc/agentvault/agentvault.yaml"

static const char usage_text[] =
"usage: agentvaultd [-c FILE] [--check-config | --print-config] [--no-sandbox]\n"
"\n"
"The Agent Vault appliance daemon: a privileged parent that holds the\n"
"listeners and the audit log, and a sandboxed worker that serves the API\n"
"over TLS (docs/privsep.md).  Runs in the foreground; logs to stderr.\n"
"\n"
"  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
"  -t, --check-config  parse the configuration, report, exit\n"
"      --print-config  print the effective configuration as YAML, exit\n"
"      --no-sandbox    no seccomp, Landlock or user drop in the worker:\n"
"                      only for valgrind and AddressSanitizer runs\n"
"      --version       print the version\n"
"  -h, --help          this text\n"
"\n"
"Signals: SIGHUP reloads the configuration (and restarts the worker);\n"
"SIGTERM drains and stops.  Exit status: 0 stopped cleanly, 1 failed to\n"
"start or run, 2 usage error.\n";

static int parse_fd(const char *s);

/* "--ipc-fds 11,12,13": channel 0 first. */
static int
parse_fd_list(const char *s, struct worker_fds *fds)
{
	char buf[1024], *tok, *save = NULL;

	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	fds->nipc = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (fds->nipc == IPC_CHANNELS_MAX ||
		    (fds->ipc[fds->nipc] = parse_fd(tok)) < 0)
			return -1;
		fds->nipc++;
	}
	return fds->nipc >= 2 ? 0 : -1;
}

static int
parse_fd(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < -1 || v > 1024)
		return -2;
	if (v >= 0 && fcntl((int)v, F_GETFD) == -1)
		return -2;
	return (int)v;
}

/* Directories the daemon needs, owned as the worker needs them. */
static int
prepare_dirs(const struct av_config *c)
{
	struct passwd *pw = NULL;

	if (mkdir(c->paths.state_dir, 0700) != 0 && errno != EEXIST)
		goto fail;
	/* Sockets under it must be reachable by agents: 0755 whatever our
	 * umask (077); an existing directory is the operator's choice. */
	if (mkdir(c->paths.run_dir, 0755) == 0) {
		if (chmod(c->paths.run_dir, 0755) != 0)
			goto fail;
	} else if (errno != EEXIST)
		goto fail;
	/* The worker writes the database after dropping privileges. */
	if (geteuid() == 0 && c->sandbox.enabled) {
		uid_t uid = c->sandbox.user.uid;
		gid_t gid = c->sandbox.user.gid;

		if (!c->sandbox.user.resolved) {
			if ((pw = getpwnam(c->sandbox.user.name)) == NULL) {
				log_error("sandbox user %s does not exist",
				    c->sandbox.user.name);
				return -1;
			}
			uid = pw->pw_uid;
			gid = pw->pw_gid;
		}
		if (chown(c->paths.state_dir, uid, gid) != 0)
			goto fail;
	}
	return 0;
fail:
	log_error("%s: %s", c->paths.state_dir, strerror(errno));
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "print-config", no_argument, NULL, 'P' },
		{ "no-sandbox", no_argument, NULL, 'S' },
		{ "worker", no_argument, NULL, 'W' },
		{ "ipc-fds", required_argument, NULL, 'i' },
		{ "admin-fd", required_argument, NULL, 'a' },
		{ "agent-fd", required_argument, NULL, 'g' },
		{ "tcp-fd", required_argument, NULL, 'T' },
		{ "state-fd", required_argument, NULL, 'X' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct av_config cfg;
	static struct authz_sources files;
	struct worker_fds fds = { .nipc = 0, .admin = -1, .agent = -1,
	    .tcp = -1, .state = -1 };
	bool bad_fds = false;
	struct parent_opts po;
	char err[AV_CONFIG_ERR_SIZE], self[PATH_MAX];
	struct av_err e;
	char *text = NULL;
	size_t len = 0;
	const char *config = DEFAULT_CONFIG;
	bool check = false, print = false, sandbox = true, worker = false;
	ssize_t n;
	int c, rc;

	/* Nothing the daemon creates (database, logs) is for other users. */
	umask(077);
	/* Secrets pass through both processes: no core dumps, no ptrace. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	while ((c = getopt_long(argc, argv, "c:th", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 't': check = true; break;
		case 'P': print = true; break;
		case 'S': sandbox = false; break;
		case 'W': worker = true; break;
		case 'i': bad_fds |= parse_fd_list(optarg, &fds) != 0; break;
		case 'a': fds.admin = parse_fd(optarg); break;
		case 'g': fds.agent = parse_fd(optarg); break;
		case 'T': fds.tcp = parse_fd(optarg); break;
		case 'X': fds.state = parse_fd(optarg); break;
		case 'V': printf("agentvaultd %s\n", AV_VERSION); return 0;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 2;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		return 2;
	}
	if (worker) {
		if (bad_fds || fds.nipc < 2 || fds.admin < -1 ||
		    fds.agent < -1 || fds.tcp < -1 || fds.state < 0) {
			fprintf(stderr, "agentvaultd: --worker is started by "
			    "the parent only\n");
			return 2;
		}
		/* What the parent checked and audited, not the files now. */
		if (authz_state_read(fds.state, &text, &len, &files, &e) != 0) {
			fprintf(stderr, "agentvaultd: %s\n", e.msg);
			return 1;
		}
		close(fds.state);
		rc = av_config_parse(config, text, len, &cfg, err,
		    sizeof(err));
		free(text);
		if (rc != 0) {
			fprintf(stderr, "agentvaultd: %s\n", err);
			return 1;
		}
		return worker_main(&cfg, &files, &fds, sandbox);
	}
	if (av_config_read(config, &text, &len, err, sizeof(err)) != 0 ||
	    av_config_parse(config, text, len, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "agentvaultd: %s\n", err);
		free(text);
		return 1;
	}
	if (authz_check_config(&cfg, &files, &e) != 0) {
		fprintf(stderr, "agentvaultd: %s\n", e.msg);
		free(text);
		return 1;
	}
	if (check || print) {
		if (check)
			printf("%s: OK\n", config);
		else
			av_config_print(&cfg, stdout);
		free(text);
		authz_sources_free(&files);
		return 0;
	}
	av_log_init("agentvaultd", cfg.log.level);
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
		log_error("cannot find my own executable");
		return 1;
	}
	self[n] = '\0';
	if (prepare_dirs(&cfg) != 0)
		return 1;
	po.config_path = config;
	po.self = self;
	po.sandbox = sandbox;
	po.config_text = text;
	po.config_len = len;
	po.files = &files;
	if (!sandbox)
		log_warn("--no-sandbox: the worker runs unconfined");
	rc = parent_main(&cfg, &po);
	free(text);
	return rc;
}
