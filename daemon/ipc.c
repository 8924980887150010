/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "ipc.h"

int
ipc_send(int fd, uint16_t type, uint16_t flags, const void *payload,
    size_t len)
{
	struct ipc_hdr h = { (uint32_t)len, type, flags };
	struct iovec iov[2] = {
		{ &h, sizeof(h) },
		{ (void *)payload, len },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	if (len > IPC_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	do {
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n != (ssize_t)(sizeof(h) + len))
		return -1;
	return 0;
}

static int
recv_frame(int fd, struct ipc_hdr *h, void *buf, size_t cap, int flags)
{
	struct iovec iov[2] = {
		{ h, sizeof(*h) },
		{ buf, cap },
	};
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;

	do {
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | flags);
	} while (n == -1 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n == -1)
		return -1;
	/* Exactly one whole frame, as announced, within the limit. */
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
	    (size_t)n < sizeof(*h) || h->len > IPC_MAX_PAYLOAD ||
	    (size_t)n != sizeof(*h) + h->len) {
		errno = EPROTO;
		return -1;
	}
	return 1;
}

int
ipc_recv(int fd, struct ipc_hdr *h, void *buf, size_t cap)
{
	return recv_frame(fd, h, buf, cap, 0);
}

int
ipc_try_recv(int fd, struct ipc_hdr *h, void *buf, size_t cap)
{
	int rc = recv_frame(fd, h, buf, cap, MSG_DONTWAIT);

	if (rc == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 2;
	return rc;
}
