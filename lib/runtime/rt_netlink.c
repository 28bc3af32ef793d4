/* rtnetlink requests for loopback (see rt_netlink.h).
 *
 * Hand-written on purpose: libmnl/libnl would add a shared library to the
 * enclave image for two fixed messages. The pattern follows the kernel's
 * rtnetlink(7) documentation: one request with NLM_F_ACK, then read replies
 * until the NLMSG_ERROR that acknowledges our sequence number; replies are
 * walked with bounds checks (header no smaller than its minimum, no larger
 * than what was received). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rt_netlink.h"
#include "teerex/log.h"

struct nl_req {
    struct nlmsghdr nh;
    union {
        struct ifinfomsg ifi;
        struct ifaddrmsg ifa;
    } u;
    char attrs[64];
};

static void add_attr(struct nl_req *req, unsigned short type, const void *data, size_t len)
{
    struct rtattr *rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->nh.nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(rta), data, len);
    req->nh.nlmsg_len = NLMSG_ALIGN(req->nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* Sends req and waits for its ack. *kernel_errno gets the ack's errno (0 ok). */
static TR_RESULT transact(int fd, struct nl_req *req, int *kernel_errno)
{
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    *kernel_errno = 0;
    ssize_t w = sendto(fd, req, req->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
    TR_ENSURE(w == (ssize_t)req->nh.nlmsg_len, TR_ERR_SYS);
    for (;;) {
        union {
            struct nlmsghdr nh;
            char raw[8192];
        } buf;
        ssize_t n = recv(fd, buf.raw, sizeof(buf.raw), 0);
        if (n < 0 && errno == EINTR)
            continue;
        TR_ENSURE(n > 0,
                  n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? TR_ERR_TIMEOUT : TR_ERR_SYS);
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = &buf.nh; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != req->nh.nlmsg_seq)
                continue; /* not ours */
            if (h->nlmsg_type == NLMSG_ERROR) {
                TR_ENSURE(h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)),
                          TR_ERR_RT_NETLINK_REPLY);
                const struct nlmsgerr *e = NLMSG_DATA(h);
                *kernel_errno = -e->error;
                return TR_SUCCESS;
            }
        }
        TR_ENSURE(left == 0 || left < sizeof(struct nlmsghdr), TR_ERR_RT_NETLINK_REPLY);
    }
}

tr_result rt_loopback_up(void)
{
    tr_result res = TR_SUCCESS;
    int kerr = 0;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    TR_CHECK(fd >= 0, TR_ERR_SYS);
    struct timeval tv = {.tv_sec = 2};
    TR_CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0, TR_ERR_SYS);
    struct sockaddr_nl local = {.nl_family = AF_NETLINK};
    TR_CHECK(bind(fd, (struct sockaddr *)&local, sizeof(local)) == 0, TR_ERR_SYS);
    unsigned idx = if_nametoindex("lo");
    TR_CHECK(idx != 0, TR_ERR_NOT_FOUND);

    struct nl_req req;
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req.nh.nlmsg_type = RTM_NEWLINK;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    req.nh.nlmsg_seq = 1;
    req.u.ifi.ifi_family = AF_UNSPEC;
    req.u.ifi.ifi_index = (int)idx;
    req.u.ifi.ifi_flags = IFF_UP;
    req.u.ifi.ifi_change = IFF_UP;
    TR_TRY(transact(fd, &req, &kerr));
    if (kerr != 0) {
        errno = kerr;
        TR_FAIL(TR_ERR_RT_NETLINK);
    }

    /* Older kernels add 127.0.0.1/8 on IFF_UP themselves, and the seed's
     * failure shows an enclave may not: add it explicitly, EEXIST is fine. */
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    req.nh.nlmsg_type = RTM_NEWADDR;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    req.nh.nlmsg_seq = 2;
    req.u.ifa.ifa_family = AF_INET;
    req.u.ifa.ifa_prefixlen = 8;
    req.u.ifa.ifa_scope = RT_SCOPE_HOST;
    req.u.ifa.ifa_index = idx;
    struct in_addr a;
    a.s_addr = htonl(INADDR_LOOPBACK);
    add_attr(&req, IFA_LOCAL, &a, sizeof(a));
    add_attr(&req, IFA_ADDRESS, &a, sizeof(a));
    TR_TRY(transact(fd, &req, &kerr));
    if (kerr != 0 && kerr != EEXIST) {
        errno = kerr;
        TR_FAIL(TR_ERR_RT_NETLINK);
    }
    tr_log(TR_LOG_INFO, "loopback_up", "{s:s,s:i,s:b}", "address", "127.0.0.1/8", "ifindex",
           (int)idx, "address_existed", kerr == EEXIST);
out:
    if (fd >= 0)
        close(fd);
    return res;
}

tr_result rt_loopback_verify(void)
{
    tr_result res = TR_SUCCESS;
    int l = -1, c = -1, a = -1;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    TR_CHECK(l >= 0, TR_ERR_SYS);
    TR_CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0, TR_ERR_RT_LOOPBACK_VERIFY);
    TR_CHECK(listen(l, 1) == 0, TR_ERR_RT_LOOPBACK_VERIFY);
    TR_CHECK(getsockname(l, (struct sockaddr *)&sa, &sl) == 0, TR_ERR_SYS);
    c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    TR_CHECK(c >= 0, TR_ERR_SYS);
    struct timeval tv = {.tv_sec = 2};
    TR_CHECK(setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0, TR_ERR_SYS);
    TR_CHECK(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0, TR_ERR_RT_LOOPBACK_VERIFY);
    a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    TR_CHECK(a >= 0, TR_ERR_RT_LOOPBACK_VERIFY);
    TR_CHECK(write(c, "ok", 2) == 2, TR_ERR_RT_LOOPBACK_VERIFY);
    char got[2];
    TR_CHECK(read(a, got, 2) == 2 && memcmp(got, "ok", 2) == 0, TR_ERR_RT_LOOPBACK_VERIFY);
out:
    if (a >= 0)
        close(a);
    if (c >= 0)
        close(c);
    if (l >= 0)
        close(l);
    return res;
}
