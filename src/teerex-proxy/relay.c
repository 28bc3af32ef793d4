/* teerex-proxy relay: one epoll loop. Each connection owns two pipes; bytes
 * move socket -> pipe -> socket with splice() and never pass through user
 * space. Connection sockets are edge-triggered with a fixed interest set:
 * every wake-up of either socket pumps both directions until the source
 * says EAGAIN or the pipe is full and the destination says EAGAIN, so the
 * next edge (new data, or room to write) always comes, and a full pipe or a
 * peer that hung up cannot make the loop spin (level-triggered EPOLLHUP
 * would). EOF on one side becomes shutdown(SHUT_WR) on the other once the
 * pipe is drained (half-close); the connection closes when both directions
 * are done, or soon after the target ended: once the client has taken what
 * the target sent and sends nothing more (a client left half-open would hold
 * its slot until the idle timeout). Each client address holds at most
 * --max-conns-per-addr connections. Listeners stay level-triggered.
 * The enclave's CID is looked up on a helper thread (cid_lookup.h);
 * connections wait for it without stopping the loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "proxy.h"
#include "rt_nitro.h"
#include "rt_proxyv2.h"
#include "teerex/clock.h"
#include "teerex/log.h"

#include "relay.h"

static void ep_set(struct proxy *p, struct ep *e, uint32_t *cur, uint32_t want, bool add)
{
    struct epoll_event ev = {.events = want, .data.ptr = e};
    if (add || *cur != want)
        epoll_ctl(p->epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, e->fd, &ev);
    *cur = want;
}

/* p->target for a concrete address (a fixed target, or a looked-up CID). */
static void set_target(struct proxy *p, struct rt_addr a)
{
    if (a.kind == RT_ADDR_VSOCK)
        p->cid = a.cid;
    if (p->o->vsock_over_tcp) {
        struct rt_addr t;
        tr_result r = rt_addr_vsock_as_tcp(&a, &t);
        if (!tr_ok(r)) {
            tr_log_result(TR_LOG_WARN, "vsock_over_tcp_failed", r);
            return;
        }
        a = t;
    }
    p->target = a;
    p->target_ok = true;
}

enum target_state { TARGET_READY, TARGET_WAIT, TARGET_NONE };

/* Whether a connect can start now. With vsock:auto a lookup is started when
 * there is no CID yet, or when force (a connect failed) and the last lookup
 * is older than resolve_interval_ms; connections wait for it (TARGET_WAIT). */
static enum target_state want_target(struct proxy *p, bool force)
{
    const struct proxy_opts *o = p->o;
    if (!(o->target.kind == RT_ADDR_VSOCK && o->target.cid_auto)) {
        if (!p->target_ok)
            set_target(p, o->target);
        return p->target_ok ? TARGET_READY : TARGET_NONE;
    }
    if (p->lookup.running)
        return TARGET_WAIT;
    uint64_t now = tr_mono_ms();
    bool recent = p->last_resolve_ms && now - p->last_resolve_ms < o->resolve_interval_ms;
    if (p->target_ok && (!force || recent))
        return TARGET_READY;
    p->last_resolve_ms = now;
    p->n.resolves++;
    if (cid_lookup_start(&p->lookup))
        return TARGET_WAIT;
    p->n.resolve_failures++;
    return p->target_ok ? TARGET_READY : TARGET_NONE;
}

