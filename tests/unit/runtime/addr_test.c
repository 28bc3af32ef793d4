/* teerex-proxy addresses: parsing, vsock error paths (no vsock transport
 * is needed: the code must report RT_VSOCK_UNAVAILABLE, not crash). */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "rt_addr.h"

static void test_tcp(void)
{
    struct rt_addr a;
    char t[RT_ADDR_TEXT_MAX];
    EXPECT_OK(rt_addr_parse("tcp:0.0.0.0:4000", &a));
    EXPECT_EQ(a.kind, RT_ADDR_TCP);
    EXPECT_EQ(a.ss.ss_family, AF_INET);
    EXPECT_EQ(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 4000);
    rt_addr_format(&a, t, sizeof(t));
    EXPECT_STR_EQ(t, "tcp:0.0.0.0:4000");
    EXPECT_OK(rt_addr_parse("tcp:[::1]:65535", &a));
    EXPECT_EQ(a.ss.ss_family, AF_INET6);
    rt_addr_format(&a, t, sizeof(t));
    EXPECT_STR_EQ(t, "tcp:[::1]:65535");
    EXPECT_ERR(rt_addr_parse("tcp:1.2.3.4:65536", &a), TR_ERR_RT_ADDR_RANGE);
    EXPECT_ERR(rt_addr_parse("tcp:1.2.3.4:", &a), TR_ERR_RT_ADDR_SYNTAX);
    EXPECT_ERR(rt_addr_parse("tcp:1.2.3.4:8x", &a), TR_ERR_RT_ADDR_RANGE);
    EXPECT_ERR(rt_addr_parse("tcp:1.2.3.4", &a), TR_ERR_RT_ADDR_SYNTAX);
    EXPECT_ERR(rt_addr_parse("tcp:localhost:80", &a), TR_ERR_RT_ADDR_HOST);
    EXPECT_ERR(rt_addr_parse("tcp:::1:80", &a), TR_ERR_RT_ADDR_HOST);
    EXPECT_ERR(rt_addr_parse("tcp:[::1]80", &a), TR_ERR_RT_ADDR_SYNTAX);
    EXPECT_ERR(rt_addr_parse("tcp:[]:80", &a), TR_ERR_RT_ADDR_HOST);
    EXPECT_ERR(rt_addr_parse("tcp:[1.2.3.4]:80", &a), TR_ERR_RT_ADDR_HOST);
    EXPECT_ERR(rt_addr_parse("tcp::80", &a), TR_ERR_RT_ADDR_HOST);
}

static void test_unix_and_scheme(void)
{
    struct rt_addr a;
    EXPECT_OK(rt_addr_parse("unix:/run/teerex.sock", &a));
    EXPECT_EQ(a.kind, RT_ADDR_UNIX);
    EXPECT_STR_EQ(((struct sockaddr_un *)&a.ss)->sun_path, "/run/teerex.sock");
    char longp[200];
    memset(longp, 'a', sizeof(longp));
    memcpy(longp, "unix:/", 6);
    longp[5 + 108] = 0; /* a 108-byte path: one too long for sun_path */
    EXPECT_ERR(rt_addr_parse(longp, &a), TR_ERR_RT_ADDR_PATH);
    EXPECT_ERR(rt_addr_parse("unix:", &a), TR_ERR_RT_ADDR_PATH);
    EXPECT_ERR(rt_addr_parse("udp:1.2.3.4:5", &a), TR_ERR_RT_ADDR_SCHEME);
    EXPECT_ERR(rt_addr_parse("nocolon", &a), TR_ERR_RT_ADDR_SYNTAX);
    EXPECT_ERR(rt_addr_parse("", &a), TR_ERR_RT_ADDR_SYNTAX);
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = 0;
    EXPECT_ERR(rt_addr_parse(longp, &a), TR_ERR_RT_ADDR_SYNTAX);
}

