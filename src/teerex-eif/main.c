/* teerex-eif: builds Nitro Enclave images (EIF) without Docker, byte for
 * byte reproducibly, and describes them with their PCRs. */
#include <stdio.h>
#include <string.h>

#include "eif_cli.h"

struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct subcommand COMMANDS[] = {
    {"build", cmd_build, "write an EIF from a kernel, cmdline, init, nsm.ko and our files"},
    {"describe", cmd_describe, "check an EIF (layout, CRC, signature) and print its PCRs"},
};

void cli_error(const char *what, tr_result r)
{
    const struct tr_error_info *e = tr_last_error();
    fprintf(stderr, "teerex-eif: %s: %s (%s)%s%s\n", what, tr_err_desc(r.err), tr_err_name(r.err),
            e->ossl[0] ? ": " : "", e->ossl);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: teerex-eif <command> [options]   (teerex-eif <command> --help)\n\n");
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++)
        fprintf(f, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "\nexit codes: 0 ok, 1 failure, 2 usage, 3 invalid EIF, 4 bad signature\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EIF_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EIF_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0)
            return COMMANDS[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "teerex-eif: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EIF_EXIT_USAGE;
}
