/* teerex-init: the enclave's entrypoint (PID 1 or the program the AWS init
 * execs). Brings loopback up with 127.0.0.1/8, changes to the configured
 * directory, starts and supervises teerexd, and never exits. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"
#include "teerex/log.h"

static void usage(FILE *f)
{
    fputs("usage: teerex-init [--config FILE] [--KEY VALUE]... [--check] [-- PROGRAM ARGS...]\n"
          "\n"
          "Enclave entrypoint: brings lo up with 127.0.0.1/8 (rtnetlink) and verifies it,\n"
          "chdirs to `workdir`, starts each child, restarts it with capped exponential\n"
          "backoff, reaps every zombie, forwards SIGTERM/SIGINT and never exits (unless\n"
          "exit_on_signal is on). Output goes to the console through a bounded buffer:\n"
          "lines that do not fit are dropped and counted, never blocking a child.\n"
          "\n"
          "Config file lines are `key = value`; every key can also be given as\n"
          "--key VALUE or --key=VALUE (dashes or underscores):\n"
          "  workdir PATH         chdir before starting children (the enclave ignores WORKDIR)\n"
          "  console DEST         /dev/console (default), stderr, off, or a path\n"
          "  console_buffer N     bytes buffered for a slow console (4096..16777216; 65536)\n"
          "  loopback on|off      bring up lo with 127.0.0.1/8 (on)\n"
          "  env NAME=VALUE       set for every child (repeatable); a NAME twice in one\n"
          "                       file is an error, --env NAME=V after --config overrides\n"
          "  child NAME PROG ARGS a child (repeatable, PROG an absolute path, no shell)\n"
          "  restart_min DUR      first restart delay (100ms)\n"
          "  restart_max DUR      backoff cap (30s)\n"
          "  stable_after DUR     a run this long resets the backoff (10s)\n"
          "  stop_timeout DUR     SIGTERM -> SIGKILL grace for children (10s)\n"
          "  exit_on_signal on    test mode: exit 0 once children stopped after SIGTERM/SIGINT\n"
          "  stats_file PATH      JSON counters, written on SIGUSR1 and at exit\n"
          "  log_level LEVEL      debug|info|warn|error|off (info)\n"
          "  log_forward ADDR     also send every JSON log line to a receiver on the\n"
          "                       parent (teerex-logd): vsock:3:PORT in an enclave (CID 3\n"
          "                       is the parent), tcp:IP:PORT or unix:PATH elsewhere. Only\n"
          "                       JSON object lines travel; other output is withheld and\n"
          "                       counted. Bounded and non-blocking like the console;\n"
          "                       reconnects with backoff (0.5 s .. 30 s)\n"
          "  log_forward_buffer N bytes kept for a slow or absent receiver (262144)\n"
          "  --no-loopback, --exit-on-signal   shorthands\n"
          "  -- PROGRAM ARGS      one more child, named after PROGRAM's base name\n"
          "\n"
          "  --check   validate the configuration, print it as JSON, exit\n"
          "  --help    this text\n"
          "\n"
          "Exit codes: 0 --check/--help ok or test-mode stop; 1 set-up failed (loopback,\n"
          "console) in test mode; 2 invalid configuration or usage (outside PID 1).\n"
          "Outside test mode a set-up failure is logged and init stays up without\n"
          "children (its exit would end the enclave); so does PID 1 on a bad configuration.\n",
          f);
}

static int config_error(const char *what, const char *detail, size_t line, tr_result r)
{
    fprintf(stderr, "teerex-init: %s%s%s", what, detail ? " " : "", detail ? detail : "");
    if (line)
        fprintf(stderr, " (line %zu)", line);
    fprintf(stderr, ": %s (%s)\n", tr_err_desc(r.err), tr_err_name(r.err));
    return INIT_EXIT_USAGE;
}

static void print_check(const struct rt_config *c)
{
    printf("{\"ok\":true,\"workdir\":\"%s\",\"console\":\"%s\",\"console_buffer\":%zu,"
           "\"loopback\":%s,\"log_forward\":\"%s\",\"children\":[",
           c->workdir ? c->workdir : "",
           c->console == RT_CONSOLE_OFF      ? "off"
           : c->console == RT_CONSOLE_STDERR ? "stderr"
           : c->console_path                 ? c->console_path
                                             : "/dev/console",
           c->console_buffer, c->loopback ? "true" : "false", c->log_forward ? c->log_forward : "");
    for (size_t i = 0; i < c->n_children; i++)
        printf("%s{\"name\":\"%s\",\"program\":\"%s\",\"args\":%zu}", i ? "," : "",
               c->children[i].name, c->children[i].argv[0], c->children[i].argc - 1);
    printf("],\"env\":[");
    for (size_t i = 0; i < c->n_env; i++) /* names only: a value may be sensitive */
        printf("%s\"%.*s\"", i ? "," : "", (int)strcspn(c->env[i], "="), c->env[i]);
    printf("]}\n");
}

