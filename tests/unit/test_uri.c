/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_uri.c - unit tests for the RFC 7512 "pkcs11:" URI parser (hsm/uri.c).
 *
 * Build: gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I hsm \
 *     -I/usr/include/p11-kit-1 tests/unit/test_uri.c hsm/uri.c -lcmocka
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hsm.h"
#include "uri.h"

/* Room for the longest texts the tests build. */
#define BIG	(HSM_URI_MAX * 4)

static void
parse_ok(const char *text, struct hsm_uri *u)
{
	const char *why = "not set";
	CK_RV rv;

	rv = hsm_uri_parse(text, u, &why);
	if (rv != CKR_OK)
		print_error("parse \"%s\": %s\n", text,
		    why != NULL ? why : "(null)");
	assert_int_equal(rv, CKR_OK);
	assert_null(why);
}

static void
parse_bad(const char *text, const char *want_why)
{
	struct hsm_uri u, zero;
	const char *why = NULL;

	memset(&u, 0xa5, sizeof(u));
	memset(&zero, 0, sizeof(zero));
	assert_int_equal(hsm_uri_parse(text, &u, &why), HSM_R_URI_SYNTAX);
	assert_non_null(why);
	assert_string_equal(why, want_why);
	/* A failed parse leaves nothing half-filled behind. */
	assert_memory_equal(&u, &zero, sizeof(u));
}

/* parse(text), format, compare with canonical (if any), parse again. */
static void
round_trip(const char *text, const char *canonical)
{
	struct hsm_uri a, b;
	char buf[HSM_URI_MAX + 1];

	parse_ok(text, &a);
	assert_int_equal(hsm_uri_format(&a, buf, sizeof(buf)), CKR_OK);
	if (canonical != NULL)
		assert_string_equal(buf, canonical);
	parse_ok(buf, &b);
	assert_memory_equal(&a, &b, sizeof(a));
}

/* "prefix" + n copies of c + "suffix" into buf. */
static const char *
build(char *buf, size_t len, const char *prefix, char c, size_t n,
    const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix);

	assert_true(p + n + s < len);
	memcpy(buf, prefix, p);
	memset(buf + p, c, n);
	memcpy(buf + p + n, suffix, s + 1);
	return buf;
}

/* Same with n copies of a 3-character %XX string. */
static const char *
build_pct(char *buf, size_t len, const char *prefix, const char *pct,
    size_t n, const char *suffix)
{
	size_t p = strlen(prefix), s = strlen(suffix), i;

	assert_true(p + 3 * n + s < len);
	memcpy(buf, prefix, p);
	for (i = 0; i < n; i++)
		memcpy(buf + p + 3 * i, pct, 3);
	memcpy(buf + p + 3 * n, suffix, s + 1);
	return buf;
}

/* ---- valid URIs ---- */

static void
test_empty_path(void **state)
{
	struct hsm_uri u, zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	parse_ok("pkcs11:", &u);
	assert_memory_equal(&u, &zero, sizeof(u));
	/* The grammar allows an empty query too. */
	parse_ok("pkcs11:?", &u);
	assert_memory_equal(&u, &zero, sizeof(u));
}

static void
test_scheme_case(void **state)
{
	struct hsm_uri u;

	(void)state;
	parse_ok("PKCS11:token=a", &u);
	assert_true(u.has_token);
	assert_string_equal(u.token, "a");
	parse_ok("Pkcs11:object=b", &u);
	assert_string_equal(u.object, "b");
}

static void
test_token_attrs(void **state)
{
	struct hsm_uri u;

	(void)state;
	parse_ok("pkcs11:token=Vault%20HSM;manufacturer=SoftHSM%20project;"
	    "serial=0123456789abcdef;model=SoftHSM%20v2", &u);
	assert_true(u.has_token && u.has_manufacturer && u.has_serial &&
	    u.has_model);
	assert_string_equal(u.token, "Vault HSM");
	assert_string_equal(u.manufacturer, "SoftHSM project");
	assert_string_equal(u.serial, "0123456789abcdef");
	assert_string_equal(u.model, "SoftHSM v2");
	assert_false(u.has_object || u.has_id || u.has_slot_id);
	assert_int_equal(u.type, HSM_URI_TYPE_ANY);
}

