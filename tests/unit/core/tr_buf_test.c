#include <unistd.h>

#include "harness.h"
#include "teerex/buf.h"
#include "teerex/secmem.h"

static void test_reader_bounds(void)
{
    const uint8_t data[] = {1, 2, 3, 4, 5, 6, 7};
    struct tr_reader r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    tr_reader_init(&r, data, sizeof(data));
    EXPECT_OK(tr_read_u8(&r, &u8));
    EXPECT_EQ(u8, 1);
    EXPECT_OK(tr_read_be16(&r, &u16));
    EXPECT_EQ(u16, 0x0203);
    EXPECT_OK(tr_read_be32(&r, &u32));
    EXPECT_EQ(u32, 0x04050607);
    EXPECT_ERR(tr_read_u8(&r, &u8), TR_ERR_TRUNCATED);
    EXPECT_EQ(u8, 0);
    EXPECT_OK(tr_reader_expect_end(&r));

    tr_reader_init(&r, data, sizeof(data));
    EXPECT_OK(tr_read_skip(&r, 5));
    EXPECT_ERR(tr_read_be32(&r, &u32), TR_ERR_TRUNCATED);
    EXPECT_EQ(r.pos, 5); /* cursor unmoved on failure */
    EXPECT_EQ(u32, 0);
    EXPECT_ERR(tr_reader_expect_end(&r), TR_ERR_TRAILING);
    struct tr_reader sub;
    EXPECT_ERR(tr_read_sub(&r, 3, &sub), TR_ERR_TRUNCATED);
    EXPECT_OK(tr_read_sub(&r, 2, &sub));
    EXPECT_EQ(tr_reader_remaining(&sub), 2);
    EXPECT_ERR(tr_read_skip(&r, (size_t)-1), TR_ERR_TRUNCATED);
}

static void test_buf_cap(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 10);
    EXPECT_OK(tr_buf_append(&b, "0123456789", 10));
    EXPECT_ERR(tr_buf_append_u8(&b, 'x'), TR_ERR_TOO_BIG);
    EXPECT_EQ(b.len, 10);
    EXPECT_ERR(tr_buf_reserve(&b, (size_t)-1), TR_ERR_TOO_BIG);
    tr_buf_free(&b);
    EXPECT_TRUE(b.data == NULL);

    tr_buf_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        EXPECT_OK(tr_buf_append_be32(&b, (uint32_t)i));
    EXPECT_EQ(b.len, 40000);
    EXPECT_EQ(b.data[39999], 9999 & 0xff);
    tr_buf_free(&b);
}

static void test_secret_buf(void)
{
    struct tr_buf b;
    tr_buf_init_secret(&b, 1 << 20);
    for (int i = 0; i < 5000; i++)
        EXPECT_OK(tr_buf_append(&b, "secret", 6));
    EXPECT_EQ(b.len, 30000);
    struct tr_secmem_stats st;
    tr_secmem_stats(&st);
    EXPECT_TRUE(st.live_bytes >= 30000);
    tr_buf_free(&b);
    tr_secmem_stats(&st);
    EXPECT_EQ(st.live_bytes, 0);
    EXPECT_OK(tr_secmem_init(0));
    tr_secmem_stats(&st);
    EXPECT_EQ(st.ossl_secure_heap, 1);
}

static void test_wipe_resident(void)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = 3000 * pg; /* > one mincore batch */
    uint8_t *p = tr_secmem_alloc(n);
    EXPECT_TRUE(p != NULL);
    if (!p)
        return;
    memset(p, 0xA5, 10);
    memset(p + 5 * pg + 7, 0x5A, pg); /* straddles pages 5 and 6 */
    memset(p + 2999 * pg, 0x77, pg);  /* last page, second batch */
    tr_secmem_wipe_resident(p, n);
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++)
        nonzero += p[i] != 0;
    EXPECT_EQ(nonzero, 0);
    tr_secmem_free(p, n);

    struct tr_buf b;
    tr_buf_init_secret(&b, 0);
    EXPECT_OK(tr_buf_append(&b, "key material", 12));
    tr_buf_clear(&b);
    EXPECT_EQ(b.len, 0);
    EXPECT_TRUE(b.data[0] == 0 && b.data[5] == 0 && b.data[11] == 0);
    tr_buf_free(&b);
}

static void test_big_buf(void)
{
    /* Large buffers switch to their own mapping and grow with mremap. */
    struct tr_buf b;
    tr_buf_init(&b, 0);
    uint8_t chunk[4096];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (uint8_t)i;
    for (int i = 0; i < 1200; i++) /* 4.7 MiB: crosses 1, 2 and 4 MiB */
        EXPECT_OK(tr_buf_append(&b, chunk, sizeof(chunk)));
    EXPECT_EQ(b.mapped, 1);
    EXPECT_EQ(b.len, 1200 * 4096);
    size_t bad = 0;
    for (size_t i = 0; i < b.len; i++)
        bad += b.data[i] != (uint8_t)(i % 4096);
    EXPECT_EQ(bad, 0);
    tr_buf_free(&b);
    EXPECT_TRUE(b.data == NULL && b.mapped == 0);
}

static void test_err_table(void)
{
    EXPECT_STR_EQ(tr_err_name(TR_ERR_TRUNCATED), "TRUNCATED");
    EXPECT_EQ(tr_err_category(TR_ERR_TOO_BIG), TR_CAT_LIMIT);
    EXPECT_STR_EQ(tr_err_name(123456), "UNKNOWN");
    tr_result r = tr_fail_at(TR_ERR_IO, "f.c", 7);
    EXPECT_EQ(r.err, TR_ERR_IO);
    EXPECT_EQ(tr_last_error()->line, 7);
}

int main(void)
{
    RUN_TEST(test_reader_bounds);
    RUN_TEST(test_buf_cap);
    RUN_TEST(test_secret_buf);
    RUN_TEST(test_wipe_resident);
    RUN_TEST(test_big_buf);
    RUN_TEST(test_err_table);
    return TEST_SUMMARY();
}
