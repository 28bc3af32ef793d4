/* teerex-proxy counters: the status endpoint and the SIGUSR1 log line. The
 * endpoint is local but still bounded: at most STATUS_MAX_CONNS connections,
 * each closed STATUS_TIMEOUT_MS after it was accepted if it asked nothing, so
 * a client holding them cannot use up the proxy's descriptors. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "relay.h"
#include "teerex/log.h"

static void reply(struct proxy *p, int fd)
{
    char req[2048];
    ssize_t k = recv(fd, req, sizeof(req), MSG_DONTWAIT);
    (void)k;
    char body[1280];
    int bl = snprintf(
        body, sizeof(body),
        "{\"active\":%llu,\"accepted\":%llu,\"completed\":%llu,"
        "\"connect_failures\":%llu,\"connect_timeouts\":%llu,\"idle_timeouts\":%llu,"
        "\"errors\":%llu,\"resolves\":%llu,\"resolve_failures\":%llu,\"cid\":%u,"
        "\"cap_waits\":%llu,\"bytes_up\":%llu,\"bytes_down\":%llu,"
        "\"addr_cap_rejects\":%llu,\"target_closed\":%llu,\"addresses\":%llu,"
        "\"status_timeouts\":%llu}\n",
        (unsigned long long)p->active, (unsigned long long)p->n.accepted,
        (unsigned long long)p->n.completed, (unsigned long long)p->n.connect_failures,
        (unsigned long long)p->n.connect_timeouts, (unsigned long long)p->n.idle_timeouts,
        (unsigned long long)p->n.errors, (unsigned long long)p->n.resolves,
        (unsigned long long)p->n.resolve_failures, p->cid, (unsigned long long)p->n.cap_waits,
        (unsigned long long)p->n.bytes_up, (unsigned long long)p->n.bytes_down,
        (unsigned long long)p->n.addr_cap_rejects, (unsigned long long)p->n.target_closed,
        (unsigned long long)addr_slots_addresses(p->slots),
        (unsigned long long)p->n.status_timeouts);
    char resp[1600];
    int rl = snprintf(resp, sizeof(resp),
                      "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                      bl, body);
    ssize_t w = send(fd, resp, (size_t)rl, MSG_NOSIGNAL | MSG_DONTWAIT);
    (void)w;
    shutdown(fd, SHUT_WR);
}

static void drop(struct proxy *p, struct status_conn *sc)
{
    struct status_conn **pp = &p->status;
    while (*pp && *pp != sc)
        pp = &(*pp)->next;
    if (*pp)
        *pp = sc->next;
    close(sc->ep.fd); /* also leaves the epoll set */
    free(sc);
    p->n_status--;
}

void status_accept(struct proxy *p, uint64_t now)
{
    int fd = accept4(p->st.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (p->n_status >= STATUS_MAX_CONNS) {
        close(fd);
        return;
    }
    struct status_conn *sc = malloc(sizeof(*sc));
    struct epoll_event se = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = sc};
    if (!sc) {
        close(fd);
        return;
    }
    sc->ep = (struct ep){EP_STATUS_CONN, NULL, fd};
    sc->deadline_ms = now + STATUS_TIMEOUT_MS;
    if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &se) != 0) {
        free(sc);
        close(fd);
        return;
    }
    sc->next = p->status;
    p->status = sc;
    p->n_status++;
}

void status_answer(struct proxy *p, struct status_conn *sc)
{
    reply(p, sc->ep.fd);
    drop(p, sc);
}

void status_expire(struct proxy *p, uint64_t now, bool all)
{
    struct status_conn *sc = p->status;
    while (sc) {
        struct status_conn *next = sc->next;
        if (all || now >= sc->deadline_ms) {
            if (!all)
                p->n.status_timeouts++;
            drop(p, sc);
        }
        sc = next;
    }
}

void relay_log_counters(struct proxy *p, const char *event)
{
    tr_log(TR_LOG_INFO, event, "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:I,s:I,s:I,s:I}",
           "active", (json_int_t)p->active, "accepted", (json_int_t)p->n.accepted, "completed",
           (json_int_t)p->n.completed, "connect_failures", (json_int_t)p->n.connect_failures,
           "connect_timeouts", (json_int_t)p->n.connect_timeouts, "idle_timeouts",
           (json_int_t)p->n.idle_timeouts, "errors", (json_int_t)p->n.errors, "resolves",
           (json_int_t)p->n.resolves, "resolve_failures", (json_int_t)p->n.resolve_failures, "cid",
           (int)p->cid, "bytes_up", (json_int_t)p->n.bytes_up, "bytes_down",
           (json_int_t)p->n.bytes_down, "addr_cap_rejects", (json_int_t)p->n.addr_cap_rejects,
           "target_closed", (json_int_t)p->n.target_closed);
}
