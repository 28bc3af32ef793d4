/* Exit codes of the teerex CLI: one table (cli_exit.c) from an error to an
 * exit code, printed by `teerex --help` (cli_exit_help). */
#ifndef TEEREX_CLI_EXIT_CODES_H
#define TEEREX_CLI_EXIT_CODES_H

#include <stdint.h>
#include <stdio.h>

enum teerex_exit {
    TEEREX_EXIT_OK = 0,
    TEEREX_EXIT_FAILURE = 1,    /* other failure (I/O, out of memory, ...) */
    TEEREX_EXIT_USAGE = 2,      /* bad command line */
    TEEREX_EXIT_NETWORK = 3,    /* server unreachable, timeouts, transport errors */
    TEEREX_EXIT_SERVER = 4,     /* server answered with an error (4xx/5xx) */
    TEEREX_EXIT_UNATTESTED = 5, /* standard-mode server refused (--require-attestation) */
    TEEREX_EXIT_ATTEST = 10,    /* attestation failed: 10 + class (attest_class_of) */
    /* teerex bb fetch */
    TEEREX_EXIT_BB_UNKNOWN_VERSION = 30,
    TEEREX_EXIT_BB_NO_BINARY = 31,
    TEEREX_EXIT_BB_INTEGRITY = 32,
    TEEREX_EXIT_BB_DOES_NOT_RUN = 33,
    TEEREX_EXIT_BB_RUNTIME = 34,
};

/* The exit code for a failure with error code err (a TR_ERR_*). */
int cli_exit_code(int32_t err);
/* The "exit codes:" section of `teerex --help`, from the same table. */
void cli_exit_help(FILE *f);

#endif
