/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uri.c - strict parser and canonical formatter for RFC 7512 "pkcs11:" URIs.
 *
 * Grammar (RFC 7512 section 2.3), as enforced here:
 *
 *   pk11-URI  = "pkcs11:" pk11-path [ "?" pk11-query ]
 *   pk11-path = [ pk11-pattr *(";" pk11-pattr) ]
 *   pk11-query = [ pk11-qattr *("&" pk11-qattr) ]
 *   pk11-pchar = unreserved / pct-encoded / ":" / "[" / "]" / "@" / "!" /
 *                "$" / "'" / "(" / ")" / "*" / "+" / "," / "=" / "&"
 *   pk11-qchar = unreserved / pct-encoded / ":" / "[" / "]" / "@" / "!" /
 *                "$" / "'" / "(" / ")" / "*" / "+" / "," / "=" / "/" /
 *                "?" / "|"
 *
 * Decisions where the RFC leaves room:
 *  - "pkcs11:" (empty path) and "pkcs11:?" (empty query) are accepted, as
 *    the grammar allows; both mean "no attributes".
 *  - An empty attribute, i.e. a leading, doubled or trailing ';' or '&'
 *    ("pkcs11:token=a;"), is refused: the grammar has no empty pk11-pattr.
 *  - An empty value of a path text attribute or of id ("object=", "id=")
 *    is accepted and means "the attribute is present and empty": object=
 *    matches only an object whose CKA_LABEL is empty, never any label.
 *    An unset shell variable ("object=$L") so narrows the match instead
 *    of widening it.
 *  - An empty value of a query attribute (module-path=, module-name=,
 *    pin-source=) is refused: no module or PIN can be found by "".
 *  - slot-id, library-version and type take their values literally, as
 *    the grammar spells them (1*DIGIT, "M[.N]", fixed words): no
 *    percent-encoding there.  library-version "M" means M.0; each part is
 *    0..255 (CK_VERSION), at most 3 digits; slot-id at most 20 digits.
 *  - pin-value is refused wherever it appears: a PIN in a URI ends up in
 *    logs and argv.
 *  - A URI is accepted only if its canonical form (hsm_uri_format) also
 *    fits in HSM_URI_MAX, so that every parsed URI can be formatted and
 *    parsed again.  Only a text near the limit with raw (unencoded) id
 *    bytes can be refused for this, since the canonical id is all %XX.
 *
 * Canonical order: token, manufacturer, serial, model, object, id, type,
 * then library-manufacturer, library-description, library-version,
 * slot-id, slot-description, slot-manufacturer, then the query:
 * module-path, module-name, pin-source.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsm.h"
#include "uri.h"

#define HSM_URI_SCHEME		"pkcs11:"
#define HSM_URI_SCHEME_LEN	(sizeof(HSM_URI_SCHEME) - 1)
/* CK_VERSION parts are CK_BYTEs. */
#define HSM_URI_VERSION_MAX	255
#define HSM_URI_VERSION_DIGITS	3
#define HSM_URI_SLOT_DIGITS	20	/* digits of a 64-bit ULONG_MAX */

enum hsm_uri_where {
	HSM_URI_IN_PATH,
	HSM_URI_IN_QUERY,
};

enum hsm_uri_kind {
	HSM_URI_K_TEXT,		/* NUL-terminated text, may be empty */
	HSM_URI_K_QTEXT,	/* NUL-terminated text, must not be empty */
	HSM_URI_K_ID,		/* binary */
	HSM_URI_K_TYPE,
	HSM_URI_K_SLOT_ID,
	HSM_URI_K_LIB_VERSION,
};

struct hsm_uri_attr {
	const char		*name;
	enum hsm_uri_where	 where;
	enum hsm_uri_kind	 kind;
	/* Text kinds only: where the has_* flag and the field are. */
	size_t			 has_off;
	size_t			 off;
	size_t			 size;		/* NUL included */
};

