/* pgp_packet.c: headers (new, old, partial, indeterminate), writer, MPIs. */
#include "harness.h"
#include "pgp/pgp_internal.h"

static tr_result read1(const uint8_t *p, size_t n, struct tr_buf *scratch, struct pgp_packet *pk,
                       size_t *consumed)
{
    struct tr_reader r;
    tr_reader_init(&r, p, n);
    tr_result res = pgp_packet_read(&r, scratch, pk);
    *consumed = r.pos;
    return res;
}

static void test_new_lengths(void)
{
    struct tr_buf s, w;
    tr_buf_init(&s, 1 << 20);
    tr_buf_init(&w, 1 << 20);
    size_t lens[] = {0, 1, 191, 192, 8383, 8384, 70000};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        tr_buf_clear(&w);
        EXPECT_OK(pgp_packet_write_header(&w, PGP_TAG_LITERAL, lens[i]));
        size_t hl = w.len;
        EXPECT_EQ(hl, lens[i] < 192 ? 2 : lens[i] < 8384 ? 3 : 6);
        uint8_t *p;
        EXPECT_OK(tr_buf_extend(&w, lens[i], &p));
        memset(p, 0x5A, lens[i]);
        struct pgp_packet pk;
        size_t used;
        EXPECT_OK(read1(w.data, w.len, &s, &pk, &used));
        EXPECT_EQ(pk.tag, PGP_TAG_LITERAL);
        EXPECT_EQ(pk.body.len, lens[i]);
        EXPECT_EQ(used, w.len);
        EXPECT_EQ(pk.partial, 0);
        /* One octet short: truncated. */
        EXPECT_ERR(read1(w.data, w.len - 1, &s, &pk, &used), TR_ERR_TRUNCATED);
    }
    tr_buf_free(&s);
    tr_buf_free(&w);
}

static void test_old_headers(void)
{
    struct tr_buf s;
    tr_buf_init(&s, 4096);
    struct pgp_packet pk;
    size_t used;
    /* tag 11, 1-octet length */
    const uint8_t a[] = {0x80 | (11 << 2) | 0, 2, 'h', 'i'};
    EXPECT_OK(read1(a, sizeof(a), &s, &pk, &used));
    EXPECT_EQ(pk.tag, 11);
    EXPECT_EQ(pk.body.len, 2);
    /* 2- and 4-octet lengths */
    const uint8_t b[] = {0x80 | (1 << 2) | 1, 0, 1, 'x'};
    EXPECT_OK(read1(b, sizeof(b), &s, &pk, &used));
    EXPECT_EQ(pk.tag, 1);
    EXPECT_EQ(pk.body.len, 1);
    const uint8_t c[] = {0x80 | (2 << 2) | 2, 0, 0, 0, 1, 'x'};
    EXPECT_OK(read1(c, sizeof(c), &s, &pk, &used));
    EXPECT_EQ(pk.body.len, 1);
    /* Indeterminate: only for data packets, runs to the end. */
    const uint8_t d[] = {0x80 | (11 << 2) | 3, 1, 2, 3};
    EXPECT_OK(read1(d, sizeof(d), &s, &pk, &used));
    EXPECT_EQ(pk.body.len, 3);
    const uint8_t e[] = {0x80 | (1 << 2) | 3, 1, 2, 3};
    EXPECT_ERR(read1(e, sizeof(e), &s, &pk, &used), TR_ERR_PGP_BAD_HEADER);
    /* Bit 7 clear; tag 0. */
    const uint8_t f[] = {0x3F, 0};
    EXPECT_ERR(read1(f, sizeof(f), &s, &pk, &used), TR_ERR_PGP_BAD_HEADER);
    const uint8_t g[] = {0xC0, 0};
    EXPECT_ERR(read1(g, sizeof(g), &s, &pk, &used), TR_ERR_PGP_BAD_HEADER);
    EXPECT_ERR(read1(g, 0, &s, &pk, &used), TR_ERR_TRUNCATED);
    tr_buf_free(&s);
}