static void test_vsock(void)
{
    struct rt_addr a, t;
    char s[RT_ADDR_TEXT_MAX];
    EXPECT_OK(rt_addr_parse("vsock:16:5000", &a));
    EXPECT_EQ(a.kind, RT_ADDR_VSOCK);
    EXPECT_EQ(a.cid, 16);
    EXPECT_EQ(a.port, 5000);
    EXPECT_EQ(a.ss.ss_family, AF_VSOCK);
    EXPECT_EQ(((struct sockaddr_vm *)&a.ss)->svm_cid, 16);
    EXPECT_EQ(((struct sockaddr_vm *)&a.ss)->svm_port, 5000);
    rt_addr_format(&a, s, sizeof(s));
    EXPECT_STR_EQ(s, "vsock:16:5000");
    EXPECT_OK(rt_addr_parse("vsock:any:5000", &a));
    EXPECT_EQ(a.cid, VMADDR_CID_ANY);
    EXPECT_OK(rt_addr_parse("vsock:auto:5000", &a));
    EXPECT_TRUE(a.cid_auto);
    EXPECT_EQ(a.len, 0);
    rt_addr_format(&a, s, sizeof(s));
    EXPECT_STR_EQ(s, "vsock:auto:5000");
    int fd = 99;
    EXPECT_ERR(rt_addr_socket(&a, &fd), TR_ERR_RT_ADDR_AUTO); /* no CID yet */
    EXPECT_EQ(fd, -1);
    EXPECT_OK(rt_addr_set_cid(&a, 17));
    EXPECT_EQ(((struct sockaddr_vm *)&a.ss)->svm_cid, 17);
    EXPECT_ERR(rt_addr_parse("vsock:4294967295:1", &a), TR_ERR_RT_ADDR_RANGE);
    EXPECT_ERR(rt_addr_parse("vsock:16:4294967295", &a), TR_ERR_RT_ADDR_RANGE);
    EXPECT_ERR(rt_addr_parse("vsock:99999999999:1", &a), TR_ERR_RT_ADDR_RANGE);
    EXPECT_ERR(rt_addr_parse("vsock:-1:1", &a), TR_ERR_RT_ADDR_RANGE);
    EXPECT_ERR(rt_addr_parse("vsock:16", &a), TR_ERR_RT_ADDR_SYNTAX);
    EXPECT_ERR(rt_addr_parse("vsock::5000", &a), TR_ERR_RT_ADDR_SYNTAX);
    EXPECT_ERR(rt_addr_parse("vsock:16:", &a), TR_ERR_RT_ADDR_SYNTAX);
    EXPECT_ERR(rt_addr_parse("vsock:host:5000", &a), TR_ERR_RT_ADDR_RANGE);

    /* A vsock socket either works (vsock module loaded) or fails with the
     * specific error; both are handled by teerex-proxy at start-up. */
    EXPECT_OK(rt_addr_parse("vsock:3:5000", &a));
    tr_result r = rt_addr_socket(&a, &fd);
    EXPECT_TRUE(tr_ok(r) || r.err == TR_ERR_RT_VSOCK_UNAVAILABLE);
    if (tr_ok(r))
        close(fd);
    else
        EXPECT_EQ(fd, -1);

    /* Test transport: CID c -> 127.0.0.c. */
    EXPECT_OK(rt_addr_parse("vsock:17:5000", &a));
    EXPECT_OK(rt_addr_vsock_as_tcp(&a, &t));
    rt_addr_format(&t, s, sizeof(s));
    EXPECT_STR_EQ(s, "tcp:127.0.0.17:5000");
    EXPECT_OK(rt_addr_parse("vsock:300:5000", &a));
    EXPECT_ERR(rt_addr_vsock_as_tcp(&a, &t), TR_ERR_RT_ADDR_RANGE);
    EXPECT_OK(rt_addr_parse("vsock:auto:5000", &a));
    EXPECT_ERR(rt_addr_vsock_as_tcp(&a, &t), TR_ERR_USAGE);
    EXPECT_OK(rt_addr_parse("tcp:1.2.3.4:5", &a));
    EXPECT_ERR(rt_addr_set_cid(&a, 3), TR_ERR_USAGE);
}

static void test_sockets(void)
{
    struct rt_addr a;
    int fd;
    EXPECT_OK(rt_addr_parse("tcp:127.0.0.1:0", &a));
    EXPECT_OK(rt_addr_socket(&a, &fd));
    EXPECT_TRUE(fd >= 0);
    close(fd);
    EXPECT_OK(rt_addr_parse("unix:/tmp/x.sock", &a));
    EXPECT_OK(rt_addr_socket(&a, &fd));
    close(fd);
}

int main(void)
{
    RUN_TEST(test_tcp);
    RUN_TEST(test_unix_and_scheme);
    RUN_TEST(test_vsock);
    RUN_TEST(test_sockets);
    return TEST_SUMMARY();
}
