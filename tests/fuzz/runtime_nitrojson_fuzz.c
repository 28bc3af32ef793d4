/* Target functions: rt_nitro_parse_cid (`nitro-cli describe-enclaves`
 * output read by teerex-proxy to find the enclave's CID). */
#include <stdint.h>

#include "rt_nitro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t cid = 7;
    tr_result r = rt_nitro_parse_cid(data, size, "teerex", &cid);
    if (tr_ok(r) && (cid < 3 || cid == UINT32_MAX))
        __builtin_trap();
    if (!tr_ok(r) && cid != 0)
        __builtin_trap();
    return 0;
}
