/* What may travel on the log channel from the enclave to the parent: one
 * JSON object per line, as tr_log writes it, and nothing else. teerex-init
 * checks every line before it forwards it (raw text a child prints, such as
 * a crash message, is withheld: only our own structured events, which never
 * carry plaintext or keys, leave the enclave), and teerex-logd checks it
 * again on arrival (the parent trusts no bytes from a socket). */
#ifndef TEEREX_RT_LOGLINE_H
#define TEEREX_RT_LOGLINE_H

#include <stddef.h>
#include <stdint.h>

#include "teerex/result.h"

#define RT_LOGLINE_MAX 16384

struct rt_logline {
    int syslog_prio; /* from "level": 3 error, 4 warn, 6 info (also when absent), 7 debug */
    size_t len;      /* the object's bytes without the trailing newline */
};

/* p[0..n) is one line with or without its '\n'. RT_LOG_LINE when it is not
 * exactly one JSON object (valid UTF-8, nothing before or after it),
 * RT_LOG_LINE_LONG past RT_LOGLINE_MAX bytes. */
TR_RESULT rt_logline_check(const uint8_t *p, size_t n, struct rt_logline *out);

#endif
