/* OpenPGP ASCII armor (RFC 9580 section 6.2): encode with CRC-24, decode
 * any block with header lines and an optional CRC-24 line.
 *
 * Why hand-written: armor is OpenPGP's own framing around base64 (BEGIN/END
 * lines, "Key: Value" headers, a CRC-24 checksum line); no library on Debian
 * 12 offers it apart from full OpenPGP stacks that cannot read our messages.
 * The base64 itself is OpenSSL's (tr_b64_*).
 */
#include <string.h>

#include "pgp_internal.h"
#include "teerex/codec.h"

#define CRC24_INIT 0xB704CEu
#define CRC24_POLY 0x1864CFBu
#define ARMOR_LINE 64
#define MAX_TYPE_LEN 64

uint32_t pgp_crc24(const uint8_t *p, size_t n)
{
    uint32_t crc = CRC24_INIT;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint32_t)p[i] << 16;
        for (int b = 0; b < 8; b++) {
            crc <<= 1;
            if (crc & 0x1000000u)
                crc ^= CRC24_POLY;
        }
    }
    return crc & 0xFFFFFFu;
}

tr_result pgp_armor_encode(const char *type, const uint8_t *p, size_t n, struct tr_buf *out)
{
    size_t start = out->len;
    tr_result res = TR_SUCCESS;
    struct tr_buf b64;
    tr_buf_init(&b64, 0);
    TR_TRY(tr_b64_encode(p, n, &b64));
    TR_TRY(tr_buf_append_str(out, "-----BEGIN PGP "));
    TR_TRY(tr_buf_append_str(out, type));
    TR_TRY(tr_buf_append_str(out, "-----\n\n"));
    for (size_t off = 0; off < b64.len; off += ARMOR_LINE) {
        size_t line = b64.len - off < ARMOR_LINE ? b64.len - off : ARMOR_LINE;
        TR_TRY(tr_buf_append(out, b64.data + off, line));
        TR_TRY(tr_buf_append_u8(out, '\n'));
    }
    uint32_t crc = pgp_crc24(p, n);
    uint8_t crc_bytes[3] = {(uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    TR_TRY(tr_buf_append_u8(out, '='));
    b64.len = 0;
    TR_TRY(tr_b64_encode(crc_bytes, 3, &b64));
    TR_TRY(tr_buf_append(out, b64.data, b64.len));
    TR_TRY(tr_buf_append_str(out, "\n-----END PGP "));
    TR_TRY(tr_buf_append_str(out, type));
    TR_TRY(tr_buf_append_str(out, "-----\n"));
out:
    tr_buf_free(&b64);
    if (!tr_ok(res)) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
    }
    return res;
}

/* Next line without its terminator and trailing whitespace. */
static int next_line(struct tr_reader *r, struct tr_slice *line)
{
    if (tr_reader_remaining(r) == 0)
        return 0;
    const uint8_t *p = tr_reader_cursor(r);
    size_t rem = tr_reader_remaining(r);
    const uint8_t *nl = memchr(p, '\n', rem);
    size_t n = nl ? (size_t)(nl - p) : rem;
    tr_ignore(tr_read_skip(r, nl ? n + 1 : n));
    while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    *line = tr_slice_of(p, n);
    return 1;
}

static int line_is(struct tr_slice line, const char *prefix, struct tr_slice type,
                   const char *suffix)
{
    size_t pl = strlen(prefix), sl = strlen(suffix);
    return line.len == pl + type.len + sl && memcmp(line.ptr, prefix, pl) == 0 &&
           memcmp(line.ptr + pl, type.ptr, type.len) == 0 &&
           memcmp(line.ptr + pl + type.len, suffix, sl) == 0;
}

static int has_colon(struct tr_slice line)
{
    return memchr(line.ptr, ':', line.len) != NULL;
}

tr_result pgp_dearmor(const char *text, size_t len, struct tr_buf *out)
{
    TR_ENSURE(text != NULL && out != NULL, TR_ERR_NULL_ARG);
    struct tr_reader r;
    tr_reader_init(&r, text, len);
    struct tr_slice line = {0}, type;
    static const char BEGIN[] = "-----BEGIN PGP ", DASHES[] = "-----";
    /* Leading blank lines are tolerated. */
    int got;
    while ((got = next_line(&r, &line)) && line.len == 0)
        ;
    TR_ENSURE(got && line.len > sizeof(BEGIN) - 1 + 5 &&
                  memcmp(line.ptr, BEGIN, sizeof(BEGIN) - 1) == 0 &&
                  memcmp(line.ptr + line.len - 5, DASHES, 5) == 0,
              TR_ERR_PGP_BAD_ARMOR);
    type = tr_slice_of(line.ptr + sizeof(BEGIN) - 1, line.len - (sizeof(BEGIN) - 1) - 5);
    TR_ENSURE(type.len <= MAX_TYPE_LEN, TR_ERR_PGP_BAD_ARMOR);

    tr_result res = TR_SUCCESS;
    struct tr_buf b64, bin;
    tr_buf_init(&b64, out->max / 3 * 4 + 8);
    tr_buf_init(&bin, out->max);
    /* Header lines ("Key: Value") end at an empty line; we also accept
     * base64 right after BEGIN (base64 never contains ':'). */
    int in_headers = 1, have_crc = 0, ended = 0;
    uint8_t crc_bytes[3] = {0};
    while (next_line(&r, &line)) {
        if (in_headers) {
            if (line.len == 0) {
                in_headers = 0;
                continue;
            }
            if (has_colon(line))
                continue;
            in_headers = 0;
        }
        if (line_is(line, "-----END PGP ", type, DASHES)) {
            ended = 1;
            break;
        }
        TR_CHECK(!have_crc, TR_ERR_PGP_BAD_ARMOR);
        if (line.len == 5 && line.ptr[0] == '=') {
            struct tr_buf c;
            tr_buf_init(&c, 3);
            res = tr_b64_decode((const char *)line.ptr + 1, 4, &c);
            int ok = tr_ok(res) && c.len == 3;
            if (ok)
                memcpy(crc_bytes, c.data, 3);
            tr_buf_free(&c);
            TR_CHECK(ok, TR_ERR_PGP_BAD_ARMOR);
            have_crc = 1;
            continue;
        }
        TR_TRY(tr_buf_append(&b64, line.ptr, line.len));
    }
    TR_CHECK(ended, TR_ERR_PGP_BAD_ARMOR);
    /* Only whitespace may follow the END line. */
    while (next_line(&r, &line))
        TR_CHECK(line.len == 0, TR_ERR_TRAILING);
    res = tr_b64_decode((const char *)b64.data, b64.len, &bin);
    if (res.err == TR_ERR_BAD_BASE64)
        TR_FAIL(TR_ERR_PGP_BAD_ARMOR);
    TR_TRY(res);
    TR_CHECK(bin.len > 0, TR_ERR_PGP_BAD_ARMOR);
    if (have_crc) {
        uint32_t want = (uint32_t)crc_bytes[0] << 16 | (uint32_t)crc_bytes[1] << 8 | crc_bytes[2];
        TR_CHECK(pgp_crc24(bin.data, bin.len) == want, TR_ERR_PGP_BAD_CRC);
    }
    TR_TRY(tr_buf_append(out, bin.data, bin.len));
out:
    tr_buf_free(&b64);
    tr_buf_free(&bin);
    return res;
}
