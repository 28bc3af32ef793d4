/* Target functions: cli_ldlist_parse (src/teerex/cli_bb_build.c): the
 * loader's `--list` output for a downloaded bb, whose library names come
 * from that binary. Every reported entry has a non-empty name and an
 * absolute path; a "not found" line is an error naming the library. */
#include <stdint.h>
#include <string.h>

#include "cli_bb.h"

static tr_result each(void *ctx, const char *name, const char *path)
{
    (void)ctx;
    if (name[0] == '\0' || path[0] != '/')
        __builtin_trap();
    return TR_SUCCESS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char missing[64];
    tr_result r = cli_ldlist_parse((const char *)data, size, each, NULL, missing, sizeof(missing));
    if (r.err == TR_ERR_CLIENT_BB_RUNTIME && strnlen(missing, sizeof(missing)) == sizeof(missing))
        __builtin_trap();
    return 0;
}
