/* teerex-eif subcommands and exit codes. */
#ifndef TEEREX_EIF_CLI_H
#define TEEREX_EIF_CLI_H

#include "teerex/result.h"

#define EIF_EXIT_OK 0
#define EIF_EXIT_FAIL 1    /* I/O, key or input file problems */
#define EIF_EXIT_USAGE 2   /* bad command line */
#define EIF_EXIT_INVALID 3 /* describe: the file is not a valid EIF */
#define EIF_EXIT_BADSIG 4  /* describe: the signature does not verify */

int cmd_build(int argc, char **argv);
int cmd_describe(int argc, char **argv);
/* Prints "teerex-eif: what: NAME (description)" for the last failure. */
void cli_error(const char *what, tr_result r);

#endif
