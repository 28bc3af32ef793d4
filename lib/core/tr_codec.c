/* base64 / hex / number parsing. base64 encoding is OpenSSL's
 * EVP_EncodeBlock; decoding is ours (strict and streaming, see below). */
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

/* Strict streaming base64 decoding is written here because OpenSSL has none:
 * EVP_DecodeUpdate is the PEM decoder (it skips whitespace and line breaks,
 * accepts '-' as an end marker) and EVP_DecodeBlock needs the whole text,
 * strips blanks and reports padding as zero octets. One table lookup per
 * character both validates and decodes: 64 marks '=', 0x80 anything else. */
#define B64_PAD 64
#define B64_BAD 0x80
#define P B64_PAD
#define X B64_BAD
static const uint8_t B64[256] = {
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x00 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x10 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  62, X,  X,  X,  63, /* 0x20 */
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  P,  X,  X,  /* 0x30 */
    X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, /* 0x40 */
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,  X,  /* 0x50 */
    X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, /* 0x60 */
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,  /* 0x70 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x80 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0x90 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0xA0 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0xB0 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0xC0 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0xD0 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0xE0 */
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  /* 0xF0 */
};
#undef P
#undef X

/* The hot loop's tables: the value of each character already shifted to
 * its place in the 24-bit group, so a quad is four lookups and three ORs;
 * bit 24 marks anything else ('=' included: padding takes the slow path). */
#define B64_VAL(c)                                                                                 \
    ((c) >= 'A' && (c) <= 'Z'   ? (c) - 'A'                                                        \
     : (c) >= 'a' && (c) <= 'z' ? (c) - 'a' + 26                                                   \
     : (c) >= '0' && (c) <= '9' ? (c) - '0' + 52                                                   \
     : (c) == '+'               ? 62                                                               \
     : (c) == '/'               ? 63                                                               \
                                : -1)
#define SHIFTED_BAD 0x01000000u
#define SHIFTED(c, sh) (B64_VAL(c) < 0 ? SHIFTED_BAD : (uint32_t)B64_VAL(c) << (sh))
#define R4(c, sh) SHIFTED(c, sh), SHIFTED(c + 1, sh), SHIFTED(c + 2, sh), SHIFTED(c + 3, sh)
#define R16(c, sh) R4(c, sh), R4(c + 4, sh), R4(c + 8, sh), R4(c + 12, sh)
#define R64(c, sh) R16(c, sh), R16(c + 16, sh), R16(c + 32, sh), R16(c + 48, sh)
#define R256(sh) R64(0, sh), R64(64, sh), R64(128, sh), R64(192, sh)
static const uint32_t S0[256] = {R256(18)}, S1[256] = {R256(12)}, S2[256] = {R256(6)},
                      S3[256] = {R256(0)};
#undef R4
#undef R16
#undef R64
#undef R256

void tr_b64_stream_init(struct tr_b64_stream *s)
{
    memset(s, 0, sizeof(*s));
}

/* A quad with '=' or a bad character: only "xx==" and "xxx=" are valid, and
 * they end the text. */
static tr_result quad_slow(struct tr_b64_stream *s, const uint8_t *q, uint8_t **o)
{
    uint32_t a = B64[q[0]], b = B64[q[1]], c = B64[q[2]], d = B64[q[3]];
    TR_ENSURE((a | b) < 64 && (c < 64 || c == B64_PAD) && (d < 64 || d == B64_PAD),
              TR_ERR_BAD_BASE64);
    TR_ENSURE(!(c == B64_PAD && d != B64_PAD), TR_ERR_BAD_BASE64);
    uint32_t v = a << 18 | b << 12 | (c & 63) << 6 | (d & 63);
    (*o)[0] = (uint8_t)(v >> 16);
    if (c != B64_PAD)
        (*o)[1] = (uint8_t)(v >> 8);
    if (d != B64_PAD)
        (*o)[2] = (uint8_t)v;
    *o += c == B64_PAD ? 1 : d == B64_PAD ? 2 : 3;
    s->ended = c == B64_PAD || d == B64_PAD;
    return TR_SUCCESS;
}

static tr_result quad(struct tr_b64_stream *s, const uint8_t *q, uint8_t **o)
{
    TR_ENSURE(!s->ended, TR_ERR_BAD_BASE64);
    uint32_t a = B64[q[0]], b = B64[q[1]], c = B64[q[2]], d = B64[q[3]];
    if ((a | b | c | d) & (B64_PAD | B64_BAD))
        return quad_slow(s, q, o);
    uint32_t v = a << 18 | b << 12 | c << 6 | d;
    (*o)[0] = (uint8_t)(v >> 16);
    (*o)[1] = (uint8_t)(v >> 8);
    (*o)[2] = (uint8_t)v;
    *o += 3;
    return TR_SUCCESS;
}

tr_result tr_b64_stream_update(struct tr_b64_stream *s, const char *text, size_t n, uint8_t *out,
                               size_t *out_len)
{
    const uint8_t *t = (const uint8_t *)text;
    uint8_t *o = out;
    size_t i = 0;
    *out_len = 0;
    while (s->n && i < n) {
        s->quad[s->n++] = t[i++];
        if (s->n == 4) {
            uint8_t *held = o;
            s->n = 0;
            TR_GUARD(quad(s, s->quad, &held));
            o = held;
        }
    }
    TR_ENSURE(!(s->ended && i < n), TR_ERR_BAD_BASE64);
    /* The hot loop: four lookups, one test for padding or a bad character. */
    for (; n - i >= 4; i += 4) {
        uint32_t v = S0[t[i]] | S1[t[i + 1]] | S2[t[i + 2]] | S3[t[i + 3]];
        if (v & SHIFTED_BAD) {
            uint8_t *slow = o; /* o itself stays in a register */
            tr_result r = quad_slow(s, t + i, &slow);
            o = slow;
            if (tr_ok(r) && s->ended && n - i > 4)
                r = tr_fail_at(TR_ERR_BAD_BASE64, __FILE__, __LINE__); /* text after '=' */
            if (!tr_ok(r)) {
                *out_len = (size_t)(o - out);
                return r;
            }
            continue;
        }
        o[0] = (uint8_t)(v >> 16);
        o[1] = (uint8_t)(v >> 8);
        o[2] = (uint8_t)v;
        o += 3;
    }
    while (i < n)
        s->quad[s->n++] = t[i++];
    *out_len = (size_t)(o - out);
    TR_ENSURE(!(s->ended && s->n), TR_ERR_BAD_BASE64);
    return TR_SUCCESS;
}

tr_result tr_b64_stream_final(const struct tr_b64_stream *s)
{
    TR_ENSURE(s->n == 0, TR_ERR_BAD_BASE64);
    return TR_SUCCESS;
}

tr_result tr_b64_decode(const char *s, size_t n, struct tr_buf *out)
{
    TR_ENSURE(n % 4 == 0, TR_ERR_BAD_BASE64);
    if (n == 0)
        return TR_SUCCESS;
    uint8_t *dst;
    TR_GUARD(tr_buf_extend(out, n / 4 * 3, &dst));
    out->len -= n / 4 * 3;
    struct tr_b64_stream st;
    tr_b64_stream_init(&st);
    size_t w = 0;
    tr_result r = tr_b64_stream_update(&st, s, n, dst, &w);
    if (tr_ok(r))
        r = tr_b64_stream_final(&st);
    if (tr_ok(r))
        out->len += w;
    out->data[out->len] = 0;
    return r;
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
