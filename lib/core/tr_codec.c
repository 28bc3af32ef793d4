/* base64 / hex / number parsing. base64 uses OpenSSL's EVP_EncodeBlock and
 * EVP_DecodeBlock; the strictness checks (alphabet, padding) are ours because
 * EVP_DecodeBlock skips whitespace and reports padding as zero bytes. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "teerex/codec.h"

tr_result tr_b64_encode(const uint8_t *p, size_t n, struct tr_buf *out)
{
    TR_ENSURE(n <= (size_t)INT32_MAX / 4 * 3 - 3, TR_ERR_OVERFLOW);
    size_t olen = (n + 2) / 3 * 4;
    uint8_t *dst;
    TR_GUARD(tr_buf_extend(out, olen, &dst));
    /* EVP_EncodeBlock works on int lengths: go in 3 MiB steps. */
    size_t done_in = 0, done_out = 0;
    while (done_in < n) {
        size_t step = n - done_in;
        if (step > 3 * 1024 * 1024)
            step = 3 * 1024 * 1024;
        int w = EVP_EncodeBlock(dst + done_out, p + done_in, (int)step);
        done_in += step;
        done_out += (size_t)w;
    }
    out->data[out->len] = 0;
    return TR_SUCCESS;
}

static int b64_char_ok(uint8_t c)
{
    return isalnum(c) || c == '+' || c == '/';
}

tr_result tr_b64_decode(const char *s, size_t n, struct tr_buf *out)
{
    TR_ENSURE(n % 4 == 0, TR_ERR_BAD_BASE64);
    if (n == 0)
        return TR_SUCCESS;
    size_t pad = 0;
    if (s[n - 1] == '=')
        pad++;
    if (s[n - 2] == '=')
        pad++;
    for (size_t i = 0; i < n - pad; i++)
        TR_ENSURE(b64_char_ok((uint8_t)s[i]), TR_ERR_BAD_BASE64);
    size_t olen = n / 4 * 3;
    uint8_t *dst;
    TR_GUARD(tr_buf_extend(out, olen, &dst));
    size_t done_in = 0, done_out = 0;
    while (done_in < n) {
        size_t step = n - done_in;
        if (step > 4 * 1024 * 1024)
            step = 4 * 1024 * 1024;
        int w = EVP_DecodeBlock(dst + done_out, (const unsigned char *)s + done_in, (int)step);
        if (w < 0) {
            out->len -= olen;
            TR_BAIL(TR_ERR_BAD_BASE64);
        }
        done_in += step;
        done_out += (size_t)w;
    }
    out->len -= pad;
    out->data[out->len] = 0;
    return TR_SUCCESS;
}

tr_result tr_hex_encode(const uint8_t *p, size_t n, struct tr_buf *out)
{
    TR_ENSURE(n <= SIZE_MAX / 2 - 1, TR_ERR_OVERFLOW);
    uint8_t *dst;
    TR_GUARD(tr_buf_extend(out, 2 * n, &dst));
    tr_hex_to_str(p, n, (char *)dst);
    return TR_SUCCESS;
}

void tr_hex_to_str(const uint8_t *p, size_t n, char *out)
{
    static const char HEX[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[p[i] >> 4];
        out[2 * i + 1] = HEX[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

tr_result tr_hex_decode(const char *s, size_t n, struct tr_buf *out)
{
    TR_ENSURE(n % 2 == 0, TR_ERR_BAD_HEX);
    for (size_t i = 0; i < n; i++)
        TR_ENSURE(hexval(s[i]) >= 0, TR_ERR_BAD_HEX);
    uint8_t *dst;
    TR_GUARD(tr_buf_extend(out, n / 2, &dst));
    for (size_t i = 0; i < n / 2; i++)
        dst[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
    return TR_SUCCESS;
}

tr_result tr_hex_decode_fixed(const char *s, uint8_t *out, size_t out_len)
{
    TR_ENSURE(s != NULL && strlen(s) == 2 * out_len, TR_ERR_BAD_HEX);
    for (size_t i = 0; i < 2 * out_len; i++)
        TR_ENSURE(hexval(s[i]) >= 0, TR_ERR_BAD_HEX);
    for (size_t i = 0; i < out_len; i++)
        out[i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
    return TR_SUCCESS;
}

tr_result tr_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    *out = 0;
    TR_ENSURE(s != NULL && *s >= '0' && *s <= '9', TR_ERR_BAD_NUMBER);
    uint64_t v = 0;
    for (; *s; s++) {
        TR_ENSURE(*s >= '0' && *s <= '9', TR_ERR_BAD_NUMBER);
        unsigned d = (unsigned)(*s - '0');
        /* d > max first: (max - d) would wrap for a small max. */
        TR_ENSURE(d <= max && v <= (max - d) / 10, TR_ERR_BAD_NUMBER);
        v = v * 10 + d;
    }
    *out = v;
    return TR_SUCCESS;
}

tr_result tr_parse_duration_ms(const char *s, uint64_t *out_ms)
{
    *out_ms = 0;
    TR_ENSURE(s != NULL && *s, TR_ERR_BAD_NUMBER);
    char num[32];
    size_t i = 0;
    while (s[i] >= '0' && s[i] <= '9' && i < sizeof(num) - 1) {
        num[i] = s[i];
        i++;
    }
    num[i] = 0;
    const char *unit = s + i;
    uint64_t mult;
    if (*unit == 0 || strcmp(unit, "s") == 0)
        mult = 1000;
    else if (strcmp(unit, "ms") == 0)
        mult = 1;
    else if (strcmp(unit, "m") == 0)
        mult = 60000;
    else if (strcmp(unit, "h") == 0)
        mult = 3600000;
    else if (strcmp(unit, "d") == 0)
        mult = 86400000;
    else
        TR_BAIL(TR_ERR_BAD_NUMBER);
    uint64_t v;
    TR_GUARD(tr_parse_u64(num, UINT64_MAX / mult, &v));
    *out_ms = v * mult;
    return TR_SUCCESS;
}
