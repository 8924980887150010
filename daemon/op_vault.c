/* SPDX-License-Identifier: Apache-2.0 */
/*
 * op_vault.c - GetTokenVault: which KEK protects the vault.
 *
 * AgentCore's answer (tokenVaultId, kmsConfiguration, lastModifiedDate),
 * with the appliance's own detail under "hsm": the token, the key's URI,
 * its check value and the wrap mechanism.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

#define VAULT_ID_DEFAULT "default"

static bool
valid_vault_id(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-' &&
		    id[i] != '_')
			return false;
	return true;
}

int
api_describe_kek(struct api_ctx *ctx, struct av_err *e)
{
	uint8_t kcv[HSM_KCV_LEN];
	CK_RV rv;
	size_t i;

	if ((rv = hsm_key_check_value(ctx->hsm, &ctx->kek, kcv)) != CKR_OK ||
	    (rv = hsm_key_uri(ctx->hsm, &ctx->kek, ctx->kek_uri,
	    sizeof(ctx->kek_uri))) != CKR_OK)
		return av_fail(e, AV_E_INTERNAL, "the HSM did not describe the "
		    "KEK: %s", hsm_rv_name(rv));
	for (i = 0; i < HSM_KCV_LEN; i++)
		snprintf(ctx->kek_kcv + 2 * i, 3, "%02X", kcv[i]);
	return 0;
}

int
op_get_token_vault(struct api_ctx *ctx, struct api_call *call, json_t *in,
    json_t *out, struct av_err *e)
{
	const char *id = VAULT_ID_DEFAULT;
	bool cmk = ctx->cfg->vault.kek_mode == AV_KEK_CUSTOMER_MANAGED;
	int64_t modified = 0;
	json_t *v;

	if ((v = json_object_get(in, "tokenVaultId")) != NULL) {
		if (!json_is_string(v) || !valid_vault_id(json_string_value(v)))
			return av_fail(e, AV_E_VALIDATION, "tokenVaultId must "
			    "match [a-zA-Z0-9-_]{1,64}");
		id = json_string_value(v);
	}
	if (json_object_size(in) > (v != NULL ? 1u : 0u))
		return av_fail(e, AV_E_VALIDATION, "unknown field in the "
		    "request");
	snprintf(call->resource, sizeof(call->resource),
	    "arn:%s:bedrock-agentcore:%s:%s:token-vault/%s",
	    ctx->cfg->appliance.partition, ctx->cfg->appliance.region,
	    ctx->cfg->appliance.account, id);
	if (api_allow(ctx, call, NULL, e) != 0)
		return -1;
	if (strcmp(id, VAULT_ID_DEFAULT) != 0)
		return av_fail(e, AV_E_NOT_FOUND, "no token vault named %s",
		    id);
	if (store_vault_record(ctx->store, av_kek_mode_name(
	    ctx->cfg->vault.kek_mode), ctx->kek_uri, &modified, e) != 0)
		return -1;
	json_object_set_new(out, "tokenVaultId", json_string(id));
	json_object_set_new(out, "lastModifiedDate", json_integer(modified));
	json_object_set_new(out, "kmsConfiguration", cmk ?
	    json_pack("{s:s, s:s}", "keyType", "CustomerManagedKey",
	    "kmsKeyArn", ctx->kek_uri) :
	    json_pack("{s:s}", "keyType", "ServiceManagedKey"));
	json_object_set_new(out, "hsm", json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "token", hsm_token_label(ctx->hsm), "serial",
	    hsm_token_serial(ctx->hsm), "keyUri", ctx->kek_uri, "keyType",
	    "AES-256", "keyCheckValue", ctx->kek_kcv, "wrapMechanism",
	    hsm_wrap_mechanism_name(ctx->hsm)));
	return 0;
}
