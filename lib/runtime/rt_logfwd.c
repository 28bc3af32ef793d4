/* Log forwarder of teerex-init (see rt_logfwd.h). */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "rt_logfwd.h"
#include "rt_logline.h"
#include "teerex/log.h"

tr_result rt_logfwd_init(struct rt_logfwd *f, const char *addr, size_t ring_bytes)
{
    memset(f, 0, sizeof(*f));
    f->fd = -1;
    TR_GUARD(rt_addr_parse(addr, &f->addr));
    /* A concrete peer: no `auto` (nitro-cli is not in the enclave), no `any`. */
    TR_ENSURE(!f->addr.cid_auto && f->addr.len > 0, TR_ERR_RT_ADDR_AUTO);
    TR_ENSURE(f->addr.kind != RT_ADDR_VSOCK || f->addr.cid != RT_VSOCK_CID_ANY,
              TR_ERR_RT_ADDR_RANGE);
    rt_addr_format(&f->addr, f->addr_text, sizeof(f->addr_text));
    TR_GUARD(rt_console_init(&f->ring, -1, ring_bytes));
    rt_console_hold(&f->ring, "log_forward_dropped");
    return TR_SUCCESS;
}

void rt_logfwd_free(struct rt_logfwd *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    rt_console_free(&f->ring);
}

void rt_logfwd_push(struct rt_logfwd *f, const char *source, const uint8_t *line, size_t n)
{
    struct rt_logline ll;
    if (tr_ok(rt_logline_check(line, n, &ll))) {
        rt_console_push(&f->ring, line, ll.len);
        return;
    }
    /* Said through our own log, so the note reaches the console as well and
     * comes back here as a JSON line of its own (never a loop: it is JSON). */
    f->lines_withheld++;
    tr_log(TR_LOG_WARN, "log_line_withheld", "{s:s,s:I}", "source", source, "bytes", (json_int_t)n);
}

static void schedule_retry(struct rt_logfwd *f, uint64_t now, int err, const char *what)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    f->connecting = false;
    rt_console_attach(&f->ring, -1);
    f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : RT_LOGFWD_RETRY_MIN_MS;
    if (f->backoff_ms > RT_LOGFWD_RETRY_MAX_MS)
        f->backoff_ms = RT_LOGFWD_RETRY_MAX_MS;
    f->next_try_ms = now + f->backoff_ms;
    if (!f->reported_down) { /* once per outage, not once per attempt */
        f->reported_down = true;
        tr_log(TR_LOG_WARN, "log_forward_down", "{s:s,s:s,s:s,s:I}", "to", f->addr_text, "why",
               what, "error", err ? strerror(err) : "", "retry_ms", (json_int_t)f->backoff_ms);
    }
}

static void connected(struct rt_logfwd *f)
{
    f->connecting = false;
    f->connects++;
    f->backoff_ms = 0;
    f->reported_down = false;
    rt_console_attach(&f->ring, f->fd);
    tr_log(TR_LOG_INFO, "log_forward_connected", "{s:s,s:I}", "to", f->addr_text, "connects",
           (json_int_t)f->connects);
}

static void start_connect(struct rt_logfwd *f, uint64_t now)
{
    int fd = -1;
    if (!tr_ok(rt_addr_socket(&f->addr, &fd))) {
        f->connect_failures++;
        schedule_retry(f, now, errno, "socket");
        return;
    }
    f->fd = fd;
    f->gen++;
    if (connect(fd, (const struct sockaddr *)&f->addr.ss, f->addr.len) == 0) {
        connected(f);
    } else if (errno == EINPROGRESS || errno == EAGAIN) {
        f->connecting = true;
    } else {
        f->connect_failures++;
        schedule_retry(f, now, errno, "connect");
    }
}

uint32_t rt_logfwd_step(struct rt_logfwd *f, uint32_t events, uint64_t now, int *timeout_ms)
{
    if (f->fd >= 0 && f->connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
            err = errno;
        if (err == 0) {
            connected(f);
        } else {
            f->connect_failures++;
            schedule_retry(f, now, err, "connect");
        }
    } else if (f->fd >= 0 && !f->connecting && (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))) {
        f->disconnects++;
        schedule_retry(f, now, 0, "receiver closed the connection");
    }
    if (f->fd < 0 && now >= f->next_try_ms)
        start_connect(f, now);
    if (f->fd >= 0 && !f->connecting) {
        bool pending = rt_console_flush(&f->ring);
        if (f->ring.fd < 0) { /* a write failed: the ring detached itself */
            f->disconnects++;
            schedule_retry(f, now, errno, "write");
        } else {
            return EPOLLRDHUP | (pending ? EPOLLOUT : 0);
        }
    }
    if (f->fd >= 0 && f->connecting)
        return EPOLLOUT;
    uint64_t wait = f->next_try_ms > now ? f->next_try_ms - now : 0;
    if (*timeout_ms < 0 || wait < (uint64_t)*timeout_ms)
        *timeout_ms = (int)wait;
    return 0;
}
