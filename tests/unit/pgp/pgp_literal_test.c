/* pgp_literal.c, pgp_compress.c: the decrypted message grammar, literal
 * data, zlib/zip inflation with its cap, nesting. */
#include <zlib.h>

#include "harness.h"
#include "pgp/pgp_internal.h"

static void packet(struct tr_buf *b, uint8_t tag, const uint8_t *p, size_t n)
{
    EXPECT_OK(pgp_packet_write_header(b, tag, n));
    EXPECT_OK(tr_buf_append(b, p, n));
}

static void literal(struct tr_buf *b, const uint8_t *data, size_t n)
{
    struct tr_buf body;
    tr_buf_init(&body, n + 64);
    const uint8_t head[] = {'b', 3, 'a', '.', 'b', 0, 0, 0, 0};
    EXPECT_OK(tr_buf_append(&body, head, sizeof(head)));
    EXPECT_OK(tr_buf_append(&body, data, n));
    packet(b, PGP_TAG_LITERAL, body.data, body.len);
    tr_buf_free(&body);
}

/* Compressed packet around `in` (algo 1 raw deflate, 2 zlib, 0 none). */
static void compressed(struct tr_buf *b, uint8_t algo, const uint8_t *in, size_t n, int cut)
{
    struct tr_buf body;
    tr_buf_init(&body, 2 * n + 1024); /* deflateBound is generous with memLevel 9 */
    EXPECT_OK(tr_buf_append_u8(&body, algo));
    if (algo == PGP_COMP_NONE) {
        EXPECT_OK(tr_buf_append(&body, in, n));
    } else {
        z_stream z;
        memset(&z, 0, sizeof(z));
        deflateInit2(&z, 9, Z_DEFLATED, algo == PGP_COMP_ZIP ? -15 : 15, 9, Z_DEFAULT_STRATEGY);
        uint8_t *dst;
        size_t room = deflateBound(&z, (uLong)n);
        EXPECT_OK(tr_buf_extend(&body, room, &dst));
        z.next_in = (Bytef *)in;
        z.avail_in = (uInt)n;
        z.next_out = dst;
        z.avail_out = (uInt)room;
        deflate(&z, Z_FINISH);
        body.len -= z.avail_out;
        deflateEnd(&z);
        body.len -= (size_t)cut;
    }
    packet(b, PGP_TAG_COMPRESSED, body.data, body.len);
    tr_buf_free(&body);
}

/* Runs the walker into a fresh output buffer that starts with 3 octets,
 * checks they are all that is left after a failure, and returns a slice of
 * what was appended. */
static tr_result inner(const struct tr_buf *msg, size_t max, struct tr_slice *out)
{
    static struct pgp_inner in;
    static struct tr_buf ob;
    static int init;
    if (init) {
        pgp_inner_free(&in);
        tr_buf_free(&ob);
    }
    pgp_inner_init(&in, max);
    tr_buf_init_secret(&ob, 4 << 20);
    init = 1;
    EXPECT_OK(tr_buf_append(&ob, "abc", 3));
    tr_result r = pgp_inner_literal(&in, tr_buf_slice(msg), 0, &ob);
    if (!tr_ok(r))
        EXPECT_TRUE(ob.len == 3 && memcmp(ob.data, "abc", 3) == 0);
    *out = tr_slice_of(ob.data + 3, ob.len - 3);
    return r;
}

static uint8_t DATA[100000];

static void test_literal(void)
{
    struct tr_buf m;
    tr_buf_init(&m, 1 << 20);
    struct tr_slice out;
    literal(&m, DATA, 5000);
    EXPECT_OK(inner(&m, 0 + 5000, &out));
    EXPECT_EQ(out.len, 5000);
    EXPECT_ERR(inner(&m, 4999, &out), TR_ERR_PGP_PLAINTEXT_LIMIT);
    /* Signature packets around it are skipped. */
    tr_buf_clear(&m);
    const uint8_t ops[13] = {3, 0, 8, 22};
    packet(&m, PGP_TAG_OPS, ops, sizeof(ops));
    packet(&m, PGP_TAG_MARKER, (const uint8_t *)"PGP", 3);
    literal(&m, DATA, 10);
    packet(&m, PGP_TAG_SIGNATURE, ops, sizeof(ops));
    EXPECT_OK(inner(&m, 1 << 20, &out));
    EXPECT_EQ(out.len, 10);
    /* Two literals; none; a literal with a cut header; a nested SEIPD. */
    literal(&m, DATA, 10);
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_PGP_UNEXPECTED_PACKET);
    tr_buf_clear(&m);
    packet(&m, PGP_TAG_MARKER, (const uint8_t *)"PGP", 3);
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_PGP_NO_DATA);
    tr_buf_clear(&m);
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_PGP_NO_DATA);
    const uint8_t cut[] = {'b', 9, 'x'};
    packet(&m, PGP_TAG_LITERAL, cut, sizeof(cut));
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_PGP_BAD_LITERAL);
    tr_buf_clear(&m);
    packet(&m, PGP_TAG_SEIPD, cut, sizeof(cut));
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_PGP_UNEXPECTED_PACKET);
    /* Too many packets. */
    tr_buf_clear(&m);
    for (int i = 0; i < 70; i++)
        packet(&m, PGP_TAG_MARKER, (const uint8_t *)"PGP", 3);
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_PGP_TOO_MANY_PACKETS);
    tr_buf_free(&m);
}

