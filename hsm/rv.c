/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rv.c - names and sentences for every CK_RV (generated table, kept as data).
 */
#include <stdio.h>

#include "hsm.h"

struct rv_desc {
	CK_RV		 rv;
	const char	*name;
	const char	*text;
};

static const struct rv_desc rv_table[] = {
	{ CKR_OK, "CKR_OK", "success" },
	{ CKR_CANCEL, "CKR_CANCEL", "the operation was cancelled" },
	{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY", "the module ran out of host memory" },
	{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID", "no such slot" },
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR", "the module reported an unrecoverable error" },
	{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED", "the module could not perform the function" },
	{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD", "the module rejected the arguments" },
	{ CKR_NO_EVENT, "CKR_NO_EVENT", "no slot event" },
	{ CKR_NEED_TO_CREATE_THREADS, "CKR_NEED_TO_CREATE_THREADS", "the module needs to create threads" },
	{ CKR_CANT_LOCK, "CKR_CANT_LOCK", "the module cannot use the locking requested" },
	{ CKR_ATTRIBUTE_READ_ONLY, "CKR_ATTRIBUTE_READ_ONLY", "the attribute is read-only" },
	{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE", "the attribute is sensitive and cannot be read" },
	{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID", "the object has no such attribute" },
	{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID", "an attribute value is invalid" },
	{ CKR_ACTION_PROHIBITED, "CKR_ACTION_PROHIBITED", "the action is prohibited by the token's policy" },
	{ CKR_DATA_INVALID, "CKR_DATA_INVALID", "the input data is invalid" },
	{ CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE", "the input data has the wrong length" },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR", "the device failed" },
	{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY", "the token ran out of memory" },
	{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED", "the token was removed" },
	{ CKR_ENCRYPTED_DATA_INVALID, "CKR_ENCRYPTED_DATA_INVALID", "the encrypted data is invalid" },
	{ CKR_ENCRYPTED_DATA_LEN_RANGE, "CKR_ENCRYPTED_DATA_LEN_RANGE", "the encrypted data has the wrong length" },
	{ CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED", "the function was cancelled" },
	{ CKR_FUNCTION_NOT_PARALLEL, "CKR_FUNCTION_NOT_PARALLEL", "no function is running in parallel" },
	{ CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED", "the module does not support this function" },
	{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID", "the key handle is invalid (was the key deleted?)" },
	{ CKR_KEY_SIZE_RANGE, "CKR_KEY_SIZE_RANGE", "the key size is out of range" },
	{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT", "the key type does not fit the mechanism" },
	{ CKR_KEY_NOT_NEEDED, "CKR_KEY_NOT_NEEDED", "no key was needed" },
	{ CKR_KEY_CHANGED, "CKR_KEY_CHANGED", "the key changed" },
	{ CKR_KEY_NEEDED, "CKR_KEY_NEEDED", "a key is needed" },
	{ CKR_KEY_INDIGESTIBLE, "CKR_KEY_INDIGESTIBLE", "the key cannot be digested" },
	{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED", "the key's attributes do not permit this use" },
	{ CKR_KEY_NOT_WRAPPABLE, "CKR_KEY_NOT_WRAPPABLE", "the key cannot be wrapped" },
	{ CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE", "the key is not extractable" },
	{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID", "the token does not support this mechanism" },
	{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID", "the mechanism parameters are invalid" },
	{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID", "the object handle is invalid (was the object deleted?)" },
	{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE", "another operation is active on the session" },
	{ CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED", "the operation was not initialised" },
	{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT", "the PIN is incorrect" },
	{ CKR_PIN_INVALID, "CKR_PIN_INVALID", "the PIN has invalid characters" },
	{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE", "the PIN has the wrong length" },
	{ CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED", "the PIN has expired" },
	{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED", "the PIN is locked (too many wrong attempts)" },
	{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED", "the session was closed" },
	{ CKR_SESSION_COUNT, "CKR_SESSION_COUNT", "the token has no more sessions" },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID", "the session handle is invalid" },
	{ CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED", "parallel sessions are not supported" },
	{ CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY", "the session is read-only" },
	{ CKR_SESSION_EXISTS, "CKR_SESSION_EXISTS", "a session is already open" },
	{ CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS", "a read-only session exists" },
	{ CKR_SESSION_READ_WRITE_SO_EXISTS, "CKR_SESSION_READ_WRITE_SO_EXISTS", "a read-write SO session exists" },
	{ CKR_SIGNATURE_INVALID, "CKR_SIGNATURE_INVALID", "the signature is invalid" },
	{ CKR_SIGNATURE_LEN_RANGE, "CKR_SIGNATURE_LEN_RANGE", "the signature has the wrong length" },
	{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE", "the template is incomplete" },
	{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT", "the template is inconsistent" },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT", "the token is not present" },
	{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED", "the token is not recognised" },
	{ CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED", "the token is write-protected" },
	{ CKR_UNWRAPPING_KEY_SIZE_RANGE, "CKR_UNWRAPPING_KEY_SIZE_RANGE", "the unwrapping key has the wrong size" },
	{ CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT, "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT", "the unwrapping key type does not fit the mechanism" },
	{ CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN", "the user is already logged in" },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN", "not logged in to the token" },
	{ CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED", "the user PIN is not initialised" },
	{ CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID", "invalid user type" },
	{ CKR_USER_ANOTHER_ALREADY_LOGGED_IN, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN", "another user is logged in" },
	{ CKR_USER_TOO_MANY_TYPES, "CKR_USER_TOO_MANY_TYPES", "too many user types logged in" },
	{ CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID", "the wrapped key is invalid (tampered or wrapped under another key)" },
	{ CKR_WRAPPED_KEY_LEN_RANGE, "CKR_WRAPPED_KEY_LEN_RANGE", "the wrapped key has the wrong length" },
	{ CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID", "the wrapping key handle is invalid" },
	{ CKR_WRAPPING_KEY_SIZE_RANGE, "CKR_WRAPPING_KEY_SIZE_RANGE", "the wrapping key has the wrong size" },
	{ CKR_WRAPPING_KEY_TYPE_INCONSISTENT, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT", "the wrapping key type does not fit the mechanism" },
	{ CKR_RANDOM_SEED_NOT_SUPPORTED, "CKR_RANDOM_SEED_NOT_SUPPORTED", "seeding the RNG is not supported" },
	{ CKR_RANDOM_NO_RNG, "CKR_RANDOM_NO_RNG", "the token has no RNG" },
	{ CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID", "the domain parameters are invalid" },
	{ CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED", "the curve is not supported" },
	{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL", "the output buffer is too small" },
	{ CKR_SAVED_STATE_INVALID, "CKR_SAVED_STATE_INVALID", "the saved state is invalid" },
	{ CKR_INFORMATION_SENSITIVE, "CKR_INFORMATION_SENSITIVE", "the information is sensitive" },
	{ CKR_STATE_UNSAVEABLE, "CKR_STATE_UNSAVEABLE", "the state cannot be saved" },
	{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED", "the module is not initialised" },
	{ CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED", "the module is already initialised" },
	{ CKR_MUTEX_BAD, "CKR_MUTEX_BAD", "bad mutex" },
	{ CKR_MUTEX_NOT_LOCKED, "CKR_MUTEX_NOT_LOCKED", "mutex not locked" },
	{ CKR_NEW_PIN_MODE, "CKR_NEW_PIN_MODE", "new PIN mode" },
	{ CKR_NEXT_OTP, "CKR_NEXT_OTP", "next OTP" },
	{ CKR_EXCEEDED_MAX_ITERATIONS, "CKR_EXCEEDED_MAX_ITERATIONS", "exceeded the maximum iterations" },
	{ CKR_FIPS_SELF_TEST_FAILED, "CKR_FIPS_SELF_TEST_FAILED", "the token's FIPS self-test failed" },
	{ CKR_LIBRARY_LOAD_FAILED, "CKR_LIBRARY_LOAD_FAILED", "the module could not load a library" },
	{ CKR_PIN_TOO_WEAK, "CKR_PIN_TOO_WEAK", "the PIN is too weak" },
	{ CKR_PUBLIC_KEY_INVALID, "CKR_PUBLIC_KEY_INVALID", "the public key is invalid" },
	{ CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED", "the function was rejected" },
	{ HSM_R_URI_SYNTAX, "HSM_R_URI_SYNTAX", "the pkcs11: URI is malformed" },
	{ HSM_R_NOT_FOUND, "HSM_R_NOT_FOUND", "no object on the token matches" },
	{ HSM_R_AMBIGUOUS, "HSM_R_AMBIGUOUS", "more than one object matches: make the URI more specific" },
	{ HSM_R_NO_TOKEN, "HSM_R_NO_TOKEN", "no token matches" },
	{ HSM_R_PIN_SOURCE, "HSM_R_PIN_SOURCE", "the PIN source is unusable (missing, unreadable, too open, empty or too long)" },
	{ HSM_R_PIN_NOT_RETRIED, "HSM_R_PIN_NOT_RETRIED", "an earlier login with this PIN failed; it is not retried, so the token does not lock" },
	{ HSM_R_MODULE_LOAD, "HSM_R_MODULE_LOAD", "the PKCS#11 module could not be loaded" },
	{ HSM_R_KEY_ATTRS, "HSM_R_KEY_ATTRS", "the key does not have the required attributes" },
	{ HSM_R_BAD_INPUT, "HSM_R_BAD_INPUT", "invalid argument" },
	{ HSM_R_NO_MEMORY, "HSM_R_NO_MEMORY", "out of memory" },
	{ HSM_R_EXISTS, "HSM_R_EXISTS", "an object with that label already exists" },
	{ HSM_R_OPENSSL, "HSM_R_OPENSSL", "an OpenSSL operation failed" },
	{ HSM_R_URI_UNSPECIFIC, "HSM_R_URI_UNSPECIFIC", "the URI names no object: give object= or id=" },
	{ HSM_R_NO_WRAP_MECH, "HSM_R_NO_WRAP_MECH", "the token offers no AES key wrap with padding (RFC 5649)" },
};

static const struct rv_desc *
rv_lookup(CK_RV rv)
{
	size_t i;

	for (i = 0; i < sizeof(rv_table) / sizeof(rv_table[0]); i++)
		if (rv_table[i].rv == rv)
			return &rv_table[i];
	return NULL;
}

const char *
hsm_rv_name(CK_RV rv)
{
	const struct rv_desc *d = rv_lookup(rv);

	return d != NULL ? d->name : "CKR_UNKNOWN";
}

const char *
hsm_rv_text(CK_RV rv)
{
	const struct rv_desc *d = rv_lookup(rv);

	return d != NULL ? d->text : "unknown PKCS#11 return value";
}

const char *
hsm_rv_describe(CK_RV rv, char *buf, size_t len)
{
	if (len > 0)
		snprintf(buf, len, "%s (0x%lx): %s", hsm_rv_name(rv),
		    (unsigned long)rv, hsm_rv_text(rv));
	return buf;
}
