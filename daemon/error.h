/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.h - the daemon's one error convention.
 *
 * Functions that can fail return 0 or -1 and, on -1, fill a struct av_err
 * (when the caller passed one): the API exception the client will see
 * (AgentCore's names, spec §5) and a message that is safe to show it.
 * Messages never contain secrets; details meant only for the operator go
 * to the log, not here.
 */
#ifndef AV_ERROR_H
#define AV_ERROR_H

#include <stddef.h>

#define AV_ERR_MSG_MAX 256

/* Exception names, as AgentCore Identity spells them. */
#define AV_E_VALIDATION		"ValidationException"
#define AV_E_ACCESS_DENIED	"AccessDeniedException"
#define AV_E_NOT_FOUND		"ResourceNotFoundException"
#define AV_E_CONFLICT		"ConflictException"
#define AV_E_QUOTA		"ServiceQuotaExceededException"
#define AV_E_THROTTLING		"ThrottlingException"
#define AV_E_INTERNAL		"InternalServerException"
#define AV_E_UNAUTHORIZED	"UnauthorizedException"
#define AV_E_DECRYPTION		"DecryptionFailure"
#define AV_E_ENCRYPTION		"EncryptionFailure"

struct av_err {
	const char	*type;			/* one of AV_E_* */
	char		 msg[AV_ERR_MSG_MAX];
};

/* Fill e (if not NULL) and return -1. */
int av_fail(struct av_err *e, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The HTTP status that goes with an exception name. */
int av_err_status(const char *type);

#endif /* AV_ERROR_H */
