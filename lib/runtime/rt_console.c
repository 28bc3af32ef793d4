/* Bounded console ring (see rt_console.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_console.h"

tr_result rt_console_init(struct rt_console *c, int fd, size_t cap)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    TR_ENSURE(cap >= 256, TR_ERR_USAGE);
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        TR_ENSURE(fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0, TR_ERR_SYS);
    }
    c->ring = malloc(cap);
    TR_ENSURE(c->ring != NULL, TR_ERR_NOMEM);
    c->cap = cap;
    c->drop_event = "console_dropped";
    return TR_SUCCESS;
}

void rt_console_hold(struct rt_console *c, const char *drop_event)
{
    c->hold = true;
    c->drop_event = drop_event;
}

/* Drops the rest of a line whose start was written before a detach. */
static void skip_partial_line(struct rt_console *c)
{
    size_t i = 0;
    while (i < c->len && c->ring[(c->head + i) % c->cap] != '\n')
        i++;
    size_t n = i < c->len ? i + 1 : c->len;
    c->head = (c->head + n) % c->cap;
    c->len -= n;
    c->bytes_dropped += n;
    if (c->len == 0)
        c->head = 0;
}

void rt_console_attach(struct rt_console *c, int fd)
{
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    if (c->mid_line)
        skip_partial_line(c);
    c->mid_line = false;
    c->fd = fd;
}

void rt_console_free(struct rt_console *c)
{
    free(c->ring);
    c->ring = NULL;
    c->cap = c->len = c->head = 0;
}

static void ring_put(struct rt_console *c, const uint8_t *p, size_t n)
{
    size_t tail = (c->head + c->len) % c->cap;
    size_t first = c->cap - tail < n ? c->cap - tail : n;
    memcpy(c->ring + tail, p, first);
    memcpy(c->ring, p + first, n - first);
    c->len += n;
}

bool rt_console_push(struct rt_console *c, const void *line, size_t n)
{
    c->lines_in++;
    if (c->fd < 0 && !c->hold) {
        c->lines_silenced++;
        return true;
    }
    bool nl = n > 0 && ((const uint8_t *)line)[n - 1] == '\n';
    size_t need = n + (nl ? 0 : 1);
    if (c->broken || need > c->cap - c->len) {
        c->lines_dropped++;
        c->bytes_dropped += need;
        c->dropped_unreported++;
        return false;
    }
    ring_put(c, line, n);
    if (!nl)
        ring_put(c, (const uint8_t *)"\n", 1);
    return true;
}

bool rt_console_flush(struct rt_console *c)
{
    if (c->fd < 0)
        return false;
    for (;;) {
        if (c->len == 0) {
            if (c->dropped_unreported == 0 || c->broken)
                return false;
            char note[200];
            int k = snprintf(note, sizeof(note),
                             "{\"level\":\"warn\",\"component\":\"teerex-init\","
                             "\"event\":\"%s\",\"lines\":%llu,\"total\":%llu}\n",
                             c->drop_event, (unsigned long long)c->dropped_unreported,
                             (unsigned long long)c->lines_dropped);
            c->dropped_unreported = 0;
            ring_put(c, (const uint8_t *)note, (size_t)k);
            continue;
        }
        size_t chunk = c->cap - c->head < c->len ? c->cap - c->head : c->len;
        ssize_t w = write(c->fd, c->ring + c->head, chunk);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (w <= 0 && c->hold) {
            /* A socket sink: detach, keep the lines for the next connection. */
            c->sink_errors++;
            c->fd = -1;
            return false;
        }
        if (w <= 0) {
            /* EPIPE, EIO...: the console is gone; never block on it again. */
            c->broken = true;
            c->lines_dropped++;
            c->bytes_dropped += c->len;
            c->len = 0;
            c->head = 0;
            return false;
        }
        /* Count whole lines written (newlines in the written span). */
        for (ssize_t i = 0; i < w; i++) {
            if (c->ring[c->head + (size_t)i] == '\n')
                c->lines_written++;
        }
        c->mid_line = c->ring[c->head + (size_t)w - 1] != '\n';
        c->head = (c->head + (size_t)w) % c->cap;
        c->len -= (size_t)w;
        if (c->len == 0)
            c->head = 0;
    }
}

void rt_console_line(void *console, const uint8_t *line, size_t n)
{
    rt_console_push(console, line, n);
}

void rt_linebuf_init(struct rt_linebuf *lb, rt_line_fn fn, void *ctx)
{
    lb->len = 0;
    lb->fn = fn;
    lb->ctx = ctx;
}

void rt_linebuf_feed(struct rt_linebuf *lb, const uint8_t *p, size_t n)
{
    while (n > 0) {
        const uint8_t *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) + 1 : n;
        size_t room = sizeof(lb->buf) - lb->len;
        if (take > room)
            take = room;
        memcpy(lb->buf + lb->len, p, take);
        lb->len += take;
        p += take;
        n -= take;
        if (lb->buf[lb->len - 1] == '\n' || lb->len == sizeof(lb->buf)) {
            lb->fn(lb->ctx, (const uint8_t *)lb->buf, lb->len);
            lb->len = 0;
        }
    }
}

void rt_linebuf_finish(struct rt_linebuf *lb)
{
    if (lb->len > 0)
        lb->fn(lb->ctx, (const uint8_t *)lb->buf, lb->len);
    lb->len = 0;
}
