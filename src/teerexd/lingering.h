/* Lingering close: a connection answered before its request body was read
 * (413, 429, 404 on PUT /prove, 503 busy, ...) is not closed at once. A
 * close() with unread bytes in the socket sends a reset, and a client still
 * writing its body then sees EPIPE/ECONNRESET instead of the answer (node's
 * fetch did 2 times in 3 with a 40 MiB input). The answer and the FIN go out
 * first (libmicrohttpd shuts the write side down), then one thread reads and
 * discards what the client still sends, without keeping it, until the client
 * closes (node's fetch does once it has the answer), or max_bytes were
 * discarded, or the client sends slower than a request body must (the same
 * rule: grace_ms plus the bytes so far at min_rate, at least LINGERING_MIN_MS;
 * without a min_rate, idle_ms without a byte); only then the socket is
 * closed. At most LINGERING_MAX_FDS sockets linger at once; past that a socket
 * is closed right away. */
#ifndef TEEREXD_LINGERING_H
#define TEEREXD_LINGERING_H

#include <stdint.h>

#include "teerex/result.h"

#define LINGERING_MIN_MS 5000
#define LINGERING_MAX_FDS 256

struct lingering_limits {
    uint64_t max_bytes; /* discarded per connection at most */
    uint64_t grace_ms, min_rate, idle_ms;
};

struct lingering;

TR_RESULT lingering_start(const struct lingering_limits *lim, struct lingering **out);
/* Takes ownership of fd (a dup of the connection's socket). */
void lingering_add(struct lingering *l, int fd);
/* Closes every lingering socket and stops the thread. */
void lingering_stop(struct lingering *l);

#endif
