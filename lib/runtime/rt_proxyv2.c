/* PROXY v2 writer (see rt_proxyv2.h). Hand-written: no C library for the
 * sending side exists in Debian; it is 16 fixed bytes plus addresses. */
#include <netinet/in.h>
#include <string.h>

#include "rt_proxyv2.h"
#include "teerex/buf.h"

static const uint8_t SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* Normalises to AF_INET when an AF_INET6 address is IPv4-mapped. */
static int family_of(const struct sockaddr *sa, socklen_t len, struct sockaddr_in *v4tmp)
{
    if (!sa)
        return AF_UNSPEC;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        memcpy(v4tmp, sa, sizeof(*v4tmp));
        return AF_INET;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
            memset(v4tmp, 0, sizeof(*v4tmp));
            v4tmp->sin_family = AF_INET;
            memcpy(&v4tmp->sin_addr, v6->sin6_addr.s6_addr + 12, 4);
            v4tmp->sin_port = v6->sin6_port;
            return AF_INET;
        }
        return AF_INET6;
    }
    return AF_UNSPEC;
}

tr_result rt_proxyv2_build(const struct sockaddr *src, socklen_t src_len,
                           const struct sockaddr *dst, socklen_t dst_len,
                           uint8_t out[RT_PROXYV2_MAX], size_t *out_len)
{
    *out_len = 0;
    struct sockaddr_in s4, d4;
    struct sockaddr_in6 zero6;
    memset(&s4, 0, sizeof(s4));
    memset(&d4, 0, sizeof(d4));
    memset(&zero6, 0, sizeof(zero6));
    int sf = family_of(src, src_len, &s4);
    int df = family_of(dst, dst_len, &d4);
    struct tr_buf b;
    tr_buf_init(&b, RT_PROXYV2_MAX);
    tr_result res = TR_SUCCESS;
    TR_TRY(tr_buf_append(&b, SIG, sizeof(SIG)));
    TR_TRY(tr_buf_append_u8(&b, 0x21)); /* version 2, command PROXY */
    if (sf == AF_INET) {
        const struct sockaddr_in *d = df == AF_INET ? &d4 : NULL;
        TR_TRY(tr_buf_append_u8(&b, 0x11)); /* TCP over IPv4 */
        TR_TRY(tr_buf_append_be16(&b, 12));
        TR_TRY(tr_buf_append(&b, &s4.sin_addr, 4));
        if (d)
            TR_TRY(tr_buf_append(&b, &d->sin_addr, 4));
        else
            TR_TRY(tr_buf_append(&b, &zero6.sin6_addr, 4));
        TR_TRY(tr_buf_append(&b, &s4.sin_port, 2));
        TR_TRY(
            tr_buf_append(&b, d ? (const void *)&d->sin_port : (const void *)&zero6.sin6_port, 2));
    } else if (sf == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)src;
        const struct sockaddr_in6 *d6 = df == AF_INET6 ? (const struct sockaddr_in6 *)dst : &zero6;
        TR_TRY(tr_buf_append_u8(&b, 0x21)); /* TCP over IPv6 */
        TR_TRY(tr_buf_append_be16(&b, 36));
        TR_TRY(tr_buf_append(&b, &s6->sin6_addr, 16));
        TR_TRY(tr_buf_append(&b, &d6->sin6_addr, 16));
        TR_TRY(tr_buf_append(&b, &s6->sin6_port, 2));
        TR_TRY(tr_buf_append(&b, &d6->sin6_port, 2));
    } else {
        TR_TRY(tr_buf_append_u8(&b, 0x00)); /* UNSPEC: receiver uses its own view */
        TR_TRY(tr_buf_append_be16(&b, 0));
    }
    TR_CHECK(b.len <= RT_PROXYV2_MAX, TR_ERR_RT_PROXY_HDR);
    memcpy(out, b.data, b.len);
    *out_len = b.len;
out:
    tr_buf_free(&b);
    return res;
}
