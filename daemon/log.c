/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "log.h"

/* Set once at start, before any thread: the daemon's only log state. */
static const char *log_role = "agentvaultd";
static enum av_log_level log_level = AV_LOG_INFO;

void
av_log_init(const char *role, enum av_log_level level)
{
	log_role = role;
	log_level = level;
}

void
av_log(enum av_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (level < log_level)
		return;
	n = snprintf(line, sizeof(line), "%s[%d]: %s: ", log_role,
	    (int)getpid(), av_log_level_name(level));
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line, so lines from two processes do not mix. */
	dprintf(STDERR_FILENO, "%s\n", line);
}
