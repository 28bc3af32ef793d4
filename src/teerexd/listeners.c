/* Listeners and the acceptor (see listeners.h). libmicrohttpd listens on one
 * socket per daemon and knows neither AF_VSOCK nor the PROXY protocol, so we
 * accept ourselves and pass each connection with MHD_add_connection(),
 * giving the PROXY header's source address as the client address. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listeners.h"
#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/clock.h"
#include "teerex/log.h"

#define MAX_HANDSHAKES 256

void listeners_init(struct listeners *ls)
{
    memset(ls, 0, sizeof(*ls));
    ls->wake[0] = ls->wake[1] = -1;
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    if (ss.ss_family == AF_VSOCK)
        return (int)((struct sockaddr_vm *)&ss)->svm_port;
    return 0;
}

static TR_RESULT open_tcp(const char *rest, struct listener *l)
{
    char host[128];
    const char *colon = strrchr(rest, ':');
    TR_ENSURE(colon != NULL, TR_ERR_HTTP_BAD_LISTEN);
    size_t hl = (size_t)(colon - rest);
    TR_ENSURE(hl < sizeof(host), TR_ERR_HTTP_BAD_LISTEN);
    memcpy(host, rest, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    uint64_t port;
    TR_ENSURE(tr_ok(tr_parse_u64(colon + 1, 65535, &port)), TR_ERR_HTTP_BAD_LISTEN);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST};
    struct addrinfo *ai = NULL;
    TR_ENSURE(getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai) == 0 && ai,
              TR_ERR_HTTP_BAD_LISTEN);
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
              bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0;
    l->family = ai->ai_family;
    freeaddrinfo(ai);
    if (!ok) {
        tr_log(TR_LOG_ERROR, "listen_failed", "{s:s,s:s}", "spec", l->spec, "errno",
               strerror(errno));
        if (fd >= 0)
            close(fd);
        TR_BAIL(TR_ERR_SYS);
    }
    l->fd = fd;
    return TR_SUCCESS;
}

static TR_RESULT open_unix(const char *path, struct listener *l)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    TR_ENSURE(n > 0 && n < sizeof(sun.sun_path), TR_ERR_HTTP_BAD_LISTEN);
    memcpy(sun.sun_path, path, n + 1);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a stale socket of an earlier run */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 || listen(fd, 1024) != 0) {
        tr_log(TR_LOG_ERROR, "listen_failed", "{s:s,s:s}", "spec", l->spec, "errno",
               strerror(errno));
        if (fd >= 0)
            close(fd);
        TR_BAIL(TR_ERR_SYS);
    }
    memcpy(l->unix_path, path, n + 1);
    l->family = AF_UNIX;
    l->fd = fd;
    return TR_SUCCESS;
}

static TR_RESULT open_vsock(const char *rest, struct listener *l)
{
    const char *colon = strchr(rest, ':');
    TR_ENSURE(colon != NULL, TR_ERR_HTTP_BAD_LISTEN);
    char cid_s[16];
    size_t cl = (size_t)(colon - rest);
    TR_ENSURE(cl > 0 && cl < sizeof(cid_s), TR_ERR_HTTP_BAD_LISTEN);
    memcpy(cid_s, rest, cl);
    cid_s[cl] = '\0';
    uint64_t cid, port;
    if (strcmp(cid_s, "any") == 0)
        cid = VMADDR_CID_ANY;
    else
        TR_ENSURE(tr_ok(tr_parse_u64(cid_s, UINT32_MAX, &cid)), TR_ERR_HTTP_BAD_LISTEN);
    TR_ENSURE(tr_ok(tr_parse_u64(colon + 1, UINT32_MAX, &port)), TR_ERR_HTTP_BAD_LISTEN);
    struct sockaddr_vm svm = {
        .svm_family = AF_VSOCK, .svm_cid = (unsigned)cid, .svm_port = (unsigned)port};
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&svm, sizeof(svm)) != 0 || listen(fd, 1024) != 0) {
        tr_log(TR_LOG_ERROR, "listen_failed", "{s:s,s:s}", "spec", l->spec, "errno",
               strerror(errno));
        if (fd >= 0)
            close(fd);
        TR_BAIL(TR_ERR_SYS);
    }
    l->family = AF_VSOCK;
    l->fd = fd;
    return TR_SUCCESS;
}

