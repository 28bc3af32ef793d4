/* PCRs: eif_write's streamed measurement and eif_image_pcrs equal a
 * one-shot SHA-384 over the concatenated section bytes, extended. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "eif_testutil.h"
#include "harness.h"

static void sha384(const uint8_t *p, size_t n, uint8_t out[48])
{
    unsigned int len = 0;
    EVP_Digest(p, n, out, &len, EVP_sha384(), NULL);
}

/* Independent "extend": SHA-384 over 48 zero bytes || SHA-384(data). */
static void expect_pcr(const uint8_t *data, size_t n, const uint8_t pcr[48])
{
    uint8_t buf[96], want[48];
    memset(buf, 0, 48);
    sha384(data, n, buf + 48);
    sha384(buf, sizeof(buf), want);
    EXPECT_MEM_EQ(pcr, want, 48);
}

static uint8_t *cat(const uint8_t *const *parts, const size_t *lens, size_t k, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < k; i++)
        *n += lens[i];
    uint8_t *p = malloc(*n ? *n : 1);
    size_t o = 0;
    for (size_t i = 0; p && i < k; i++) {
        memcpy(p + o, parts[i], lens[i]);
        o += lens[i];
    }
    return p;
}

static void check(size_t n_rd)
{
    uint8_t kernel[5000], rds[4][3000];
    const char *cmdline = "console=ttyS0 nit.cmdline";
    const uint8_t *rd[4];
    size_t rl[4];
    tu_fill(kernel, sizeof(kernel), 10);
    for (size_t i = 0; i < n_rd; i++) {
        tu_fill(rds[i], sizeof(rds[i]), (uint32_t)(20 + i));
        rd[i] = rds[i];
        rl[i] = 1000 + 500 * i;
    }
    struct eif_pcrs w, r;
    struct eif_image img;
    size_t len;
    uint8_t *eif = tu_build(kernel, sizeof(kernel), cmdline, rd, rl, n_rd, &len, &w);
    EXPECT_TRUE(eif != NULL);
    if (!eif)
        return;
    EXPECT_OK(eif_parse(eif, len, &img));
    EXPECT_OK(eif_image_pcrs(&img, &r));
    EXPECT_MEM_EQ(&w, &r, sizeof(w));
    EXPECT_TRUE(!w.has_pcr8);

    const uint8_t *all[6] = {kernel, (const uint8_t *)cmdline};
    size_t all_len[6] = {sizeof(kernel), strlen(cmdline)};
    for (size_t i = 0; i < n_rd; i++) {
        all[2 + i] = rd[i];
        all_len[2 + i] = rl[i];
    }
    size_t n;
    uint8_t *c = cat(all, all_len, 2 + n_rd, &n);
    expect_pcr(c, n, w.pcr0);
    free(c);
    c = cat(all, all_len, 3, &n);
    expect_pcr(c, n, w.pcr1);
    free(c);
    c = cat(all + 3, all_len + 3, n_rd - 1, &n);
    expect_pcr(c, n, w.pcr2);
    free(c);
    free(eif);
}

static void test_pcrs(void)
{
    check(1); /* PCR2 is then the extend of SHA-384("") */
    check(2);
    check(4);
}

static void test_one_byte_of_app(void)
{
    uint8_t kernel[100] = {1}, a[64] = {2}, b[64] = {3};
    const uint8_t *rd[2] = {a, b};
    size_t rl[2] = {sizeof(a), sizeof(b)}, len;
    struct eif_pcrs p1, p2;
    uint8_t *e1 = tu_build(kernel, sizeof(kernel), "x", rd, rl, 2, &len, &p1);
    b[10] ^= 1;
    uint8_t *e2 = tu_build(kernel, sizeof(kernel), "x", rd, rl, 2, &len, &p2);
    EXPECT_TRUE(memcmp(p1.pcr0, p2.pcr0, 48) != 0);
    EXPECT_MEM_EQ(p1.pcr1, p2.pcr1, 48);
    EXPECT_TRUE(memcmp(p1.pcr2, p2.pcr2, 48) != 0);
    free(e1);
    free(e2);
}

static void test_metadata_not_measured(void)
{
    /* Metadata and signature sections feed no PCR. */
    struct eif_measure m;
    struct eif_pcrs a, b;
    EXPECT_OK(eif_measure_init(&m));
    eif_measure_begin(&m, EIF_SECTION_KERNEL);
    EXPECT_OK(eif_measure_update(&m, "k", 1));
    EXPECT_OK(eif_measure_final(&m, &a));
    eif_measure_free(&m);
    EXPECT_OK(eif_measure_init(&m));
    eif_measure_begin(&m, EIF_SECTION_KERNEL);
    EXPECT_OK(eif_measure_update(&m, "k", 1));
    eif_measure_begin(&m, EIF_SECTION_METADATA);
    EXPECT_OK(eif_measure_update(&m, "{}", 2));
    eif_measure_begin(&m, EIF_SECTION_SIGNATURE);
    EXPECT_OK(eif_measure_update(&m, "sig", 3));
    EXPECT_OK(eif_measure_final(&m, &b));
    eif_measure_free(&m);
    EXPECT_MEM_EQ(&a, &b, sizeof(a));
}

static void test_cmdline_trim(void)
{
    static const char text[] = " \t console=ttyS0 reboot=k\n\r\n";
    struct tr_slice s = eif_cmdline_trim((const uint8_t *)text, sizeof(text) - 1);
    EXPECT_EQ(s.len, strlen("console=ttyS0 reboot=k"));
    EXPECT_MEM_EQ(s.ptr, "console=ttyS0 reboot=k", s.len);
    s = eif_cmdline_trim((const uint8_t *)" \n ", 3);
    EXPECT_EQ(s.len, 0);
    s = eif_cmdline_trim(NULL, 0);
    EXPECT_EQ(s.len, 0);
}

int main(void)
{
    RUN_TEST(test_pcrs);
    RUN_TEST(test_one_byte_of_app);
    RUN_TEST(test_metadata_not_measured);
    RUN_TEST(test_cmdline_trim);
    return TEST_SUMMARY();
}
