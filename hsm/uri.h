/*
 * uri.h - strict parser for RFC 7512 "pkcs11:" URIs.
 *
 * Only what Agent Vault uses is accepted; everything else is an error, so
 * that a URI never silently selects a different object than its author
 * meant.  Accepted path attributes: token, manufacturer, serial, model,
 * library-manufacturer, library-description, library-version, slot-id,
 * slot-description, slot-manufacturer, object, id, type.  Accepted query
 * attributes: module-path, module-name, pin-source.  pin-value is refused
 * (a PIN must not travel inside a URI, which ends up in logs and argv).
 * Unknown or vendor (x-) attributes, duplicates, bad percent-encoding,
 * %00, over-long values and over-long URIs are refused.
 */
#ifndef AV_HSM_URI_H
#define AV_HSM_URI_H

#include <stddef.h>
#include <stdbool.h>
#include <p11-kit/pkcs11.h>

#define HSM_URI_MAX        2048  /* longest URI text accepted */
#define HSM_URI_LABEL_MAX  128   /* object= (CKA_LABEL), bytes once decoded */
#define HSM_URI_ID_MAX     64    /* id= bytes once decoded */
#define HSM_URI_PATH_MAX   1024  /* module-path=, pin-source= */

enum hsm_uri_type {
	HSM_URI_TYPE_ANY = 0,      /* no type= attribute */
	HSM_URI_TYPE_PRIVATE,      /* type=private */
	HSM_URI_TYPE_PUBLIC,       /* type=public */
	HSM_URI_TYPE_SECRET_KEY,   /* type=secret-key */
	HSM_URI_TYPE_CERT,         /* type=cert */
	HSM_URI_TYPE_DATA,         /* type=data */
};

struct hsm_uri {
	/* Token attributes (CK_TOKEN_INFO, at most 32/16 bytes, unpadded). */
	bool has_token, has_manufacturer, has_serial, has_model;
	char token[33];
	char manufacturer[33];
	char serial[17];
	char model[17];

	/* Library and slot attributes. */
	bool has_lib_manufacturer, has_lib_description, has_lib_version;
	char lib_manufacturer[33];
	char lib_description[33];
	unsigned lib_version_major, lib_version_minor;
	bool has_slot_id, has_slot_description, has_slot_manufacturer;
	CK_SLOT_ID slot_id;
	char slot_description[65];
	char slot_manufacturer[33];

	/* Object attributes. */
	bool has_object, has_id;
	char object[HSM_URI_LABEL_MAX + 1];
	unsigned char id[HSM_URI_ID_MAX];
	size_t id_len;
	enum hsm_uri_type type;

	/* Query attributes. */
	bool has_module_path, has_module_name, has_pin_source;
	char module_path[HSM_URI_PATH_MAX + 1];
	char module_name[HSM_URI_PATH_MAX + 1];
	char pin_source[HSM_URI_PATH_MAX + 1];
};

/*
 * Parse text (NUL-terminated) into *out.  Returns CKR_OK, or HSM_R_URI_SYNTAX
 * with a reason in why (a static string, may be NULL) such as "duplicate
 * attribute" or "pin-value is not accepted".  *out is zeroed first.
 */
CK_RV hsm_uri_parse(const char *text, struct hsm_uri *out, const char **why);

/*
 * Write a canonical URI for u into buf: token, manufacturer, serial, model,
 * object, id, type, then the library and slot attributes, then the query
 * (module-path, module-name, pin-source); values percent-encoded where RFC
 * 7512 requires, id always as %XX.  The parser refuses a URI whose
 * canonical form would exceed HSM_URI_MAX, so parse(format(u)) == u.
 * Returns CKR_OK or HSM_R_BAD_INPUT when buf is too small.
 */
CK_RV hsm_uri_format(const struct hsm_uri *u, char *buf, size_t len);

/* CKO_* class for a type (CK_UNAVAILABLE_INFORMATION for ANY). */
CK_OBJECT_CLASS hsm_uri_type_class(enum hsm_uri_type t);

#endif /* AV_HSM_URI_H */
