/* teerex-proxy relay state, shared by relay.c and status.c. */
#ifndef TEEREX_PROXY_RELAY_H
#define TEEREX_PROXY_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "proxy.h"
#include "rt_addr.h"
#include "rt_proxyv2.h"

#define PIPE_CAP 65536
#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

enum ep_kind { EP_LISTEN = 1, EP_STATUS_LISTEN, EP_STATUS_CONN, EP_SIG, EP_CLIENT, EP_TARGET };

struct ep {
    enum ep_kind kind;
    struct conn *c;
    int fd;
};

struct dir {
    int pipe[2];
    size_t inpipe;
    bool eof, shut;
    uint64_t bytes;
};

struct conn {
    struct ep cl, tg;
    struct dir up, down; /* up: client -> target */
    bool connected, dead;
    uint8_t hdr[RT_PROXYV2_MAX];
    size_t hdr_len, hdr_off;
    int attempts;
    uint64_t deadline_ms, last_ms;
    uint32_t cmask, tmask;
    struct sockaddr_storage peer, local;
    socklen_t peer_len, local_len;
    struct conn *prev, *next;
};

struct counters {
    uint64_t accepted, completed, connect_failures, connect_timeouts, idle_timeouts, errors;
    uint64_t resolves, resolve_failures, cap_waits, bytes_up, bytes_down;
};

struct proxy {
    const struct proxy_opts *o;
    int epfd;
    struct ep lst, st, sig;
    struct conn *conns;
    struct conn *dead; /* closed during this epoll batch, freed after it */
    uint64_t active;
    bool accepting, stopping;
    struct rt_addr target; /* resolved (CID known / tcp-mapped) */
    bool target_ok;
    uint32_t cid;
    uint64_t last_resolve_ms;
    struct counters n;
};

/* status.c */
void relay_status_reply(struct proxy *p, int fd);
void relay_log_counters(struct proxy *p, const char *event);

#endif
