/* Bounded console output for teerex-init.
 *
 * The TypeScript server's enclave died after ~9 minutes because its 4 KB
 * console buffer filled and writes blocked. Here every line (ours and the
 * children's) goes into a fixed-size ring; the ring is written to the
 * console with non-blocking writes when the console can take it. A line that
 * does not fit is dropped and counted, so no writer ever waits on the
 * console. When the ring drains after drops, a `console_dropped` line says
 * how many were lost. */
#ifndef TEEREX_RT_CONSOLE_H
#define TEEREX_RT_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teerex/result.h"

struct rt_console {
    int fd; /* non-blocking; -1 when silenced (or, with hold, detached) */
    uint8_t *ring;
    size_t cap, head, len;
    uint64_t lines_in, lines_written, lines_dropped, bytes_dropped, lines_silenced;
    uint64_t dropped_unreported, sink_errors;
    bool broken;            /* the console returned a hard error: everything is dropped */
    bool hold;              /* a reconnecting sink (the log forwarder): keep lines while detached */
    bool mid_line;          /* the last write stopped inside a line */
    const char *drop_event; /* event of the "N lines dropped" note ("console_dropped") */
};

/* fd < 0 silences the console (lines are counted as silenced). The fd is
 * set O_NONBLOCK; the console does not own it. */
TR_RESULT rt_console_init(struct rt_console *c, int fd, size_t cap);
void rt_console_free(struct rt_console *c);
/* A sink that comes and goes (a socket): lines are kept while no fd is
 * attached (dropped and counted when the ring is full); a hard write error
 * detaches the fd instead of breaking the console for good (the caller sees
 * c->fd == -1, closes its socket and attaches a new one later). A line cut
 * by the detach is skipped on re-attach, so the reader never sees half a
 * line glued to the next one. */
void rt_console_hold(struct rt_console *c, const char *drop_event);
void rt_console_attach(struct rt_console *c, int fd);
/* Queues one line (a '\n' is added when missing). Never blocks. Returns
 * false when the line was dropped. */
bool rt_console_push(struct rt_console *c, const void *line, size_t n);
/* Writes as much as the console takes now. Returns true when bytes are
 * still queued (the caller then waits for EPOLLOUT). */
bool rt_console_flush(struct rt_console *c);

/* Assembles lines from a child's pipe: bytes in, whole lines to a callback
 * (the console, the log forwarder); a line longer than RT_LINE_MAX is cut and
 * handed on in pieces. */
#define RT_LINE_MAX 4096
typedef void (*rt_line_fn)(void *ctx, const uint8_t *line, size_t n);
struct rt_linebuf {
    char buf[RT_LINE_MAX];
    size_t len;
    rt_line_fn fn;
    void *ctx;
};
void rt_linebuf_init(struct rt_linebuf *lb, rt_line_fn fn, void *ctx);
void rt_linebuf_feed(struct rt_linebuf *lb, const uint8_t *p, size_t n);
void rt_linebuf_finish(struct rt_linebuf *lb);
/* An rt_line_fn that pushes to the rt_console given as ctx. */
void rt_console_line(void *console, const uint8_t *line, size_t n);

#endif
