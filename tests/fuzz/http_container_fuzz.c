/* Target functions: http_container_parse, http_container_write (the
 * decrypted ultra_honk input names files in the prover's directory).
 * Accepted containers only name allow-listed files and round-trip exactly. */
#include <stdint.h>
#include <string.h>

#include "teerex/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_container c;
    if (!tr_ok(http_container_parse(data, size, HTTP_CONTAINER_ULTRA_HONK, &c)))
        return 0;
    for (size_t i = 0; i < c.count; i++) {
        if (strcmp(c.entries[i].name, "program.json") != 0 &&
            strcmp(c.entries[i].name, "witness.gz") != 0)
            __builtin_trap();
    }
    struct tr_buf out;
    tr_buf_init(&out, size + 1);
    if (!tr_ok(http_container_write(&c, &out)) || out.len != size ||
        memcmp(out.data, data, size) != 0)
        __builtin_trap();
    tr_buf_free(&out);
    return 0;
}