#define HSM_URI_TEXT(n, w, k, f)					\
	{ n, w, k, offsetof(struct hsm_uri, has_##f),			\
	    offsetof(struct hsm_uri, f), sizeof(((struct hsm_uri *)0)->f) }
#define HSM_URI_OTHER(n, k)						\
	{ n, HSM_URI_IN_PATH, k, 0, 0, 0 }

/* In canonical order: hsm_uri_format walks this table. */
static const struct hsm_uri_attr hsm_uri_attrs[] = {
	HSM_URI_TEXT("token", HSM_URI_IN_PATH, HSM_URI_K_TEXT, token),
	HSM_URI_TEXT("manufacturer", HSM_URI_IN_PATH, HSM_URI_K_TEXT,
	    manufacturer),
	HSM_URI_TEXT("serial", HSM_URI_IN_PATH, HSM_URI_K_TEXT, serial),
	HSM_URI_TEXT("model", HSM_URI_IN_PATH, HSM_URI_K_TEXT, model),
	HSM_URI_TEXT("object", HSM_URI_IN_PATH, HSM_URI_K_TEXT, object),
	HSM_URI_OTHER("id", HSM_URI_K_ID),
	HSM_URI_OTHER("type", HSM_URI_K_TYPE),
	HSM_URI_TEXT("library-manufacturer", HSM_URI_IN_PATH, HSM_URI_K_TEXT,
	    lib_manufacturer),
	HSM_URI_TEXT("library-description", HSM_URI_IN_PATH, HSM_URI_K_TEXT,
	    lib_description),
	HSM_URI_OTHER("library-version", HSM_URI_K_LIB_VERSION),
	HSM_URI_OTHER("slot-id", HSM_URI_K_SLOT_ID),
	HSM_URI_TEXT("slot-description", HSM_URI_IN_PATH, HSM_URI_K_TEXT,
	    slot_description),
	HSM_URI_TEXT("slot-manufacturer", HSM_URI_IN_PATH, HSM_URI_K_TEXT,
	    slot_manufacturer),
	HSM_URI_TEXT("module-path", HSM_URI_IN_QUERY, HSM_URI_K_QTEXT,
	    module_path),
	HSM_URI_TEXT("module-name", HSM_URI_IN_QUERY, HSM_URI_K_QTEXT,
	    module_name),
	HSM_URI_TEXT("pin-source", HSM_URI_IN_QUERY, HSM_URI_K_QTEXT,
	    pin_source),
};
#define HSM_URI_NATTRS	(sizeof(hsm_uri_attrs) / sizeof(hsm_uri_attrs[0]))

/* One bit per attribute tracks duplicates. */
typedef uint32_t hsm_uri_seen;
_Static_assert(HSM_URI_NATTRS <= sizeof(hsm_uri_seen) * CHAR_BIT,
    "too many attributes for the duplicate mask");

/* Indexed by enum hsm_uri_type; RFC 7512 spells these. */
static const char *const hsm_uri_type_names[] = {
	[HSM_URI_TYPE_ANY] = NULL,
	[HSM_URI_TYPE_PRIVATE] = "private",
	[HSM_URI_TYPE_PUBLIC] = "public",
	[HSM_URI_TYPE_SECRET_KEY] = "secret-key",
	[HSM_URI_TYPE_CERT] = "cert",
	[HSM_URI_TYPE_DATA] = "data",
};
#define HSM_URI_NTYPES \
	(sizeof(hsm_uri_type_names) / sizeof(hsm_uri_type_names[0]))

/* Output that writes into a buffer, or only counts when buf is NULL. */
struct hsm_uri_out {
	char	*buf;
	size_t	 cap;	/* bytes buf holds, NUL included */
	size_t	 len;	/* bytes produced, no NUL; may pass cap */
};

static void hsm_uri_emit(const struct hsm_uri *, struct hsm_uri_out *);

static CK_RV
hsm_uri_fail(const char **why, const char *reason)
{
	if (why != NULL)
		*why = reason;
	return HSM_R_URI_SYNTAX;
}

/* RFC 3986 unreserved; ctype is avoided so the locale cannot matter. */
static int
hsm_uri_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/* May c appear unencoded in a value of this component? */
static int
hsm_uri_is_plain(unsigned char c, enum hsm_uri_where where)
{
	if (hsm_uri_is_unreserved(c))
		return 1;
	switch (c) {
	case ':': case '[': case ']': case '@': case '!': case '$':
	case '\'': case '(': case ')': case '*': case '+': case ',':
	case '=':
		return 1;	/* pk11-res-avail */
	case '&':
		return where == HSM_URI_IN_PATH;
	case '/': case '?': case '|':
		return where == HSM_URI_IN_QUERY;
	default:
		return 0;
	}
}

static int
hsm_uri_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hsm_uri_is_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

/* Length of s, looking at no more than max + 1 bytes. */
static size_t
hsm_uri_bounded_len(const char *s, size_t max)
{
	size_t n;

	for (n = 0; n <= max && s[n] != '\0'; n++)
		;
	return n;
}

/*
 * Percent-decode v[0..n) into dst (at most cap bytes).  Raw characters
 * must be allowed unencoded in the component; %00 only where binary_ok.
 */
static CK_RV
hsm_uri_decode(const char *v, size_t n, enum hsm_uri_where where,
    unsigned char *dst, size_t cap, int binary_ok, size_t *outlen,
    const char **why)
{
	size_t i, len = 0;
	unsigned char c;
	int hi, lo;

	for (i = 0; i < n; i++) {
		c = (unsigned char)v[i];
		if (c == '%') {
			if (n - i < 3)
				return hsm_uri_fail(why,
				    "bad percent-encoding");
			hi = hsm_uri_hexval((unsigned char)v[i + 1]);
			lo = hsm_uri_hexval((unsigned char)v[i + 2]);
			if (hi < 0 || lo < 0)
				return hsm_uri_fail(why,
				    "bad percent-encoding");
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			if (c == '\0' && !binary_ok)
				return hsm_uri_fail(why,
				    "percent-encoded NUL in value");
		} else if (!hsm_uri_is_plain(c, where))
			return hsm_uri_fail(why,
			    "character must be percent-encoded");
		if (len >= cap)
			return hsm_uri_fail(why, "value too long");
		dst[len++] = c;
	}
	*outlen = len;
	return CKR_OK;
}

/* A decimal of 1..maxdigits digits, no sign or space, at most max. */
static int
hsm_uri_decimal(const char *s, size_t n, size_t maxdigits, unsigned long max,
    unsigned long *out)
{
	char tmp[HSM_URI_SLOT_DIGITS + 1];
	char *end;
	unsigned long val;

	/* strtoul alone would take " 1", "+1" and "-1". */
	if (n > maxdigits || n >= sizeof(tmp) || !hsm_uri_is_digits(s, n))
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	val = strtoul(tmp, &end, 10);
	if (errno != 0 || end != tmp + n || val > max)
		return 0;
	*out = val;
	return 1;
}

static CK_RV
hsm_uri_parse_type(const char *v, size_t n, struct hsm_uri *out,
    const char **why)
{
	size_t t;

	for (t = 1; t < HSM_URI_NTYPES; t++) {
		if (strlen(hsm_uri_type_names[t]) == n &&
		    memcmp(hsm_uri_type_names[t], v, n) == 0) {
			out->type = (enum hsm_uri_type)t;
			return CKR_OK;
		}
	}
	return hsm_uri_fail(why, "unknown type");
}

/* "M" or "M.N". */
static CK_RV
hsm_uri_parse_version(const char *v, size_t n, struct hsm_uri *out,
    const char **why)
{
	const char *dot = memchr(v, '.', n);
	size_t mlen = dot != NULL ? (size_t)(dot - v) : n;
	unsigned long major, minor = 0;

	if (!hsm_uri_decimal(v, mlen, HSM_URI_VERSION_DIGITS,
	    HSM_URI_VERSION_MAX, &major))
		return hsm_uri_fail(why, "bad library-version");
	if (dot != NULL && !hsm_uri_decimal(dot + 1, n - mlen - 1,
	    HSM_URI_VERSION_DIGITS, HSM_URI_VERSION_MAX, &minor))
		return hsm_uri_fail(why, "bad library-version");
	out->lib_version_major = (unsigned)major;
	out->lib_version_minor = (unsigned)minor;
	out->has_lib_version = true;
	return CKR_OK;
}

static CK_RV
hsm_uri_parse_slot_id(const char *v, size_t n, struct hsm_uri *out,
    const char **why)
{
	unsigned long val;

	if (!hsm_uri_decimal(v, n, HSM_URI_SLOT_DIGITS, ULONG_MAX, &val))
		return hsm_uri_fail(why, "bad slot-id");
	out->slot_id = (CK_SLOT_ID)val;
	out->has_slot_id = true;
	return CKR_OK;
}

static const struct hsm_uri_attr *
hsm_uri_lookup(const char *name, size_t n, size_t *index)
{
	size_t i;

	for (i = 0; i < HSM_URI_NATTRS; i++) {
		if (strlen(hsm_uri_attrs[i].name) == n &&
		    memcmp(hsm_uri_attrs[i].name, name, n) == 0) {
			*index = i;
			return &hsm_uri_attrs[i];
		}
	}
	return NULL;
}

/* One "name=value" of a component (a, n bytes, not NUL-terminated). */
static CK_RV
hsm_uri_parse_attr(const char *a, size_t n, enum hsm_uri_where where,
    hsm_uri_seen *seen, struct hsm_uri *out, const char **why)
{
	const struct hsm_uri_attr *attr;
	const char *eq, *v;
	size_t nlen, vlen, idx, dlen;
	CK_RV rv;

	if (n == 0)
		return hsm_uri_fail(why, "empty attribute");
	if ((eq = memchr(a, '=', n)) == NULL)
		return hsm_uri_fail(why, "missing '='");
	nlen = (size_t)(eq - a);
	if (nlen == 0)
		return hsm_uri_fail(why, "empty attribute name");
	v = eq + 1;
	vlen = n - nlen - 1;

	if ((attr = hsm_uri_lookup(a, nlen, &idx)) == NULL) {
		if (nlen == 9 && memcmp(a, "pin-value", 9) == 0)
			return hsm_uri_fail(why,
			    "pin-value is not accepted: give a pin-source");
		if (nlen >= 2 && a[0] == 'x' && a[1] == '-')
			return hsm_uri_fail(why,
			    "vendor attribute not accepted");
		return hsm_uri_fail(why, "unknown attribute");
	}
	if (attr->where != where)
		return hsm_uri_fail(why, where == HSM_URI_IN_PATH ?
		    "query attribute in path" : "path attribute in query");
	if (*seen & ((hsm_uri_seen)1 << idx))
		return hsm_uri_fail(why, "duplicate attribute");
	*seen |= (hsm_uri_seen)1 << idx;

	if (attr->kind == HSM_URI_K_QTEXT && vlen == 0)
		return hsm_uri_fail(why, "empty value");

	switch (attr->kind) {
	case HSM_URI_K_TEXT:
	case HSM_URI_K_QTEXT:
		/* size - 1 keeps the field's NUL, zeroed by the caller. */
		rv = hsm_uri_decode(v, vlen, where,
		    (unsigned char *)out + attr->off, attr->size - 1, 0,
		    &dlen, why);
		if (rv != CKR_OK)
			return rv;
		*(bool *)((unsigned char *)out + attr->has_off) = true;
		return CKR_OK;
	case HSM_URI_K_ID:
		rv = hsm_uri_decode(v, vlen, where, out->id, sizeof(out->id),
		    1, &out->id_len, why);
		if (rv != CKR_OK)
			return rv;
		out->has_id = true;
		return CKR_OK;
	case HSM_URI_K_TYPE:
		return hsm_uri_parse_type(v, vlen, out, why);
	case HSM_URI_K_LIB_VERSION:
		return hsm_uri_parse_version(v, vlen, out, why);
	case HSM_URI_K_SLOT_ID:
		return hsm_uri_parse_slot_id(v, vlen, out, why);
	}
	return hsm_uri_fail(why, "unknown attribute");
}

/* A whole path or query: attributes separated by ';' or '&'. */
static CK_RV
hsm_uri_parse_part(const char *p, size_t n, enum hsm_uri_where where,
    hsm_uri_seen *seen, struct hsm_uri *out, const char **why)
{
	const char sep = where == HSM_URI_IN_PATH ? ';' : '&';
	const char *s;
	size_t i = 0, alen;
	CK_RV rv;

	/* The grammar allows an empty path and an empty query. */
	if (n == 0)
		return CKR_OK;
	for (;;) {
		s = memchr(p + i, sep, n - i);
		alen = s != NULL ? (size_t)(s - (p + i)) : n - i;
		if ((rv = hsm_uri_parse_attr(p + i, alen, where, seen, out,
		    why)) != CKR_OK)
			return rv;
		if (s == NULL)
			return CKR_OK;
		/* A trailing separator leaves an empty attribute: refused. */
		i += alen + 1;
	}
}

static CK_RV
hsm_uri_parse_text(const char *text, struct hsm_uri *out, const char **why)
{
	hsm_uri_seen seen = 0;
	struct hsm_uri_out count = { NULL, 0, 0 };
	const char *p, *q;
	size_t len, i;
	CK_RV rv;

	if (text == NULL)
		return hsm_uri_fail(why, "no URI");
	if ((len = hsm_uri_bounded_len(text, HSM_URI_MAX)) > HSM_URI_MAX)
		return hsm_uri_fail(why, "URI too long");
	if (len < HSM_URI_SCHEME_LEN)
		return hsm_uri_fail(why, "not a pkcs11: URI");
	for (i = 0; i < HSM_URI_SCHEME_LEN; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)HSM_URI_SCHEME[i])
			return hsm_uri_fail(why, "not a pkcs11: URI");
	}

	p = text + HSM_URI_SCHEME_LEN;
	len -= HSM_URI_SCHEME_LEN;
	/* The first '?' ends the path; later ones are query data. */
	q = memchr(p, '?', len);
	if ((rv = hsm_uri_parse_part(p, q != NULL ? (size_t)(q - p) : len,
	    HSM_URI_IN_PATH, &seen, out, why)) != CKR_OK)
		return rv;
	if (q != NULL && (rv = hsm_uri_parse_part(q + 1,
	    len - (size_t)(q + 1 - p), HSM_URI_IN_QUERY, &seen, out,
	    why)) != CKR_OK)
		return rv;

	/* Whatever parses must format and parse again. */
	hsm_uri_emit(out, &count);
	if (count.len > HSM_URI_MAX)
		return hsm_uri_fail(why, "URI too long");
	return CKR_OK;
}

