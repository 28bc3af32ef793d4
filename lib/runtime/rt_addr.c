/* Address parsing for teerex-proxy (see rt_addr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "rt_addr.h"
#include "teerex/codec.h"

static TR_RESULT parse_port(const char *s, uint64_t max, uint32_t *out)
{
    uint64_t v = 0;
    *out = 0;
    tr_result r = tr_parse_u64(s, max, &v);
    TR_ENSURE(*s != 0, TR_ERR_RT_ADDR_SYNTAX);
    TR_ENSURE(tr_ok(r), TR_ERR_RT_ADDR_RANGE);
    *out = (uint32_t)v;
    return TR_SUCCESS;
}

static TR_RESULT parse_tcp(const char *rest, struct rt_addr *a)
{
    char host[64];
    const char *colon;
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        TR_ENSURE(close != NULL && close[1] == ':', TR_ERR_RT_ADDR_SYNTAX);
        size_t hl = (size_t)(close - rest - 1);
        TR_ENSURE(hl > 0 && hl < sizeof(host), TR_ERR_RT_ADDR_HOST);
        memcpy(host, rest + 1, hl);
        host[hl] = 0;
        colon = close + 1;
    } else {
        colon = strrchr(rest, ':');
        TR_ENSURE(colon != NULL, TR_ERR_RT_ADDR_SYNTAX);
        size_t hl = (size_t)(colon - rest);
        TR_ENSURE(hl > 0 && hl < sizeof(host), TR_ERR_RT_ADDR_HOST);
        memcpy(host, rest, hl);
        host[hl] = 0;
    }
    uint32_t port = 0;
    TR_GUARD(parse_port(colon + 1, 65535, &port));
    memset(&a->ss, 0, sizeof(a->ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
    if (rest[0] != '[' && inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        a->len = sizeof(*v4);
    } else if (rest[0] == '[' && inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        a->len = sizeof(*v6);
    } else {
        TR_BAIL(TR_ERR_RT_ADDR_HOST);
    }
    a->kind = RT_ADDR_TCP;
    return TR_SUCCESS;
}

static TR_RESULT parse_unix(const char *path, struct rt_addr *a)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
    size_t n = strlen(path);
    TR_ENSURE(n > 0 && n < sizeof(un->sun_path), TR_ERR_RT_ADDR_PATH);
    memset(&a->ss, 0, sizeof(a->ss));
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n);
    a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    a->kind = RT_ADDR_UNIX;
    return TR_SUCCESS;
}

tr_result rt_addr_set_cid(struct rt_addr *a, uint32_t cid)
{
    TR_ENSURE(a->kind == RT_ADDR_VSOCK, TR_ERR_USAGE);
    struct sockaddr_vm *vm = (struct sockaddr_vm *)&a->ss;
    memset(&a->ss, 0, sizeof(a->ss));
    vm->svm_family = AF_VSOCK;
    vm->svm_cid = cid;
    vm->svm_port = a->port;
    a->cid = cid;
    a->cid_auto = false;
    a->len = sizeof(*vm);
    return TR_SUCCESS;
}

static TR_RESULT parse_vsock(const char *rest, struct rt_addr *a)
{
    const char *colon = strchr(rest, ':');
    TR_ENSURE(colon != NULL && colon != rest, TR_ERR_RT_ADDR_SYNTAX);
    char cid[16];
    size_t cl = (size_t)(colon - rest);
    TR_ENSURE(cl < sizeof(cid), TR_ERR_RT_ADDR_RANGE);
    memcpy(cid, rest, cl);
    cid[cl] = 0;
    memset(a, 0, sizeof(*a));
    a->kind = RT_ADDR_VSOCK;
    /* Ports are 32-bit in vsock; VMADDR_PORT_ANY (-1) is not a real port. */
    TR_GUARD(parse_port(colon + 1, UINT32_MAX - 1, &a->port));
    if (!strcmp(cid, "auto")) {
        a->cid_auto = true;
        return TR_SUCCESS;
    }
    uint32_t c = 0;
    if (!strcmp(cid, "any")) {
        c = RT_VSOCK_CID_ANY;
    } else {
        TR_GUARD(parse_port(cid, UINT32_MAX - 1, &c));
    }
    return rt_addr_set_cid(a, c);
}

