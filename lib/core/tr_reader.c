/* Bounds-checked reading of untrusted bytes. */
#include <string.h>

#include "teerex/buf.h"

void tr_reader_init(struct tr_reader *r, const void *p, size_t n)
{
    r->ptr = (const uint8_t *)p;
    r->len = p ? n : 0;
    r->pos = 0;
}

tr_result tr_read_bytes(struct tr_reader *r, size_t n, uint8_t *out)
{
    if (tr_reader_remaining(r) < n) {
        if (out)
            memset(out, 0, n);
        TR_BAIL(TR_ERR_TRUNCATED);
    }
    if (out && n)
        memcpy(out, r->ptr + r->pos, n);
    r->pos += n;
    return TR_SUCCESS;
}

tr_result tr_read_u8(struct tr_reader *r, uint8_t *out)
{
    return tr_read_bytes(r, 1, out);
}

tr_result tr_read_be16(struct tr_reader *r, uint16_t *out)
{
    uint8_t b[2];
    *out = 0;
    TR_GUARD(tr_read_bytes(r, 2, b));
    *out = (uint16_t)((b[0] << 8) | b[1]);
    return TR_SUCCESS;
}

tr_result tr_read_be32(struct tr_reader *r, uint32_t *out)
{
    uint8_t b[4];
    *out = 0;
    TR_GUARD(tr_read_bytes(r, 4, b));
    *out = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    return TR_SUCCESS;
}

tr_result tr_read_be64(struct tr_reader *r, uint64_t *out)
{
    uint8_t b[8];
    *out = 0;
    TR_GUARD(tr_read_bytes(r, 8, b));
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    *out = v;
    return TR_SUCCESS;
}

tr_result tr_read_slice(struct tr_reader *r, size_t n, struct tr_slice *out)
{
    out->ptr = NULL;
    out->len = 0;
    TR_ENSURE(tr_reader_remaining(r) >= n, TR_ERR_TRUNCATED);
    out->ptr = r->ptr + r->pos;
    out->len = n;
    r->pos += n;
    return TR_SUCCESS;
}

tr_result tr_read_sub(struct tr_reader *r, size_t n, struct tr_reader *out)
{
    struct tr_slice s;
    tr_reader_init(out, NULL, 0);
    TR_GUARD(tr_read_slice(r, n, &s));
    tr_reader_init(out, s.ptr, s.len);
    return TR_SUCCESS;
}

tr_result tr_read_skip(struct tr_reader *r, size_t n)
{
    return tr_read_bytes(r, n, NULL);
}

tr_result tr_reader_expect_end(const struct tr_reader *r)
{
    TR_ENSURE(tr_reader_remaining(r) == 0, TR_ERR_TRAILING);
    return TR_SUCCESS;
}
