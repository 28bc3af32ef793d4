/* Validators for header values (version strings, nonces) and the CIDR list
 * of TRUSTED_PROXIES (inet_pton does the address parsing). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/limits.h"

tr_result http_version_validate(const char *s)
{
    TR_ENSURE(s != NULL, TR_ERR_HTTP_BAD_VERSION_STRING);
    size_t n = strnlen(s, TR_MAX_VERSION_LEN + 1);
    TR_ENSURE(n >= 1 && n <= TR_MAX_VERSION_LEN, TR_ERR_HTTP_BAD_VERSION_STRING);
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  c == '.' || c == '_' || c == '+' || c == '-';
        TR_ENSURE(ok, TR_ERR_HTTP_BAD_VERSION_STRING);
    }
    TR_ENSURE(strstr(s, "..") == NULL, TR_ERR_HTTP_BAD_VERSION_STRING);
    TR_ENSURE(strcmp(s, ".") != 0, TR_ERR_HTTP_BAD_VERSION_STRING);
    return TR_SUCCESS;
}

tr_result http_nonce_parse(const char *s, struct tr_buf *out)
{
    TR_ENSURE_REF(out);
    TR_ENSURE(s != NULL, TR_ERR_HTTP_BAD_NONCE);
    size_t n = strnlen(s, 2 * TR_MAX_REQUEST_NONCE + 1);
    TR_ENSURE(n <= 2 * TR_MAX_REQUEST_NONCE, TR_ERR_HTTP_BAD_NONCE);
    if (!tr_ok(tr_hex_decode(s, n, out)))
        TR_BAIL(TR_ERR_HTTP_BAD_NONCE);
    return TR_SUCCESS;
}

tr_result http_cidr_parse(const char *s, struct http_cidr *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    TR_ENSURE(s != NULL, TR_ERR_HTTP_BAD_CIDR);
    char buf[64];
    size_t n = strnlen(s, sizeof(buf));
    TR_ENSURE(n > 0 && n < sizeof(buf), TR_ERR_HTTP_BAD_CIDR);
    memcpy(buf, s, n + 1);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        out->prefix = 32;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        out->prefix = 128;
    } else {
        TR_BAIL(TR_ERR_HTTP_BAD_CIDR);
    }
    if (slash) {
        uint64_t pfx;
        TR_ENSURE(tr_ok(tr_parse_u64(slash + 1, out->prefix, &pfx)), TR_ERR_HTTP_BAD_CIDR);
        out->prefix = (unsigned)pfx;
    }
    return TR_SUCCESS;
}

static bool prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

bool http_cidr_match(const struct http_cidr *c, const struct sockaddr *sa)
{
    if (!c || !sa)
        return false;
    static const uint8_t V4MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const uint8_t *a;
    int fam = sa->sa_family;
    if (fam == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
    } else if (fam == AF_INET6) {
        a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (memcmp(a, V4MAPPED, 12) == 0) {
            a += 12;
            fam = AF_INET;
        }
    } else {
        return false;
    }
    if (fam != c->family)
        return false;
    return prefix_eq(a, c->addr, c->prefix);
}
