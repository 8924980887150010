/* SPDX-License-Identifier: Apache-2.0 */
/*
 * testenv.h - what tests/setup-token.sh prepared (see DIR/testvars).
 */
#ifndef AV_TESTENV_H
#define AV_TESTENV_H

#include <stdio.h>
#include <stdlib.h>

#include "hsm.h"

static inline const char *
testenv(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL) {
		fprintf(stderr, "%s is not set: run through tests/run.sh or "
		    "source the testvars file\n", name);
		exit(1);
	}
	return v;
}

/* Open the test token and log in; aborts the test program on failure. */
static inline struct hsm *
testenv_hsm(unsigned pool)
{
	struct hsm *h = NULL;
	char buf[256];
	CK_RV rv;

	rv = hsm_open(testenv("AV_TEST_MODULE"), testenv("AV_TEST_TOKEN"),
	    pool, &h);
	if (rv == CKR_OK && (rv = hsm_login(h, testenv("AV_TEST_PIN"))) !=
	    CKR_OK)
		hsm_close(h);
	if (rv != CKR_OK) {
		fprintf(stderr, "test token: %s\n",
		    hsm_rv_describe(rv, buf, sizeof(buf)));
		exit(1);
	}
	return h;
}

#endif /* AV_TESTENV_H */
