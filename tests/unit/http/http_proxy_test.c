/* http_proxy_parse: PROXY protocol v1 and v2, valid, partial and malformed. */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "harness.h"
#include "teerex/http.h"

static const uint8_t SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static size_t v2(uint8_t *b, uint8_t ver_cmd, uint8_t fam, uint16_t len, const uint8_t *body)
{
    memcpy(b, SIG, 12);
    b[12] = ver_cmd;
    b[13] = fam;
    b[14] = (uint8_t)(len >> 8);
    b[15] = (uint8_t)len;
    if (len)
        memcpy(b + 16, body, len);
    return 16 + (size_t)len;
}

static void test_v1(void)
{
    const char *h = "PROXY TCP4 192.0.2.1 127.0.0.1 5555 4000\r\nGET / HTTP/1.1\r\n";
    struct http_proxy_info i;
    EXPECT_OK(http_proxy_parse((const uint8_t *)h, strlen(h), &i));
    EXPECT_EQ(i.version, 1);
    EXPECT_EQ(i.header_len, strlen("PROXY TCP4 192.0.2.1 127.0.0.1 5555 4000\r\n"));
    EXPECT_EQ(i.family, AF_INET);
    EXPECT_TRUE(!i.local);
    const struct sockaddr_in *s = (const struct sockaddr_in *)&i.src;
    EXPECT_EQ(ntohs(s->sin_port), 5555);
    EXPECT_EQ(ntohl(s->sin_addr.s_addr), 0xC0000201u);

    const char *h6 = "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n";
    EXPECT_OK(http_proxy_parse((const uint8_t *)h6, strlen(h6), &i));
    EXPECT_EQ(i.family, AF_INET6);
    const char *u = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
    EXPECT_OK(http_proxy_parse((const uint8_t *)u, strlen(u), &i));
    EXPECT_TRUE(i.local);
    EXPECT_EQ(i.family, AF_UNSPEC);

    /* partial input: every prefix is incomplete */
    for (size_t n = 0; n < strlen("PROXY TCP4 192.0.2.1 127.0.0.1 5555 4000\r\n"); n++)
        EXPECT_ERR(http_proxy_parse((const uint8_t *)h, n, &i), TR_ERR_HTTP_PROXY_INCOMPLETE);
}

