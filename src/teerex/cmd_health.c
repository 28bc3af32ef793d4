/* Placeholder until its issue lands; replaced by the real subcommand. */
#include <stdio.h>

#include "commands.h"
#include "exit_codes.h"

int cmd_health(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "teerex health: not built yet\n");
    return TEEREX_EXIT_FAILURE;
}
