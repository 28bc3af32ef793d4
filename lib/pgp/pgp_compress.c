/* Compressed Data packets (RFC 9580 5.6): ZIP (raw deflate, RFC 1951) and
 * ZLIB (RFC 1950) through zlib, with a hard cap on the inflated size so a
 * zip bomb ends in PGP_PLAINTEXT_LIMIT instead of exhausting memory.
 * BZip2 is not supported (our key does not announce it). */
#include <limits.h>
#include <string.h>

#include <zlib.h>

#include "pgp_internal.h"

#define STEP ((size_t)256 * 1024)

tr_result pgp_compress_inflate(struct tr_slice body, struct tr_buf *out)
{
    struct tr_reader r;
    uint8_t algo;
    tr_reader_init(&r, body.ptr, body.len);
    TR_GUARD(tr_read_u8(&r, &algo));
    struct tr_slice in = tr_slice_of(tr_reader_cursor(&r), tr_reader_remaining(&r));
    if (algo == PGP_COMP_NONE) {
        TR_ENSURE(in.len <= out->max - out->len, TR_ERR_PGP_PLAINTEXT_LIMIT);
        return tr_buf_append(out, in.ptr, in.len);
    }
    TR_ENSURE(algo == PGP_COMP_ZIP || algo == PGP_COMP_ZLIB, TR_ERR_PGP_UNSUPPORTED_COMPRESSION);
    TR_ENSURE(in.len <= UINT_MAX, TR_ERR_TOO_BIG);

    z_stream z;
    memset(&z, 0, sizeof(z));
    TR_ENSURE(inflateInit2(&z, algo == PGP_COMP_ZIP ? -15 : 15) == Z_OK, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    z.next_in = (Bytef *)in.ptr;
    z.avail_in = (uInt)in.len;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        size_t room = out->max - out->len;
        TR_CHECK(room > 0, TR_ERR_PGP_PLAINTEXT_LIMIT);
        size_t step = room < STEP ? room : STEP;
        uint8_t *dst;
        TR_TRY(tr_buf_extend(out, step, &dst));
        z.next_out = dst;
        z.avail_out = (uInt)step;
        rc = inflate(&z, Z_NO_FLUSH);
        out->len -= z.avail_out;
        if (rc == Z_BUF_ERROR && z.avail_in == 0)
            TR_FAIL(TR_ERR_PGP_DECOMPRESS); /* stream ends early */
        TR_CHECK(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR, TR_ERR_PGP_DECOMPRESS);
        if (rc != Z_STREAM_END && z.avail_in == 0 && z.avail_out != 0)
            TR_FAIL(TR_ERR_PGP_DECOMPRESS); /* input exhausted without end */
    }
    TR_CHECK(z.avail_in == 0, TR_ERR_TRAILING);
out:
    inflateEnd(&z);
    if (!tr_ok(res))
        tr_buf_clear(out);
    return res;
}
