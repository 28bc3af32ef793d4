/* Placeholder until its issue lands; replaced by the real subcommand. */
#include <stdio.h>

#include "commands.h"
#include "exit_codes.h"

int cmd_attest(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "teerex attest: not built yet\n");
    return TEEREX_EXIT_FAILURE;
}