static void conn_free(struct proxy *p, struct conn *c, const char *why)
{
    tr_log(TR_LOG_DEBUG, "conn_closed", "{s:s,s:I,s:I}", "reason", why, "bytes_up",
           (json_int_t)c->up.bytes, "bytes_down", (json_int_t)c->down.bytes);
    if (c->cl.fd >= 0)
        close(c->cl.fd);
    if (c->tg.fd >= 0)
        close(c->tg.fd);
    for (int i = 0; i < 2; i++) {
        if (c->up.pipe[i] >= 0)
            close(c->up.pipe[i]);
        if (c->down.pipe[i] >= 0)
            close(c->down.pipe[i]);
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    p->n.bytes_up += c->up.bytes;
    p->n.bytes_down += c->down.bytes;
    p->active--;
    addr_slots_release(p->slots, &c->key);
    /* Another event of this batch may still point at c: free it later. */
    c->dead = true;
    c->next = p->dead;
    p->dead = c;
    if (!p->accepting && !p->stopping && p->active < p->o->max_conns) {
        uint32_t m = 0;
        ep_set(p, &p->lst, &m, EPOLLIN, false);
        p->accepting = true;
    }
}

static bool start_connect(struct proxy *p, struct conn *c);

/* Connects to p->target (known). false: give up. */
static bool connect_now(struct proxy *p, struct conn *c)
{
    int fd;
    tr_result r = rt_addr_socket(&p->target, &fd);
    if (!tr_ok(r)) {
        tr_log_result(TR_LOG_ERROR, "target_socket_failed", r);
        return false;
    }
    c->tg.fd = fd;
    if (connect(fd, (struct sockaddr *)&p->target.ss, p->target.len) != 0 && errno != EINPROGRESS) {
        /* Immediate refusal (tcp/unix): try again with a fresh lookup. */
        p->n.connect_failures++;
        return start_connect(p, c);
    }
    c->deadline_ms = tr_mono_ms() + p->o->connect_timeout_ms;
    c->tmask = 0;
    ep_set(p, &c->tg, &c->tmask, CONN_EVENTS, true);
    return true;
}

/* Starts (or restarts) the connect to the target. false: give up. */
static bool start_connect(struct proxy *p, struct conn *c)
{
    if (c->tg.fd >= 0) {
        epoll_ctl(p->epfd, EPOLL_CTL_DEL, c->tg.fd, NULL);
        close(c->tg.fd);
        c->tg.fd = -1;
    }
    if (c->attempts >= 2)
        return false;
    c->attempts++;
    switch (want_target(p, c->attempts > 1)) {
    case TARGET_NONE: return false;
    case TARGET_WAIT:
        c->awaiting = true; /* on_lookup() connects it */
        c->deadline_ms = tr_mono_ms() + p->o->connect_timeout_ms;
        return true;
    case TARGET_READY: break;
    }
    return connect_now(p, c);
}

/* A lookup finished: take its CID (a failed lookup keeps the last one) and
 * connect the connections that waited for it. */
static void on_lookup(struct proxy *p)
{
    struct cid_lookup_result res;
    if (!cid_lookup_finish(&p->lookup, &res))
        return;
    if (res.err != TR_OK) {
        p->n.resolve_failures++;
        tr_log(TR_LOG_WARN, "cid_lookup_failed", "{s:s,s:s}", "error", tr_err_name(res.err),
               "detail", tr_err_desc(res.err));
    } else {
        if (res.cid != p->cid)
            tr_log(TR_LOG_INFO, "cid_resolved", "{s:s,s:i,s:i}", "enclave", p->o->enclave_name,
                   "cid", (int)res.cid, "previous", (int)p->cid);
        struct rt_addr a = p->o->target;
        if (tr_ok(rt_addr_set_cid(&a, res.cid)))
            set_target(p, a);
    }
    for (struct conn *c = p->conns, *next; c; c = next) {
        next = c->next;
        if (!c->awaiting)
            continue;
        c->awaiting = false;
        if (!p->target_ok || !connect_now(p, c)) {
            p->n.connect_failures++;
            conn_free(p, c, "connect_failed");
        }
    }
}

static void on_accept(struct proxy *p)
{
    for (int i = 0; i < 64 && p->active < p->o->max_conns; i++) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof(peer);
        int fd = accept4(p->lst.fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                p->n.errors++;
            return;
        }
        struct conn *c = calloc(1, sizeof(*c));
        if (!c || pipe2(c->up.pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
            free(c);
            close(fd);
            p->n.errors++;
            continue;
        }
        if (pipe2(c->down.pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
            close(c->up.pipe[0]);
            close(c->up.pipe[1]);
            free(c);
            close(fd);
            p->n.errors++;
            continue;
        }
        c->cl = (struct ep){EP_CLIENT, c, fd};
        c->tg = (struct ep){EP_TARGET, c, -1};
        c->peer = peer;
        c->peer_len = pl;
        addr_key_of((struct sockaddr *)&peer, pl, &c->key);
        if (!addr_slots_take(p->slots, &c->key)) {
            /* This address holds its share of the slots: others keep theirs. */
            p->n.addr_cap_rejects++;
            close(fd);
            close(c->up.pipe[0]);
            close(c->up.pipe[1]);
            close(c->down.pipe[0]);
            close(c->down.pipe[1]);
            free(c);
            continue;
        }
        c->local_len = sizeof(c->local);
        getsockname(fd, (struct sockaddr *)&c->local, &c->local_len);
        c->last_ms = tr_mono_ms();
        c->next = p->conns;
        if (p->conns)
            p->conns->prev = c;
        p->conns = c;
        p->active++;
        p->n.accepted++;
        if (p->o->proxy_v2 &&
            !tr_ok(rt_proxyv2_build((struct sockaddr *)&peer, pl, (struct sockaddr *)&c->local,
                                    c->local_len, c->hdr, &c->hdr_len))) {
            conn_free(p, c, "proxy_header");
            continue;
        }
        ep_set(p, &c->cl, &c->cmask, CONN_EVENTS, true);
        if (!start_connect(p, c)) {
            p->n.connect_failures++;
            conn_free(p, c, "connect_failed");
        }
    }
    if (p->active >= p->o->max_conns && p->accepting) {
        uint32_t m = EPOLLIN;
        ep_set(p, &p->lst, &m, 0, false);
        p->accepting = false;
        p->n.cap_waits++;
    }
}

/* Bytes of the client socket's send queue not yet acknowledged by the client. */
static int unsent(int fd)
{
    int n = 0;
    return ioctl(fd, SIOCOUTQ, &n) == 0 ? n : 0;
}

/* After the target ended (and its bytes went to the client): the connection
 * is done once the client acknowledged all of it and has sent nothing for
 * CLOSE_QUIET_MS with nothing waiting for the target (a client still
 * uploading to a target that reads, e.g. one discarding an over-limit body
 * after its 413, is let finish), or at --close-timeout. Closing earlier, with
 * bytes unread, would reset the connection and could destroy the answer. */
#define CLOSE_QUIET_MS 500
static bool target_done(const struct conn *c, uint64_t now)
{
    if (now >= c->close_deadline_ms)
        return true;
    return unsent(c->cl.fd) == 0 && c->up.inpipe == 0 && now - c->up_moved_ms >= CLOSE_QUIET_MS;
}

/* Moves bytes for one direction. Returns false on a hard error. */
static bool pump(struct dir *d, int from, int to)
{
    bool progress = true;
    while (progress) {
        progress = false;
        while (!d->eof && d->inpipe < PIPE_CAP) {
            ssize_t k = splice(from, NULL, d->pipe[1], NULL, PIPE_CAP - d->inpipe,
                               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (k > 0) {
                d->inpipe += (size_t)k;
                progress = true;
            } else if (k == 0) {
                d->eof = true;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            } else if (errno != EINTR) {
                return false;
            }
        }
        while (d->inpipe > 0) {
            ssize_t k =
                splice(d->pipe[0], NULL, to, NULL, d->inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            if (k > 0) {
                d->inpipe -= (size_t)k;
                d->bytes += (uint64_t)k;
                progress = true;
            } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            } else if (k < 0 && errno == EINTR) {
                continue;
            } else {
                return false;
            }
        }
    }
    if (d->eof && d->inpipe == 0 && !d->shut) {
        shutdown(to, SHUT_WR);
        d->shut = true;
    }
    return true;
}

static void on_conn(struct proxy *p, struct conn *c, struct ep *e, uint32_t events)
{
    if (!c->connected) {
        if (e->kind != EP_TARGET) {
            if (events & (EPOLLHUP | EPOLLERR))
                conn_free(p, c, "client_gone"); /* before the target answered */
            return; /* its bytes wait in the kernel until the target is there */
        }
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(c->tg.fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0 || (events & EPOLLERR)) {
            p->n.connect_failures++;
            tr_log(TR_LOG_WARN, "connect_failed", "{s:s,s:i}", "error", strerror(err ? err : EIO),
                   "attempt", c->attempts);
            if (!start_connect(p, c))
                conn_free(p, c, "connect_failed");
            return;
        }
        c->connected = true;
    }
    if (events & EPOLLERR) {
        p->n.errors++;
        conn_free(p, c, "reset");
        return;
    }
    c->last_ms = tr_mono_ms();
    while (c->hdr_off < c->hdr_len) {
        ssize_t k = send(c->tg.fd, c->hdr + c->hdr_off, c->hdr_len - c->hdr_off, MSG_NOSIGNAL);
        if (k > 0) {
            c->hdr_off += (size_t)k;
        } else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            break;
        } else {
            p->n.errors++;
            conn_free(p, c, "header_send");
            return;
        }
    }
    bool ok = true;
    uint64_t up_before = c->up.bytes + c->up.inpipe;
    if (c->hdr_off >= c->hdr_len)
        ok = pump(&c->up, c->cl.fd, c->tg.fd);
    ok = ok && pump(&c->down, c->tg.fd, c->cl.fd);
    if (!ok) {
        p->n.errors++;
        conn_free(p, c, "reset");
        return;
    }
    if (c->up.bytes + c->up.inpipe != up_before)
        c->up_moved_ms = c->last_ms;
    if (c->up.shut && c->down.shut) {
        p->n.completed++;
        conn_free(p, c, "done");
        return;
    }
    if (c->down.shut && !c->closing) {
        c->closing = true;
        c->close_deadline_ms = c->last_ms + p->o->close_timeout_ms;
    }
    if (c->closing && target_done(c, c->last_ms)) {
        p->n.target_closed++;
        conn_free(p, c, "target_closed");
    }
}

static void check_timeouts(struct proxy *p, uint64_t now)
{
    struct conn *c = p->conns;
    while (c) {
        struct conn *next = c->next;
        if (!c->connected && now >= c->deadline_ms) {
            p->n.connect_timeouts++;
            if (!start_connect(p, c))
                conn_free(p, c, "connect_timeout");
        } else if (c->closing && target_done(c, now)) {
            p->n.target_closed++;
            conn_free(p, c, "target_closed");
        } else if (c->connected && now - c->last_ms >= p->o->idle_timeout_ms) {
            p->n.idle_timeouts++;
            conn_free(p, c, "idle_timeout");
        }
        c = next;
    }
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl); /* 6 fds per connection */
    }
}

