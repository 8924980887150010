/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - one line per event on standard error (the journal under
 * systemd), prefixed with the process role.  Never pass a secret.
 */
#ifndef AV_LOG_H
#define AV_LOG_H

#include "config.h"

void av_log_init(const char *role, enum av_log_level level);
void av_log(enum av_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...)	av_log(AV_LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	av_log(AV_LOG_INFO, __VA_ARGS__)
#define log_warn(...)	av_log(AV_LOG_WARNING, __VA_ARGS__)
#define log_error(...)	av_log(AV_LOG_ERROR, __VA_ARGS__)

#endif /* AV_LOG_H */
