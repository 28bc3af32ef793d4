/* Target functions: http_proxy_parse (the first bytes of every connection on
 * a proxy+ listener are untrusted). Checks the parser's own invariants:
 * a header never claims more bytes than it was given, and every prefix of an
 * accepted header is either incomplete or the same header. */
#include <stdint.h>
#include <string.h>

#include "teerex/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct http_proxy_info info;
    tr_result r = http_proxy_parse(data, size, &info);
    if (!tr_ok(r))
        return 0;
    if (info.header_len == 0 || info.header_len > size)
        __builtin_trap();
    if (info.version != 1 && info.version != 2)
        __builtin_trap();
    if (!info.local && info.family != AF_INET && info.family != AF_INET6)
        __builtin_trap();
    /* The header alone parses to the same length; one byte less never parses. */
    struct http_proxy_info again;
    if (!tr_ok(http_proxy_parse(data, info.header_len, &again)) ||
        again.header_len != info.header_len)
        __builtin_trap();
    tr_result shorter = http_proxy_parse(data, info.header_len - 1, &again);
    if (tr_ok(shorter))
        __builtin_trap();
    return 0;
}