/* Stays alive without children (an exit would end the enclave), still
 * reaping whatever is re-parented to us. */
static void idle_forever(void)
{
    for (;;) {
        if (waitpid(-1, NULL, 0) < 0)
            sleep(1);
    }
}

int main(int argc, char **argv)
{
    struct rt_config cfg;
    rt_config_init(&cfg);
    tr_log_set_component("teerex-init");
    bool check = false, idle_after_failure = false;
    int rc = INIT_EXIT_USAGE;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            rc = INIT_EXIT_OK;
            goto out;
        }
        if (!strcmp(a, "--check")) {
            check = true;
            continue;
        }
        if (!strcmp(a, "--no-loopback") || !strcmp(a, "--exit-on-signal")) {
            tr_ignore(rt_config_set(&cfg, a[2] == 'n' ? "loopback" : "exit_on_signal",
                                    a[2] == 'n' ? "off" : "on"));
            continue;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == 0) {
            usage(stderr);
            goto out;
        }
        char key[64];
        const char *val;
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (klen == 0 || klen >= sizeof(key)) {
            usage(stderr);
            goto out;
        }
        memcpy(key, a + 2, klen);
        key[klen] = 0;
        for (char *k = key; *k; k++)
            *k = *k == '-' ? '_' : *k;
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "teerex-init: --%s needs a value\n", key);
            goto out;
        }
        tr_result r;
        size_t line = 0;
        if (!strcmp(key, "config"))
            r = rt_config_load(&cfg, val, &line);
        else
            r = rt_config_set(&cfg, key, val);
        if (!tr_ok(r)) {
            rc = config_error(strcmp(key, "config") ? "option" : "config file", a, line, r);
            goto out;
        }
    }
    if (i < argc) {
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        tr_result r = rt_config_add_child_argv(&cfg, base, argv + i, (size_t)(argc - i));
        if (!tr_ok(r)) {
            rc = config_error("program", argv[i], 0, r);
            goto out;
        }
    }
    tr_result r = rt_config_validate(&cfg);
    if (!tr_ok(r)) {
        rc = config_error("configuration", NULL, 0, r);
        goto out;
    }
    if (check) {
        print_check(&cfg);
        rc = INIT_EXIT_OK;
        goto out;
    }
    rc = init_supervise(&cfg);
    /* Set-up failed (e.g. loopback): the error is on the console. Exiting
     * would end the enclave whether we are PID 1 or the AWS init's child,
     * so only the test mode reports it with an exit code. */
    if (rc != INIT_EXIT_OK && !cfg.exit_on_signal)
        idle_after_failure = true;
out:
    rt_config_free(&cfg);
    if ((rc != INIT_EXIT_OK && !check && getpid() == 1) || idle_after_failure)
        idle_forever();
    return rc;
}
