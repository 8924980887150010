/* SPDX-License-Identifier: Apache-2.0 */
/*
 * login.c - PIN sources and user login.
 *
 * A PIN comes from a file or the environment, never from argv (argv is
 * world-readable in /proc).  It lives in a fixed stack buffer that is
 * cleansed on every path.  A PIN the token refused is never tried again by
 * the same handle: retrying would count towards the token's lock-out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "internal.h"

static CK_RV
pin_from_file(const char *path, char buf[HSM_PIN_MAX + 1], size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;
	CK_RV rv = HSM_R_PIN_SOURCE;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return HSM_R_PIN_SOURCE;
	/* A PIN file others can read is a PIN others know. */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		goto done;
	/* Read one byte more than allowed to tell "too long" from "full". */
	while (got < HSM_PIN_MAX + 1) {
		n = read(fd, buf + got, HSM_PIN_MAX + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got > 0 && buf[got - 1] == '\n')
		got--;
	if (got > 0 && buf[got - 1] == '\r')
		got--;
	if (got == 0 || got > HSM_PIN_MAX || memchr(buf, '\0', got) != NULL)
		goto done;
	buf[got] = '\0';
	*len = got;
	rv = CKR_OK;
done:
	if (rv != CKR_OK)
		OPENSSL_cleanse(buf, HSM_PIN_MAX + 1);
	close(fd);
	return rv;
}

/*
 * The variable's value is wiped in place and the variable removed, so the
 * PIN does not linger in /proc/PID/environ or reach child processes.
 */
static CK_RV
pin_from_env(const char *name, char buf[HSM_PIN_MAX + 1], size_t *len)
{
	char *v = getenv(name);
	size_t n;

	if (v == NULL)
		return HSM_R_PIN_SOURCE;
	if ((n = strlen(v)) == 0 || n > HSM_PIN_MAX) {
		OPENSSL_cleanse(v, n);	/* unusable, but still a secret */
		unsetenv(name);
		return HSM_R_PIN_SOURCE;
	}
	memcpy(buf, v, n);
	buf[n] = '\0';
	*len = n;
	OPENSSL_cleanse(v, n);
	unsetenv(name);
	return CKR_OK;
}

CK_RV
hsm_pin_read(const char *src, char buf[HSM_PIN_MAX + 1], size_t *len)
{
	if (src == NULL)
		return HSM_R_PIN_SOURCE;
	if (strncmp(src, "file:", 5) == 0 && src[5] != '\0')
		return pin_from_file(src + 5, buf, len);
	if (strncmp(src, "env:", 4) == 0 && src[4] != '\0')
		return pin_from_env(src + 4, buf, len);
	return HSM_R_PIN_SOURCE;
}

CK_RV
hsm_login_pin(struct hsm *h, const char *pin, size_t pin_len)
{
	CK_SESSION_HANDLE s;
	CK_RV rv;

	pthread_mutex_lock(&h->login_lock);
	if (h->pin_failed) {
		rv = HSM_R_PIN_NOT_RETRIED;
		goto done;
	}
	if (h->logged_in) {
		rv = CKR_OK;
		goto done;
	}
	hsm_session_get(h, &s);
	rv = h->fn->C_Login(s, CKU_USER, (CK_UTF8CHAR *)pin, pin_len);
	hsm_session_put(h, s);
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv == CKR_OK)
		h->logged_in = true;
	else if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_INVALID ||
	    rv == CKR_PIN_LEN_RANGE || rv == CKR_PIN_LOCKED ||
	    rv == CKR_PIN_EXPIRED)
		h->pin_failed = true;
done:
	pthread_mutex_unlock(&h->login_lock);
	return rv;
}

CK_RV
hsm_login(struct hsm *h, const char *pin_source)
{
	char pin[HSM_PIN_MAX + 1];
	size_t len = 0;
	CK_RV rv;

	if ((rv = hsm_pin_read(pin_source, pin, &len)) == CKR_OK)
		rv = hsm_login_pin(h, pin, len);
	OPENSSL_cleanse(pin, sizeof(pin));
	return rv;
}
