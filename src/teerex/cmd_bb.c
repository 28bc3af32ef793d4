/* teerex bb: prover bundles (include/teerex/bundle.h). A table of
 * subcommands: digest (here), fetch, upload, serve (their own files). */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "exit_codes.h"
#include "teerex/bundle.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: teerex bb <command> [options]   (teerex bb <command> --help)\n"
               "\n"
               "  fetch VERSION              build the bundle of @aztec/bb.js@VERSION (bb + the\n"
               "                             loader and libraries it needs from Debian)\n"
               "  upload --to ADDR V PATH    send a bundle to a teerexd admin listener\n"
               "  serve --listen ADDR        the provisioning service teerexd asks for versions\n"
               "                             it lacks (BB_PROVISION)\n"
               "  digest PATH [--manifest]   the digest a server attests for the bundle (or\n"
               "                             executable) at PATH; --manifest prints the text it\n"
               "                             hashes (docs/PROTOCOL-EXT.md, \"Prover bundles\")\n"
               "\n"
               "exit codes of digest: 0 ok, 1 not a bundle or unreadable, 2 usage\n");
}

static int cmd_digest(int argc, char **argv)
{
    const char *path = NULL;
    bool manifest = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--manifest") == 0) {
            manifest = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return TEEREX_EXIT_OK;
        } else if (path == NULL && argv[i][0] != '-') {
            path = argv[i];
        } else {
            usage(stderr);
            return TEEREX_EXIT_USAGE;
        }
    }
    if (path == NULL) {
        usage(stderr);
        return TEEREX_EXIT_USAGE;
    }
    struct bundle b;
    char hex[BUNDLE_DIGEST_HEX];
    struct tr_buf m;
    tr_buf_init(&m, 1 << 20);
    tr_result r = bundle_open(path, &b);
    if (tr_ok(r) && manifest)
        r = bundle_manifest(&b, &m);
    if (tr_ok(r))
        r = bundle_digest(&b, hex);
    if (!tr_ok(r)) {
        fprintf(stderr, "teerex bb digest: %s: %s\n", path, tr_err_desc(r.err));
        tr_buf_free(&m);
        return TEEREX_EXIT_FAILURE;
    }
    if (manifest)
        fwrite(m.data, 1, m.len, stdout);
    printf("%s\n", hex);
    tr_buf_free(&m);
    return TEEREX_EXIT_OK;
}

struct bb_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct bb_subcommand SUBCOMMANDS[] = {
    {"digest", cmd_digest},
    {"fetch", cmd_bb_fetch},
    {"upload", cmd_bb_upload},
    {"serve", cmd_bb_serve},
};

int cmd_bb(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? TEEREX_EXIT_USAGE : TEEREX_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(SUBCOMMANDS) / sizeof(SUBCOMMANDS[0]); i++) {
        if (strcmp(argv[1], SUBCOMMANDS[i].name) == 0)
            return SUBCOMMANDS[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "teerex bb: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return TEEREX_EXIT_USAGE;
}
