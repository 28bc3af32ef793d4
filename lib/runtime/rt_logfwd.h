/* teerex-init's production log channel: every line of the enclave's log
 * (teerex-init's own and its children's) is also sent to a receiver on the
 * parent (teerex-logd) over a stream socket: vsock:3:PORT from inside an
 * enclave (CID 3 is the parent), tcp: or unix: as stand-ins elsewhere.
 *
 * It can never hold the service up: lines go into a bounded ring (an
 * rt_console in hold mode) written with non-blocking writes; when the
 * receiver is slow, stopped or absent the ring fills and lines are dropped
 * and counted, and a `log_forward_dropped` line says how many once the
 * receiver catches up. A broken connection is retried with capped backoff.
 *
 * What travels is limited by rt_logline_check: a line that is not one JSON
 * object is withheld and replaced by a `log_line_withheld` event naming its
 * source and size, so text a child prints outside our logger (a crash
 * message, a debugging print) never leaves the enclave. */
#ifndef TEEREX_RT_LOGFWD_H
#define TEEREX_RT_LOGFWD_H

#include <stdbool.h>
#include <stdint.h>

#include "rt_addr.h"
#include "rt_console.h"

#define RT_LOGFWD_RETRY_MIN_MS 500
#define RT_LOGFWD_RETRY_MAX_MS 30000

struct rt_logfwd {
    struct rt_addr addr;
    char addr_text[RT_ADDR_TEXT_MAX];
    int fd;       /* the socket (connecting or connected), -1 */
    unsigned gen; /* bumped for every new socket: the caller re-registers it */
    bool connecting, reported_down;
    struct rt_console ring;
    uint64_t next_try_ms, backoff_ms;
    uint64_t connects, connect_failures, disconnects, lines_withheld;
};

TR_RESULT rt_logfwd_init(struct rt_logfwd *f, const char *addr, size_t ring_bytes);
void rt_logfwd_free(struct rt_logfwd *f);
/* Queues one line from `source` (a child's name, or teerex-init); never blocks. */
void rt_logfwd_push(struct rt_logfwd *f, const char *source, const uint8_t *line, size_t n);
/* Drives the connection with the epoll events seen on f->fd (0 when none):
 * connects when due, completes a pending connect, writes what the socket
 * takes, notices a receiver that went away. Returns the epoll events to wait
 * for on f->fd and lowers *timeout_ms (-1 = none) to the next retry. */
uint32_t rt_logfwd_step(struct rt_logfwd *f, uint32_t events, uint64_t now_ms, int *timeout_ms);

#endif
