/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth3lo.c - GetResourceOauth2Token with USER_FEDERATION.
 *
 * A placeholder so that the M2M branch (oauth-core) builds: helper B
 * (branch oauth-3lo) owns this file and replaces it with the 3LO flow
 * (sessions, consent URL, refresh through oauth_token_fetch).
 */
#include "api.h"
#include "oauth_token.h"

int
oauth3lo_get_token(struct api_ctx *ctx, struct api_call *call,
    const struct oauth_token_call *r, json_t *out, struct av_err *e)
{
	(void)ctx;
	(void)call;
	(void)r;
	(void)out;
	return av_fail(e, AV_E_VALIDATION, "USER_FEDERATION is not supported "
	    "yet");
}
