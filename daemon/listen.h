/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listen.h - the parent's listening sockets: admin and agent Unix sockets
 * (mode and group from the configuration) and the optional TCP listener.
 */
#ifndef AV_LISTEN_H
#define AV_LISTEN_H

#include <stddef.h>

#include "config.h"

struct listeners {
	int	admin;
	int	agent;
	int	tcp;	/* -1 when not configured */
};

int listeners_open(const struct av_config *cfg, struct listeners *ls,
    char *err, size_t errlen);
/* Close and remove the socket files. */
void listeners_close(const struct av_config *cfg, struct listeners *ls);

#endif /* AV_LISTEN_H */