static void test_compressed(void)
{
    struct tr_buf lit, m, m2;
    tr_buf_init(&lit, 1 << 20);
    tr_buf_init(&m, 1 << 20);
    tr_buf_init(&m2, 1 << 20);
    struct tr_slice out;
    literal(&lit, DATA, sizeof(DATA));
    const uint8_t algos[] = {PGP_COMP_NONE, PGP_COMP_ZIP, PGP_COMP_ZLIB};
    for (int i = 0; i < 3; i++) {
        tr_buf_clear(&m);
        compressed(&m, algos[i], lit.data, lit.len, 0);
        EXPECT_OK(inner(&m, sizeof(DATA), &out));
        EXPECT_EQ(out.len, sizeof(DATA));
        EXPECT_MEM_EQ(out.ptr, DATA, sizeof(DATA));
        /* The cap stops inflation (a zip bomb in miniature). */
        EXPECT_ERR(inner(&m, 1000, &out), TR_ERR_PGP_PLAINTEXT_LIMIT);
    }
    /* Truncated and corrupt deflate streams. */
    tr_buf_clear(&m);
    compressed(&m, PGP_COMP_ZLIB, lit.data, lit.len, 5);
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_PGP_DECOMPRESS);
    tr_buf_clear(&m);
    compressed(&m, PGP_COMP_ZIP, lit.data, lit.len, 0);
    m.data[m.len / 2] ^= 0xFF;
    tr_result r = inner(&m, 1 << 20, &out);
    EXPECT_TRUE(r.err == TR_ERR_PGP_DECOMPRESS || r.err == TR_ERR_PGP_BAD_LITERAL ||
                r.err == TR_ERR_TRUNCATED || r.err == TR_ERR_PGP_BAD_HEADER);
    /* Data after the end of the deflate stream. */
    tr_buf_clear(&m);
    {
        struct tr_buf z;
        tr_buf_init(&z, 1 << 20);
        compressed(&z, PGP_COMP_ZLIB, lit.data, lit.len, 0);
        /* Rewrite with an extra octet in the body. */
        struct tr_reader rd;
        struct tr_buf s;
        struct pgp_packet p;
        tr_buf_init(&s, 1);
        tr_reader_init(&rd, z.data, z.len);
        EXPECT_OK(pgp_packet_read(&rd, &s, &p));
        EXPECT_OK(tr_buf_append(&m2, p.body.ptr, p.body.len));
        EXPECT_OK(tr_buf_append_u8(&m2, 0));
        packet(&m, PGP_TAG_COMPRESSED, m2.data, m2.len);
        tr_buf_free(&s);
        tr_buf_free(&z);
    }
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_TRAILING);
    /* BZip2 and unknown algorithms. */
    tr_buf_clear(&m);
    compressed(&m, 3, lit.data, 10, 0);
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_PGP_UNSUPPORTED_COMPRESSION);
    /* Something after a compressed packet. */
    tr_buf_clear(&m);
    compressed(&m, PGP_COMP_ZLIB, lit.data, lit.len, 0);
    packet(&m, PGP_TAG_MARKER, (const uint8_t *)"PGP", 3);
    EXPECT_ERR(inner(&m, 1 << 20, &out), TR_ERR_PGP_UNEXPECTED_PACKET);
    /* Nesting: 3 levels fit TR_MAX_PGP_PACKET_DEPTH (4), 4 do not. */
    tr_buf_clear(&m);
    EXPECT_OK(tr_buf_append(&m, lit.data, lit.len));
    for (int depth = 1; depth <= 4; depth++) {
        tr_buf_clear(&m2);
        compressed(&m2, PGP_COMP_ZLIB, m.data, m.len, 0);
        tr_buf_clear(&m);
        EXPECT_OK(tr_buf_append(&m, m2.data, m2.len));
        /* incompressible data: every layer is as big as the literal, and
         * all layers share one budget */
        r = inner(&m, 4 * sizeof(DATA), &out);
        EXPECT_EQ(r.err, depth < 4 ? TR_OK : TR_ERR_PGP_NESTING);
    }
    tr_buf_free(&lit);
    tr_buf_free(&m);
    tr_buf_free(&m2);
}