tr_result rt_addr_parse(const char *text, struct rt_addr *out)
{
    memset(out, 0, sizeof(*out));
    TR_ENSURE_REF(text);
    TR_ENSURE(strlen(text) < RT_ADDR_TEXT_MAX, TR_ERR_RT_ADDR_SYNTAX);
    const char *colon = strchr(text, ':');
    TR_ENSURE(colon != NULL, TR_ERR_RT_ADDR_SYNTAX);
    size_t sl = (size_t)(colon - text);
    const char *rest = colon + 1;
    if (sl == 3 && !memcmp(text, "tcp", 3))
        return parse_tcp(rest, out);
    if (sl == 4 && !memcmp(text, "unix", 4))
        return parse_unix(rest, out);
    if (sl == 5 && !memcmp(text, "vsock", 5))
        return parse_vsock(rest, out);
    TR_BAIL(TR_ERR_RT_ADDR_SCHEME);
}

tr_result rt_addr_vsock_as_tcp(const struct rt_addr *vs, struct rt_addr *tcp)
{
    TR_ENSURE(vs->kind == RT_ADDR_VSOCK && !vs->cid_auto, TR_ERR_USAGE);
    TR_ENSURE(vs->cid >= 1 && vs->cid <= 254 && vs->port <= 65535, TR_ERR_RT_ADDR_RANGE);
    char text[64];
    snprintf(text, sizeof(text), "tcp:127.0.0.%u:%u", vs->cid, vs->port);
    return rt_addr_parse(text, tcp);
}

tr_result rt_addr_socket(const struct rt_addr *a, int *fd)
{
    *fd = -1;
    TR_ENSURE(a->len > 0, TR_ERR_RT_ADDR_AUTO); /* vsock:auto without a CID yet */
    int s = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0 && a->kind == RT_ADDR_VSOCK &&
        (errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT || errno == ESOCKTNOSUPPORT))
        TR_BAIL(TR_ERR_RT_VSOCK_UNAVAILABLE);
    TR_ENSURE(s >= 0, TR_ERR_SYS);
    *fd = s;
    return TR_SUCCESS;
}

tr_result rt_addr_listen(const struct rt_addr *a, int backlog, int *out)
{
    int fd;
    TR_GUARD(rt_addr_socket(a, &fd));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (a->kind == RT_ADDR_UNIX) {
        struct stat st;
        const char *path = ((const struct sockaddr_un *)&a->ss)->sun_path;
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            unlink(path); /* a stale socket from a previous run */
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, backlog) != 0) {
        close(fd);
        TR_BAIL(TR_ERR_SYS);
    }
    *out = fd;
    return TR_SUCCESS;
}

void rt_sockaddr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        snprintf(out, cap, "tcp:%s:%u", host, ntohs(v4->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        snprintf(out, cap, "tcp:[%s]:%u", host, ntohs(v6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t pl = len > offsetof(struct sockaddr_un, sun_path)
                        ? strnlen(un->sun_path, len - offsetof(struct sockaddr_un, sun_path))
                        : 0;
        snprintf(out, cap, "unix:%.*s", (int)pl, un->sun_path);
    } else if (sa->sa_family == AF_VSOCK && len >= sizeof(struct sockaddr_vm)) {
        const struct sockaddr_vm *vm = (const struct sockaddr_vm *)sa;
        snprintf(out, cap, "vsock:%u:%u", vm->svm_cid, vm->svm_port);
    } else {
        snprintf(out, cap, "unknown");
    }
}

void rt_addr_format(const struct rt_addr *a, char *out, size_t cap)
{
    if (a->kind == RT_ADDR_VSOCK && a->cid_auto && a->len == 0)
        snprintf(out, cap, "vsock:auto:%u", a->port);
    else
        rt_sockaddr_format((const struct sockaddr *)&a->ss, a->len, out, cap);
}
