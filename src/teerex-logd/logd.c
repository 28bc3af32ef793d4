/* teerex-logd's event loop: one epoll over a signalfd, the listener and up
 * to --max-conns connections, each with its own bounded line buffer. Every
 * line is checked (rt_logline_check: one JSON object) before it is written;
 * nothing else from the socket is ever written out. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "logd.h"
#include "rt_logline.h"
#include "teerex/log.h"

struct lconn {
    int fd;
    char peer[RT_ADDR_TEXT_MAX];
    uint8_t *buf;
    size_t len;
    bool skipping; /* inside a line that was too long: drop up to its '\n' */
    uint64_t lines, invalid, too_long;
};

struct logd {
    const struct logd_opts *o;
    struct logd_out out;
    int epfd, sigfd, lfd;
    struct lconn *conns;
    uint64_t accepted, refused, lines, invalid, too_long;
};

enum { TAG_SIG = 0, TAG_LISTEN = 1, TAG_CONN = 16 };

static void stats(struct logd *d, const char *event)
{
    tr_log(TR_LOG_INFO, event, "{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "accepted", (json_int_t)d->accepted,
           "refused", (json_int_t)d->refused, "lines", (json_int_t)d->lines, "invalid",
           (json_int_t)d->invalid, "too_long", (json_int_t)d->too_long, "output_errors",
           (json_int_t)d->out.errors, "rotations", (json_int_t)d->out.rotations);
}

static void conn_close(struct logd *d, struct lconn *c, const char *why)
{
    tr_log(TR_LOG_INFO, "disconnected", "{s:s,s:s,s:I,s:I,s:I}", "peer", c->peer, "why", why,
           "lines", (json_int_t)c->lines, "invalid", (json_int_t)c->invalid, "too_long",
           (json_int_t)c->too_long);
    epoll_ctl(d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->skipping = false;
}

static void one_line(struct logd *d, struct lconn *c, const uint8_t *p, size_t n)
{
    struct rt_logline ll;
    if (tr_ok(rt_logline_check(p, n, &ll))) {
        logd_out_line(&d->out, p, ll.len, ll.syslog_prio);
        c->lines++;
        d->lines++;
        return;
    }
    c->invalid++;
    d->invalid++;
    /* Reported, never copied; the first and then every 1000th per connection,
     * so a peer cannot make us write more than it sends. */
    if (c->invalid == 1 || c->invalid % 1000 == 0)
        tr_log(TR_LOG_WARN, "invalid_line", "{s:s,s:I,s:I}", "peer", c->peer, "bytes",
               (json_int_t)n, "count", (json_int_t)c->invalid);
}

static void on_data(struct logd *d, struct lconn *c)
{
    for (int round = 0; round < 16; round++) { /* bounded per wake-up */
        size_t cap = (size_t)d->o->max_line + 1;
        ssize_t k = read(c->fd, c->buf + c->len, cap - c->len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (k <= 0) {
            if (c->len > 0 && !c->skipping)
                one_line(d, c, c->buf, c->len); /* a last line without '\n' */
            conn_close(d, c, k == 0 ? "closed" : "error");
            return;
        }
        size_t start = 0, end = c->len + (size_t)k;
        for (size_t i = c->len; i < end; i++) {
            if (c->buf[i] != '\n')
                continue;
            if (!c->skipping)
                one_line(d, c, c->buf + start, i - start);
            c->skipping = false;
            start = i + 1;
        }
        memmove(c->buf, c->buf + start, end - start);
        c->len = end - start;
        if (c->len == cap) { /* no '\n' within max_line: drop the line */
            if (!c->skipping) {
                c->too_long++;
                d->too_long++;
                tr_log(TR_LOG_WARN, "line_too_long", "{s:s,s:I}", "peer", c->peer, "max_line",
                       (json_int_t)d->o->max_line);
            }
            c->skipping = true;
            c->len = 0;
        }
    }
}

static void on_accept(struct logd *d)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(d->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        char peer[RT_ADDR_TEXT_MAX];
        rt_sockaddr_format((struct sockaddr *)&ss, sl, peer, sizeof(peer));
        if (d->o->allow_cid_set &&
            (ss.ss_family != AF_VSOCK || ((struct sockaddr_vm *)&ss)->svm_cid != d->o->allow_cid)) {
            d->refused++;
            tr_log(TR_LOG_WARN, "refused", "{s:s,s:s}", "peer", peer, "why", "not --allow-cid");
            close(fd);
            continue;
        }
        struct lconn *c = NULL;
        for (uint64_t i = 0; i < d->o->max_conns && !c; i++) {
            if (d->conns[i].fd < 0)
                c = &d->conns[i];
        }
        if (!c) {
            d->refused++;
            tr_log(TR_LOG_WARN, "refused", "{s:s,s:s}", "peer", peer, "why", "--max-conns");
            close(fd);
            continue;
        }
        c->fd = fd;
        memcpy(c->peer, peer, sizeof(peer));
        c->len = 0;
        c->skipping = false;
        c->lines = c->invalid = c->too_long = 0;
        struct epoll_event e = {.events = EPOLLIN | EPOLLRDHUP,
                                .data.u64 = TAG_CONN + (uint64_t)(c - d->conns)};
        epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &e);
        d->accepted++;
        tr_log(TR_LOG_INFO, "connected", "{s:s}", "peer", peer);
    }
}

