/* Target functions: cli_parse_attestation, cli_parse_proof, cli_parse_error,
 * cli_parse_health (src/teerex/cli_response.c): the bodies a tee-rex server,
 * or anyone in its place, answers to the teerex CLI. The first byte selects
 * the parser, the rest is the body. */
#include <stdint.h>
#include <string.h>

#include "cli_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    switch (data[0] % 4) {
    case 0: {
        struct cli_attestation a;
        cli_attestation_init(&a);
        if (tr_ok(cli_parse_attestation(body, len, &a))) {
            /* A parsed key is NUL-terminated text of its stated length. */
            if (a.public_key.len == 0 ||
                strlen((const char *)a.public_key.data) != a.public_key.len)
                __builtin_trap();
            if (a.mode == CLI_MODE_NITRO && a.document.len == 0)
                __builtin_trap();
        } else if (a.public_key.len != 0 || a.document.len != 0) {
            __builtin_trap(); /* nothing half-filled survives a failure */
        }
        cli_attestation_free(&a);
        break;
    }
    case 1: {
        struct cli_proof p;
        cli_proof_init(&p);
        if (tr_ok(cli_parse_proof(body, len, &p)) && p.proof.len != 4 + (size_t)p.fields * 32)
            __builtin_trap();
        cli_proof_free(&p);
        break;
    }
    case 2: {
        char msg[64];
        cli_parse_error(body, len, msg, sizeof(msg));
        if (strlen(msg) >= sizeof(msg))
            __builtin_trap();
        for (size_t i = 0; msg[i]; i++) {
            if ((unsigned char)msg[i] < 0x20)
                __builtin_trap();
        }
        break;
    }
    default: {
        struct cli_health h;
        tr_ignore(cli_parse_health(body, len, &h));
        if (strlen(h.versions) >= sizeof(h.versions))
            __builtin_trap();
        break;
    }
    }
    return 0;
}
