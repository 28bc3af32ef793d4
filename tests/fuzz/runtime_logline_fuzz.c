/* Target functions: rt_logline_check (a log line teerex-init forwards and
 * teerex-logd receives from a socket: one JSON object, or refused). */
#include <stdint.h>
#include <string.h>

#include "rt_logline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rt_logline ll;
    tr_result r = rt_logline_check(data, size, &ll);
    if (tr_ok(r)) {
        /* Accepted: the object's bytes, braces at both ends, a known priority. */
        if (ll.len < 2 || ll.len > size || ll.len > RT_LOGLINE_MAX || data[0] != '{' ||
            data[ll.len - 1] != '}')
            __builtin_trap();
        if (ll.syslog_prio != 3 && ll.syslog_prio != 4 && ll.syslog_prio != 6 &&
            ll.syslog_prio != 7)
            __builtin_trap();
    } else if (ll.len != 0) {
        __builtin_trap();
    }
    return 0;
}
