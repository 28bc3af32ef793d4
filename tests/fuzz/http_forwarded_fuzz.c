/* Target functions: http_forwarded_client (X-Forwarded-For header lines from
 * a trusted peer: the client wrote every entry left of the trusted hops). The
 * input is split at '\n' into up to 8 header lines. Invariant: a replaced
 * client is an IPv4 or IPv6 address; an untouched one stays the peer. */
#include <stdlib.h>
#include <string.h>

#include "teerex/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_cidr trusted[2];
    static int init;
    if (!init) {
        tr_ignore(http_cidr_parse("10.0.0.0/8", &trusted[0]));
        tr_ignore(http_cidr_parse("2001:db8::/32", &trusted[1]));
        init = 1;
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *lines[8];
    size_t n = 0;
    for (char *p = text; n < 8;) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    bool replaced = false;
    tr_result r = http_forwarded_client(lines, n, trusted, 2, &ss, &replaced);
    if (replaced && ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
        __builtin_trap();
    if (!replaced && ss.ss_family != AF_UNIX)
        __builtin_trap();
    if (!tr_ok(r) && r.err != TR_ERR_HTTP_BAD_FORWARDED)
        __builtin_trap();
    free(text);
    return 0;
}
