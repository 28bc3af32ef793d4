/* Target functions: tr_b64_decode, tr_b64_stream_update/final, tr_hex_decode
 * (JSON `data` and nonce fields arrive as untrusted base64/hex text; /prove
 * bodies are decoded as they arrive).
 *
 * Invariants checked:
 *  - tr_b64_decode agrees with OpenSSL's EVP_DecodeBlock behind the strict
 *    checks the decoder had before it was ours (alphabet, length a multiple
 *    of 4, '=' only as the last one or two characters);
 *  - the streaming decoder fed the same text in pieces (cut where the first
 *    octet of the input says) accepts exactly the same texts with the same
 *    octets. */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>

#include "teerex/codec.h"

static int alphabet(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

/* The reference: OpenSSL decodes, the strictness rules are checked first. */
static int reference(const uint8_t *s, size_t n, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    if (n % 4 != 0)
        return 0;
    if (n == 0)
        return 1;
    size_t pad = (s[n - 1] == '=') + (s[n - 2] == '=');
    for (size_t i = 0; i < n - pad; i++)
        if (!alphabet(s[i]))
            return 0;
    int w = EVP_DecodeBlock(out, s, (int)n);
    if (w < 0)
        return 0;
    *out_len = (size_t)w - pad;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 1 << 16)
        return 0;
    uint8_t step = data[0];
    const uint8_t *text = data + 1;
    size_t n = size - 1;

    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    tr_result one = tr_b64_decode((const char *)text, n, &b);
    if (tr_ok(one) && b.len > n)
        __builtin_trap();

    static uint8_t ref[1 << 16];
    size_t ref_len;
    int ref_ok = reference(text, n, ref, &ref_len);
    if (ref_ok != tr_ok(one) ||
        (ref_ok && (ref_len != b.len || (b.len && memcmp(ref, b.data, b.len) != 0))))
        __builtin_trap();

    /* Streamed in pieces of 1..step octets (a cycle of lengths). */
    static uint8_t dec[TR_B64_DECODED_MAX(1 << 16)];
    struct tr_b64_stream st;
    tr_b64_stream_init(&st);
    tr_result r = TR_SUCCESS;
    size_t got = 0;
    for (size_t off = 0, k = 0; off < n && tr_ok(r); k++) {
        size_t piece = 1 + (step ? (k * 7 + step) % step : k % 5);
        if (piece > n - off)
            piece = n - off;
        size_t w = 0;
        r = tr_b64_stream_update(&st, (const char *)text + off, piece, dec + got, &w);
        got += w;
        off += piece;
    }
    if (tr_ok(r))
        r = tr_b64_stream_final(&st);
    if (tr_ok(r) != tr_ok(one) ||
        (tr_ok(r) && (got != b.len || (got && memcmp(dec, b.data, got) != 0))))
        __builtin_trap();
    tr_buf_free(&b);

    tr_buf_init(&b, 1 << 20);
    tr_ignore(tr_hex_decode((const char *)text, n, &b));
    tr_buf_free(&b);
    return 0;
}