int proxy_run(const struct proxy_opts *o)
{
    static struct proxy px;
    struct proxy *p = &px;
    memset(p, 0, sizeof(*p));
    p->o = o;
    p->lst.fd = p->st.fd = p->sig.fd = -1;
    p->lookup.pipe[0] = p->lookup.pipe[1] = -1;
    int rc = PROXY_EXIT_RUNTIME;
    raise_fd_limit();
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigdelset(&set, SIGCHLD); /* nitro-cli is waited for synchronously */
    p->epfd = epoll_create1(EPOLL_CLOEXEC);
    p->sig = (struct ep){EP_SIG, NULL, signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)};
    if (p->epfd < 0 || p->sig.fd < 0) {
        tr_log(TR_LOG_ERROR, "setup_failed", "{s:s}", "error", strerror(errno));
        return rc;
    }
    tr_result r = rt_addr_listen(&o->listen, 1024, &p->lst.fd);
    if (!tr_ok(r)) {
        char t[RT_ADDR_TEXT_MAX];
        rt_addr_format(&o->listen, t, sizeof(t));
        tr_log(TR_LOG_ERROR, "listen_failed", "{s:s,s:s,s:s}", "address", t, "error",
               tr_err_name(r.err), "detail", strerror(errno));
        return rc;
    }
    p->lst.kind = EP_LISTEN;
    if (o->has_status) {
        r = rt_addr_listen(&o->status, 1024, &p->st.fd);
        if (!tr_ok(r)) {
            tr_log(TR_LOG_ERROR, "status_listen_failed", "{s:s}", "error", tr_err_name(r.err));
            close(p->lst.fd);
            return rc;
        }
        p->st.kind = EP_STATUS_LISTEN;
    }
    if (o->target.kind == RT_ADDR_VSOCK && !o->vsock_over_tcp) {
        int probe;
        struct rt_addr t = o->target;
        tr_ignore(rt_addr_set_cid(&t, 3));
        r = rt_addr_socket(&t, &probe);
        if (!tr_ok(r)) {
            tr_log_result(TR_LOG_ERROR, "vsock_unavailable", r);
            close(p->lst.fd);
            return rc;
        }
        close(probe);
    }
    if (!tr_ok(addr_slots_create(o->max_conns_per_addr, &p->slots)) ||
        !tr_ok(cid_lookup_init(&p->lookup, o->nitro_cli, o->enclave_name, 5000))) {
        tr_log(TR_LOG_ERROR, "setup_failed", "{s:s}", "error", strerror(errno));
        close(p->lst.fd);
        addr_slots_free(p->slots);
        return rc;
    }
    uint32_t m = 0;
    ep_set(p, &p->lst, &m, EPOLLIN, true);
    p->accepting = true;
    if (p->st.fd >= 0)
        ep_set(p, &p->st, &m, EPOLLIN, true);
    ep_set(p, &p->sig, &m, EPOLLIN, true);
    p->lk = (struct ep){EP_LOOKUP, NULL, cid_lookup_fd(&p->lookup)};
    ep_set(p, &p->lk, &m, EPOLLIN, true);
    (void)want_target(p, false); /* a vsock:auto CID is looked up now, in the background */
    {
        char lt[RT_ADDR_TEXT_MAX], tt[RT_ADDR_TEXT_MAX];
        rt_addr_format(&o->listen, lt, sizeof(lt));
        rt_addr_format(&o->target, tt, sizeof(tt));
        tr_log(TR_LOG_INFO, "listening", "{s:s,s:s,s:b,s:I,s:i}", "listen", lt, "target", tt,
               "proxy_v2", o->proxy_v2, "max_conns", (json_int_t)o->max_conns, "cid", (int)p->cid);
        tr_log(TR_LOG_INFO, "limits", "{s:I,s:I,s:I,s:I}", "max_conns_per_addr",
               (json_int_t)o->max_conns_per_addr, "close_timeout_ms",
               (json_int_t)o->close_timeout_ms, "idle_timeout_ms", (json_int_t)o->idle_timeout_ms,
               "status_timeout_ms", (json_int_t)STATUS_TIMEOUT_MS);
    }
    uint64_t stop_deadline = 0, last_scan = tr_mono_ms();
    for (;;) {
        struct epoll_event ev[128];
        int k = epoll_wait(p->epfd, ev, 128, 250);
        if (k < 0 && errno != EINTR)
            break;
        for (int i = 0; i < k; i++) {
            struct ep *e = ev[i].data.ptr;
            if (e->kind == EP_LISTEN) {
                on_accept(p);
            } else if (e->kind == EP_STATUS_LISTEN) {
                status_accept(p, tr_mono_ms());
            } else if (e->kind == EP_STATUS_CONN) {
                status_answer(p, (struct status_conn *)e);
            } else if (e->kind == EP_LOOKUP) {
                on_lookup(p);
            } else if (e->kind == EP_SIG) {
                struct signalfd_siginfo si;
                while (read(p->sig.fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                    if (si.ssi_signo == SIGUSR1) {
                        relay_log_counters(p, "counters");
                    } else if (!p->stopping) {
                        p->stopping = true;
                        stop_deadline = tr_mono_ms() + o->drain_timeout_ms;
                        epoll_ctl(p->epfd, EPOLL_CTL_DEL, p->lst.fd, NULL);
                        close(p->lst.fd);
                        p->lst.fd = -1;
                        p->accepting = false;
                        tr_log(TR_LOG_INFO, "stopping", "{s:i,s:I}", "signal", (int)si.ssi_signo,
                               "active", (json_int_t)p->active);
                    }
                }
            } else if (!e->c->dead) {
                on_conn(p, e->c, e, ev[i].events);
            }
        }
        while (p->dead) {
            struct conn *d = p->dead;
            p->dead = d->next;
            free(d);
        }
        uint64_t now = tr_mono_ms();
        if (now - last_scan >= 250) {
            last_scan = now;
            check_timeouts(p, now);
            status_expire(p, now, false);
        }
        if (p->stopping && (p->active == 0 || now >= stop_deadline)) {
            while (p->conns)
                conn_free(p, p->conns, "shutdown");
            while (p->dead) {
                struct conn *d = p->dead;
                p->dead = d->next;
                free(d);
            }
            rc = PROXY_EXIT_OK;
            break;
        }
    }
    relay_log_counters(p, "stopped");
    status_expire(p, 0, true);
    cid_lookup_destroy(&p->lookup); /* waits for a running lookup (<= 5 s) */
    addr_slots_free(p->slots);
    if (p->lst.fd >= 0)
        close(p->lst.fd);
    if (p->st.fd >= 0)
        close(p->st.fd);
    close(p->sig.fd);
    close(p->epfd);
    return rc;
}
