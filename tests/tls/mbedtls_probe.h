/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mbedtls_probe: minimal mbedTLS TLS 1.2 client used by the tests to prove
 * that a TLS server (whose private key lives in the HSM) completes a
 * handshake and verifies against the appliance CA.
 */

#ifndef AGENT_VAULT_TESTS_TLS_MBEDTLS_PROBE_H
#define AGENT_VAULT_TESTS_TLS_MBEDTLS_PROBE_H

#include <stddef.h>

/*
 * Over an already-connected stream socket fd: TLS 1.2 client handshake
 * (mbedTLS), verifying the server chain against the PEM CA file ca_path and
 * the certificate's name against server_name (required, non-NULL); then write
 * the NUL-terminated msg, read one reply (up to reply_cap-1 bytes,
 * NUL-terminated), send close_notify.  On success returns 0 and writes to
 * info a short text "TLSv1.2 <ciphersuite name>". On failure returns -1 and
 * writes a readable reason to err: the mbedTLS error string
 * (mbedtls_strerror) and, for a verification failure, the
 * mbedtls_x509_crt_verify_info text. Never leaks memory (free everything on
 * every path). Does not close fd.
 */
int mbed_probe(int fd, const char *ca_path, const char *server_name,
    const char *msg, char *reply, size_t reply_cap,
    char *info, size_t info_len, char *err, size_t err_len);

#endif /* AGENT_VAULT_TESTS_TLS_MBEDTLS_PROBE_H */
