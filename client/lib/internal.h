/* SPDX-License-Identifier: Apache-2.0 */
/*
 * internal.h - libagentvault's private parts: the handle, the transport
 * (conn.c), HTTP (http.c), secrets (secret.c), errors (err.c).
 */
#ifndef AGENTVAULT_INTERNAL_H
#define AGENTVAULT_INTERNAL_H

#include <stdint.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "agentvault.h"

#define AVC_HEAD_MAX	8192	/* a reply's status line and headers */
#define AVC_TARGET_MAX	4096	/* a request target we build */
#define AVC_CACHE_SLOTS	8	/* workload tokens cached per handle */

struct avc_token {
	char	*workload;
	char	*user_id;	/* NULL: GetWorkloadAccessToken */
	char	*token;
	int64_t	 minted_ms;	/* monotonic, taken before asking */
};

struct av_handle {
	char		*socket_path, *host, *server_name;
	unsigned	 port;
	int		 timeout_ms;
	size_t		 max_response;

	mbedtls_entropy_context	entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_x509_crt	ca, cert;
	mbedtls_pk_context	key;
	mbedtls_ssl_config	conf;
	mbedtls_ssl_context	ssl;

	int		 fd;		/* -1: not connected */
	bool		 idle;		/* handshake done, no exchange half
					   done: close_notify is safe */
	size_t		 sent;		/* request bytes the kernel took */
	size_t		 received;	/* reply bytes read */
	bool		 lost;		/* the peer closed or reset */

	char		*buf;		/* the reply; wiped after each call */
	size_t		 cap;
	char		 request_id[40];

	struct avc_token cache[AVC_CACHE_SLOTS];
};

struct avc_reply {
	int		 status;
	const char	*body;		/* in h->buf, NUL-terminated */
	size_t		 len;
	size_t		 total;		/* bytes of h->buf to wipe */
};

/* err.c */
int	avc_fail(struct av_error *, const char *type, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	avc_clear(struct av_error *);
int	avc_api_error(av_handle *, const struct avc_reply *,
	    struct av_error *);

/* conn.c */
int64_t	avc_now_ms(void);
int	avc_tls_init(av_handle *, const struct av_options *,
	    struct av_error *);
void	avc_tls_free(av_handle *);
int	avc_connect(av_handle *, int64_t deadline, struct av_error *);
void	avc_disconnect(av_handle *);
bool	avc_stale(av_handle *);
int	avc_write(av_handle *, const char *, size_t, int64_t deadline,
	    struct av_error *);
int	avc_read(av_handle *, char *, size_t, int64_t deadline,
	    struct av_error *);

/* http.c */
int	avc_call(av_handle *, const char *method, const char *target,
	    const char *body, size_t len, bool retry_safe,
	    struct avc_reply *, struct av_error *);
/* The same with a body of another Content-Type (a form). */
int	avc_call_typed(av_handle *, const char *method, const char *target,
	    const char *type, const char *body, size_t len, bool retry_safe,
	    struct avc_reply *, struct av_error *);
void	avc_reply_wipe(av_handle *, struct avc_reply *);
/* The head in h->buf[0..hlen), hlen counting its blank line, with a byte
 * readable at h->buf[hlen]: status, Content-Length, Connection, request
 * id (tests/fuzz/fuzz_client.c drives it). */
int	avc_parse_head(av_handle *, size_t hlen, struct avc_reply *,
	    size_t *clen, bool *close_after, struct av_error *);
int	avc_urlencode(char *out, size_t cap, size_t *off, const char *s);

/* secret.c */
void	avc_wipe(void *, size_t);
void	avc_wipe_free(void *, size_t);
char	*avc_strdup(const char *);
int	avc_json_secret(const char *body, size_t len, const char *member,
	    char **out, struct av_error *);
void	avc_json_wipe(json_t *string);

/* api.c: GetResourceOauth2Token's reply (tests/fuzz/fuzz_client.c);
 * asked: the request's session URI, or NULL */
#define AVC_URL_MAX	8192	/* an authorization URL we pass on */
int	avc_oauth2_reply(const char *body, size_t len, const char *asked,
	    struct av_oauth2_result *, struct av_error *);

/* api.c, for decorate.c */
int	avc_exchange(av_handle *, const char *method, const char *target,
	    json_t *in, const char *secret_member, bool retry_safe,
	    struct avc_reply *, struct av_error *);

#endif /* AGENTVAULT_INTERNAL_H */