static TR_RESULT open_one(const char *spec, enum listen_kind kind, struct listener *l)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->kind = kind;
    snprintf(l->spec, sizeof(l->spec), "%s", spec);
    const char *s = spec;
    if (strncmp(s, "proxy+", 6) == 0) {
        l->proxy = true;
        s += 6;
    }
    tr_result r;
    if (strncmp(s, "tcp:", 4) == 0)
        r = open_tcp(s + 4, l);
    else if (strncmp(s, "unix:", 5) == 0)
        r = open_unix(s + 5, l);
    else if (strncmp(s, "vsock:", 6) == 0)
        r = open_vsock(s + 6, l);
    else
        r = tr_fail_at(TR_ERR_HTTP_BAD_LISTEN, __FILE__, __LINE__);
    if (!tr_ok(r)) {
        if (r.err == TR_ERR_HTTP_BAD_LISTEN)
            tr_log(TR_LOG_ERROR, "bad_listen_spec", "{s:s}", "spec", spec);
        return r;
    }
    tr_log(TR_LOG_INFO, "listening", "{s:s,s:i,s:b,s:b,s:b}", "spec", spec, "port",
           bound_port(l->fd), "proxy", l->proxy, "admin", kind == LISTEN_ADMIN, "ops",
           kind == LISTEN_OPS);
    return TR_SUCCESS;
}

tr_result listeners_open(struct listeners *ls, const char *specs, enum listen_kind kind)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", specs);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (!*t)
            continue;
        TR_ENSURE(ls->n < LISTENERS_MAX, TR_ERR_HTTP_BAD_LISTEN);
        TR_GUARD(open_one(t, kind, &ls->l[ls->n]));
        ls->n++;
    }
    return TR_SUCCESS;
}

struct handshake {
    struct listeners *ls;
    struct MHD_Daemon *d;
    int fd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
};

/* How many more bytes the header needs, judged from what we have; we never
 * read past the header, so the HTTP bytes stay in the socket for MHD. */
static size_t next_need(const uint8_t *b, size_t n)
{
    if (n < 13)
        return 13 - n;
    if (b[0] == 0x0D) {
        if (n < 16)
            return 16 - n;
        size_t total = 16 + (((size_t)b[14] << 8) | b[15]);
        return total > n ? total - n : 1;
    }
    return 1; /* v1: up to CRLF, byte by byte (at most 107) */
}

static void *handshake_main(void *arg)
{
    struct handshake *h = arg;
    struct server *s = h->ls->srv;
    uint8_t buf[HTTP_PROXY_V2_MAX];
    size_t n = 0;
    uint64_t deadline = tr_mono_ms() + s->cfg.header_timeout_ms;
    struct http_proxy_info info;
    tr_result r = tr_fail_at(TR_ERR_HTTP_PROXY_INCOMPLETE, __FILE__, __LINE__);
    while (r.err == TR_ERR_HTTP_PROXY_INCOMPLETE) {
        size_t need = next_need(buf, n);
        if (need > sizeof(buf) - n) {
            r = tr_fail_at(TR_ERR_HTTP_PROXY_TOO_LONG, __FILE__, __LINE__);
            break;
        }
        uint64_t now = tr_mono_ms();
        if (now >= deadline) {
            r = tr_fail_at(TR_ERR_TIMEOUT, __FILE__, __LINE__);
            break;
        }
        struct pollfd pf = {.fd = h->fd, .events = POLLIN};
        int pr = poll(&pf, 1, (int)(deadline - now));
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            r = tr_fail_at(TR_ERR_TIMEOUT, __FILE__, __LINE__);
            break;
        }
        ssize_t k = recv(h->fd, buf + n, need, 0);
        if (k < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (k <= 0) {
            r = tr_fail_at(TR_ERR_TRUNCATED, __FILE__, __LINE__);
            break;
        }
        n += (size_t)k;
        r = http_proxy_parse(buf, n, &info);
    }
    if (!tr_ok(r)) {
        tr_log(TR_LOG_WARN, "proxy_header_rejected", "{s:s,s:I}", "error", tr_err_name(r.err),
               "bytes", (json_int_t)n);
        close(h->fd);
    } else {
        const struct sockaddr *sa = (const struct sockaddr *)&h->peer;
        socklen_t sl = h->peer_len;
        if (!info.local && info.family != AF_UNSPEC) {
            sa = (const struct sockaddr *)&info.src;
            sl = info.family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        }
        if (MHD_add_connection(h->d, h->fd, sa, sl) != MHD_YES)
            tr_log(TR_LOG_WARN, "connection_refused", "{s:s}", "errno", strerror(errno));
    }
    atomic_fetch_sub(&h->ls->handshakes, 1);
    free(h);
    return NULL;
}

