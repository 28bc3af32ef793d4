/* eif_parse: round trip of eif_write output and every rejection path. */
#include <stdlib.h>
#include <string.h>

#include "eif_testutil.h"
#include "harness.h"

#define OFF(i) (28 + 8 * (i))
#define SIZE(i) (284 + 8 * (i))

static uint8_t kernel[1000], rd0[300], rd1[700];
static const char *CMDLINE = "console=ttyS0 reboot=k";

static uint8_t *standard(size_t *len)
{
    const uint8_t *rd[2] = {rd0, rd1};
    size_t rl[2] = {sizeof(rd0), sizeof(rd1)};
    struct eif_pcrs p;
    return tu_build(kernel, sizeof(kernel), CMDLINE, rd, rl, 2, len, &p);
}

static uint64_t be64_at(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void test_round_trip(void)
{
    size_t len;
    struct eif_image img;
    uint8_t *p = standard(&len);
    EXPECT_TRUE(p != NULL);
    EXPECT_OK(eif_parse(p, len, &img));
    EXPECT_EQ(img.version, 4);
    EXPECT_EQ(img.num_sections, 5);
    EXPECT_EQ(img.default_mem, EIF_DEFAULT_MEM);
    EXPECT_EQ(img.default_cpus, 2);
    EXPECT_EQ(img.kernel, 0);
    EXPECT_EQ(img.cmdline, 1);
    EXPECT_EQ(img.metadata, 2);
    EXPECT_EQ(img.signature, -1);
    EXPECT_EQ(img.n_ramdisks, 2);
    EXPECT_EQ(img.sections[0].offset, EIF_HEADER_LEN);
    EXPECT_EQ(img.sections[0].data.len, sizeof(kernel));
    EXPECT_MEM_EQ(img.sections[0].data.ptr, kernel, sizeof(kernel));
    EXPECT_EQ(img.sections[1].data.len, strlen(CMDLINE));
    EXPECT_MEM_EQ(img.sections[1].data.ptr, CMDLINE, strlen(CMDLINE));
    EXPECT_EQ(img.sections[3].type, EIF_SECTION_RAMDISK);
    EXPECT_MEM_EQ(img.sections[3].data.ptr, rd0, sizeof(rd0));
    EXPECT_MEM_EQ(img.sections[4].data.ptr, rd1, sizeof(rd1));
    /* The header's offsets point at the section headers. */
    for (int i = 0; i < 5; i++)
        EXPECT_EQ(be64_at(p + OFF(i)), img.sections[i].offset);
    EXPECT_EQ(len, img.sections[4].offset + EIF_SECTION_HEADER_LEN + sizeof(rd1));
    EXPECT_STR_EQ(eif_section_type_name(EIF_SECTION_METADATA), "metadata");
    free(p);
}

/* Applies an edit, fixes the CRC, and expects the given error. */
static void expect_edit(void (*edit)(uint8_t *p, size_t *len), int32_t code, int fix_crc)
{
    size_t len;
    struct eif_image img;
    uint8_t *p = standard(&len);
    uint8_t *big = realloc(p, len + 16);
    EXPECT_TRUE(big != NULL);
    if (!big) {
        free(p);
        return;
    }
    edit(big, &len);
    if (fix_crc)
        tu_fix_crc(big, len);
    EXPECT_ERR(eif_parse(big, len, &img), code);
    free(big);
}

static void e_magic(uint8_t *p, size_t *n)
{
    (void)n, p[0] = 'x';
}
static void e_version5(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be16(p + 4, 5);
}
static void e_version1(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be16(p + 4, 1);
}
static void e_count0(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be16(p + 26, 0);
}
static void e_count33(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be16(p + 26, 33);
}
static void e_reserved(uint8_t *p, size_t *n)
{
    (void)n, p[25] = 1;
}
static void e_table(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be64(p + OFF(10), 4096);
}
static void e_overlap(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be64(p + OFF(1), be64_at(p + OFF(1)) - 1);
}
static void e_gap(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be64(p + OFF(1), be64_at(p + OFF(1)) + 4);
}
static void e_offset_huge(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be64(p + OFF(3), UINT64_MAX);
}
static void e_size_huge(uint8_t *p, size_t *n)
{
    /* Table and section header agree on an absurd size. */
    (void)n;
    uint64_t off = be64_at(p + OFF(4));
    tu_put_be64(p + SIZE(4), UINT64_MAX);
    tu_put_be64(p + off + 4, UINT64_MAX);
}
static void e_size_mismatch(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be64(p + SIZE(0), 999);
}
static void e_type(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be16(p + be64_at(p + OFF(1)), 9);
}
static void e_type0(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be16(p + be64_at(p + OFF(1)), 0);
}
static void e_swap(uint8_t *p, size_t *n)
{
    (void)n;
    tu_put_be16(p + be64_at(p + OFF(0)), EIF_SECTION_CMDLINE);
    tu_put_be16(p + be64_at(p + OFF(1)), EIF_SECTION_KERNEL);
}
static void e_meta_late(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be16(p + be64_at(p + OFF(4)), EIF_SECTION_METADATA);
}
static void e_sig_first_rd(uint8_t *p, size_t *n)
{
    (void)n, tu_put_be16(p + be64_at(p + OFF(3)), EIF_SECTION_SIGNATURE);
}
static void e_trailing(uint8_t *p, size_t *n)
{
    p[(*n)++] = 0;
}
static void e_cut_in_header(uint8_t *p, size_t *n)
{
    (void)p, *n = 300;
}
static void e_cut_section_header(uint8_t *p, size_t *n)
{
    *n = (size_t)be64_at(p + OFF(1)) + 5;
}
static void e_cut_data(uint8_t *p, size_t *n)
{
    (void)p, *n -= 1;
}
static void e_flip_data(uint8_t *p, size_t *n)
{
    (void)n, p[EIF_HEADER_LEN + 100] ^= 1;
}
static void e_flip_crc(uint8_t *p, size_t *n)
{
    (void)n, p[547] ^= 0x80;
}
static void e_flip_cpus(uint8_t *p, size_t *n)
{
    (void)n, p[23] ^= 1;
}

static void test_rejections(void)
{
    expect_edit(e_magic, TR_ERR_EIF_BAD_MAGIC, 1);
    expect_edit(e_version5, TR_ERR_EIF_BAD_VERSION, 1);
    expect_edit(e_version1, TR_ERR_EIF_BAD_VERSION, 1);
    expect_edit(e_count0, TR_ERR_EIF_BAD_SECTION_COUNT, 1);
    expect_edit(e_count33, TR_ERR_EIF_BAD_SECTION_COUNT, 1);
    expect_edit(e_reserved, TR_ERR_EIF_BAD_TABLE, 1);
    expect_edit(e_table, TR_ERR_EIF_BAD_TABLE, 1);
    expect_edit(e_overlap, TR_ERR_EIF_BAD_OFFSET, 1);
    expect_edit(e_gap, TR_ERR_EIF_BAD_OFFSET, 1);
    expect_edit(e_offset_huge, TR_ERR_EIF_BAD_OFFSET, 1);
    expect_edit(e_size_huge, TR_ERR_EIF_BAD_SIZE, 1);
    expect_edit(e_size_mismatch, TR_ERR_EIF_BAD_SIZE, 1);
    expect_edit(e_type, TR_ERR_EIF_BAD_SECTION_TYPE, 1);
    expect_edit(e_type0, TR_ERR_EIF_BAD_SECTION_TYPE, 1);
    expect_edit(e_swap, TR_ERR_EIF_BAD_LAYOUT, 1);
    expect_edit(e_meta_late, TR_ERR_EIF_BAD_LAYOUT, 1);
    expect_edit(e_sig_first_rd, TR_ERR_EIF_BAD_LAYOUT, 1);
    expect_edit(e_trailing, TR_ERR_EIF_TRAILING, 1);
    expect_edit(e_cut_in_header, TR_ERR_EIF_TRUNCATED, 0);
    expect_edit(e_cut_section_header, TR_ERR_EIF_TRUNCATED, 0);
    expect_edit(e_cut_data, TR_ERR_EIF_BAD_SIZE, 0);
    /* Content changes are caught by the CRC only. */
    expect_edit(e_flip_data, TR_ERR_EIF_BAD_CRC, 0);
    expect_edit(e_flip_crc, TR_ERR_EIF_BAD_CRC, 0);
    expect_edit(e_flip_cpus, TR_ERR_EIF_BAD_CRC, 0);
}

static void test_degenerate(void)
{
    struct eif_image img;
    uint8_t zeros[EIF_HEADER_LEN] = {0};
    EXPECT_ERR(eif_parse(NULL, 0, &img), TR_ERR_EIF_TRUNCATED);
    EXPECT_ERR(eif_parse(zeros, 10, &img), TR_ERR_EIF_TRUNCATED);
    EXPECT_ERR(eif_parse(zeros, sizeof(zeros), &img), TR_ERR_EIF_BAD_MAGIC);
    EXPECT_ERR(eif_parse(zeros, sizeof(zeros), NULL), TR_ERR_NULL_ARG);
}

static void test_metadata_json(void)
{
    struct tr_buf b;
    tr_buf_init(&b, 4096);
    struct eif_meta_info m = {"teerex", "v1.2.3", "6.1.0", 1700000000};
    EXPECT_OK(eif_meta_json(&m, &b));
    EXPECT_OK(tr_buf_append_u8(&b, 0));
    EXPECT_STR_EQ((const char *)b.data,
                  "{\"ImageName\":\"teerex\",\"ImageVersion\":\"v1.2.3\",\"BuildMetadata\":"
                  "{\"BuildTime\":\"2023-11-14T22:13:20+00:00\",\"BuildTool\":\"teerex-eif\","
                  "\"BuildToolVersion\":\"" TEEREX_TEST_VERSION "\",\"OperatingSystem\":\"Linux\","
                  "\"KernelVersion\":\"6.1.0\"},\"DockerInfo\":null,\"CustomMetadata\":null}");
    tr_buf_clear(&b);
    struct eif_meta_info neg = {NULL, NULL, NULL, -1};
    EXPECT_ERR(eif_meta_json(&neg, &b), TR_ERR_BAD_NUMBER);
    tr_buf_free(&b);
}

int main(void)
{
    tu_fill(kernel, sizeof(kernel), 1);
    tu_fill(rd0, sizeof(rd0), 2);
    tu_fill(rd1, sizeof(rd1), 3);
    RUN_TEST(test_round_trip);
    RUN_TEST(test_rejections);
    RUN_TEST(test_degenerate);
    RUN_TEST(test_metadata_json);
    return TEST_SUMMARY();
}
