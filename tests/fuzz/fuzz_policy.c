/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_policy.c - libFuzzer target for the policy parser and compiler:
 * no input may crash, leak or read out of bounds, a refusal must say
 * where (FILE:LINE:COLUMN), and whatever compiles is evaluated against
 * a request built from the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const actions[] = {
		"bedrock-agentcore:GetResourceApiKey", "s3:GetObject", "",
	};
	struct policy_decision d;
	struct policy_set *s;
	struct policy_doc *doc;
	struct policy_ctx c;
	struct av_err e;
	char value[64];
	size_t n;

	memset(&e, 0, sizeof(e));
	if ((doc = policy_parse("f", (const char *)data, size, &e)) == NULL) {
		if (strncmp(e.msg, "f:", 2) != 0 &&
		    strcmp(e.type, AV_E_INTERNAL) != 0)
			abort();
		return 0;
	}
	if ((s = policy_set_new(&e)) == NULL ||
	    policy_set_add(s, doc, &e) != 0)
		abort();
	/* A request whose values come from the input's tail. */
	n = size < sizeof(value) - 1 ? size : sizeof(value) - 1;
	memcpy(value, data + size - n, n);
	value[n] = '\0';
	policy_ctx_init(&c, actions[size % 3], value);
	policy_ctx_add(&c, "aws:PrincipalTag/tenant", value, &e);
	policy_ctx_add(&c, "t:k", value, &e);
	policy_ctx_add(&c, "t:k", "x", &e);
	policy_eval(s, &c, &d);
	policy_ctx_init(&c, value, "arn:aws:bedrock-agentcore:us-east-1:1:x");
	policy_eval(s, &c, &d);
	policy_set_free(s);
	return 0;
}
