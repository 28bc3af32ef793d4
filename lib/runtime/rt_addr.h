/* Socket addresses of teerex-proxy: tcp:HOST:PORT (numeric IPv4, or [IPv6]),
 * unix:PATH and vsock:CID:PORT (CID a number, `any`, or `auto` = looked up
 * with nitro-cli by enclave name). */
#ifndef TEEREX_RT_ADDR_H
#define TEEREX_RT_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "teerex/result.h"

enum rt_addr_kind { RT_ADDR_TCP = 1, RT_ADDR_UNIX, RT_ADDR_VSOCK };

struct rt_addr {
    enum rt_addr_kind kind;
    bool cid_auto;              /* vsock:auto:PORT */
    uint32_t cid, port;         /* vsock */
    struct sockaddr_storage ss; /* tcp/unix (and vsock once the CID is known) */
    socklen_t len;
};

#define RT_VSOCK_CID_ANY UINT32_MAX
#define RT_ADDR_TEXT_MAX 160

TR_RESULT rt_addr_parse(const char *text, struct rt_addr *out);
/* Fills ss/len for a vsock address with a concrete CID. */
TR_RESULT rt_addr_set_cid(struct rt_addr *a, uint32_t cid);
/* Test transport: vsock CID c, PORT p becomes tcp 127.0.0.c:p (1 <= c <= 254),
 * so CID changes can be followed on a machine without vsock. */
TR_RESULT rt_addr_vsock_as_tcp(const struct rt_addr *vs, struct rt_addr *tcp);
/* Creates a socket of the address's family (SOCK_STREAM, non-blocking,
 * close-on-exec). A kernel without vsock gives RT_VSOCK_UNAVAILABLE. */
TR_RESULT rt_addr_socket(const struct rt_addr *a, int *fd);
/* A listening socket (non-blocking) bound to the address; a stale unix
 * socket file from an earlier run is replaced. */
TR_RESULT rt_addr_listen(const struct rt_addr *a, int backlog, int *fd);
/* "tcp:1.2.3.4:80", "vsock:16:5000", "unix:/p" into out (always terminated). */
void rt_addr_format(const struct rt_addr *a, char *out, size_t cap);
/* Formats a raw sockaddr the same way (peer addresses in logs). */
void rt_sockaddr_format(const struct sockaddr *sa, socklen_t len, char *out, size_t cap);

#endif