static void
test_library_attrs(void **state)
{
	struct hsm_uri u;

	(void)state;
	parse_ok("pkcs11:library-manufacturer=OpenSC%20Project;"
	    "library-description=OpenSC%20smartcard%20framework;"
	    "library-version=0.23", &u);
	assert_true(u.has_lib_manufacturer && u.has_lib_description &&
	    u.has_lib_version);
	assert_string_equal(u.lib_manufacturer, "OpenSC Project");
	assert_string_equal(u.lib_description, "OpenSC smartcard framework");
	assert_int_equal(u.lib_version_major, 0);
	assert_int_equal(u.lib_version_minor, 23);
}

static void
test_library_version_forms(void **state)
{
	struct hsm_uri u;

	(void)state;
	/* "M" alone means M.0. */
	parse_ok("pkcs11:library-version=3", &u);
	assert_true(u.has_lib_version);
	assert_int_equal(u.lib_version_major, 3);
	assert_int_equal(u.lib_version_minor, 0);
	parse_ok("pkcs11:library-version=255.255", &u);
	assert_int_equal(u.lib_version_major, 255);
	assert_int_equal(u.lib_version_minor, 255);
	parse_ok("pkcs11:library-version=002.040", &u);
	assert_int_equal(u.lib_version_major, 2);
	assert_int_equal(u.lib_version_minor, 40);
}

static void
test_slot_attrs(void **state)
{
	struct hsm_uri u;

	(void)state;
	parse_ok("pkcs11:slot-id=42;slot-description=Slot%20%230;"
	    "slot-manufacturer=ACME", &u);
	assert_true(u.has_slot_id && u.has_slot_description &&
	    u.has_slot_manufacturer);
	assert_int_equal(u.slot_id, 42);
	assert_string_equal(u.slot_description, "Slot #0");
	assert_string_equal(u.slot_manufacturer, "ACME");
	parse_ok("pkcs11:slot-id=0", &u);
	assert_true(u.has_slot_id);
	assert_int_equal(u.slot_id, 0);
}

static void
test_slot_id_max(void **state)
{
	struct hsm_uri u;
	char text[64];

	(void)state;
	snprintf(text, sizeof(text), "pkcs11:slot-id=%lu", ULONG_MAX);
	parse_ok(text, &u);
	assert_true(u.slot_id == (CK_SLOT_ID)ULONG_MAX);
}

static void
test_token_object_type(void **state)
{
	struct hsm_uri u;

	(void)state;
	parse_ok("pkcs11:token=vault;object=kek-2024;type=secret-key", &u);
	assert_true(u.has_token && u.has_object);
	assert_string_equal(u.token, "vault");
	assert_string_equal(u.object, "kek-2024");
	assert_int_equal(u.type, HSM_URI_TYPE_SECRET_KEY);
	assert_false(u.has_id);
}

static void
test_each_type(void **state)
{
	static const struct {
		const char *text;
		enum hsm_uri_type type;
		CK_OBJECT_CLASS cls;
	} t[] = {
		{ "pkcs11:type=private", HSM_URI_TYPE_PRIVATE,
		    CKO_PRIVATE_KEY },
		{ "pkcs11:type=public", HSM_URI_TYPE_PUBLIC, CKO_PUBLIC_KEY },
		{ "pkcs11:type=secret-key", HSM_URI_TYPE_SECRET_KEY,
		    CKO_SECRET_KEY },
		{ "pkcs11:type=cert", HSM_URI_TYPE_CERT, CKO_CERTIFICATE },
		{ "pkcs11:type=data", HSM_URI_TYPE_DATA, CKO_DATA },
	};
	struct hsm_uri u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		parse_ok(t[i].text, &u);
		assert_int_equal(u.type, t[i].type);
		assert_int_equal(hsm_uri_type_class(u.type), t[i].cls);
	}
	assert_int_equal(hsm_uri_type_class(HSM_URI_TYPE_ANY),
	    CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(hsm_uri_type_class((enum hsm_uri_type)7),
	    CK_UNAVAILABLE_INFORMATION);
}

static void
test_id_binary(void **state)
{
	static const unsigned char want[] = { 0x00, 0x01, 0xff, 0xfe, 0x0a,
	    0x00, 'A' };
	struct hsm_uri u;

	(void)state;
	/* id is binary: %00 is a byte like any other; hex in either case. */
	parse_ok("pkcs11:id=%00%01%ff%FE%0a%00A", &u);
	assert_true(u.has_id);
	assert_int_equal(u.id_len, sizeof(want));
	assert_memory_equal(u.id, want, sizeof(want));
}