/* Returns true to keep running. */
static bool on_signal(struct logd *d)
{
    struct signalfd_siginfo si;
    while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            tr_log(TR_LOG_INFO, "shutdown", "{s:i}", "signal", (int)si.ssi_signo);
            return false;
        }
        if (si.ssi_signo == SIGHUP)
            logd_out_reopen(&d->out);
        if (si.ssi_signo == SIGUSR1)
            stats(d, "stats");
    }
    return true;
}

static TR_RESULT setup(struct logd *d)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    TR_ENSURE(sigprocmask(SIG_BLOCK, &set, NULL) == 0, TR_ERR_SYS);
    signal(SIGPIPE, SIG_IGN);
    d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    TR_ENSURE(d->sigfd >= 0 && d->epfd >= 0, TR_ERR_SYS);
    d->conns = calloc(d->o->max_conns, sizeof(*d->conns));
    TR_ENSURE(d->conns != NULL, TR_ERR_NOMEM);
    for (uint64_t i = 0; i < d->o->max_conns; i++) {
        d->conns[i].fd = -1;
        d->conns[i].buf = malloc(d->o->max_line + 1);
        TR_ENSURE(d->conns[i].buf != NULL, TR_ERR_NOMEM);
    }
    TR_GUARD(logd_out_open(&d->out, d->o));
    TR_GUARD(rt_addr_listen(&d->o->listen, 16, &d->lfd));
    struct epoll_event es = {.events = EPOLLIN, .data.u64 = TAG_SIG};
    struct epoll_event el = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
    TR_ENSURE(epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &es) == 0 &&
                  epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->lfd, &el) == 0,
              TR_ERR_SYS);
    return TR_SUCCESS;
}

static void teardown(struct logd *d)
{
    for (uint64_t i = 0; d->conns && i < d->o->max_conns; i++) {
        if (d->conns[i].fd >= 0)
            conn_close(d, &d->conns[i], "shutdown");
        free(d->conns[i].buf);
    }
    free(d->conns);
    if (d->lfd >= 0)
        close(d->lfd);
    if (d->o->listen.kind == RT_ADDR_UNIX)
        unlink(((const struct sockaddr_un *)&d->o->listen.ss)->sun_path);
    logd_out_close(&d->out);
    if (d->epfd >= 0)
        close(d->epfd);
    if (d->sigfd >= 0)
        close(d->sigfd);
}

int logd_run(const struct logd_opts *o)
{
    struct logd d;
    memset(&d, 0, sizeof(d));
    d.o = o;
    d.epfd = d.sigfd = d.lfd = -1;
    d.out.fd = -1;
    tr_result r = setup(&d);
    char where[RT_ADDR_TEXT_MAX];
    rt_addr_format(&o->listen, where, sizeof(where));
    if (!tr_ok(r)) {
        tr_log(TR_LOG_ERROR, "start_failed", "{s:s,s:s,s:s,s:s}", "listen", where, "output",
               o->output ? o->output : "stdout", "error", tr_err_desc(r.err), "errno",
               strerror(errno));
        teardown(&d);
        return LOGD_EXIT_RUNTIME;
    }
    tr_log(TR_LOG_INFO, "listening", "{s:s,s:s,s:b}", "listen", where, "output",
           o->output ? o->output : "stdout", "syslog_prefix", d.out.prefix);
    bool running = true;
    while (running) {
        struct epoll_event ev[32];
        int k = epoll_wait(d.epfd, ev, 32, -1);
        for (int j = 0; j < k; j++) {
            uint64_t tag = ev[j].data.u64;
            if (tag == TAG_SIG)
                running = on_signal(&d);
            else if (tag == TAG_LISTEN)
                on_accept(&d);
            else if (tag >= TAG_CONN && d.conns[tag - TAG_CONN].fd >= 0)
                on_data(&d, &d.conns[tag - TAG_CONN]);
        }
    }
    stats(&d, "exit");
    teardown(&d);
    return LOGD_EXIT_OK;
}
