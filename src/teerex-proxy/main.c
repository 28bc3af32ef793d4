/* teerex-proxy: runs on the EC2 parent. Accepts TCP clients and relays each
 * connection to the enclave over vsock (or to a TCP/unix target), prefixed
 * with a PROXY v2 header that carries the real client address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"
#include "teerex/codec.h"
#include "teerex/log.h"

static void usage(FILE *f)
{
    fputs("usage: teerex-proxy --listen ADDR --target ADDR [options]\n"
          "\n"
          "Relays every connection accepted on ADDR to the target with splice(),\n"
          "half-close aware, each prefixed with a PROXY protocol v2 header that\n"
          "carries the client's address (teerexd: LISTEN=proxy+vsock:...).\n"
          "\n"
          "Addresses: tcp:IPV4:PORT  tcp:[IPV6]:PORT  unix:PATH  vsock:CID:PORT\n"
          "           vsock:any:PORT (listen)  vsock:auto:PORT (target; CID from\n"
          "           `nitro-cli describe-enclaves` by --enclave-name, looked up\n"
          "           again whenever a connect fails, so an enclave restart with a\n"
          "           new CID heals without restarting the proxy)\n"
          "\n"
          "  --listen ADDR            where clients connect (e.g. tcp:0.0.0.0:4000)\n"
          "  --target ADDR            where connections go (e.g. vsock:auto:5000)\n"
          "  --enclave-name NAME      for vsock:auto\n"
          "  --nitro-cli PROG         program run as `PROG describe-enclaves` (nitro-cli)\n"
          "  --proxy-protocol v2|off  header sent to the target (v2)\n"
          "  --max-conns N            concurrent connections; more wait in the backlog (1024)\n"
          "  --max-conns-per-addr N   concurrent connections of one client address (IPv4,\n"
          "                           or IPv6 /64); more are closed at once (max-conns / 8)\n"
          "  --connect-timeout DUR    per connect attempt (5s)\n"
          "  --idle-timeout DUR       no byte either way for this long closes (300s: above\n"
          "                           teerexd's 280 s prove deadline; docs/SCALING.md)\n"
          "  --close-timeout DUR      after the target closed: time for the client to take\n"
          "                           the rest (closed earlier once it has it all) (10s)\n"
          "  --drain-timeout DUR      on SIGTERM, time given to open connections (10s)\n"
          "  --status ADDR            tiny HTTP endpoint answering counters as JSON (16\n"
          "                           connections at most, each closed after 2 s)\n"
          "  --log-level LEVEL        debug|info|warn|error|off (info)\n"
          "  --vsock-over-tcp         TEST ONLY: vsock CID c, port p -> tcp 127.0.0.c:p\n"
          "  --help\n"
          "\n"
          "Signals: SIGUSR1 logs the counters; SIGTERM/SIGINT stop accepting, let open\n"
          "connections finish (drain timeout), exit 0.\n"
          "Exit codes: 0 clean shutdown; 1 runtime failure (listen failed, no vsock);\n"
          "2 invalid usage.\n",
          f);
}

static int bad(const char *opt, const char *val, tr_result r)
{
    fprintf(stderr, "teerex-proxy: %s %s: %s (%s)\n", opt, val ? val : "", tr_err_desc(r.err),
            tr_err_name(r.err));
    return PROXY_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct proxy_opts o;
    memset(&o, 0, sizeof(o));
    o.nitro_cli = "nitro-cli";
    o.proxy_v2 = true;
    o.max_conns = 1024;
    o.connect_timeout_ms = 5000;
    o.idle_timeout_ms = 300 * 1000; /* the timeout chain: docs/SCALING.md */
    o.drain_timeout_ms = 10000;
    o.close_timeout_ms = 10000;
    o.resolve_interval_ms = 200;
    bool has_listen = false, has_target = false;
    tr_log_set_component("teerex-proxy");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return PROXY_EXIT_OK;
        }
        if (!strcmp(a, "--vsock-over-tcp")) {
            o.vsock_over_tcp = true;
            continue;
        }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
            usage(stderr);
            return PROXY_EXIT_USAGE;
        }
        const char *v = argv[++i];
        tr_result r = TR_SUCCESS;
        uint64_t ms;
        if (!strcmp(a, "--listen")) {
            r = rt_addr_parse(v, &o.listen);
            has_listen = true;
            if (tr_ok(r) && o.listen.cid_auto)
                return bad(a, v, tr_fail_at(TR_ERR_RT_ADDR_AUTO, __FILE__, __LINE__));
        } else if (!strcmp(a, "--target")) {
            r = rt_addr_parse(v, &o.target);
            has_target = true;
        } else if (!strcmp(a, "--status")) {
            r = rt_addr_parse(v, &o.status);
            o.has_status = true;
        } else if (!strcmp(a, "--enclave-name")) {
            o.enclave_name = v;
        } else if (!strcmp(a, "--nitro-cli")) {
            o.nitro_cli = v;
        } else if (!strcmp(a, "--proxy-protocol")) {
            if (!strcmp(v, "v2"))
                o.proxy_v2 = true;
            else if (!strcmp(v, "off"))
                o.proxy_v2 = false;
            else
                r = tr_fail_at(TR_ERR_USAGE, __FILE__, __LINE__);
        } else if (!strcmp(a, "--max-conns")) {
            r = tr_parse_u64(v, 100000, &o.max_conns);
            if (tr_ok(r) && o.max_conns == 0)
                r = tr_fail_at(TR_ERR_BAD_NUMBER, __FILE__, __LINE__);
        } else if (!strcmp(a, "--max-conns-per-addr")) {
            r = tr_parse_u64(v, 100000, &o.max_conns_per_addr);
            if (tr_ok(r) && o.max_conns_per_addr == 0)
                r = tr_fail_at(TR_ERR_BAD_NUMBER, __FILE__, __LINE__);
        } else if (!strcmp(a, "--close-timeout")) {
            r = tr_parse_duration_ms(v, &o.close_timeout_ms);
            if (tr_ok(r) && (o.close_timeout_ms == 0 || o.close_timeout_ms > 3600 * 1000))
                r = tr_fail_at(TR_ERR_BAD_NUMBER, __FILE__, __LINE__);
        } else if (!strcmp(a, "--connect-timeout") || !strcmp(a, "--idle-timeout") ||
                   !strcmp(a, "--drain-timeout")) {
            r = tr_parse_duration_ms(v, &ms);
            if (tr_ok(r) && (ms == 0 || ms > 7ull * 24 * 3600 * 1000))
                r = tr_fail_at(TR_ERR_BAD_NUMBER, __FILE__, __LINE__);
            if (tr_ok(r)) {
                if (a[2] == 'c')
                    o.connect_timeout_ms = ms;
                else if (a[2] == 'i')
                    o.idle_timeout_ms = ms;
                else
                    o.drain_timeout_ms = ms;
            }
        } else if (!strcmp(a, "--log-level")) {
            int l = tr_log_level_parse(v);
            if (l < 0)
                r = tr_fail_at(TR_ERR_USAGE, __FILE__, __LINE__);
            else
                tr_log_set_level((enum tr_log_level)l);
        } else {
            usage(stderr);
            return PROXY_EXIT_USAGE;
        }
        if (!tr_ok(r))
            return bad(a, v, r);
    }
    if (!has_listen || !has_target) {
        usage(stderr);
        return PROXY_EXIT_USAGE;
    }
    if (o.max_conns_per_addr == 0)
        o.max_conns_per_addr = o.max_conns / 8 ? o.max_conns / 8 : 1;
    if (o.target.cid_auto && !o.enclave_name)
        return bad("--target", "vsock:auto needs --enclave-name",
                   tr_fail_at(TR_ERR_RT_ADDR_AUTO, __FILE__, __LINE__));
    if (o.vsock_over_tcp && o.target.kind != RT_ADDR_VSOCK)
        return bad("--vsock-over-tcp", "needs a vsock target",
                   tr_fail_at(TR_ERR_USAGE, __FILE__, __LINE__));
    return proxy_run(&o);
}
