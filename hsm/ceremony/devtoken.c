/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devtoken.c - a fresh SoftHSM2 token for development and tests.
 *
 * libp11 does the slot discovery and token initialisation (C_InitToken,
 * SO login, C_InitPIN) here: it is a one-shot job in its own process, so
 * its own module load does not meet ours.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libp11.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "ceremony.h"

#define PIN_BYTES 16	/* 32 hex characters */

/* Write a new file (never an existing one) with the given mode. */
static int
write_new_file(const char *path, const char *data, mode_t mode)
{
	size_t len = strlen(data);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1) {
		fprintf(stderr, "agentvault-ceremony: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		fprintf(stderr, "agentvault-ceremony: %s: %s\n", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return close(fd);
}

static int
random_pin(char out[2 * PIN_BYTES + 2])
{
	unsigned char raw[PIN_BYTES];
	size_t i;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	for (i = 0; i < PIN_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	out[2 * PIN_BYTES] = '\n';
	out[2 * PIN_BYTES + 1] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}

static PKCS11_SLOT *
find_slot(PKCS11_CTX *ctx, PKCS11_SLOT *slots, unsigned n, const char *label)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		PKCS11_TOKEN *t = slots[i].token;

		if (t == NULL)
			continue;
		if (label == NULL ? !t->initialized :
		    (t->initialized && strcmp(t->label, label) == 0))
			return &slots[i];
	}
	(void)ctx;
	return NULL;
}

/* C_InitToken with the SO PIN, then the user PIN as SO. */
static int
init_token(const char *module, const char *label, const char *so_pin,
    const char *user_pin)
{
	PKCS11_CTX *ctx = PKCS11_CTX_new();
	PKCS11_SLOT *slots = NULL, *slot;
	char padded[33];
	unsigned n = 0;
	int ok = -1;

	/*
	 * C_InitToken reads exactly 32 bytes of label; libp11 0.4.12 passes
	 * the caller's string through, so give it 32 blank-padded bytes.
	 */
	snprintf(padded, sizeof(padded), "%-32s", label);

	if (ctx == NULL || PKCS11_CTX_load(ctx, module) != 0) {
		fprintf(stderr, "agentvault-ceremony: cannot load %s\n", module);
		goto done;
	}
	if (PKCS11_enumerate_slots(ctx, &slots, &n) != 0 ||
	    (slot = find_slot(ctx, slots, n, NULL)) == NULL) {
		fprintf(stderr, "agentvault-ceremony: no free slot\n");
		goto done;
	}
	if (PKCS11_init_token(slot->token, so_pin, padded) != 0) {
		fprintf(stderr, "agentvault-ceremony: C_InitToken failed\n");
		goto done;
	}
	/* SoftHSM2 moves an initialised token to a new slot id. */
	PKCS11_release_all_slots(ctx, slots, n);
	slots = NULL;
	if (PKCS11_enumerate_slots(ctx, &slots, &n) != 0 ||
	    (slot = find_slot(ctx, slots, n, label)) == NULL) {
		fprintf(stderr, "agentvault-ceremony: new token not found\n");
		goto done;
	}
	if (PKCS11_open_session(slot, 1) != 0 ||
	    PKCS11_login(slot, 1, so_pin) != 0 ||
	    PKCS11_init_pin(slot->token, user_pin) != 0) {
		fprintf(stderr, "agentvault-ceremony: setting the user PIN "
		    "failed\n");
		goto done;
	}
	PKCS11_logout(slot);
	ok = 0;
done:
	if (slots != NULL)
		PKCS11_release_all_slots(ctx, slots, n);
	if (ctx != NULL) {
		PKCS11_CTX_unload(ctx);
		PKCS11_CTX_free(ctx);
	}
	return ok;
}

int
cer_dev_token(const struct cer_opts *o)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], conf[PATH_MAX + 128];
	char so_pin[2 * PIN_BYTES + 2], user_pin[2 * PIN_BYTES + 2];
	int rc = 1;

	if (strlen(o->label) == 0 || strlen(o->label) > 32) {
		fprintf(stderr, "agentvault-ceremony: a token label has 1 to "
		    "32 characters\n");
		return 2;
	}
	if (mkdir(o->dir, 0700) == -1 && errno != EEXIST) {
		fprintf(stderr, "agentvault-ceremony: %s: %s\n", o->dir,
		    strerror(errno));
		return 1;
	}
	if (realpath(o->dir, dir) == NULL) {
		fprintf(stderr, "agentvault-ceremony: %s: %s\n", o->dir,
		    strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/tokens", dir);
	if (mkdir(path, 0700) == -1) {
		fprintf(stderr, "agentvault-ceremony: %s: %s (a token "
		    "directory is made fresh, never reused)\n", path,
		    strerror(errno));
		return 1;
	}
	snprintf(conf, sizeof(conf), "directories.tokendir = %s\n"
	    "objectstore.backend = file\nlog.level = ERROR\n"
	    "slots.removable = false\n", path);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", dir);
	if (write_new_file(path, conf, 0600) != 0)
		return 1;
	if (setenv("SOFTHSM2_CONF", path, 1) != 0)
		return 1;
	if (random_pin(so_pin) != 0 || random_pin(user_pin) != 0)
		goto done;
	snprintf(path, sizeof(path), "%s/so.pin", dir);
	if (write_new_file(path, so_pin, 0600) != 0)
		goto done;
	snprintf(path, sizeof(path), "%s/user.pin", dir);
	if (write_new_file(path, user_pin, 0600) != 0)
		goto done;
	/* The files keep a newline; the token gets the PIN without it. */
	so_pin[2 * PIN_BYTES] = user_pin[2 * PIN_BYTES] = '\0';
	if (init_token(o->module, o->label, so_pin, user_pin) != 0)
		goto done;
	printf("token \"%s\" initialised in %s/tokens\n", o->label, dir);
	printf("export SOFTHSM2_CONF=%s/softhsm2.conf\n", dir);
	printf("user PIN source: file:%s/user.pin\n", dir);
	rc = 0;
done:
	OPENSSL_cleanse(so_pin, sizeof(so_pin));
	OPENSSL_cleanse(user_pin, sizeof(user_pin));
	return rc;
}
