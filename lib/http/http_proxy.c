/* PROXY protocol v1 and v2 header parser (haproxy's proxy-protocol.txt).
 *
 * Why hand-written: neither libmicrohttpd nor any Debian 12 C library parses
 * PROXY headers (haproxy and nginx carry their own, not as libraries). The
 * parser is pure and bounded: it sees at most the first HTTP_PROXY_V2_MAX
 * bytes of a connection and says how many of them the header used.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "teerex/http.h"

static const uint8_t V2_SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
static const char V1_SIG[] = "PROXY ";

static bool prefix_of(const uint8_t *p, size_t n, const void *sig, size_t sig_len)
{
    size_t k = n < sig_len ? n : sig_len;
    return memcmp(p, sig, k) == 0;
}

/* Splits the v1 line (without CRLF) at single spaces into at most 6 fields. */
static size_t split_fields(char *line, char *fields[6])
{
    size_t nf = 0;
    char *s = line;
    while (nf < 6) {
        fields[nf++] = s;
        char *sp = strchr(s, ' ');
        if (!sp)
            break;
        *sp = '\0';
        s = sp + 1;
    }
    return nf;
}

static TR_RESULT parse_port(const char *s, uint16_t *out)
{
    size_t n = strlen(s);
    TR_ENSURE(n >= 1 && n <= 5, TR_ERR_HTTP_PROXY_BAD_V1);
    TR_ENSURE(!(n > 1 && s[0] == '0'), TR_ERR_HTTP_PROXY_BAD_V1);
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        TR_ENSURE(s[i] >= '0' && s[i] <= '9', TR_ERR_HTTP_PROXY_BAD_V1);
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    TR_ENSURE(v <= 65535, TR_ERR_HTTP_PROXY_BAD_V1);
    *out = (uint16_t)v;
    return TR_SUCCESS;
}

static TR_RESULT set_addr(int family, const char *text, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        TR_ENSURE(inet_pton(AF_INET, text, &sin->sin_addr) == 1, TR_ERR_HTTP_PROXY_BAD_ADDRESS);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        TR_ENSURE(inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1, TR_ERR_HTTP_PROXY_BAD_ADDRESS);
    }
    return TR_SUCCESS;
}

static TR_RESULT parse_v1(const uint8_t *p, size_t n, struct http_proxy_info *out)
{
    size_t lim = n < HTTP_PROXY_V1_MAX ? n : HTTP_PROXY_V1_MAX;
    size_t eol = 0;
    bool found = false;
    for (size_t i = 0; i + 1 < lim; i++) {
        if (p[i] == '\r' && p[i + 1] == '\n') {
            eol = i;
            found = true;
            break;
        }
        /* Only printable ASCII before CRLF. */
        TR_ENSURE(p[i] >= 0x20 && p[i] < 0x7f, TR_ERR_HTTP_PROXY_BAD_V1);
    }
    if (!found) {
        TR_ENSURE(n < HTTP_PROXY_V1_MAX, TR_ERR_HTTP_PROXY_TOO_LONG);
        if (lim > 0 && p[lim - 1] != '\r')
            TR_ENSURE(p[lim - 1] >= 0x20 && p[lim - 1] < 0x7f, TR_ERR_HTTP_PROXY_BAD_V1);
        TR_BAIL(TR_ERR_HTTP_PROXY_INCOMPLETE);
    }
    char line[HTTP_PROXY_V1_MAX + 1];
    memcpy(line, p, eol);
    line[eol] = '\0';
    char *f[6] = {0};
    size_t nf = split_fields(line + strlen(V1_SIG), f);

    out->version = 1;
    out->header_len = eol + 2;
    if (strcmp(f[0], "UNKNOWN") == 0) {
        out->local = true;
        out->family = AF_UNSPEC;
        return TR_SUCCESS;
    }
    int family;
    if (strcmp(f[0], "TCP4") == 0)
        family = AF_INET;
    else if (strcmp(f[0], "TCP6") == 0)
        family = AF_INET6;
    else
        TR_BAIL(TR_ERR_HTTP_PROXY_BAD_V1);
    TR_ENSURE(nf == 5, TR_ERR_HTTP_PROXY_BAD_V1);
    uint16_t sport, dport;
    TR_GUARD(parse_port(f[3], &sport));
    TR_GUARD(parse_port(f[4], &dport));
    TR_GUARD(set_addr(family, f[1], sport, &out->src));
    TR_GUARD(set_addr(family, f[2], dport, &out->dst));
    out->family = family;
    out->local = false;
    return TR_SUCCESS;
}

