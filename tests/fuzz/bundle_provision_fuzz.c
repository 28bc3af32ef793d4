/* Target functions: bundle_prov_request_parse (what the provisioning
 * service reads from any local process or enclave), bundle_prov_reply_parse
 * (what teerexd reads from the host), and their writers: an accepted
 * message written again parses to the same fields. The first byte selects
 * the parser. */
#include <stdint.h>
#include <string.h>

#include "teerex/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *line = (const char *)data + 1;
    size_t n = size - 1;
    struct tr_buf b;
    tr_buf_init(&b, 8192);
    if (data[0] & 1) {
        struct bundle_prov_reply a, c;
        if (tr_ok(bundle_prov_reply_parse(line, n, &a))) {
            if (!tr_ok(bundle_prov_reply_write(&a, &b)) || b.len < 1 ||
                !tr_ok(bundle_prov_reply_parse((const char *)b.data, b.len - 1, &c)) ||
                a.ok != c.ok || a.size != c.size || strcmp(a.version, c.version) != 0 ||
                strcmp(a.digest, c.digest) != 0 || strcmp(a.error, c.error) != 0)
                __builtin_trap();
            for (const char *p = a.detail; *p; p++)
                if (*p < 0x20 || *p >= 0x7f)
                    __builtin_trap();
        }
    } else {
        struct bundle_prov_request a, c;
        if (tr_ok(bundle_prov_request_parse(line, n, &a))) {
            if (!bundle_version_valid(a.version) || !tr_ok(bundle_prov_request_write(&a, &b)) ||
                b.len < 1 ||
                !tr_ok(bundle_prov_request_parse((const char *)b.data, b.len - 1, &c)) ||
                strcmp(a.version, c.version) != 0 || strcmp(a.digest, c.digest) != 0)
                __builtin_trap();
        }
    }
    tr_buf_free(&b);
    return 0;
}
