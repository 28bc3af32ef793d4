/* Provisioning messages: writers and parsers agree; hostile lines are
 * refused; the host's error text is made printable. */
#include <string.h>

#include "harness.h"
#include "teerex/bundle.h"

#define D "598579b858eb9ef275314cf07f564d9dc9076bb50253533c4928bb8572f2d260"

static void test_request(void)
{
    struct bundle_prov_request rq = {.version = "4.1.2", .digest = D}, got;
    struct tr_buf b;
    tr_buf_init(&b, 4096);
    EXPECT_OK(bundle_prov_request_write(&rq, &b));
    EXPECT_TRUE(b.len > 0 && b.data[b.len - 1] == '\n');
    EXPECT_OK(bundle_prov_request_parse((const char *)b.data, b.len - 1, &got));
    EXPECT_STR_EQ(got.version, "4.1.2");
    EXPECT_STR_EQ(got.digest, D);
    const char *ok = "{\"version\":\"5.0.0\"}";
    EXPECT_OK(bundle_prov_request_parse(ok, strlen(ok), &got));
    EXPECT_STR_EQ(got.digest, "");
    const char *bad[] = {"{\"version\":\"../x\"}",
                         "{\"version\":\".hidden\"}",
                         "[\"4.1.2\"]",
                         "{\"version\":\"4.1.2\",\"digest\":\"ABC\"}",
                         "{\"version\":\"4.1.2\",\"a\":1,\"b\":2}",
                         "{\"version\":4}",
                         "",
                         NULL};
    for (size_t i = 0; bad[i]; i++)
        EXPECT_ERR(bundle_prov_request_parse(bad[i], strlen(bad[i]), &got),
                   TR_ERR_BUNDLE_PROVISION_MSG);
    const char two[] = "{\"version\":\"4.1.2\"}\n{\"version\":\"5.0.0\"}";
    EXPECT_ERR(bundle_prov_request_parse(two, sizeof(two) - 1, &got), TR_ERR_BUNDLE_PROVISION_MSG);
    strcpy(rq.version, "a/b");
    tr_buf_clear(&b);
    EXPECT_ERR(bundle_prov_request_write(&rq, &b), TR_ERR_BUNDLE_PROVISION_MSG);
    tr_buf_free(&b);
}

static void test_reply(void)
{
    struct bundle_prov_reply ok = {.ok = true, .version = "4.1.2", .digest = D, .size = 12345}, got;
    struct tr_buf b;
    tr_buf_init(&b, 8192);
    EXPECT_OK(bundle_prov_reply_write(&ok, &b));
    EXPECT_OK(bundle_prov_reply_parse((const char *)b.data, b.len - 1, &got));
    EXPECT_TRUE(got.ok && got.size == 12345);
    EXPECT_STR_EQ(got.digest, D);
    struct bundle_prov_reply err = {.ok = false, .error = "unknown_version"};
    snprintf(err.detail, sizeof(err.detail), "no \x01such\n version");
    tr_buf_clear(&b);
    EXPECT_OK(bundle_prov_reply_write(&err, &b));
    EXPECT_OK(bundle_prov_reply_parse((const char *)b.data, b.len - 1, &got));
    EXPECT_TRUE(!got.ok);
    EXPECT_STR_EQ(got.error, "unknown_version");
    EXPECT_STR_EQ(got.detail, "no ?such? version");
    const char *hostile = "{\"error\":\"network\",\"detail\":\"\\u001b[31mred\\u00e9\"}";
    EXPECT_OK(bundle_prov_reply_parse(hostile, strlen(hostile), &got));
    for (const char *p = got.detail; *p; p++)
        TH_REPORT(*p >= 0x20 && *p < 0x7f, "printable detail: 0x%02x", (unsigned char)*p);
    const char *bad[] = {"{\"error\":\"teapot\"}",
                         "{\"version\":\"4.1.2\",\"digest\":\"" D "\",\"size\":0}",
                         "{\"version\":\"4.1.2\",\"digest\":\"" D "\",\"size\":-1}",
                         "{\"version\":\"4.1.2\",\"digest\":\"" D "\",\"size\":\"1\"}",
                         "{\"version\":\"4.1.2\",\"digest\":\"" D "\",\"size\":1,\"x\":0}",
                         "{\"version\":\"4.1.2\",\"size\":1}",
                         NULL};
    for (size_t i = 0; bad[i]; i++)
        EXPECT_ERR(bundle_prov_reply_parse(bad[i], strlen(bad[i]), &got),
                   TR_ERR_BUNDLE_PROVISION_MSG);
    tr_buf_free(&b);
}

int main(void)
{
    RUN_TEST(test_request);
    RUN_TEST(test_reply);
    return TEST_SUMMARY();
}