static void
test_label_encoded(void **state)
{
	struct hsm_uri u;

	(void)state;
	parse_ok("pkcs11:object=my%20signing%20key%3Bv2%25", &u);
	assert_string_equal(u.object, "my signing key;v2%");
	/* Non-ASCII text travels percent-encoded (UTF-8 "café"). */
	parse_ok("pkcs11:object=caf%C3%A9", &u);
	assert_string_equal(u.object, "caf\xc3\xa9");
}

static void
test_path_res_avail(void **state)
{
	struct hsm_uri u;

	(void)state;
	/* Every pk11-path-res-avail character may appear raw; '=' too. */
	parse_ok("pkcs11:object=:[]@!$'()*+,=&-._~", &u);
	assert_string_equal(u.object, ":[]@!$'()*+,=&-._~");
	parse_ok("pkcs11:object=a=b", &u);
	assert_string_equal(u.object, "a=b");
}

static void
test_query_attrs(void **state)
{
	struct hsm_uri u;

	(void)state;
	parse_ok("pkcs11:token=vault;object=tls?module-path=/usr/lib/softhsm/"
	    "libsofthsm2.so&pin-source=file:/etc/agent-vault/pin", &u);
	assert_true(u.has_token && u.has_object);
	assert_true(u.has_module_path && u.has_pin_source);
	assert_false(u.has_module_name);
	assert_string_equal(u.module_path, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(u.pin_source, "file:/etc/agent-vault/pin");

	parse_ok("pkcs11:?module-name=softhsm2&pin-source=env:AV_PIN", &u);
	assert_true(u.has_module_name && u.has_pin_source);
	assert_string_equal(u.module_name, "softhsm2");
	assert_string_equal(u.pin_source, "env:AV_PIN");
}

static void
test_query_res_avail(void **state)
{
	struct hsm_uri u;

	(void)state;
	/* '/', '?' and '|' may be raw in the query; '&' must be encoded. */
	parse_ok("pkcs11:?pin-source=file:/a?b|c%26d", &u);
	assert_string_equal(u.pin_source, "file:/a?b|c&d");
}

static void
test_empty_values(void **state)
{
	struct hsm_uri u;

	(void)state;
	/* Present and empty: matches only an empty CKA_LABEL / CKA_ID. */
	parse_ok("pkcs11:object=;id=;token=", &u);
	assert_true(u.has_object && u.has_id && u.has_token);
	assert_string_equal(u.object, "");
	assert_string_equal(u.token, "");
	assert_int_equal(u.id_len, 0);
}

static void
test_max_lengths(void **state)
{
	char text[BIG];
	struct hsm_uri u;

	(void)state;
	parse_ok(build(text, sizeof(text), "pkcs11:token=", 't', 32, ""), &u);
	assert_int_equal(strlen(u.token), 32);
	parse_ok(build(text, sizeof(text), "pkcs11:serial=", 's', 16, ""),
	    &u);
	assert_int_equal(strlen(u.serial), 16);
	parse_ok(build(text, sizeof(text), "pkcs11:slot-description=", 'd',
	    64, ""), &u);
	assert_int_equal(strlen(u.slot_description), 64);
	parse_ok(build_pct(text, sizeof(text), "pkcs11:object=", "%41",
	    HSM_URI_LABEL_MAX, ""), &u);
	assert_int_equal(strlen(u.object), HSM_URI_LABEL_MAX);
	parse_ok(build_pct(text, sizeof(text), "pkcs11:id=", "%00",
	    HSM_URI_ID_MAX, ""), &u);
	assert_int_equal(u.id_len, HSM_URI_ID_MAX);
	parse_ok(build(text, sizeof(text), "pkcs11:?module-path=/", 'm',
	    HSM_URI_PATH_MAX - 1, ""), &u);
	assert_int_equal(strlen(u.module_path), HSM_URI_PATH_MAX);
}

static void
test_uri_max_exact(void **state)
{
	char text[BIG];
	struct hsm_uri u;
	size_t n;

	(void)state;
	/* Exactly HSM_URI_MAX characters is still accepted. */
	build(text, sizeof(text), "pkcs11:?module-path=/", 'm',
	    HSM_URI_PATH_MAX - 1, "&module-name=");
	n = strlen(text);
	build(text + n, sizeof(text) - n, "", 'n', HSM_URI_MAX - n, "");
	assert_int_equal(strlen(text), HSM_URI_MAX);
	parse_ok(text, &u);
	assert_true(u.has_module_path && u.has_module_name);
	assert_int_equal(strlen(u.module_path), HSM_URI_PATH_MAX);
}

static void
test_why_may_be_null(void **state)
{
	struct hsm_uri u;

	(void)state;
	assert_int_equal(hsm_uri_parse("pkcs11:token=a", &u, NULL), CKR_OK);
	assert_int_equal(hsm_uri_parse("pkcs11:foo=a", &u, NULL),
	    HSM_R_URI_SYNTAX);
	assert_int_equal(hsm_uri_parse("pkcs11:", NULL, NULL),
	    HSM_R_BAD_INPUT);
}

/* ---- malformed URIs: one case each ---- */

#define BAD(fn, text, reason)						\
static void								\
fn(void **state)							\
{									\
	(void)state;							\
	parse_bad(text, reason);					\
}

BAD(bad_unknown_attr, "pkcs11:foo=bar", "unknown attribute")
BAD(bad_attr_case, "pkcs11:Token=a", "unknown attribute")
BAD(bad_attr_encoded_name, "pkcs11:t%6Fken=a", "unknown attribute")
BAD(bad_vendor_path, "pkcs11:x-foo=bar", "vendor attribute not accepted")
BAD(bad_vendor_query, "pkcs11:?x-foo=bar", "vendor attribute not accepted")
BAD(bad_dup_token, "pkcs11:token=a;token=a", "duplicate attribute")
BAD(bad_dup_type, "pkcs11:type=cert;object=a;type=cert",
    "duplicate attribute")
BAD(bad_dup_empty_id, "pkcs11:id=;id=", "duplicate attribute")
BAD(bad_dup_query, "pkcs11:?pin-source=file:/a&pin-source=file:/b",
    "duplicate attribute")
BAD(bad_pin_value, "pkcs11:token=a?pin-value=1234",
    "pin-value is not accepted: give a pin-source")
BAD(bad_pin_value_path, "pkcs11:pin-value=1234",
    "pin-value is not accepted: give a pin-source")
BAD(bad_pct_truncated, "pkcs11:object=%0", "bad percent-encoding")
BAD(bad_pct_alone, "pkcs11:object=a%", "bad percent-encoding")
BAD(bad_pct_nonhex, "pkcs11:object=%zz", "bad percent-encoding")
BAD(bad_pct_half_hex, "pkcs11:object=%4g", "bad percent-encoding")
BAD(bad_pct_before_sep, "pkcs11:object=%4;token=a", "bad percent-encoding")
BAD(bad_pct_in_id, "pkcs11:id=%0x", "bad percent-encoding")
BAD(bad_nul_label, "pkcs11:object=a%00b", "percent-encoded NUL in value")
BAD(bad_nul_token, "pkcs11:token=%00", "percent-encoded NUL in value")
BAD(bad_nul_pin_source, "pkcs11:?pin-source=file:/a%00",
    "percent-encoded NUL in value")
BAD(bad_type_underscore, "pkcs11:type=secret_key", "unknown type")
BAD(bad_type_case, "pkcs11:type=Cert", "unknown type")
BAD(bad_type_empty, "pkcs11:type=", "unknown type")
BAD(bad_type_encoded, "pkcs11:type=cer%74", "unknown type")
BAD(bad_type_prefix, "pkcs11:type=certificate", "unknown type")
BAD(bad_slot_id_alpha, "pkcs11:slot-id=12a", "bad slot-id")
BAD(bad_slot_id_negative, "pkcs11:slot-id=-1", "bad slot-id")
BAD(bad_slot_id_plus, "pkcs11:slot-id=+1", "bad slot-id")
BAD(bad_slot_id_empty, "pkcs11:slot-id=", "bad slot-id")
BAD(bad_slot_id_hex, "pkcs11:slot-id=0x10", "bad slot-id")
BAD(bad_slot_id_encoded, "pkcs11:slot-id=%31", "bad slot-id")
BAD(bad_slot_id_overflow, "pkcs11:slot-id=18446744073709551616",
    "bad slot-id")
BAD(bad_slot_id_huge, "pkcs11:slot-id=99999999999999999999999999",
    "bad slot-id")
BAD(bad_lib_version_dot, "pkcs11:library-version=1.", "bad library-version")
BAD(bad_lib_version_lead, "pkcs11:library-version=.1",
    "bad library-version")
BAD(bad_lib_version_three, "pkcs11:library-version=1.2.3",
    "bad library-version")
BAD(bad_lib_version_big, "pkcs11:library-version=256",
    "bad library-version")
BAD(bad_lib_version_minor_big, "pkcs11:library-version=1.1000",
    "bad library-version")
BAD(bad_lib_version_empty, "pkcs11:library-version=", "bad library-version")
BAD(bad_empty_name, "pkcs11:=x", "empty attribute name")
BAD(bad_empty_name_query, "pkcs11:?=x", "empty attribute name")
BAD(bad_missing_eq, "pkcs11:token", "missing '='")
BAD(bad_missing_eq_query, "pkcs11:?module-path", "missing '='")
BAD(bad_trailing_semicolon, "pkcs11:token=a;", "empty attribute")
BAD(bad_leading_semicolon, "pkcs11:;token=a", "empty attribute")
BAD(bad_double_semicolon, "pkcs11:token=a;;object=b", "empty attribute")
BAD(bad_lone_semicolon, "pkcs11:;", "empty attribute")
BAD(bad_trailing_amp, "pkcs11:?module-path=/a&", "empty attribute")
BAD(bad_raw_amp_in_query, "pkcs11:?module-path=/a&b", "missing '='")
BAD(bad_scheme, "pkcs12:token=a", "not a pkcs11: URI")
BAD(bad_scheme_http, "https://example.com/", "not a pkcs11: URI")
BAD(bad_scheme_no_colon, "pkcs11", "not a pkcs11: URI")
BAD(bad_scheme_space, " pkcs11:token=a", "not a pkcs11: URI")
BAD(bad_empty_string, "", "not a pkcs11: URI")
BAD(bad_raw_space, "pkcs11:object=my key",
    "character must be percent-encoded")
BAD(bad_raw_quote, "pkcs11:object=a\"b", "character must be percent-encoded")
BAD(bad_raw_slash_path, "pkcs11:object=a/b",
    "character must be percent-encoded")
BAD(bad_raw_pipe_path, "pkcs11:object=a|b",
    "character must be percent-encoded")
BAD(bad_raw_hash, "pkcs11:object=a#frag",
    "character must be percent-encoded")
BAD(bad_raw_newline, "pkcs11:object=a\n",
    "character must be percent-encoded")
BAD(bad_raw_utf8, "pkcs11:object=caf\xc3\xa9",
    "character must be percent-encoded")
BAD(bad_raw_in_id, "pkcs11:id=a b", "character must be percent-encoded")
BAD(bad_raw_space_query, "pkcs11:?pin-source=file:/my pin",
    "character must be percent-encoded")
BAD(bad_query_attr_in_path, "pkcs11:module-path=/lib/p11.so",
    "query attribute in path")
BAD(bad_path_attr_in_query, "pkcs11:?token=a", "path attribute in query")
BAD(bad_empty_pin_source, "pkcs11:?pin-source=", "empty value")
BAD(bad_empty_module_path, "pkcs11:?module-path=", "empty value")

static void
bad_null_text(void **state)
{
	(void)state;
	parse_bad(NULL, "no URI");
}

static void
bad_long_label(void **state)
{
	char text[BIG];

	(void)state;
	parse_bad(build(text, sizeof(text), "pkcs11:object=", 'l',
	    HSM_URI_LABEL_MAX + 1, ""), "value too long");
}

static void
bad_long_label_encoded(void **state)
{
	char text[BIG];

	(void)state;
	/* The limit is on decoded bytes. */
	parse_bad(build_pct(text, sizeof(text), "pkcs11:object=", "%41",
	    HSM_URI_LABEL_MAX + 1, ""), "value too long");
}

static void
bad_long_token(void **state)
{
	char text[BIG];

	(void)state;
	parse_bad(build(text, sizeof(text), "pkcs11:token=", 't', 33, ""),
	    "value too long");
}

static void
bad_long_serial(void **state)
{
	char text[BIG];

	(void)state;
	parse_bad(build(text, sizeof(text), "pkcs11:serial=", 's', 17, ""),
	    "value too long");
}

static void
bad_long_slot_description(void **state)
{
	char text[BIG];

	(void)state;
	parse_bad(build(text, sizeof(text), "pkcs11:slot-description=", 'd',
	    65, ""), "value too long");
}

static void
bad_long_id(void **state)
{
	char text[BIG];

	(void)state;
	parse_bad(build_pct(text, sizeof(text), "pkcs11:id=", "%ff",
	    HSM_URI_ID_MAX + 1, ""), "value too long");
}

static void
bad_long_module_path(void **state)
{
	char text[BIG];

	(void)state;
	parse_bad(build(text, sizeof(text), "pkcs11:?module-path=/", 'm',
	    HSM_URI_PATH_MAX, ""), "value too long");
}

static void
bad_long_uri(void **state)
{
	char text[BIG];

	(void)state;
	/* Fine attributes, but one character over HSM_URI_MAX. */
	build(text, sizeof(text), "pkcs11:?module-path=/", 'm',
	    HSM_URI_PATH_MAX - 1, "&pin-source=file:/");
	build(text + strlen(text), sizeof(text) - strlen(text), "", 'p',
	    HSM_URI_MAX + 1 - strlen(text), "");
	assert_int_equal(strlen(text), HSM_URI_MAX + 1);
	parse_bad(text, "URI too long");
}

static void
bad_canonical_too_long(void **state)
{
	char text[BIG];
	size_t n;

	(void)state;
	/*
	 * HSM_URI_MAX characters, but the raw id bytes would become %XX in
	 * the canonical form, which then would not fit: refused up front.
	 */
	build(text, sizeof(text), "pkcs11:id=", 'A', HSM_URI_ID_MAX,
	    "?module-path=/");
	n = strlen(text);
	build(text + n, sizeof(text) - n, "", 'm', HSM_URI_PATH_MAX - 1,
	    "&module-name=");
	n = strlen(text);
	build(text + n, sizeof(text) - n, "", 'n', HSM_URI_MAX - n, "");
	assert_int_equal(strlen(text), HSM_URI_MAX);
	parse_bad(text, "URI too long");
}

/* ---- format and round trips ---- */

static void
test_format_canonical(void **state)
{
	(void)state;
	/* Attributes come out in the documented order, query last. */
	round_trip("PKCS11:type=private;id=%01%AB;object=web%20tls;"
	    "model=m;serial=s;manufacturer=acme;token=vault"
	    "?pin-source=file:/p&module-path=/lib/p11.so",
	    "pkcs11:token=vault;manufacturer=acme;serial=s;model=m;"
	    "object=web%20tls;id=%01%AB;type=private"
	    "?module-path=/lib/p11.so&pin-source=file:/p");
	round_trip("pkcs11:slot-manufacturer=x;slot-description=y;"
	    "slot-id=007;library-version=3;library-description=d;"
	    "library-manufacturer=l;token=t",
	    "pkcs11:token=t;library-manufacturer=l;library-description=d;"
	    "library-version=3.0;slot-id=7;slot-description=y;"
	    "slot-manufacturer=x");
	round_trip("pkcs11:?pin-source=env:PIN&module-name=softhsm2",
	    "pkcs11:?module-name=softhsm2&pin-source=env:PIN");
}

static void
test_format_encoding(void **state)
{
	(void)state;
	/* Raw id bytes are always written %XX; unneeded escapes dropped. */
	round_trip("pkcs11:id=AB%00", "pkcs11:id=%41%42%00");
	round_trip("pkcs11:object=%61%3a%26%3D%2f%3F%7C%7e",
	    "pkcs11:object=a:&=%2F%3F%7C~");
	round_trip("pkcs11:?pin-source=file:%2Fa%3fb%7cc%26d%3B",
	    "pkcs11:?pin-source=file:/a?b|c%26d%3B");
	round_trip("pkcs11:object=my%20key%3Bv2%22%23%25%c3%a9",
	    "pkcs11:object=my%20key%3Bv2%22%23%25%C3%A9");
	round_trip("pkcs11:object=;id=", "pkcs11:object=;id=");
	round_trip("pkcs11:", "pkcs11:");
	round_trip("pkcs11:?", "pkcs11:");
}

static void
test_round_trips(void **state)
{
	static const char *const uris[] = {
		"pkcs11:token=Vault%20HSM;object=kek;type=secret-key",
		"pkcs11:id=%00%01%02%ff;type=public",
		"pkcs11:object=:[]@!$'()*+,=&-._~",
		"pkcs11:slot-id=18446744073709551615",
		"pkcs11:library-version=255.255;model=%7f%01",
		"pkcs11:token=a?module-path=/c.so&pin-source=env:P",
		"pkcs11:?module-path=/c.so&module-name=c&pin-source=env:P",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++)
		round_trip(uris[i], NULL);
}

static void
test_round_trip_max(void **state)
{
	char text[BIG];
	struct hsm_uri u;
	char buf[HSM_URI_MAX + 1];

	(void)state;
	/* Longest values, all bytes needing %XX, still fit HSM_URI_MAX. */
	round_trip(build_pct(text, sizeof(text), "pkcs11:object=", "%20",
	    HSM_URI_LABEL_MAX, ""), NULL);
	round_trip(build_pct(text, sizeof(text), "pkcs11:id=", "%00",
	    HSM_URI_ID_MAX, ""), NULL);
	/* A formatted URI never exceeds HSM_URI_MAX, whatever the struct. */
	memset(&u, 0, sizeof(u));
	u.has_module_path = u.has_module_name = true;
	memset(u.module_path, ' ', HSM_URI_PATH_MAX);
	memset(u.module_name, ' ', HSM_URI_PATH_MAX);
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(buf)),
	    HSM_R_BAD_INPUT);
	assert_string_equal(buf, "");
}

