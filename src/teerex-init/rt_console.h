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
    int fd; /* non-blocking; -1 when silenced */
    uint8_t *ring;
    size_t cap, head, len;
    uint64_t lines_in, lines_written, lines_dropped, bytes_dropped, lines_silenced;
    uint64_t dropped_unreported;
    bool broken; /* the console returned a hard error: everything is dropped */
};

/* fd < 0 silences the console (lines are counted as silenced). The fd is
 * set O_NONBLOCK; the console does not own it. */
TR_RESULT rt_console_init(struct rt_console *c, int fd, size_t cap);
void rt_console_free(struct rt_console *c);
/* Queues one line (a '\n' is added when missing). Never blocks. Returns
 * false when the line was dropped. */
bool rt_console_push(struct rt_console *c, const void *line, size_t n);
/* Writes as much as the console takes now. Returns true when bytes are
 * still queued (the caller then waits for EPOLLOUT). */
bool rt_console_flush(struct rt_console *c);

/* Assembles lines from a child's pipe: bytes in, whole lines to the console;
 * a line longer than RT_LINE_MAX is cut and pushed in pieces. */
#define RT_LINE_MAX 4096
struct rt_linebuf {
    char buf[RT_LINE_MAX];
    size_t len;
};
void rt_linebuf_feed(struct rt_linebuf *lb, struct rt_console *c, const uint8_t *p, size_t n);
void rt_linebuf_finish(struct rt_linebuf *lb, struct rt_console *c);

#endif