/* One cap over all nested layers (issue 16): two layers that each inflate
 * 60 % of the cap (padding first, then the next layer) fit a per-layer cap but
 * not a total one; the same message without the padding decrypts. */
static void test_nested_total_cap(void)
{
    const size_t cap = 256 * 1024, pad = cap * 6 / 10;
    uint8_t *zeros = calloc(1, pad);
    struct tr_buf lit, l2, l1, tmp;
    tr_buf_init(&lit, 1 << 20);
    tr_buf_init(&l2, 4 << 20);
    tr_buf_init(&l1, 4 << 20);
    tr_buf_init(&tmp, 4 << 20);
    literal(&lit, DATA, 1000);
    struct tr_slice out;
    for (int padded = 0; padded < 2 && zeros; padded++) {
        tr_buf_clear(&tmp); /* inner layer: [padding] literal */
        if (padded)
            packet(&tmp, PGP_TAG_PADDING, zeros, pad);
        EXPECT_OK(tr_buf_append(&tmp, lit.data, lit.len));
        tr_buf_clear(&l2);
        compressed(&l2, PGP_COMP_ZLIB, tmp.data, tmp.len, 0);
        tr_buf_clear(&tmp); /* outer layer: [padding] compressed(inner) */
        if (padded)
            packet(&tmp, PGP_TAG_PADDING, zeros, pad);
        EXPECT_OK(tr_buf_append(&tmp, l2.data, l2.len));
        tr_buf_clear(&l1);
        compressed(&l1, PGP_COMP_ZLIB, tmp.data, tmp.len, 0);
        tr_result r = inner(&l1, cap, &out);
        if (padded) {
            EXPECT_ERR(r, TR_ERR_PGP_PLAINTEXT_LIMIT);
        } else {
            EXPECT_OK(r);
            EXPECT_TRUE(out.len == 1000 && memcmp(out.ptr, DATA, 1000) == 0);
        }
    }
    free(zeros);
    tr_buf_free(&lit);
    tr_buf_free(&l2);
    tr_buf_free(&l1);
    tr_buf_free(&tmp);
}

static void test_partial_literal(void)
{
    /* Literal body in parts of 512 and 1024 octets, then the rest. */
    struct tr_buf body, m;
    tr_buf_init(&body, 1 << 20);
    tr_buf_init(&m, 1 << 20);
    struct tr_slice out;
    const uint8_t head[] = {'b', 0, 0, 0, 0, 0};
    EXPECT_OK(tr_buf_append(&body, head, sizeof(head)));
    EXPECT_OK(tr_buf_append(&body, DATA, 3000));
    EXPECT_OK(tr_buf_append_u8(&m, 0xC0 | PGP_TAG_LITERAL));
    EXPECT_OK(tr_buf_append_u8(&m, 0xE0 | 9));
    EXPECT_OK(tr_buf_append(&m, body.data, 512));
    EXPECT_OK(tr_buf_append_u8(&m, 0xE0 | 10));
    EXPECT_OK(tr_buf_append(&m, body.data + 512, 1024));
    size_t rest = body.len - 1536;
    EXPECT_OK(tr_buf_append_u8(&m, (uint8_t)((rest - 192) / 256 + 192)));
    EXPECT_OK(tr_buf_append_u8(&m, (uint8_t)((rest - 192) % 256)));
    EXPECT_OK(tr_buf_append(&m, body.data + 1536, rest));
    EXPECT_OK(inner(&m, 1 << 20, &out));
    EXPECT_EQ(out.len, 3000);
    EXPECT_MEM_EQ(out.ptr, DATA, 3000);
    EXPECT_ERR(inner(&m, 2999, &out), TR_ERR_PGP_PLAINTEXT_LIMIT);
    tr_buf_free(&body);
    tr_buf_free(&m);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(DATA); i++)
        DATA[i] = (uint8_t)((i * 2654435761u) >> 13);
    RUN_TEST(test_literal);
    RUN_TEST(test_compressed);
    RUN_TEST(test_partial_literal);
    RUN_TEST(test_nested_total_cap);
    struct tr_buf m;
    tr_buf_init(&m, 1);
    struct tr_slice out;
    tr_ignore(inner(&m, 1, &out)); /* releases the static state */
    return TEST_SUMMARY();
}
