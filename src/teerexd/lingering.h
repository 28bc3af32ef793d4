/* Lingering close: a connection answered before its request body was read
 * (413, 429, 404 on PUT /prove, 503 busy, ...) is not closed at once. A
 * close() with unread bytes in the socket sends a reset, and a client still
 * writing its body then sees EPIPE/ECONNRESET instead of the answer (node's
 * fetch did 2 times in 3 with a 40 MiB input). The answer and the FIN go out
 * first (libmicrohttpd shuts the write side down), then one thread reads and
 * discards what the client still sends, without keeping it, until the client
 * closes, LINGERING_MAX_MS pass or max_bytes were discarded; only then the
 * socket is closed. At most LINGERING_MAX_FDS sockets linger at once; past that
 * a socket is closed right away. */
#ifndef TEEREXD_LINGERING_H
#define TEEREXD_LINGERING_H

#include <stdint.h>

#include "teerex/result.h"

#define LINGERING_MAX_MS 5000
#define LINGERING_MAX_FDS 256

struct lingering;

TR_RESULT lingering_start(struct lingering **out);
/* Takes ownership of fd (a dup of the connection's socket). */
void lingering_add(struct lingering *l, int fd, uint64_t max_bytes);
/* Closes every lingering socket and stops the thread. */
void lingering_stop(struct lingering *l);

#endif
