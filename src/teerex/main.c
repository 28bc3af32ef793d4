/* teerex: the client CLI. A table of subcommands, each in its own file. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "exit_codes.h"

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand COMMANDS[] = {
    {"prove", cmd_prove, "encrypt an input to an attested server and fetch the proof"},
    {"attest", cmd_attest, "verify or show an attestation document (attest verify|show)"},
    {"health", cmd_health, "check a server's /health"},
    {"bb", cmd_bb, "prover bundles: digest, fetch, upload, serve (teerex bb --help)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: teerex <command> [options]   (teerex <command> --help for details)\n\n");
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        fprintf(f, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    cli_exit_help(f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return TEEREX_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return TEEREX_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "teerex: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return TEEREX_EXIT_USAGE;
}