CK_RV
hsm_uri_parse(const char *text, struct hsm_uri *out, const char **why)
{
	CK_RV rv;

	if (why != NULL)
		*why = NULL;
	if (out == NULL) {
		if (why != NULL)
			*why = "no output struct";
		return HSM_R_BAD_INPUT;
	}
	memset(out, 0, sizeof(*out));
	rv = hsm_uri_parse_text(text, out, why);
	/* Never leave a half-parsed URI for a careless caller to use. */
	if (rv != CKR_OK)
		memset(out, 0, sizeof(*out));
	return rv;
}

static void
hsm_uri_put(struct hsm_uri_out *o, const char *s, size_t n)
{
	/* Keep room for the NUL; once short, o->len stays >= o->cap. */
	if (o->buf != NULL && o->len < o->cap && n < o->cap - o->len)
		memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
hsm_uri_put_str(struct hsm_uri_out *o, const char *s)
{
	hsm_uri_put(o, s, strlen(s));
}

static void
hsm_uri_put_encoded(struct hsm_uri_out *o, const unsigned char *p, size_t n,
    enum hsm_uri_where where, int encode_all)
{
	static const char hex[] = "0123456789ABCDEF";
	char pct[3];
	size_t i;

	for (i = 0; i < n; i++) {
		if (!encode_all && hsm_uri_is_plain(p[i], where)) {
			hsm_uri_put(o, (const char *)&p[i], 1);
			continue;
		}
		pct[0] = '%';
		pct[1] = hex[p[i] >> 4];
		pct[2] = hex[p[i] & 0x0f];
		hsm_uri_put(o, pct, sizeof(pct));
	}
}

/* Is attribute a present in u? */
static int
hsm_uri_has(const struct hsm_uri *u, const struct hsm_uri_attr *a)
{
	switch (a->kind) {
	case HSM_URI_K_TEXT:
	case HSM_URI_K_QTEXT:
		return *(const bool *)((const unsigned char *)u + a->has_off);
	case HSM_URI_K_ID:
		return u->has_id;
	case HSM_URI_K_TYPE:
		return u->type != HSM_URI_TYPE_ANY;
	case HSM_URI_K_LIB_VERSION:
		return u->has_lib_version;
	case HSM_URI_K_SLOT_ID:
		return u->has_slot_id;
	}
	return 0;
}

/* Write the canonical URI; u must have passed hsm_uri_check. */
static void
hsm_uri_emit(const struct hsm_uri *u, struct hsm_uri_out *o)
{
	const struct hsm_uri_attr *a;
	const char *field;
	char num[48];
	int in_query = 0, first = 1, r;
	size_t i;

	hsm_uri_put_str(o, HSM_URI_SCHEME);
	for (i = 0; i < HSM_URI_NATTRS; i++) {
		a = &hsm_uri_attrs[i];
		if (!hsm_uri_has(u, a))
			continue;
		if (a->where == HSM_URI_IN_QUERY && !in_query) {
			hsm_uri_put_str(o, "?");
			in_query = 1;
		} else if (!first)
			hsm_uri_put_str(o, in_query ? "&" : ";");
		first = 0;
		hsm_uri_put_str(o, a->name);
		hsm_uri_put_str(o, "=");
		switch (a->kind) {
		case HSM_URI_K_TEXT:
		case HSM_URI_K_QTEXT:
			field = (const char *)u + a->off;
			hsm_uri_put_encoded(o, (const unsigned char *)field,
			    strlen(field), a->where, 0);
			break;
		case HSM_URI_K_ID:
			/* Binary: every byte as %XX, whatever it is. */
			hsm_uri_put_encoded(o, u->id, u->id_len, a->where, 1);
			break;
		case HSM_URI_K_TYPE:
			hsm_uri_put_str(o, hsm_uri_type_names[u->type]);
			break;
		case HSM_URI_K_LIB_VERSION:
			r = snprintf(num, sizeof(num), "%u.%u",
			    u->lib_version_major, u->lib_version_minor);
			if (r > 0 && (size_t)r < sizeof(num))
				hsm_uri_put(o, num, (size_t)r);
			break;
		case HSM_URI_K_SLOT_ID:
			r = snprintf(num, sizeof(num), "%lu",
			    (unsigned long)u->slot_id);
			if (r > 0 && (size_t)r < sizeof(num))
				hsm_uri_put(o, num, (size_t)r);
			break;
		}
	}
}

/* Refuse what the formatter could not write as a parseable URI. */
static CK_RV
hsm_uri_check(const struct hsm_uri *u)
{
	const struct hsm_uri_attr *a;
	const char *field;
	size_t i;

	for (i = 0; i < HSM_URI_NATTRS; i++) {
		a = &hsm_uri_attrs[i];
		if (a->kind != HSM_URI_K_TEXT && a->kind != HSM_URI_K_QTEXT)
			continue;
		if (!hsm_uri_has(u, a))
			continue;
		field = (const char *)u + a->off;
		if (memchr(field, '\0', a->size) == NULL)
			return HSM_R_BAD_INPUT;
		if (a->kind == HSM_URI_K_QTEXT && field[0] == '\0')
			return HSM_R_BAD_INPUT;
	}
	if (u->has_id && u->id_len > sizeof(u->id))
		return HSM_R_BAD_INPUT;
	if ((size_t)u->type >= HSM_URI_NTYPES)
		return HSM_R_BAD_INPUT;
	if (u->has_lib_version &&
	    (u->lib_version_major > HSM_URI_VERSION_MAX ||
	    u->lib_version_minor > HSM_URI_VERSION_MAX))
		return HSM_R_BAD_INPUT;
	return CKR_OK;
}

CK_RV
hsm_uri_format(const struct hsm_uri *u, char *buf, size_t len)
{
	struct hsm_uri_out o;
	CK_RV rv;

	if (buf == NULL || len == 0)
		return HSM_R_BAD_INPUT;
	buf[0] = '\0';
	if (u == NULL)
		return HSM_R_BAD_INPUT;
	if ((rv = hsm_uri_check(u)) != CKR_OK)
		return rv;
	o.buf = buf;
	o.cap = len;
	o.len = 0;
	hsm_uri_emit(u, &o);
	/* Longer than HSM_URI_MAX would not parse back: refuse it too. */
	if (o.len >= len || o.len > HSM_URI_MAX) {
		buf[0] = '\0';
		return HSM_R_BAD_INPUT;
	}
	buf[o.len] = '\0';
	return CKR_OK;
}

CK_OBJECT_CLASS
hsm_uri_type_class(enum hsm_uri_type t)
{
	switch (t) {
	case HSM_URI_TYPE_PRIVATE:
		return CKO_PRIVATE_KEY;
	case HSM_URI_TYPE_PUBLIC:
		return CKO_PUBLIC_KEY;
	case HSM_URI_TYPE_SECRET_KEY:
		return CKO_SECRET_KEY;
	case HSM_URI_TYPE_CERT:
		return CKO_CERTIFICATE;
	case HSM_URI_TYPE_DATA:
		return CKO_DATA;
	case HSM_URI_TYPE_ANY:
		break;
	}
	return CK_UNAVAILABLE_INFORMATION;
}
