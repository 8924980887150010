/* SPDX-License-Identifier: Apache-2.0 */
/*
 * selftest.h - power-on self-tests, run by the parent before it serves:
 * known-answer tests of AES-256-GCM, SHA-256, HMAC-SHA256 and ECDSA P-256
 * verification, then a pairwise sign/verify with every HSM signing key
 * and a wrap/unwrap round trip with the service-managed KEK.
 */
#ifndef AV_SELFTEST_H
#define AV_SELFTEST_H

#include <stddef.h>

#include "hsm.h"

struct av_config;

/* The software known-answer tests alone. */
int selftest_kat(char *err, size_t errlen);
/* Everything; 0, or -1 with the first failure named in err. */
int selftest_run(const struct av_config *cfg, struct hsm *h, char *err,
    size_t errlen);

#endif /* AV_SELFTEST_H */
