/* teerex-logd internals shared by main.c (options), logd.c (the event loop)
 * and logd_out.c (where lines go). */
#ifndef TEEREX_LOGD_H
#define TEEREX_LOGD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt_addr.h"

#define LOGD_EXIT_OK 0
#define LOGD_EXIT_RUNTIME 1
#define LOGD_EXIT_USAGE 2

struct logd_opts {
    struct rt_addr listen;
    const char *output; /* NULL: stdout */
    uint64_t max_bytes; /* rotate the output file past this size; 0: never */
    uint64_t keep;      /* rotated files kept (FILE.1 .. FILE.keep) */
    uint64_t max_line;  /* longer lines are dropped and counted */
    uint64_t max_conns;
    bool allow_cid_set;
    uint32_t allow_cid; /* vsock: accept only this peer CID */
    int syslog_prefix;  /* -1 auto (stdout is the journal), 0 off, 1 on */
};

/* Where forwarded lines go: stdout (the journal under systemd, with a
 * "<N>" priority prefix it understands) or an append-only file rotated by
 * size. Written with blocking writes: a slow disk slows this receiver, and
 * the enclave side then drops lines; nothing ever waits in the enclave. */
struct logd_out {
    int fd;
    const char *path; /* NULL: stdout */
    bool prefix;
    uint64_t size, max_bytes, keep;
    uint64_t lines, bytes, errors, rotations;
};

TR_RESULT logd_out_open(struct logd_out *o, const struct logd_opts *opts);
/* Writes one checked line (without its '\n') with its syslog priority. */
void logd_out_line(struct logd_out *o, const uint8_t *line, size_t n, int prio);
/* SIGHUP: reopen the file (after an external logrotate). */
void logd_out_reopen(struct logd_out *o);
void logd_out_close(struct logd_out *o);

int logd_run(const struct logd_opts *o);

#endif
