/* teerex-logd: runs on the EC2 parent. Receives the enclave's JSON log lines
 * that teerex-init forwards (log_forward = vsock:3:PORT) and hands them to
 * the journal (stdout under systemd) or to a file. */
#include <stdio.h>
#include <string.h>

#include "logd.h"
#include "rt_logline.h"
#include "teerex/codec.h"
#include "teerex/log.h"

static void usage(FILE *f)
{
    fputs("usage: teerex-logd --listen ADDR [options]\n"
          "\n"
          "Receives the enclave's log lines from teerex-init's log channel and writes\n"
          "each one that is a single JSON object to the output; anything else is\n"
          "counted and reported, never written. The enclave side never waits for this\n"
          "program: when it is slow or stopped, teerex-init drops lines and later says\n"
          "how many (event log_forward_dropped).\n"
          "\n"
          "  --listen ADDR        vsock:any:PORT on the parent (the enclave connects to\n"
          "                       CID 3), or tcp:IP:PORT, unix:PATH\n"
          "  --output stdout|FILE stdout (default; under systemd that is the journal) or a\n"
          "                       file, appended to\n"
          "  --max-bytes N        rotate FILE past N bytes to FILE.1 .. FILE.K (67108864;\n"
          "                       0 never)\n"
          "  --keep K             rotated files kept (5)\n"
          "  --max-line N         longer lines are dropped and counted (16384, the most)\n"
          "  --max-conns N        connections at once; more are refused (4)\n"
          "  --allow-cid CID      vsock: accept only this peer CID\n"
          "  --syslog-prefix auto|on|off  prefix lines with <N> (syslog priority from the\n"
          "                       line's \"level\") so the journal files them by priority;\n"
          "                       auto: when stdout is the journal (JOURNAL_STREAM)\n"
          "  --log-level LEVEL    of our own events on stderr (info)\n"
          "  --help\n"
          "\n"
          "Signals: SIGHUP reopens FILE (after logrotate), SIGUSR1 logs counters,\n"
          "SIGTERM/SIGINT exit 0.\n"
          "Exit codes: 0 clean shutdown; 1 runtime failure (listen or output failed);\n"
          "2 invalid usage.\n",
          f);
}

static int bad(const char *opt, const char *val)
{
    fprintf(stderr, "teerex-logd: invalid %s %s (see --help)\n", opt, val ? val : "");
    return LOGD_EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct logd_opts o;
    memset(&o, 0, sizeof(o));
    o.max_bytes = 64ull * 1024 * 1024;
    o.keep = 5;
    o.max_line = RT_LOGLINE_MAX;
    o.max_conns = 4;
    o.syslog_prefix = -1;
    bool has_listen = false;
    tr_log_set_component("teerex-logd");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return LOGD_EXIT_OK;
        }
        if (i + 1 >= argc || strncmp(a, "--", 2) != 0) {
            usage(stderr);
            return LOGD_EXIT_USAGE;
        }
        const char *v = argv[++i];
        uint64_t u = 0;
        if (!strcmp(a, "--listen")) {
            if (!tr_ok(rt_addr_parse(v, &o.listen)) || o.listen.cid_auto)
                return bad(a, v);
            has_listen = true;
        } else if (!strcmp(a, "--output")) {
            o.output = strcmp(v, "stdout") == 0 ? NULL : v;
        } else if (!strcmp(a, "--max-bytes")) {
            if (!tr_ok(tr_parse_u64(v, UINT64_MAX / 2, &o.max_bytes)))
                return bad(a, v);
        } else if (!strcmp(a, "--keep")) {
            if (!tr_ok(tr_parse_u64(v, 1000, &o.keep)))
                return bad(a, v);
        } else if (!strcmp(a, "--max-line")) {
            if (!tr_ok(tr_parse_u64(v, RT_LOGLINE_MAX, &o.max_line)) || o.max_line < 256)
                return bad(a, v);
        } else if (!strcmp(a, "--max-conns")) {
            if (!tr_ok(tr_parse_u64(v, 1024, &o.max_conns)) || o.max_conns == 0)
                return bad(a, v);
        } else if (!strcmp(a, "--allow-cid")) {
            if (!tr_ok(tr_parse_u64(v, UINT32_MAX - 1, &u)))
                return bad(a, v);
            o.allow_cid = (uint32_t)u;
            o.allow_cid_set = true;
        } else if (!strcmp(a, "--syslog-prefix")) {
            if (!strcmp(v, "auto"))
                o.syslog_prefix = -1;
            else if (!strcmp(v, "on"))
                o.syslog_prefix = 1;
            else if (!strcmp(v, "off"))
                o.syslog_prefix = 0;
            else
                return bad(a, v);
        } else if (!strcmp(a, "--log-level")) {
            int l = tr_log_level_parse(v);
            if (l < 0)
                return bad(a, v);
            tr_log_set_level((enum tr_log_level)l);
        } else {
            usage(stderr);
            return LOGD_EXIT_USAGE;
        }
    }
    if (!has_listen) {
        fprintf(stderr, "teerex-logd: --listen is required\n");
        usage(stderr);
        return LOGD_EXIT_USAGE;
    }
    return logd_run(&o);
}
