/* Who a request comes from: the socket peer; on proxy+ listeners the source
 * address of the PROXY header; behind a peer in TRUSTED_PROXIES the first
 * untrusted X-Forwarded-For entry from the right (http_forwarded_client).
 * Only a real loopback or unix-socket peer, replaced by nothing, is local
 * (exempt from the rate limit): an X-Forwarded-For or PROXY claim of
 * 127.0.0.1 is just another address. */
#ifndef TEEREXD_CLIENT_ADDR_H
#define TEEREXD_CLIENT_ADDR_H

#include <stdbool.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "rate_limit.h"

struct server;

struct client_addr {
    char text[64];                /* "203.0.113.7", "2001:db8::1", "vsock:3", "unix" */
    char key[RATE_LIMIT_KEY_MAX]; /* rate-limit key: IPv4 address, IPv6 /64, or text */
    bool local;
};

void client_addr_of(struct server *s, struct MHD_Connection *c, struct client_addr *out);

#endif
