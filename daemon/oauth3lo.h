/* SPDX-License-Identifier: Apache-2.0 */
/*
 * oauth3lo.h - the three-legged OAuth2 flow (USER_FEDERATION): see
 * oauth3lo.c.
 */
#ifndef AV_OAUTH3LO_H
#define AV_OAUTH3LO_H

#include <jansson.h>

#include "api.h"

/*
 * GetResourceOauth2Token with oauth2Flow USER_FEDERATION, the call
 * already authorized, in its request (the common fields checked), for
 * workload (an identity name) and user (from the workload access token;
 * "" is ValidationException).  0 with out filled, API_PENDING (a refresh
 * in flight: api_resume() finishes the call), or -1.
 */
int oauth3lo_get_token(struct api_ctx *ctx, struct api_call *call,
    json_t *in, const char *workload, const char *user, json_t *out,
    struct av_err *e);

/* GET /identities/oauth2/callback (the browser plane). */
api_op_fn op_oauth2_callback;
/* POST /identities/CompleteResourceTokenAuth. */
api_op_fn op_complete_resource_token_auth;
/* POST /identities/oauth2/token. */
api_op_fn op_get_resource_oauth2_token;

#endif /* AV_OAUTH3LO_H */
