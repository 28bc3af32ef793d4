/* teerex-init configuration: a small `key = value` file and/or argv.
 *
 * The file may come from the image (trusted at build time) but is parsed as
 * untrusted bytes anyway (it is fuzzed: tests/fuzz/runtime_config_fuzz.c):
 * size, line, argument and child counts are capped, every value is checked.
 *
 *   # comment
 *   workdir        = /app                 chdir before starting children
 *   console        = /dev/console | stderr | off | PATH
 *   console_buffer = 65536                bytes kept for a slow console
 *   loopback       = on | off             bring lo up with 127.0.0.1/8
 *   env            = PORT=4000            repeatable, for every child; a name
 *                                         given twice in the file is an error,
 *                                         --env NAME=V on the command line
 *                                         replaces the file's value (logged)
 *   child          = teerexd /app/teerexd repeatable: NAME PROGRAM ARGS...
 *   restart_min    = 100ms                first restart delay
 *   restart_max    = 30s                  cap of the exponential backoff
 *   stable_after   = 10s                  a run this long resets the backoff
 *   stop_timeout   = 10s                  SIGTERM -> SIGKILL grace
 *   exit_on_signal = off                  test mode: exit after SIGTERM/SIGINT
 *   stats_file     = PATH                 counters written on SIGUSR1 and exit
 *   log_level      = info
 *   log_forward    = vsock:3:5001         also send every JSON log line to the
 *                                         parent's teerex-logd (tcp:/unix: too)
 *   log_forward_buffer = 262144           bytes kept while the receiver is slow
 */
#ifndef TEEREX_RT_CONFIG_H
#define TEEREX_RT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teerex/result.h"

#define RT_MAX_CHILDREN 8
#define RT_MAX_ARGS 32
#define RT_MAX_ENV 64
#define RT_MAX_CONFIG_BYTES ((size_t)64 * 1024)
#define RT_MAX_LINE 4096
#define RT_MAX_NAME 32
#define RT_CONSOLE_BUF_MIN ((uint64_t)4096)
#define RT_CONSOLE_BUF_MAX ((uint64_t)16 * 1024 * 1024)
#define RT_LOGFWD_BUF_DEFAULT ((size_t)256 * 1024)

enum rt_console_kind { RT_CONSOLE_PATH = 0, RT_CONSOLE_STDERR, RT_CONSOLE_OFF };

struct rt_child_spec {
    char name[RT_MAX_NAME];
    char *argv[RT_MAX_ARGS + 1]; /* NULL-terminated, owned */
    size_t argc;
};

struct rt_config {
    char *workdir; /* owned; NULL: stay where we are */
    enum rt_console_kind console;
    char *console_path; /* owned; for RT_CONSOLE_PATH */
    size_t console_buffer;
    bool loopback;
    char *env[RT_MAX_ENV + 1];       /* owned, NULL-terminated, one entry per name */
    bool env_overridden[RT_MAX_ENV]; /* replaced by a later setting */
    unsigned env_file[RT_MAX_ENV];   /* which parsed file set it (1, 2...; 0: none) */
    size_t n_env;
    bool in_file;     /* while rt_config_parse runs */
    unsigned n_files; /* files parsed so far */
    struct rt_child_spec children[RT_MAX_CHILDREN];
    size_t n_children;
    uint64_t restart_min_ms, restart_max_ms, stable_after_ms, stop_timeout_ms;
    bool exit_on_signal;
    char *stats_file;  /* owned; NULL: none */
    char *log_forward; /* owned; NULL: no log channel */
    size_t log_forward_buffer;
    int log_level; /* enum tr_log_level */
};

/* Defaults: console /dev/console, 64 KiB buffer, loopback on, 100ms..30s. */
void rt_config_init(struct rt_config *c);
void rt_config_free(struct rt_config *c);
/* Sets one key (as in the file). Fails with RT_CONFIG_KEY/VALUE/LIMIT. */
TR_RESULT rt_config_set(struct rt_config *c, const char *key, const char *value);
/* Parses a whole file's bytes; *bad_line gets the 1-based failing line. */
TR_RESULT rt_config_parse(struct rt_config *c, const uint8_t *p, size_t n, size_t *bad_line);
TR_RESULT rt_config_load(struct rt_config *c, const char *path, size_t *bad_line);
/* Adds a child from an argv vector (the `-- PROGRAM ARGS` form). */
TR_RESULT rt_config_add_child_argv(struct rt_config *c, const char *name, char *const *argv,
                                   size_t argc);
/* Final checks: at least one child, backoff min <= max. */
TR_RESULT rt_config_validate(const struct rt_config *c);

#endif
