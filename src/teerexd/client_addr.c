/* The client address of a request (see client_addr.h). */
#include <arpa/inet.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "client_addr.h"
#include "request.h"
#include "teerex/http.h"

/* Bytes of a socket address of this family (MHD keeps only a pointer). */
static socklen_t family_len(const struct sockaddr *sa)
{
    switch (sa->sa_family) {
    case AF_INET: return sizeof(struct sockaddr_in);
    case AF_INET6: return sizeof(struct sockaddr_in6);
    case AF_VSOCK: return sizeof(struct sockaddr_vm);
    default: return sizeof(sa_family_t); /* unix: the path does not matter */
    }
}

/* A copy of sa (at most len bytes); an IPv4-mapped IPv6 address becomes the
 * IPv4 address it maps. */
static void canonical(const struct sockaddr *sa, socklen_t len, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    socklen_t n = family_len(sa);
    memcpy(out, sa, n < len ? n : len);
    if (sa->sa_family != AF_INET6)
        return;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!IN6_IS_ADDR_V4MAPPED(a))
        return;
    struct sockaddr_in in4 = {.sin_family = AF_INET};
    memcpy(&in4.sin_addr, &a->s6_addr[12], 4);
    memset(out, 0, sizeof(*out));
    memcpy(out, &in4, sizeof(in4));
}

static bool same_host(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
                      &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
    if (a->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
    if (a->ss_family == AF_VSOCK)
        return ((const struct sockaddr_vm *)a)->svm_cid == ((const struct sockaddr_vm *)b)->svm_cid;
    return true; /* unix: one machine */
}

static bool loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
    return ss->ss_family == AF_UNIX;
}

static bool trusted(const struct server *s, const struct sockaddr_storage *ss)
{
    for (size_t i = 0; i < s->cfg.n_trusted; i++) {
        if (http_cidr_match(&s->cfg.trusted[i], (const struct sockaddr *)ss))
            return true;
    }
    return false;
}

/* The text and the rate-limit key: an IPv6 client is one /64 (a host gets a
 * whole /64 and can pick any address in it). */
static void describe(const struct sockaddr_storage *ss, struct client_addr *out)
{
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out->text,
                  sizeof(out->text));
        snprintf(out->key, sizeof(out->key), "%s", out->text);
    } else if (ss->ss_family == AF_INET6) {
        struct in6_addr a = ((const struct sockaddr_in6 *)ss)->sin6_addr;
        inet_ntop(AF_INET6, &a, out->text, sizeof(out->text));
        memset(&a.s6_addr[8], 0, 8);
        char p[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a, p, sizeof(p));
        snprintf(out->key, sizeof(out->key), "%s/64", p);
    } else if (ss->ss_family == AF_VSOCK) {
        snprintf(out->text, sizeof(out->text), "vsock:%u",
                 ((const struct sockaddr_vm *)ss)->svm_cid);
        snprintf(out->key, sizeof(out->key), "%s", out->text);
    } else {
        snprintf(out->text, sizeof(out->text), "unix");
        snprintf(out->key, sizeof(out->key), "unix");
    }
}

#define MAX_XFF_LINES 8

struct xff_lines {
    const char *v[MAX_XFF_LINES];
    size_t n;
};

/* Keeps the last MAX_XFF_LINES header lines: the right end is what counts. */
static enum MHD_Result collect_xff(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    struct xff_lines *x = cls;
    if (key == NULL || value == NULL || strcasecmp(key, "X-Forwarded-For") != 0)
        return MHD_YES;
    if (x->n == MAX_XFF_LINES) {
        memmove(&x->v[0], &x->v[1], (MAX_XFF_LINES - 1) * sizeof(x->v[0]));
        x->n--;
    }
    x->v[x->n++] = value;
    return MHD_YES;
}

void client_addr_of(struct server *s, struct MHD_Connection *c, struct client_addr *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->text, sizeof(out->text), "unknown");
    snprintf(out->key, sizeof(out->key), "unknown");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    /* What listeners.c handed MHD: the peer, or a PROXY header's source. */
    struct sockaddr_storage addr, peer;
    canonical(ci->client_addr, family_len(ci->client_addr), &addr);
    struct sockaddr_storage raw;
    socklen_t rl = sizeof(raw);
    int fd = connection_fd(c);
    bool have_peer = fd >= 0 && getpeername(fd, (struct sockaddr *)&raw, &rl) == 0;
    if (have_peer)
        canonical((const struct sockaddr *)&raw, rl, &peer);
    bool replaced = !have_peer || !same_host(&addr, &peer);
    if ((addr.ss_family == AF_INET || addr.ss_family == AF_INET6) && trusted(s, &addr)) {
        struct xff_lines x = {.n = 0};
        MHD_get_connection_values(c, MHD_HEADER_KIND, collect_xff, &x);
        bool fwd = false;
        struct sockaddr_storage walked = addr;
        if (tr_ok(
                http_forwarded_client(x.v, x.n, s->cfg.trusted, s->cfg.n_trusted, &walked, &fwd)) &&
            fwd) {
            canonical((const struct sockaddr *)&walked, sizeof(walked), &addr);
            replaced = true;
        }
    }
    describe(&addr, out);
    out->local = !replaced && loopback(&peer);
}