static void accept_one(struct listeners *ls, struct listener *l)
{
    struct sockaddr_storage peer;
    socklen_t pl = sizeof(peer);
    int fd = accept4(l->fd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            usleep(100 * 1000);
        return;
    }
    struct MHD_Daemon *d = l->kind == LISTEN_ADMIN ? ls->srv->adm
                           : l->kind == LISTEN_OPS ? ls->srv->ops
                                                   : ls->srv->pub;
    if (!l->proxy) {
        if (MHD_add_connection(d, fd, (struct sockaddr *)&peer, pl) != MHD_YES)
            tr_log(TR_LOG_WARN, "connection_refused", "{s:s}", "errno", strerror(errno));
        return;
    }
    if (atomic_fetch_add(&ls->handshakes, 1) >= MAX_HANDSHAKES) {
        atomic_fetch_sub(&ls->handshakes, 1);
        close(fd);
        return;
    }
    struct handshake *h = calloc(1, sizeof(*h));
    pthread_attr_t at;
    pthread_t t;
    bool ok = h != NULL;
    if (ok) {
        h->ls = ls;
        h->d = d;
        h->fd = fd;
        h->peer = peer;
        h->peer_len = pl;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 256 * 1024);
        ok = pthread_create(&t, &at, handshake_main, h) == 0;
        pthread_attr_destroy(&at);
    }
    if (!ok) {
        free(h);
        close(fd);
        atomic_fetch_sub(&ls->handshakes, 1);
    }
}

static void *acceptor_main(void *arg)
{
    struct listeners *ls = arg;
    struct pollfd pf[LISTENERS_MAX + 1];
    for (;;) {
        for (size_t i = 0; i < ls->n; i++)
            pf[i] = (struct pollfd){.fd = ls->l[i].fd, .events = POLLIN};
        pf[ls->n] = (struct pollfd){.fd = ls->wake[0], .events = POLLIN};
        int pr = poll(pf, ls->n + 1, -1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr < 0 || pf[ls->n].revents)
            break;
        for (size_t i = 0; i < ls->n; i++) {
            if (pf[i].revents & POLLIN)
                accept_one(ls, &ls->l[i]);
        }
    }
    return NULL;
}

tr_result listeners_start(struct listeners *ls, struct server *srv)
{
    ls->srv = srv;
    TR_ENSURE(pipe2(ls->wake, O_CLOEXEC) == 0, TR_ERR_SYS);
    TR_ENSURE(pthread_create(&ls->thread, NULL, acceptor_main, ls) == 0, TR_ERR_SYS);
    ls->started = true;
    return TR_SUCCESS;
}

void listeners_stop(struct listeners *ls)
{
    if (ls->started) {
        ssize_t w = write(ls->wake[1], "x", 1);
        (void)w;
        pthread_join(ls->thread, NULL);
        ls->started = false;
    }
    /* Handshake threads still running finish within HTTP_HEADER_TIMEOUT. */
    while (atomic_load(&ls->handshakes) > 0)
        usleep(10 * 1000);
    for (size_t i = 0; i < ls->n; i++) {
        if (ls->l[i].fd >= 0)
            close(ls->l[i].fd);
        if (ls->l[i].unix_path[0])
            unlink(ls->l[i].unix_path);
        ls->l[i].fd = -1;
    }
    for (int i = 0; i < 2; i++) {
        if (ls->wake[i] >= 0)
            close(ls->wake[i]);
        ls->wake[i] = -1;
    }
}
