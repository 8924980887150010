/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ipc.h - framed messages between the parent (monitor) and the worker.
 *
 * A frame is a fixed header (payload length, type, flags) and a payload of
 * at most IPC_MAX_PAYLOAD bytes, over a SOCK_SEQPACKET socketpair so that
 * one send is one frame.  Each side knows which types the other may send
 * and in which order; the parent kills a worker that sends anything else
 * (daemon/parent.c).
 */
#ifndef AV_IPC_H
#define AV_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_MAX_PAYLOAD	(64 * 1024)

enum ipc_type {
	/* worker -> parent */
	IPC_READY = 1,		/* the worker is serving; payload empty */
	IPC_AUDIT = 2,		/* one audit event (JSON object) */
	/* parent -> worker */
	IPC_AUDIT_OK = 101,	/* the next N events are in the log (synced) */
	IPC_AUDIT_FAIL = 102,	/* the next N events are not: fail closed */
};

/*
 * A loop's channel is a pipeline: the worker sends events without
 * waiting, the parent answers them in order, several at a time.  The
 * answers' payload is the count they cover (struct ipc_audit_answer).
 */
struct ipc_audit_answer {
	uint32_t	count;		/* 1 .. IPC_AUDIT_BATCH */
};

#define IPC_AUDIT_BATCH	64	/* events the parent takes in one go */

#define IPC_F_SYNC	0x0001	/* IPC_AUDIT: fsync before answering */

struct ipc_hdr {
	uint32_t	len;
	uint16_t	type;
	uint16_t	flags;
};

/*
 * IPC_AUDIT's payload: fixed-size, NUL-terminated fields, so the parent
 * checks sizes and characters instead of parsing anything.
 */
struct ipc_audit_event {
	char		request_id[40];
	char		operation[64];
	char		outcome[16];
	char		error[64];
	char		resource[1024];
	char		subject[256];
	char		principal[65];	/* "" when none */
	char		decision[512];	/* what decided, "" for none */
	char		user_issuer[2049];	/* a JWT user's, "" for none */
	char		user_subject_hash[65];	/* its sub's SHA-256 (hex) */
	uint32_t	listener;
	uint32_t	has_cred;
	uint32_t	uid;
	uint32_t	gid;
	int32_t		pid;
};

/* Send one frame; 0 or -1 (errno set). */
int ipc_send(int fd, uint16_t type, uint16_t flags, const void *payload,
    size_t len);
/*
 * Receive one frame into buf (cap bytes, at most IPC_MAX_PAYLOAD + 1 used).
 * Returns 1 with *h filled, 0 on EOF, -1 on error or a frame that is
 * truncated, oversized or malformed (errno EPROTO).
 */
int ipc_recv(int fd, struct ipc_hdr *h, void *buf, size_t cap);
/* The same without waiting: 2 when no frame is there yet. */
int ipc_try_recv(int fd, struct ipc_hdr *h, void *buf, size_t cap);

#endif /* AV_IPC_H */
