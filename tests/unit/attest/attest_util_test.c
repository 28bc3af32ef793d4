/* attest helpers: failure classes and their exit-code order, time parsing
 * (--at), the user_data version list (full and digest forms). */
#include <string.h>

#include <openssl/sha.h>

#include "harness.h"
#include "teerex/attest.h"
#include "teerex/codec.h"

static void test_classes(void)
{
    static const struct {
        int32_t err;
        enum attest_class cls;
        const char *name;
    } cases[] = {
        {TR_ERR_ATTEST_INVALID_COSE, ATTEST_CLASS_INVALID_COSE, "INVALID_COSE"},
        {TR_ERR_ATTEST_TOO_BIG, ATTEST_CLASS_INVALID_COSE, "INVALID_COSE"},
        {TR_ERR_ATTEST_INVALID_DOCUMENT, ATTEST_CLASS_INVALID_DOCUMENT, "INVALID_DOCUMENT"},
        {TR_ERR_ATTEST_CHAIN_FAILED, ATTEST_CLASS_CHAIN_FAILED, "CHAIN_FAILED"},
        {TR_ERR_ATTEST_SIGNATURE_FAILED, ATTEST_CLASS_SIGNATURE_FAILED, "SIGNATURE_FAILED"},
        {TR_ERR_ATTEST_EXPIRED, ATTEST_CLASS_EXPIRED, "EXPIRED"},
        {TR_ERR_ATTEST_STALE, ATTEST_CLASS_EXPIRED, "EXPIRED"},
        {TR_ERR_ATTEST_PCR_MISMATCH, ATTEST_CLASS_PCR_MISMATCH, "PCR_MISMATCH"},
        {TR_ERR_ATTEST_NONCE_MISMATCH, ATTEST_CLASS_NONCE_MISMATCH, "NONCE_MISMATCH"},
        {TR_ERR_ATTEST_MISSING_KEY, ATTEST_CLASS_MISSING_KEY, "MISSING_KEY"},
        {TR_ERR_ATTEST_KEY_MISMATCH, ATTEST_CLASS_MISSING_KEY, "MISSING_KEY"},
        {TR_ERR_ATTEST_BB_VERSION_MISMATCH, ATTEST_CLASS_BB_VERSION_MISMATCH,
         "BB_VERSION_MISMATCH"},
        {TR_ERR_ATTEST_BAD_ROOT, ATTEST_CLASS_NONE, "NONE"},
        {TR_ERR_NOMEM, ATTEST_CLASS_NONE, "NONE"},
        {TR_OK, ATTEST_CLASS_NONE, "NONE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EXPECT_EQ(attest_class_of(cases[i].err), cases[i].cls);
        EXPECT_STR_EQ(attest_class_name(attest_class_of(cases[i].err)), cases[i].name);
        if (cases[i].cls != ATTEST_CLASS_NONE)
            EXPECT_EQ(tr_err_category(cases[i].err) == TR_CAT_ATTEST ||
                          cases[i].err == TR_ERR_ATTEST_TOO_BIG,
                      1);
    }
    EXPECT_EQ(ATTEST_CLASS_BB_VERSION_MISMATCH, 8); /* exit 18 */
}

static void test_time(void)
{
    enum attest_at at;
    uint64_t ms;
    EXPECT_OK(attest_parse_time("doc", &at, &ms));
    EXPECT_EQ(at, ATTEST_AT_DOC);
    EXPECT_OK(attest_parse_time("now", &at, &ms));
    EXPECT_EQ(at, ATTEST_AT_NOW);
    EXPECT_OK(attest_parse_time("1706120065", &at, &ms));
    EXPECT_EQ(at, ATTEST_AT_TIME);
    EXPECT_EQ(ms, 1706120065000ULL);
    EXPECT_OK(attest_parse_time("2024-01-24T18:14:25.635Z", &at, &ms));
    EXPECT_EQ(ms, 1706120065635ULL);
    EXPECT_OK(attest_parse_time("2024-01-24T18:14:25Z", &at, &ms));
    EXPECT_EQ(ms, 1706120065000ULL);
    EXPECT_OK(attest_parse_time("2024-01-24t18:14:25.6z", &at, &ms));
    EXPECT_EQ(ms, 1706120065600ULL);
    EXPECT_OK(attest_parse_time("2024-01-24T20:14:25.123456+02:00", &at, &ms));
    EXPECT_EQ(ms, 1706120065123ULL);
    EXPECT_OK(attest_parse_time("2024-01-24T17:14:25-01:00", &at, &ms));
    EXPECT_EQ(ms, 1706120065000ULL);
    static const char *const bad[] = {"",
                                      "yesterday",
                                      "2024-01-24",
                                      "2024-01-24T18:14:25",
                                      "2024-13-24T18:14:25Z",
                                      "2024-01-24T18:14:25.Z",
                                      "2024-01-24T18:14:25+0200",
                                      "2024-01-24T18:14:25Zjunk",
                                      "-5",
                                      "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        EXPECT_ERR(attest_parse_time(bad[i], &at, &ms), TR_ERR_ATTEST_BAD_TIME);
}

static void test_user_data(void)
{
    struct attest_bb_expect v[40];
    memset(v, 0, sizeof(v));
    snprintf(v[0].version, sizeof(v[0].version), "4.1.2-rc.1");
    snprintf(v[1].version, sizeof(v[1].version), "1.0.0");
    v[0].sha256[0] = 0xaa;
    v[1].sha256[31] = 0x01;
    struct tr_buf b;
    tr_buf_init(&b, 1 << 16);
    bool dig = true;
    EXPECT_OK(attest_user_data_build(v, 2, &b, &dig));
    EXPECT_TRUE(!dig);
    const char *want = "{\"versions\":[{\"version\":\"1.0.0\",\"sha256\":\"000000000000000000000000"
                       "0000000000000000000000000000000000000001\"},{\"version\":\"4.1.2-rc.1\","
                       "\"sha256\":\"aa0000000000000000000000000000000000000000000000000000000000"
                       "0000\"}]}";
    EXPECT_EQ(b.len, strlen(want));
    EXPECT_MEM_EQ(b.data, want, strlen(want));
    struct attest_versions *pv = malloc(sizeof(*pv));
    EXPECT_OK(attest_user_data_parse(b.data, b.len, pv));
    EXPECT_EQ(pv->n, 2);
    EXPECT_STR_EQ(pv->v[0].version, "1.0.0");
    EXPECT_EQ(pv->v[1].sha256[0], 0xaa);
    /* empty list */
    tr_buf_clear(&b);
    EXPECT_OK(attest_user_data_build(NULL, 0, &b, &dig));
    EXPECT_EQ(b.len, strlen("{\"versions\":[]}"));
    EXPECT_OK(attest_user_data_parse(b.data, b.len, pv));
    EXPECT_EQ(pv->n, 0);
    /* 40 versions do not fit 512 bytes: digest of the compact JSON array */
    for (int i = 0; i < 40; i++)
        snprintf(v[i].version, sizeof(v[i].version), "%d.0.%d", 10 + i, i);
    tr_buf_clear(&b);
    EXPECT_OK(attest_user_data_build(v, 40, &b, &dig));
    EXPECT_TRUE(dig);
    EXPECT_TRUE(b.len <= TR_NSM_MAX_USER_DATA);
    EXPECT_OK(attest_user_data_parse(b.data, b.len, pv));
    EXPECT_TRUE(pv->digest_form);
    /* recompute: SHA-256 over [{"version":..,"sha256":..},...] sorted */
    struct tr_buf arr;
    tr_buf_init(&arr, 1 << 16);
    tr_ignore(tr_buf_append_str(&arr, "["));
    for (int i = 0; i < 40; i++) {
        char hex[65], item[160];
        tr_hex_to_str(v[i].sha256, 32, hex);
        snprintf(item, sizeof(item), "%s{\"version\":\"%s\",\"sha256\":\"%s\"}", i ? "," : "",
                 v[i].version, hex);
        tr_ignore(tr_buf_append_str(&arr, item));
    }
    tr_ignore(tr_buf_append_str(&arr, "]"));
    uint8_t h[32];
    SHA256(arr.data, arr.len, h);
    EXPECT_MEM_EQ(pv->list_sha256, h, 32);
    tr_buf_free(&arr);
    uint8_t h2[32];
    EXPECT_OK(attest_user_data_list_sha256(v, 40, h2));
    EXPECT_MEM_EQ(h2, h, 32);
    /* what teerexd writes: the default and the bundle policy (both forms) */
    const char *full = "{\"versions\":[],\"default\":\"5.0.0\",\"policy\":\"pinned\"}";
    EXPECT_OK(attest_user_data_parse((const uint8_t *)full, strlen(full), pv));
    EXPECT_STR_EQ(pv->default_version, "5.0.0");
    EXPECT_STR_EQ(pv->policy, "pinned");
    char digest_form[300];
    char hex[65];
    tr_hex_to_str(h, 32, hex);
    snprintf(digest_form, sizeof(digest_form),
             "{\"versions_sha256\":\"%s\",\"count\":40,\"default\":null,\"policy\":\"open\"}", hex);
    EXPECT_OK(attest_user_data_parse((const uint8_t *)digest_form, strlen(digest_form), pv));
    EXPECT_TRUE(pv->digest_form && pv->default_version[0] == '\0');
    EXPECT_STR_EQ(pv->policy, "open");
    static const char *const bad_extra[] = {
        "{\"versions\":[],\"policy\":\"lax\"}", "{\"versions\":[],\"policy\":1}",
        "{\"versions\":[],\"default\":7}", "{\"versions\":[],\"default\":\"\"}"};
    for (size_t i = 0; i < sizeof(bad_extra) / sizeof(bad_extra[0]); i++)
        EXPECT_ERR(attest_user_data_parse((const uint8_t *)bad_extra[i], strlen(bad_extra[i]), pv),
                   TR_ERR_ATTEST_BB_VERSION_MISMATCH);
    /* malformed lists */
    static const char *const bad[] = {
        "",
        "[]",
        "{}",
        "{\"versions\":{}}",
        "{\"versions\":[1]}",
        "{\"versions\":[{\"version\":\"1\"}]}",
        "{\"versions\":[{\"version\":\"1\",\"sha256\":\"00\"}]}",
        ("{\"versions\":[{\"version\":\"\",\"sha256\":\"000000000000000000000000000000000000000000"
         "0000000000000000000000\"}]}"),
        "{\"versions\":[],\"versions\":[]}",
        "{\"versions_sha256\":\"zz\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        EXPECT_ERR(attest_user_data_parse((const uint8_t *)bad[i], strlen(bad[i]), pv),
                   TR_ERR_ATTEST_BB_VERSION_MISMATCH);
    free(pv);
    tr_buf_free(&b);
}

int main(void)
{
    RUN_TEST(test_classes);
    RUN_TEST(test_time);
    RUN_TEST(test_user_data);
    return TEST_SUMMARY();
}
