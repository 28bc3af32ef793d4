/* teerex-proxy counters: the status endpoint and the SIGUSR1 log line. */
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "relay.h"
#include "teerex/log.h"

void relay_status_reply(struct proxy *p, int fd)
{
    char req[2048];
    ssize_t k = read(fd, req, sizeof(req));
    (void)k;
    char body[1024];
    int bl = snprintf(body, sizeof(body),
                      "{\"active\":%llu,\"accepted\":%llu,\"completed\":%llu,"
                      "\"connect_failures\":%llu,\"connect_timeouts\":%llu,\"idle_timeouts\":%llu,"
                      "\"errors\":%llu,\"resolves\":%llu,\"resolve_failures\":%llu,\"cid\":%u,"
                      "\"cap_waits\":%llu,\"bytes_up\":%llu,\"bytes_down\":%llu}\n",
                      (unsigned long long)p->active, (unsigned long long)p->n.accepted,
                      (unsigned long long)p->n.completed, (unsigned long long)p->n.connect_failures,
                      (unsigned long long)p->n.connect_timeouts,
                      (unsigned long long)p->n.idle_timeouts, (unsigned long long)p->n.errors,
                      (unsigned long long)p->n.resolves, (unsigned long long)p->n.resolve_failures,
                      p->cid, (unsigned long long)p->n.cap_waits, (unsigned long long)p->n.bytes_up,
                      (unsigned long long)p->n.bytes_down);
    char resp[1280];
    int rl = snprintf(resp, sizeof(resp),
                      "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                      bl, body);
    ssize_t w = send(fd, resp, (size_t)rl, MSG_NOSIGNAL);
    (void)w;
    shutdown(fd, SHUT_WR);
}

void relay_log_counters(struct proxy *p, const char *event)
{
    tr_log(TR_LOG_INFO, event, "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:I,s:I}", "active",
           (json_int_t)p->active, "accepted", (json_int_t)p->n.accepted, "completed",
           (json_int_t)p->n.completed, "connect_failures", (json_int_t)p->n.connect_failures,
           "connect_timeouts", (json_int_t)p->n.connect_timeouts, "idle_timeouts",
           (json_int_t)p->n.idle_timeouts, "errors", (json_int_t)p->n.errors, "resolves",
           (json_int_t)p->n.resolves, "resolve_failures", (json_int_t)p->n.resolve_failures, "cid",
           (int)p->cid, "bytes_up", (json_int_t)p->n.bytes_up, "bytes_down",
           (json_int_t)p->n.bytes_down);
}
