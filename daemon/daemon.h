/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon.h - agentvaultd's two process roles (docs/privsep.md).
 */
#ifndef AV_DAEMON_H
#define AV_DAEMON_H

#include <stdbool.h>

#include "config.h"

#define AV_VERSION "0.1.0"

#define IPC_CHANNELS_MAX 65	/* control + one per event loop (<= 64) */

/*
 * Descriptors the parent hands the worker across exec (-1: none).  IPC
 * channel 0 carries control (IPC_READY); channel i >= 1 carries the audit
 * round trips of event loop i - 1, so loops never wait on each other.
 */
struct worker_fds {
	int	ipc[IPC_CHANNELS_MAX];
	int	nipc;
	int	admin;
	int	agent;
	int	tcp;
	int	state;	/* authz_state_seal(): what the parent accepted */
};

/* worker.c: never returns on success (exits when drained). */
struct authz_sources;
/* files: the policy files the parent accepted (the worker takes them). */
int worker_main(const struct av_config *cfg, struct authz_sources *files,
    const struct worker_fds *fds, bool sandbox);

/* parent.c */
struct parent_opts {
	const char	*config_path;
	const char	*self;		/* this executable, for re-exec */
	bool		 sandbox;
	/* What was checked: the configuration's text, the policy files
	 * (parent_main takes them). */
	const char	*config_text;
	size_t		 config_len;
	struct authz_sources *files;
};
int parent_main(struct av_config *cfg, const struct parent_opts *o);

#endif /* AV_DAEMON_H */