static TR_RESULT parse_v2(const uint8_t *p, size_t n, struct http_proxy_info *out)
{
    struct tr_reader r;
    tr_reader_init(&r, p, n);
    TR_ENSURE(n >= 16, TR_ERR_HTTP_PROXY_INCOMPLETE);
    TR_GUARD(tr_read_skip(&r, sizeof(V2_SIG)));
    uint8_t ver_cmd, fam;
    uint16_t len;
    TR_GUARD(tr_read_u8(&r, &ver_cmd));
    TR_GUARD(tr_read_u8(&r, &fam));
    TR_GUARD(tr_read_be16(&r, &len));
    TR_ENSURE((ver_cmd >> 4) == 2, TR_ERR_HTTP_PROXY_BAD_V2);
    uint8_t cmd = ver_cmd & 0x0f;
    TR_ENSURE(cmd <= 1, TR_ERR_HTTP_PROXY_BAD_V2);
    TR_ENSURE((size_t)len + 16 <= HTTP_PROXY_V2_MAX, TR_ERR_HTTP_PROXY_TOO_LONG);
    if (tr_reader_remaining(&r) < len)
        TR_BAIL(TR_ERR_HTTP_PROXY_INCOMPLETE);
    struct tr_reader body;
    TR_GUARD(tr_read_sub(&r, len, &body));

    uint8_t af = fam >> 4, proto = fam & 0x0f;
    TR_ENSURE(af <= 3 && proto <= 2, TR_ERR_HTTP_PROXY_BAD_V2);
    out->version = 2;
    out->header_len = 16 + (size_t)len;
    out->family = AF_UNSPEC;
    out->local = (cmd == 0);
    if (out->local || af == 0 || af == 3) {
        /* LOCAL (health checks of the proxy itself), UNSPEC or a unix
         * peer: the address block is ignored and the socket peer is used. */
        if (af == 3 && !out->local)
            TR_ENSURE(len >= 216, TR_ERR_HTTP_PROXY_BAD_V2);
        out->local = true;
        return TR_SUCCESS;
    }
    memset(&out->src, 0, sizeof(out->src));
    memset(&out->dst, 0, sizeof(out->dst));
    if (af == 1) {
        struct sockaddr_in *s = (struct sockaddr_in *)&out->src,
                           *d = (struct sockaddr_in *)&out->dst;
        TR_ENSURE(len >= 12, TR_ERR_HTTP_PROXY_BAD_V2);
        s->sin_family = d->sin_family = AF_INET;
        TR_GUARD(tr_read_bytes(&body, 4, (uint8_t *)&s->sin_addr));
        TR_GUARD(tr_read_bytes(&body, 4, (uint8_t *)&d->sin_addr));
        TR_GUARD(tr_read_bytes(&body, 2, (uint8_t *)&s->sin_port));
        TR_GUARD(tr_read_bytes(&body, 2, (uint8_t *)&d->sin_port));
        out->family = AF_INET;
    } else {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src,
                            *d = (struct sockaddr_in6 *)&out->dst;
        TR_ENSURE(len >= 36, TR_ERR_HTTP_PROXY_BAD_V2);
        s->sin6_family = d->sin6_family = AF_INET6;
        TR_GUARD(tr_read_bytes(&body, 16, (uint8_t *)&s->sin6_addr));
        TR_GUARD(tr_read_bytes(&body, 16, (uint8_t *)&d->sin6_addr));
        TR_GUARD(tr_read_bytes(&body, 2, (uint8_t *)&s->sin6_port));
        TR_GUARD(tr_read_bytes(&body, 2, (uint8_t *)&d->sin6_port));
        out->family = AF_INET6;
    }
    /* TLVs follow: each must be well formed (type, be16 length, value). */
    while (tr_reader_remaining(&body) > 0) {
        uint8_t type;
        uint16_t tlen;
        if (!tr_ok(tr_read_u8(&body, &type)) || !tr_ok(tr_read_be16(&body, &tlen)) ||
            !tr_ok(tr_read_skip(&body, tlen)))
            TR_BAIL(TR_ERR_HTTP_PROXY_BAD_V2);
    }
    return TR_SUCCESS;
}

tr_result http_proxy_parse(const uint8_t *p, size_t n, struct http_proxy_info *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    TR_ENSURE(p != NULL || n == 0, TR_ERR_NULL_ARG);
    if (n == 0)
        TR_BAIL(TR_ERR_HTTP_PROXY_INCOMPLETE);
    if (prefix_of(p, n, V2_SIG, sizeof(V2_SIG))) {
        if (n < sizeof(V2_SIG))
            TR_BAIL(TR_ERR_HTTP_PROXY_INCOMPLETE);
        return parse_v2(p, n, out);
    }
    if (prefix_of(p, n, V1_SIG, strlen(V1_SIG))) {
        if (n < strlen(V1_SIG))
            TR_BAIL(TR_ERR_HTTP_PROXY_INCOMPLETE);
        return parse_v1(p, n, out);
    }
    TR_BAIL(TR_ERR_HTTP_PROXY_BAD_SIGNATURE);
}
