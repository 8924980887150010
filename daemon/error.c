/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int
av_fail(struct av_err *e, const char *type, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->type = type;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
av_err_status(const char *type)
{
	static const struct {
		const char	*type;
		int		 status;
	} map[] = {
		{ AV_E_VALIDATION, 400 },
		{ AV_E_UNAUTHORIZED, 401 },
		{ AV_E_ACCESS_DENIED, 403 },
		{ AV_E_NOT_FOUND, 404 },
		{ AV_E_CONFLICT, 409 },
		{ AV_E_QUOTA, 402 },
		{ AV_E_THROTTLING, 429 },
		{ AV_E_DECRYPTION, 400 },
		{ AV_E_ENCRYPTION, 400 },
	};
	size_t i;

	for (i = 0; type != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].type, type) == 0)
			return map[i].status;
	return 500;
}
