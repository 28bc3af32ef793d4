/* Target functions: http_prove_body_parse (the POST /prove body: JSON with a
 * base64 `data` string, up to 50 MiB from anyone; yajl's event parser behind
 * the exact-shape fast path). The decoded output never exceeds its cap or 3/4
 * of the input. The cap is the server's (MAX_BODY_BYTES), and http_body.options
 * lets inputs reach that size. */
#include <stdint.h>

#include "teerex/http.h"
#include "teerex/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_buf out;
    tr_buf_init(&out, TR_MAX_BODY_DEFAULT);
    tr_result r = http_prove_body_parse(data, size, &out);
    if (tr_ok(r) && out.len > size)
        __builtin_trap();
    if (!tr_ok(r) && out.len != 0)
        __builtin_trap();
    tr_buf_free(&out);
    return 0;
}
