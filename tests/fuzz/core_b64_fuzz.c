/* Target functions: tr_b64_decode, tr_hex_decode (JSON `data` and nonce
 * fields arrive as untrusted base64/hex text). */
#include <stdint.h>

#include "teerex/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    if (tr_ok(tr_b64_decode((const char *)data, size, &b)) && b.len > size)
        __builtin_trap();
    tr_buf_free(&b);
    tr_buf_init(&b, 1 << 20);
    tr_ignore(tr_hex_decode((const char *)data, size, &b));
    tr_buf_free(&b);
    return 0;
}