static void test_partial(void)
{
    /* 512 + 1024 + 3 octets of a literal packet. */
    static uint8_t m[1 + 1 + 512 + 1 + 1024 + 1 + 3];
    size_t n = 0;
    m[n++] = 0xC0 | 11;
    m[n++] = 0xE0 | 9;
    memset(m + n, 'a', 512);
    n += 512;
    m[n++] = 0xE0 | 10;
    memset(m + n, 'b', 1024);
    n += 1024;
    m[n++] = 3;
    memset(m + n, 'c', 3);
    n += 3;
    struct tr_buf s;
    tr_buf_init(&s, 1 << 20);
    struct pgp_packet pk;
    size_t used;
    EXPECT_OK(read1(m, n, &s, &pk, &used));
    EXPECT_EQ(pk.partial, 1);
    EXPECT_EQ(pk.body.len, 512 + 1024 + 3);
    EXPECT_EQ(used, n);
    EXPECT_TRUE(pk.body.ptr[511] == 'a' && pk.body.ptr[512] == 'b' && pk.body.ptr[1538] == 'c');
    /* The assembled size is bounded by the scratch buffer's cap. */
    struct tr_buf tiny;
    tr_buf_init(&tiny, 1000);
    EXPECT_ERR(read1(m, n, &tiny, &pk, &used), TR_ERR_TOO_BIG);
    tr_buf_free(&tiny);
    /* Truncated inside a later part. */
    EXPECT_ERR(read1(m, n - 1, &s, &pk, &used), TR_ERR_TRUNCATED);
    /* First part shorter than 512. */
    m[1] = 0xE0 | 8;
    EXPECT_ERR(read1(m, n, &s, &pk, &used), TR_ERR_PGP_BAD_PARTIAL);
    m[1] = 0xE0 | 9;
    /* Partial lengths on a PKESK are not allowed. */
    m[0] = 0xC0 | 1;
    EXPECT_ERR(read1(m, n, &s, &pk, &used), TR_ERR_PGP_BAD_PARTIAL);
    tr_buf_free(&s);
}

static void test_mpi(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 64);
    const uint8_t v[] = {0, 0, 0x40, 1, 2};
    EXPECT_OK(pgp_mpi_write(&b, v, sizeof(v)));
    EXPECT_EQ(b.len, 5); /* 2 + 3 octets, leading zeros dropped */
    EXPECT_EQ(b.data[0] << 8 | b.data[1], 23);
    struct tr_reader r;
    struct tr_slice s;
    tr_reader_init(&r, b.data, b.len);
    EXPECT_OK(pgp_mpi_read(&r, &s));
    EXPECT_EQ(s.len, 3);
    /* A bit count that does not match the top octet. */
    const uint8_t bad[] = {0, 24, 0x40, 1, 2};
    tr_reader_init(&r, bad, sizeof(bad));
    EXPECT_ERR(pgp_mpi_read(&r, &s), TR_ERR_PGP_BAD_MPI);
    const uint8_t shortm[] = {0, 24, 0x80};
    tr_reader_init(&r, shortm, sizeof(shortm));
    EXPECT_ERR(pgp_mpi_read(&r, &s), TR_ERR_TRUNCATED);
    /* Points: 0x40 || 32 octets, else BAD_POINT. */
    uint8_t pt[35] = {0x01, 0x07, 0x40};
    uint8_t out[32];
    tr_reader_init(&r, pt, sizeof(pt));
    EXPECT_OK(pgp_point_read(&r, out));
    pt[2] = 0x41;
    tr_reader_init(&r, pt, sizeof(pt));
    EXPECT_ERR(pgp_point_read(&r, out), TR_ERR_PGP_BAD_POINT);
    pt[2] = 0x40;
    pt[1] = 0x06; /* 262 bits: the top octet 0x40 has bit 6 set, not 5 */
    tr_reader_init(&r, pt, sizeof(pt));
    EXPECT_ERR(pgp_point_read(&r, out), TR_ERR_PGP_BAD_POINT);
    tr_buf_free(&b);
}

int main(void)
{
    RUN_TEST(test_new_lengths);
    RUN_TEST(test_old_headers);
    RUN_TEST(test_partial);
    RUN_TEST(test_mpi);
    return TEST_SUMMARY();
}