static void test_v1_bad(void)
{
    struct http_proxy_info i;
    const char *cases[][2] = {
        {"PROXY TCP4 999.0.2.1 127.0.0.1 1 2\r\n", "addr"},
        {"PROXY TCP4 192.0.2.1 127.0.0.1 65536 2\r\n", "v1"},
        {"PROXY TCP4 192.0.2.1 127.0.0.1 01 2\r\n", "v1"},
        {"PROXY TCP4 192.0.2.1 127.0.0.1 1\r\n", "v1"},
        {"PROXY TCP4 192.0.2.1 127.0.0.1 1 2 3\r\n", "v1"},
        {"PROXY UDP4 192.0.2.1 127.0.0.1 1 2\r\n", "v1"},
        {"PROXY TCP4 2001:db8::1 127.0.0.1 1 2\r\n", "addr"},
        {"PROXY TCP4 192.0.2.1  127.0.0.1 1 2\r\n", "v1"},
        {"PROXY TCP4 192.0.2.1\t127.0.0.1 1 2\r\n", "v1"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        int32_t want = strcmp(cases[k][1], "addr") == 0 ? TR_ERR_HTTP_PROXY_BAD_ADDRESS
                                                        : TR_ERR_HTTP_PROXY_BAD_V1;
        EXPECT_ERR(http_proxy_parse((const uint8_t *)cases[k][0], strlen(cases[k][0]), &i), want);
    }
    char longline[200];
    memset(longline, '1', sizeof(longline));
    memcpy(longline, "PROXY TCP4 ", 11);
    EXPECT_ERR(http_proxy_parse((const uint8_t *)longline, sizeof(longline), &i),
               TR_ERR_HTTP_PROXY_TOO_LONG);
    EXPECT_ERR(http_proxy_parse((const uint8_t *)"GET / HTTP/1.1\r\n", 16, &i),
               TR_ERR_HTTP_PROXY_BAD_SIGNATURE);
    EXPECT_ERR(http_proxy_parse((const uint8_t *)"PROXX", 5, &i), TR_ERR_HTTP_PROXY_BAD_SIGNATURE);
}

static void test_v2(void)
{
    uint8_t b[600], body[64] = {198, 51, 100, 7, 127, 0, 0, 1, 0x9c, 0x40, 0x0f, 0xa0};
    struct http_proxy_info i;
    size_t n = v2(b, 0x21, 0x11, 12, body);
    memcpy(b + n, "GET", 3);
    EXPECT_OK(http_proxy_parse(b, n + 3, &i));
    EXPECT_EQ(i.version, 2);
    EXPECT_EQ(i.header_len, 28);
    EXPECT_EQ(i.family, AF_INET);
    const struct sockaddr_in *s = (const struct sockaddr_in *)&i.src;
    EXPECT_EQ(ntohs(s->sin_port), 40000);
    EXPECT_EQ(ntohl(s->sin_addr.s_addr), 0xC6336407u);
    for (size_t k = 0; k < n; k++)
        EXPECT_ERR(http_proxy_parse(b, k, &i), TR_ERR_HTTP_PROXY_INCOMPLETE);

    /* with a TLV */
    uint8_t tb[19];
    memcpy(tb, body, 12);
    tb[12] = 0x04, tb[13] = 0, tb[14] = 4;
    memcpy(tb + 15, "abcd", 4);
    n = v2(b, 0x21, 0x11, 19, tb);
    EXPECT_OK(http_proxy_parse(b, n, &i));
    EXPECT_EQ(i.header_len, 35);
    /* TLV claiming more than is there */
    tb[14] = 9;
    n = v2(b, 0x21, 0x11, 19, tb);
    EXPECT_ERR(http_proxy_parse(b, n, &i), TR_ERR_HTTP_PROXY_BAD_V2);

    uint8_t six[36] = {0x20, 0x01, 0x0d, 0xb8};
    six[15] = 1;
    six[31] = 1;
    n = v2(b, 0x21, 0x21, 36, six);
    EXPECT_OK(http_proxy_parse(b, n, &i));
    EXPECT_EQ(i.family, AF_INET6);

    n = v2(b, 0x20, 0x00, 0, NULL); /* LOCAL */
    EXPECT_OK(http_proxy_parse(b, n, &i));
    EXPECT_TRUE(i.local);
    uint8_t unixb[216] = {0};
    n = v2(b, 0x21, 0x31, 216, unixb);
    EXPECT_OK(http_proxy_parse(b, n, &i));
    EXPECT_TRUE(i.local);
}

static void test_v2_bad(void)
{
    uint8_t b[HTTP_PROXY_V2_MAX + 64], body[64] = {0};
    struct http_proxy_info i;
    size_t n = v2(b, 0x11, 0x11, 12, body); /* version 1 in a v2 header */
    EXPECT_ERR(http_proxy_parse(b, n, &i), TR_ERR_HTTP_PROXY_BAD_V2);
    n = v2(b, 0x22, 0x11, 12, body); /* command 2 */
    EXPECT_ERR(http_proxy_parse(b, n, &i), TR_ERR_HTTP_PROXY_BAD_V2);
    n = v2(b, 0x21, 0x41, 12, body); /* family 4 */
    EXPECT_ERR(http_proxy_parse(b, n, &i), TR_ERR_HTTP_PROXY_BAD_V2);
    n = v2(b, 0x21, 0x11, 11, body); /* INET needs 12 */
    EXPECT_ERR(http_proxy_parse(b, n, &i), TR_ERR_HTTP_PROXY_BAD_V2);
    n = v2(b, 0x21, 0x21, 35, body); /* INET6 needs 36 */
    EXPECT_ERR(http_proxy_parse(b, n, &i), TR_ERR_HTTP_PROXY_BAD_V2);
    memcpy(b, SIG, 12);
    b[12] = 0x21, b[13] = 0x11, b[14] = 0xff, b[15] = 0xff; /* 65535 > our cap */
    EXPECT_ERR(http_proxy_parse(b, 16, &i), TR_ERR_HTTP_PROXY_TOO_LONG);
    uint8_t almost[12];
    memcpy(almost, SIG, 12);
    almost[11] = 0;
    EXPECT_ERR(http_proxy_parse(almost, 12, &i), TR_ERR_HTTP_PROXY_BAD_SIGNATURE);
    EXPECT_ERR(http_proxy_parse(NULL, 0, &i), TR_ERR_HTTP_PROXY_INCOMPLETE);
}

int main(void)
{
    RUN_TEST(test_v1);
    RUN_TEST(test_v1_bad);
    RUN_TEST(test_v2);
    RUN_TEST(test_v2_bad);
    return TEST_SUMMARY();
}
