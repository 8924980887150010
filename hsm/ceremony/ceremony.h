/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ceremony.h - agentvault-ceremony: key ceremonies on the appliance's token.
 */
#ifndef AV_CEREMONY_H
#define AV_CEREMONY_H

#include <stdbool.h>
#include <stddef.h>

#include "../hsm.h"

#define CER_TLS_NAMES_MAX 8

struct cer_opts {
	const char	*module;	/* PKCS#11 module path */
	const char	*token;		/* pkcs11: URI of the token */
	const char	*pin;		/* file:PATH or env:NAME */
	const char	*dir;		/* dev-token: token directory */
	const char	*label;		/* dev-token: token label;
					   the others: key label */
	const char	*out;		/* init: where certificates go */
	bool		 force;		/* init: replace existing keys */
	const char	*tls_names[CER_TLS_NAMES_MAX];
	size_t		 n_tls_names;
};

/* The appliance's keys, by role.  The daemon finds them by these labels. */
struct cer_role {
	const char		*label;
	enum hsm_key_kind	 kind;
	const char		*use;
};
extern const struct cer_role cer_roles[];
extern const size_t cer_nroles;

#define CER_LABEL_KEK		"agentvault-kek"
#define CER_LABEL_CA		"agentvault-ca"
#define CER_LABEL_TLS		"agentvault-tls"
#define CER_LABEL_TOKEN_SIGNING	"agentvault-token-signing"
/* The prefix of OAuth client keys (private_key_jwt); the daemon loads
 * every private key whose label starts with it. */
#define CER_LABEL_OAUTH_CLIENT	"agentvault-oauth-client-"
#define CER_LABEL_MAX		64	/* key labels we make */

int cer_dev_token(const struct cer_opts *o);
int cer_init(const struct cer_opts *o);
int cer_inventory(const struct cer_opts *o);
int cer_rotate_token_key(const struct cer_opts *o);
/* oauthkey.c: generate (create) or show an OAuth client key and print
 * its public JWK. */
int cer_oauth_client_key(const struct cer_opts *o, bool create);
/* A key label of 1 to CER_LABEL_MAX of [A-Za-z0-9._-]: it goes into a
 * pkcs11: URI as is. */
bool cer_label_ok(const char *s);

/* inventory.c: print the inventory of an open, logged-in token, or the
 * entry of one key (0, or 1 when it is missing). */
int cer_print_inventory(struct hsm *h);
int cer_print_key(struct hsm *h, const struct cer_role *r);
/* certs.c: issue the CA and TLS certificates through the provider. */
int cer_issue_certs(struct hsm *h, const struct cer_opts *o);
/* main.c: open and log in as the options say; prints why on failure. */
struct hsm *cer_open(const struct cer_opts *o);
/* Print "what: CKR_X (0x..): text" on stderr and return 1. */
int cer_fail(const char *what, CK_RV rv);

#endif /* AV_CEREMONY_H */
