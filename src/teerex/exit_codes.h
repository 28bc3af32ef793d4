/* Exit codes of the teerex CLI (documented in `teerex --help`). */
#ifndef TEEREX_CLI_EXIT_CODES_H
#define TEEREX_CLI_EXIT_CODES_H

enum teerex_exit {
    TEEREX_EXIT_OK = 0,
    TEEREX_EXIT_FAILURE = 1,    /* other failure (I/O, out of memory, ...) */
    TEEREX_EXIT_USAGE = 2,      /* bad command line */
    TEEREX_EXIT_NETWORK = 3,    /* server unreachable, timeouts, transport errors */
    TEEREX_EXIT_SERVER = 4,     /* server answered with an error (4xx/5xx) */
    TEEREX_EXIT_UNATTESTED = 5, /* standard-mode server refused (--require-attestation) */
    TEEREX_EXIT_ATTEST = 10,    /* attestation failed: 10 + class (see cmd_attest.c) */
};

#endif
