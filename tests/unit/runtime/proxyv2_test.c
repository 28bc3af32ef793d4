/* PROXY v2 header bytes (HAProxy proxy-protocol.txt section 2.2). */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <string.h>

#include "harness.h"
#include "rt_proxyv2.h"

static const uint8_t SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static void test_ipv4(void)
{
    struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(51234)};
    struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(4000)};
    inet_pton(AF_INET, "203.0.113.7", &s.sin_addr);
    inet_pton(AF_INET, "10.0.0.1", &d.sin_addr);
    uint8_t h[RT_PROXYV2_MAX];
    size_t n;
    EXPECT_OK(rt_proxyv2_build((struct sockaddr *)&s, sizeof(s), (struct sockaddr *)&d, sizeof(d),
                               h, &n));
    static const uint8_t want[28] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
                                     0x54, 0x0A, 0x21, 0x11, 0x00, 0x0C, 203,  0,    113,  7,
                                     10,   0,    0,    1,    0xC8, 0x22, 0x0F, 0xA0};
    EXPECT_EQ(n, 28);
    EXPECT_MEM_EQ(h, want, 28);
}

static void test_ipv6_and_mapped(void)
{
    struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons(1)};
    struct sockaddr_in6 d = {.sin6_family = AF_INET6, .sin6_port = htons(2)};
    inet_pton(AF_INET6, "2001:db8::5", &s.sin6_addr);
    inet_pton(AF_INET6, "2001:db8::1", &d.sin6_addr);
    uint8_t h[RT_PROXYV2_MAX];
    size_t n;
    EXPECT_OK(rt_proxyv2_build((struct sockaddr *)&s, sizeof(s), (struct sockaddr *)&d, sizeof(d),
                               h, &n));
    EXPECT_EQ(n, 16 + 36);
    EXPECT_MEM_EQ(h, SIG, 12);
    EXPECT_EQ(h[12], 0x21);
    EXPECT_EQ(h[13], 0x21);
    EXPECT_EQ(h[14] << 8 | h[15], 36);
    EXPECT_MEM_EQ(h + 16, &s.sin6_addr, 16);
    EXPECT_MEM_EQ(h + 32, &d.sin6_addr, 16);
    EXPECT_EQ(h[48] << 8 | h[49], 1);
    EXPECT_EQ(h[50] << 8 | h[51], 2);

    /* ::ffff:198.51.100.9 from a dual-stack listener goes out as IPv4. */
    inet_pton(AF_INET6, "::ffff:198.51.100.9", &s.sin6_addr);
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &d.sin6_addr);
    EXPECT_OK(rt_proxyv2_build((struct sockaddr *)&s, sizeof(s), (struct sockaddr *)&d, sizeof(d),
                               h, &n));
    EXPECT_EQ(n, 28);
    EXPECT_EQ(h[13], 0x11);
    static const uint8_t addrs[8] = {198, 51, 100, 9, 10, 1, 2, 3};
    EXPECT_MEM_EQ(h + 16, addrs, 8);
    /* IPv6 source, IPv4 destination: destination sent as ::. */
    inet_pton(AF_INET6, "2001:db8::5", &s.sin6_addr);
    struct sockaddr_in d4 = {.sin_family = AF_INET, .sin_port = htons(9)};
    EXPECT_OK(rt_proxyv2_build((struct sockaddr *)&s, sizeof(s), (struct sockaddr *)&d4, sizeof(d4),
                               h, &n));
    EXPECT_EQ(n, 52);
    static const uint8_t zero[18] = {0};
    EXPECT_MEM_EQ(h + 32, zero, 16);
    EXPECT_MEM_EQ(h + 50, zero, 2);
}

static void test_unspec(void)
{
    struct sockaddr_vm v = {.svm_family = AF_VSOCK, .svm_cid = 3, .svm_port = 9};
    uint8_t h[RT_PROXYV2_MAX];
    size_t n;
    EXPECT_OK(rt_proxyv2_build((struct sockaddr *)&v, sizeof(v), NULL, 0, h, &n));
    EXPECT_EQ(n, 16);
    EXPECT_MEM_EQ(h, SIG, 12);
    EXPECT_EQ(h[12], 0x21);
    EXPECT_EQ(h[13], 0x00);
    EXPECT_EQ(h[14], 0);
    EXPECT_EQ(h[15], 0);
    /* A truncated sockaddr is not trusted as IPv4. */
    struct sockaddr_in s = {.sin_family = AF_INET};
    EXPECT_OK(rt_proxyv2_build((struct sockaddr *)&s, 4, NULL, 0, h, &n));
    EXPECT_EQ(n, 16);
    EXPECT_OK(rt_proxyv2_build(NULL, 0, NULL, 0, h, &n));
    EXPECT_EQ(n, 16);
}

int main(void)
{
    RUN_TEST(test_ipv4);
    RUN_TEST(test_ipv6_and_mapped);
    RUN_TEST(test_unspec);
    return TEST_SUMMARY();
}
