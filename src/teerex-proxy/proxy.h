/* teerex-proxy internals shared by main.c and relay.c. */
#ifndef TEEREX_PROXY_H
#define TEEREX_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "rt_addr.h"

#define PROXY_EXIT_OK 0
#define PROXY_EXIT_RUNTIME 1
#define PROXY_EXIT_USAGE 2

struct proxy_opts {
    struct rt_addr listen, target, status;
    bool has_status;
    const char *enclave_name;
    const char *nitro_cli;
    bool proxy_v2;
    bool vsock_over_tcp; /* test transport: vsock CID c -> tcp 127.0.0.c */
    uint64_t max_conns;
    uint64_t max_conns_per_addr; /* per client IPv4 address / IPv6 /64 */
    uint64_t connect_timeout_ms, idle_timeout_ms, drain_timeout_ms, resolve_interval_ms;
    uint64_t close_timeout_ms; /* after the target ended, for the client to take the rest */
};

int proxy_run(const struct proxy_opts *o);

#endif