static void
test_format_hand_built(void **state)
{
	struct hsm_uri u, v;
	char buf[256];

	(void)state;
	/* What hsm_key_uri builds. */
	memset(&u, 0, sizeof(u));
	u.has_token = true;
	snprintf(u.token, sizeof(u.token), "%s", "Vault HSM");
	u.has_object = true;
	snprintf(u.object, sizeof(u.object), "%s", "tls;2024");
	u.has_id = true;
	u.id[0] = 0xde;
	u.id[1] = 0x00;
	u.id_len = 2;
	u.type = HSM_URI_TYPE_PRIVATE;
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(buf)), CKR_OK);
	assert_string_equal(buf, "pkcs11:token=Vault%20HSM;object=tls%3B2024;"
	    "id=%DE%00;type=private");
	parse_ok(buf, &v);
	assert_memory_equal(&u, &v, sizeof(u));
}

static void
test_format_small_buffer(void **state)
{
	static const char want[] = "pkcs11:token=t;object=o";
	struct hsm_uri u;
	char buf[sizeof(want)];

	(void)state;
	parse_ok(want, &u);
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(want)), CKR_OK);
	assert_string_equal(buf, want);
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(want) - 1),
	    HSM_R_BAD_INPUT);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(hsm_uri_format(&u, buf, 1), HSM_R_BAD_INPUT);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(hsm_uri_format(&u, buf, 0), HSM_R_BAD_INPUT);
	assert_int_equal(hsm_uri_format(&u, NULL, 10), HSM_R_BAD_INPUT);
	assert_int_equal(hsm_uri_format(NULL, buf, sizeof(buf)),
	    HSM_R_BAD_INPUT);
}

