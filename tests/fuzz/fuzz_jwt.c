/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_jwt.c - libFuzzer target for the JWS/JWT verifier: jwt_parse,
 * jwks_parse, jwt_verify_signature and jwt_check_claims (run whatever the
 * signature's verdict, so that mutated claims reach the claim checks).
 *
 * Input: a JWKS document, a NUL byte, a token; or, without a NUL, a token
 * checked against the built-in JWKS below, whose keys signed the seeds in
 * tests/fuzz/corpus/jwt.  No input may crash, leak or read out of bounds,
 * and no refusal may quote the token.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Public keys only (EC P-256, RSA 2048 twice with RS256 and PS256,
 * Ed25519, and an oct key that must be skipped). */
static const char builtin_jwks[] =
	"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec1\",\"use"
	"\":\"sig\",\"x\":\"MvE99ZeLQn8qttroJtRgDpq1k1d9ZBZbreLiWynLi38\","
	"\"y\":\"SL7juZwUwx-VoJsSWAAOpPDCjGycumOMvQsviXWa74w\"},{\"kty\":\""
	"RSA\",\"kid\":\"rsa1\",\"alg\":\"RS256\",\"n\":\"zIDs7M3xl6eGcd-yi"
	"3LXsogJ-4MFgKwIG5pFLNZI9P9VX_vvev8XYLstefEHnASrTJy-ZQTJcPiaFNPayzF"
	"ET6fFecq5mrid9LLO2cIGCw3ypdSdCVoze6lCL0_xy-7O2FOLySC_ICtpHE3NFxvsH"
	"Fwoo0gQPIfuA4SOL68CaOQmJTaowSL4IbMVXLP41HTVaSO9q3O6ifA4ogAcFACDh6h"
	"lJeIZoRLzSHXJc9EeaBlkGZ-d9sIAwPgGbzl_WWiFHazBTyBozq_RyRqMIqc0Rcu85"
	"HfoMiECmYv1yNuLtgtR5lmBvoa4QUYqhgrlWA2L5ZHrAXVUkM0136o1bUPZ8Q\",\""
	"e\":\"AQAB\"},{\"kty\":\"RSA\",\"kid\":\"rsa1\",\"alg\":\"PS256\","
	"\"n\":\"zIDs7M3xl6eGcd-yi3LXsogJ-4MFgKwIG5pFLNZI9P9VX_vvev8XYLstef"
	"EHnASrTJy-ZQTJcPiaFNPayzFET6fFecq5mrid9LLO2cIGCw3ypdSdCVoze6lCL0_x"
	"y-7O2FOLySC_ICtpHE3NFxvsHFwoo0gQPIfuA4SOL68CaOQmJTaowSL4IbMVXLP41H"
	"TVaSO9q3O6ifA4ogAcFACDh6hlJeIZoRLzSHXJc9EeaBlkGZ-d9sIAwPgGbzl_WWiF"
	"HazBTyBozq_RyRqMIqc0Rcu85HfoMiECmYv1yNuLtgtR5lmBvoa4QUYqhgrlWA2L5Z"
	"HrAXVUkM0136o1bUPZ8Q\",\"e\":\"AQAB\"},{\"kty\":\"OKP\",\"crv\":\""
	"Ed25519\",\"kid\":\"ed1\",\"x\":\"wEiFy63mu7u7fEptv3TXEQh-8ujQifm_"
	"_Bi7MBSCCmg\"},{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}]}";

static const char rules_json[] =
	"[{\"inboundTokenClaimName\":\"dept\",\"inboundTokenClaimValueType\":"
	"\"STRING\",\"authorizingClaimMatchValue\":{\"claimMatchOperator\":"
	"\"EQUALS\",\"claimMatchValue\":{\"matchValueString\":\"eng\"}}},"
	"{\"inboundTokenClaimName\":\"roles\",\"inboundTokenClaimValueType\":"
	"\"STRING_ARRAY\",\"authorizingClaimMatchValue\":{"
	"\"claimMatchOperator\":\"CONTAINS_ANY\",\"claimMatchValue\":{"
	"\"matchValueStringList\":[\"admin\",\"ops\"]}}}]";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const auds[] = { "api://agent", NULL };
	static const char *const clients[] = { "client-a", NULL };
	static const char *const scopes[] = { "agent:invoke", NULL };
	static struct jwk_set *builtin;
	static json_t *rules;
	struct jwt_policy p = { "https://idp.example", auds, clients, scopes,
	    NULL, 1800000000, JWT_SKEW };
	const uint8_t *nul = memchr(data, 0, size);
	struct jwk_set *own = NULL;
	const struct jwk_set *keys = builtin;
	struct jwt *t;
	struct av_err e;
	const char *tok = (const char *)data;
	size_t len = size;

	if (builtin == NULL) {
		json_error_t jerr;

		if (jwks_parse(builtin_jwks, sizeof(builtin_jwks) - 1,
		    &builtin, &e) != 0 || jwks_count(builtin) != 4 ||
		    (rules = json_loads(rules_json, 0, &jerr)) == NULL ||
		    jwt_claim_rules_valid(rules, &e) != 0)
			abort();
		keys = builtin;
	}
	p.required_claims = size % 2 ? rules : NULL;
	if (nul != NULL) {
		if (jwks_parse((const char *)data, (size_t)(nul - data), &own,
		    &e) != 0)
			own = NULL;
		else
			keys = own;
		jwks_has_kid(keys, "ec1");
		tok = (const char *)nul + 1;
		len = size - (size_t)(nul - data) - 1;
	}
	if (jwt_parse(tok, len, &t, &e) == 0) {
		jwt_kid(t);
		jwt_alg_name(t);
		if (jwt_verify_signature(t, keys, &e) != 0 &&
		    strlen(e.msg) >= AV_ERR_MSG_MAX)
			abort();
		if (jwt_check_claims(t, &p, &e) == 0 &&
		    jwt_exp(t) + JWT_SKEW <= p.now)
			abort();	/* accepted an expired token */
		jwt_claim_string(t, "sub");
		jwt_free(t);
	} else if (len >= 16 && memmem(e.msg, strlen(e.msg), tok, len) !=
	    NULL)
		abort();
	jwks_free(own);
	return 0;
}
