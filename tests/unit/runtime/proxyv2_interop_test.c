/* The PROXY v2 writer of teerex-proxy (rt_proxyv2_build) against the parser
 * teerexd uses (http_proxy_parse, lib/http): every header we send must parse
 * to the same addresses, header length and family. */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <string.h>

#include "harness.h"
#include "rt_proxyv2.h"
#include "teerex/http.h"

static void roundtrip(const struct sockaddr *s, socklen_t sl, const struct sockaddr *d,
                      socklen_t dl, int want_family)
{
    uint8_t h[RT_PROXYV2_MAX + 5];
    size_t n;
    EXPECT_OK(rt_proxyv2_build(s, sl, d, dl, h, &n));
    memcpy(h + n, "GET /", 5); /* the relayed bytes follow the header */
    struct http_proxy_info info;
    EXPECT_OK(http_proxy_parse(h, n + 5, &info));
    EXPECT_EQ(info.version, 2);
    EXPECT_EQ(info.header_len, n);
    EXPECT_EQ(info.family, want_family);
    /* AF_UNSPEC (vsock/unix client): the receiver keeps its own view. */
    EXPECT_EQ(info.local, want_family == AF_UNSPEC);
    if (want_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&info.src;
        const struct sockaddr_in *b = (const struct sockaddr_in *)s;
        EXPECT_MEM_EQ(&a->sin_addr, &b->sin_addr, 4);
        EXPECT_EQ(a->sin_port, b->sin_port);
    } else if (want_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&info.src;
        const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)s;
        EXPECT_MEM_EQ(&a->sin6_addr, &b->sin6_addr, 16);
        EXPECT_EQ(a->sin6_port, b->sin6_port);
    }
    /* Every strict prefix is "incomplete", never a different header. */
    for (size_t k = 0; k < n; k++) {
        tr_result r = http_proxy_parse(h, k, &info);
        EXPECT_TRUE(!tr_ok(r));
    }
}

static void test_agree(void)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET, .sin_port = htons(51234)};
    struct sockaddr_in d4 = {.sin_family = AF_INET, .sin_port = htons(4000)};
    inet_pton(AF_INET, "203.0.113.7", &s4.sin_addr);
    inet_pton(AF_INET, "10.0.0.1", &d4.sin_addr);
    roundtrip((struct sockaddr *)&s4, sizeof(s4), (struct sockaddr *)&d4, sizeof(d4), AF_INET);

    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_port = htons(1)};
    struct sockaddr_in6 d6 = {.sin6_family = AF_INET6, .sin6_port = htons(2)};
    inet_pton(AF_INET6, "2001:db8::5", &s6.sin6_addr);
    inet_pton(AF_INET6, "2001:db8::1", &d6.sin6_addr);
    roundtrip((struct sockaddr *)&s6, sizeof(s6), (struct sockaddr *)&d6, sizeof(d6), AF_INET6);

    struct sockaddr_vm v = {.svm_family = AF_VSOCK, .svm_cid = 3, .svm_port = 9};
    roundtrip((struct sockaddr *)&v, sizeof(v), NULL, 0, AF_UNSPEC);
}

int main(void)
{
    RUN_TEST(test_agree);
    return TEST_SUMMARY();
}