static void
test_format_bad_struct(void **state)
{
	struct hsm_uri u;
	char buf[HSM_URI_MAX + 1];

	(void)state;
	/* Text without its NUL. */
	memset(&u, 0, sizeof(u));
	u.has_token = true;
	memset(u.token, 'a', sizeof(u.token));
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(buf)),
	    HSM_R_BAD_INPUT);
	/* Fields the parser would refuse. */
	memset(&u, 0, sizeof(u));
	u.has_id = true;
	u.id_len = HSM_URI_ID_MAX + 1;
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(buf)),
	    HSM_R_BAD_INPUT);
	memset(&u, 0, sizeof(u));
	u.type = (enum hsm_uri_type)7;
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(buf)),
	    HSM_R_BAD_INPUT);
	memset(&u, 0, sizeof(u));
	u.has_lib_version = true;
	u.lib_version_minor = 256;
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(buf)),
	    HSM_R_BAD_INPUT);
	memset(&u, 0, sizeof(u));
	u.has_pin_source = true;
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(buf)),
	    HSM_R_BAD_INPUT);
	/* A has_ flag off hides whatever the field holds. */
	memset(&u, 0, sizeof(u));
	memset(u.token, 'a', sizeof(u.token));
	u.id_len = 1000;
	assert_int_equal(hsm_uri_format(&u, buf, sizeof(buf)), CKR_OK);
	assert_string_equal(buf, "pkcs11:");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_path),
		cmocka_unit_test(test_scheme_case),
		cmocka_unit_test(test_token_attrs),
		cmocka_unit_test(test_library_attrs),
		cmocka_unit_test(test_library_version_forms),
		cmocka_unit_test(test_slot_attrs),
		cmocka_unit_test(test_slot_id_max),
		cmocka_unit_test(test_token_object_type),
		cmocka_unit_test(test_each_type),
		cmocka_unit_test(test_id_binary),
		cmocka_unit_test(test_label_encoded),
		cmocka_unit_test(test_path_res_avail),
		cmocka_unit_test(test_query_attrs),
		cmocka_unit_test(test_query_res_avail),
		cmocka_unit_test(test_empty_values),
		cmocka_unit_test(test_max_lengths),
		cmocka_unit_test(test_uri_max_exact),
		cmocka_unit_test(test_why_may_be_null),

		cmocka_unit_test(bad_unknown_attr),
		cmocka_unit_test(bad_attr_case),
		cmocka_unit_test(bad_attr_encoded_name),
		cmocka_unit_test(bad_vendor_path),
		cmocka_unit_test(bad_vendor_query),
		cmocka_unit_test(bad_dup_token),
		cmocka_unit_test(bad_dup_type),
		cmocka_unit_test(bad_dup_empty_id),
		cmocka_unit_test(bad_dup_query),
		cmocka_unit_test(bad_pin_value),
		cmocka_unit_test(bad_pin_value_path),
		cmocka_unit_test(bad_pct_truncated),
		cmocka_unit_test(bad_pct_alone),
		cmocka_unit_test(bad_pct_nonhex),
		cmocka_unit_test(bad_pct_half_hex),
		cmocka_unit_test(bad_pct_before_sep),
		cmocka_unit_test(bad_pct_in_id),
		cmocka_unit_test(bad_nul_label),
		cmocka_unit_test(bad_nul_token),
		cmocka_unit_test(bad_nul_pin_source),
		cmocka_unit_test(bad_type_underscore),
		cmocka_unit_test(bad_type_case),
		cmocka_unit_test(bad_type_empty),
		cmocka_unit_test(bad_type_encoded),
		cmocka_unit_test(bad_type_prefix),
		cmocka_unit_test(bad_slot_id_alpha),
		cmocka_unit_test(bad_slot_id_negative),
		cmocka_unit_test(bad_slot_id_plus),
		cmocka_unit_test(bad_slot_id_empty),
		cmocka_unit_test(bad_slot_id_hex),
		cmocka_unit_test(bad_slot_id_encoded),
		cmocka_unit_test(bad_slot_id_overflow),
		cmocka_unit_test(bad_slot_id_huge),
		cmocka_unit_test(bad_lib_version_dot),
		cmocka_unit_test(bad_lib_version_lead),
		cmocka_unit_test(bad_lib_version_three),
		cmocka_unit_test(bad_lib_version_big),
		cmocka_unit_test(bad_lib_version_minor_big),
		cmocka_unit_test(bad_lib_version_empty),
		cmocka_unit_test(bad_empty_name),
		cmocka_unit_test(bad_empty_name_query),
		cmocka_unit_test(bad_missing_eq),
		cmocka_unit_test(bad_missing_eq_query),
		cmocka_unit_test(bad_trailing_semicolon),
		cmocka_unit_test(bad_leading_semicolon),
		cmocka_unit_test(bad_double_semicolon),
		cmocka_unit_test(bad_lone_semicolon),
		cmocka_unit_test(bad_trailing_amp),
		cmocka_unit_test(bad_raw_amp_in_query),
		cmocka_unit_test(bad_scheme),
		cmocka_unit_test(bad_scheme_http),
		cmocka_unit_test(bad_scheme_no_colon),
		cmocka_unit_test(bad_scheme_space),
		cmocka_unit_test(bad_empty_string),
		cmocka_unit_test(bad_raw_space),
		cmocka_unit_test(bad_raw_quote),
		cmocka_unit_test(bad_raw_slash_path),
		cmocka_unit_test(bad_raw_pipe_path),
		cmocka_unit_test(bad_raw_hash),
		cmocka_unit_test(bad_raw_newline),
		cmocka_unit_test(bad_raw_utf8),
		cmocka_unit_test(bad_raw_in_id),
		cmocka_unit_test(bad_raw_space_query),
		cmocka_unit_test(bad_query_attr_in_path),
		cmocka_unit_test(bad_path_attr_in_query),
		cmocka_unit_test(bad_empty_pin_source),
		cmocka_unit_test(bad_empty_module_path),
		cmocka_unit_test(bad_null_text),
		cmocka_unit_test(bad_long_label),
		cmocka_unit_test(bad_long_label_encoded),
		cmocka_unit_test(bad_long_token),
		cmocka_unit_test(bad_long_serial),
		cmocka_unit_test(bad_long_slot_description),
		cmocka_unit_test(bad_long_id),
		cmocka_unit_test(bad_long_module_path),
		cmocka_unit_test(bad_long_uri),
		cmocka_unit_test(bad_canonical_too_long),

		cmocka_unit_test(test_format_canonical),
		cmocka_unit_test(test_format_encoding),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_round_trip_max),
		cmocka_unit_test(test_format_hand_built),
		cmocka_unit_test(test_format_small_buffer),
		cmocka_unit_test(test_format_bad_struct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
