/* Command line of `teerex prove` and the mapping of failures to exit codes. */
#ifndef TEEREX_CLI_PROVE_OPTS_H
#define TEEREX_CLI_PROVE_OPTS_H

#include <stdbool.h>

#include "cli_input.h"
#include "cli_session.h"

struct prove_opts {
    struct cli_session_opts session; /* url, attestation expectations, http */
    const char *input;
    const char *out;
    const char *aztec_version;
    enum cli_scheme scheme;
    bool json;
    struct attest_pcr_expect pcrs[ATTEST_MAX_PCRS];
    struct attest_bb_expect bb[16];
    struct tr_buf root_pem;
};

/* Returns -1 when the command should run, else the exit code to return now
 * (0 after --help, TEEREX_EXIT_USAGE on a bad command line). */
int prove_opts_parse(int argc, char **argv, struct prove_opts *o);
void prove_opts_free(struct prove_opts *o);

/* Environment shared by the subcommands (TEEREX_LOCAL_ADDRESS). */
void cli_http_opts_from_env(struct cli_http_opts *h);

#endif
