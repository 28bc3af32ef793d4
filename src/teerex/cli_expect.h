/* The expectations a user states on the command line (teerex prove and
 * teerex attest verify share them): --pcr N=HEX and --expect-bb V=SHA256. */
#ifndef TEEREX_CLI_EXPECT_H
#define TEEREX_CLI_EXPECT_H

#include "teerex/attest.h"
#include "teerex/result.h"

/* "N=HEX": N in 0..31, 32/48/64 bytes of hex. TR_ERR_USAGE otherwise. */
TR_RESULT cli_parse_pcr(const char *arg, struct attest_pcr_expect *out);
/* "VERSION=SHA256": a valid prover version (as x-aztec-version accepts it),
 * 64 hex digits. TR_ERR_USAGE otherwise. */
TR_RESULT cli_parse_bb(const char *arg, struct attest_bb_expect *out);

#endif
