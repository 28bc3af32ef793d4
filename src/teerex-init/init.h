/* teerex-init internals shared by main.c and supervise.c. */
#ifndef TEEREX_INIT_H
#define TEEREX_INIT_H

#include "rt_config.h"

/* Exit codes (documented in --help). */
#define INIT_EXIT_OK 0
#define INIT_EXIT_RUNTIME 1
#define INIT_EXIT_USAGE 2

/* Runs the supervisor; returns only in test mode (exit_on_signal) or when
 * set-up fails while not PID 1. */
int init_supervise(const struct rt_config *cfg);

#endif
