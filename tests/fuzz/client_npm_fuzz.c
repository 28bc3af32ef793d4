/* Target functions: cli_npm_parse (src/teerex/cli_npm.c): the npm
 * registry's version document of @aztec/bb.js, read by `teerex bb fetch`
 * and the provisioning service. An accepted document names the package and
 * the version asked for, an http(s) tarball URL of printable characters and
 * a 64-byte sha512 integrity. The first byte chooses whether a version is
 * required ("4.1.2") or not. */
#include <stdint.h>
#include <string.h>

#include "cli_bb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *want = data[0] & 1 ? "4.1.2" : NULL;
    struct cli_npm_dist d;
    if (!tr_ok(cli_npm_parse(data + 1, size - 1, want, &d)))
        return 0;
    if (want && strcmp(d.version, want) != 0)
        __builtin_trap();
    if (strncmp(d.tarball, "http://", 7) != 0 && strncmp(d.tarball, "https://", 8) != 0)
        __builtin_trap();
    for (const char *c = d.tarball; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f)
            __builtin_trap();
    return 0;
}
