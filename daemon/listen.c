/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen.h"

#define BACKLOG 128

static int
unix_listener(const struct av_socket_config *sc, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sc->path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long", sc->path);
		return -1;
	}
	memcpy(sun.sun_path, sc->path, strlen(sc->path) + 1);
	/* A stale socket from an earlier run is replaced; anything else not. */
	if (lstat(sc->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket",
			    sc->path);
			return -1;
		}
		unlink(sc->path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		goto fail;
	/* Create it with no access, then set the configured mode. */
	{
		mode_t old = umask(0777);
		int rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));

		umask(old);
		if (rc != 0)
			goto fail;
	}
	if (sc->group.set && chown(sc->path, (uid_t)-1, sc->group.gid) != 0)
		goto fail;
	if (chmod(sc->path, sc->mode) != 0 || listen(fd, BACKLOG) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "%s: %s", sc->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
tcp_listener(const struct av_tcp_config *tc, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, tc->address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)tc->port);
		len = sizeof(*in4);
	} else if (inet_pton(AF_INET6, tc->address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)tc->port);
		len = sizeof(*in6);
	} else {
		snprintf(err, errlen, "%s: not an IP address", tc->address);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) != 0 ||
	    listen(fd, BACKLOG) != 0) {
		snprintf(err, errlen, "%s:%u: %s", tc->address, tc->port,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
listeners_open(const struct av_config *cfg, struct listeners *ls, char *err,
    size_t errlen)
{
	ls->admin = ls->agent = ls->tcp = -1;
	if ((ls->admin = unix_listener(&cfg->listen.admin_socket, err,
	    errlen)) < 0 ||
	    (ls->agent = unix_listener(&cfg->listen.agent_socket, err,
	    errlen)) < 0 ||
	    (cfg->listen.tcp.enabled &&
	    (ls->tcp = tcp_listener(&cfg->listen.tcp, err, errlen)) < 0)) {
		listeners_close(cfg, ls);
		return -1;
	}
	return 0;
}

void
listeners_close(const struct av_config *cfg, struct listeners *ls)
{
	if (ls->admin >= 0) {
		close(ls->admin);
		unlink(cfg->listen.admin_socket.path);
	}
	if (ls->agent >= 0) {
		close(ls->agent);
		unlink(cfg->listen.agent_socket.path);
	}
	if (ls->tcp >= 0)
		close(ls->tcp);
	ls->admin = ls->agent = ls->tcp = -1;
}
