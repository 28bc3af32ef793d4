/* Structured logs: one JSON object per line, written with a single write().
 *
 *   tr_log(TR_LOG_INFO, "prove_done", "{s:I,s:s}", "prove_ms", ms, "version", v);
 *
 * The format string and arguments are jansson's json_pack() format for an
 * object whose fields are merged after ts/level/component/event. Pass NULL
 * for no extra fields. Never log plaintext or key material.
 */
#ifndef TEEREX_LOG_H
#define TEEREX_LOG_H

#include "teerex/result.h"

enum tr_log_level { TR_LOG_DEBUG = 0, TR_LOG_INFO, TR_LOG_WARN, TR_LOG_ERROR, TR_LOG_OFF };

void tr_log_set_component(const char *name); /* static string, e.g. "teerexd" */
void tr_log_set_level(enum tr_log_level level);
void tr_log_set_fd(int fd); /* default 2 (stderr) */
/* Parses "debug", "info", "warn", "error", "off"; returns -1 when unknown. */
int tr_log_level_parse(const char *s);
void tr_log(enum tr_log_level level, const char *event, const char *fmt, ...);
/* Logs the last recorded failure (tr_last_error) with its name and place. */
void tr_log_result(enum tr_log_level level, const char *event, tr_result r);

#endif
