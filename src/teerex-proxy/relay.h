/* teerex-proxy relay state, shared by relay.c and status.c. */
#ifndef TEEREX_PROXY_RELAY_H
#define TEEREX_PROXY_RELAY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "addr_slots.h"
#include "cid_lookup.h"
#include "proxy.h"
#include "rt_addr.h"
#include "rt_proxyv2.h"

#define PIPE_CAP 65536
#define CONN_EVENTS (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET)

enum ep_kind {
    EP_LISTEN = 1,
    EP_STATUS_LISTEN,
    EP_STATUS_CONN,
    EP_SIG,
    EP_CLIENT,
    EP_TARGET,
    EP_LOOKUP
};

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
    bool awaiting; /* no connect yet: a CID lookup runs */
    bool closing;  /* the target ended: close once the client has it all */
    uint64_t close_deadline_ms, up_moved_ms;
    struct addr_key key; /* the client's address slot */
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
    uint64_t addr_cap_rejects, target_closed, status_timeouts;
};

/* A connection to the --status endpoint (ep first: events carry &ep). */
struct status_conn {
    struct ep ep;
    uint64_t deadline_ms;
    struct status_conn *next;
};
#define STATUS_MAX_CONNS 16
#define STATUS_TIMEOUT_MS 2000

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
    struct cid_lookup lookup;
    struct ep lk; /* the lookup's result pipe */
    struct addr_slots *slots;
    struct status_conn *status;
    unsigned n_status;
    struct counters n;
};

/* status.c: the --status endpoint (each connection answered once, closed
 * after STATUS_TIMEOUT_MS if it sends nothing; at most STATUS_MAX_CONNS) and
 * the counters log line. */
void status_accept(struct proxy *p, uint64_t now);
void status_answer(struct proxy *p, struct status_conn *sc);
void status_expire(struct proxy *p, uint64_t now, bool all);
void relay_log_counters(struct proxy *p, const char *event);

#endif
