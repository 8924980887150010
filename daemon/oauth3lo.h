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
 * oauth3lo_get_token (oauth_token.h): GetResourceOauth2Token with
 * USER_FEDERATION, the call authorized; a user is required.  0 with out
 * filled, API_PENDING (a refresh in flight), or -1.
 */

/* GET /identities/oauth2/callback (the browser plane). */
api_op_fn op_oauth2_callback;
/* POST /identities/CompleteResourceTokenAuth. */
api_op_fn op_complete_resource_token_auth;

#endif /* AV_OAUTH3LO_H */
