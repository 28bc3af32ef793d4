/* teerexd: the tee-rex proving server (PROTOCOL.md). See `teerexd --help`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "listeners.h"
#include "prover.h"
#include "server.h"
#include "teerex/clock.h"
#include "teerex/log.h"
#include "teerex/pgp.h"
#include "teerex/secmem.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_TEE = 3, EXIT_LISTEN = 4 };

static TR_RESULT make_key(struct server *s)
{
    if (s->attest->get_random) {
        uint8_t seed[64];
        TR_GUARD(s->attest->get_random(s->attest, seed, sizeof(seed)));
        RAND_add(seed, sizeof(seed), (double)sizeof(seed));
        tr_secmem_wipe(seed, sizeof(seed));
    }
    TR_GUARD(pgp_key_generate("TEE-Rex", &s->key));
    struct tr_buf b;
    tr_buf_init(&b, 0);
    tr_result res = TR_SUCCESS;
    TR_TRY(pgp_key_armored_public(s->key, &b));
    s->armored = malloc(b.len + 1);
    TR_CHECK(s->armored != NULL, TR_ERR_NOMEM);
    memcpy(s->armored, b.data, b.len);
    s->armored[b.len] = '\0';
    s->armored_len = b.len;
out:
    tr_buf_free(&b);
    return res;
}

/* Drains in-flight proofs within SHUTDOWN_GRACE, then cancels the rest. */
/* BB_POLICY and, when pinned, the allow-list BB_ALLOWED_FILE (required:
 * a pinned server without a list could run nothing, so that is a
 * configuration error, exit 2). */
static TR_RESULT load_policy(struct server *s)
{
    s->policy.pinned = strcmp(s->cfg.bb_policy, "pinned") == 0;
    s->policy.n = 0;
    if (!s->policy.pinned) {
        if (s->cfg.bb_allowed_file[0])
            tr_log(TR_LOG_WARN, "bb_allowed_file_ignored", "{s:s}", "detail",
                   "BB_POLICY=open: any bundle is accepted; BB_ALLOWED_FILE is not read");
        return TR_SUCCESS;
    }
    size_t line = 0;
    tr_result r = bundle_allowlist_load(s->cfg.bb_allowed_file, &s->policy, &line);
    if (!tr_ok(r)) {
        fprintf(stderr,
                "teerexd: BB_POLICY=pinned needs BB_ALLOWED_FILE, a readable list of "
                "'VERSION DIGEST' lines (file '%s', line %zu)\n",
                s->cfg.bb_allowed_file, line);
        tr_log(TR_LOG_ERROR, "bb_allowed_file_invalid", "{s:s,s:I}", "file", s->cfg.bb_allowed_file,
               "line", (json_int_t)line);
        return r;
    }
    tr_log(TR_LOG_INFO, "bb_policy", "{s:s,s:s,s:I}", "policy", "pinned", "file",
           s->cfg.bb_allowed_file, "allowed", (json_int_t)s->policy.n);
    return TR_SUCCESS;
}

/* SIGTERM: no new connections (listeners closed) and no new /prove on open
 * ones (503), but every /prove already accepted, running or still queued,
 * gets SHUTDOWN_GRACE to finish; only then are the rest cancelled. */
static void drain(struct server *s)
{
    uint64_t t0 = tr_mono_ms(), end = t0 + s->cfg.shutdown_grace_ms;
    unsigned open0 = atomic_load(&s->prove_open);
    while ((atomic_load(&s->prove_open) > 0 || atomic_load(&s->inflight) > 0) && tr_mono_ms() < end)
        usleep(50 * 1000);
    tr_log(TR_LOG_INFO, "shutdown_drained", "{s:i,s:i,s:I}", "open_at_signal", (int)open0, "left",
           (int)atomic_load(&s->prove_open), "ms", (json_int_t)(tr_mono_ms() - t0));
    prove_queue_close(&s->queue);
    if (atomic_load(&s->inflight) > 0) {
        tr_log(TR_LOG_WARN, "shutdown_cancel", "{s:i}", "inflight", (int)atomic_load(&s->inflight));
        atomic_store(&s->cancel, true);
        end = tr_mono_ms() + 5000;
        while (atomic_load(&s->inflight) > 0 && tr_mono_ms() < end)
            usleep(20 * 1000);
    }
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            config_print_help("teerexd");
            return EXIT_OK;
        }
    }
    /* Nothing at our uid may read our memory (the key) or ptrace us. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    static struct server srv; /* large (versions table): not on the stack */
    struct server *s = &srv;
    tr_log_set_component("teerexd");
    if (!tr_ok(config_load(argc, argv, &s->cfg)))
        return EXIT_USAGE;
    tr_log_set_level((enum tr_log_level)s->cfg.log_level);

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* every thread inherits it; main sigwaits */
    signal(SIGPIPE, SIG_IGN);

    int code = EXIT_RUNTIME;
    struct listeners ls;
    listeners_init(&ls);
    readiness_init(&s->ready);
    bool queue_ready = false, versions_ready = false;
    if (!tr_ok(tr_secmem_init(0)))
        tr_log(TR_LOG_WARN, "secure_heap_unavailable", NULL);
    /* Before the key exists: the probe's children copy our memory. */
    prover_pick_work_dir(&s->cfg, s->work_parent, sizeof(s->work_parent));
    tr_result sr = prover_sandbox_start(&s->cfg, s->work_parent, &s->sbx);
    if (!tr_ok(sr)) {
        code = sr.err == TR_ERR_SANDBOX_UNAVAILABLE ? EXIT_TEE
               : sr.err == TR_ERR_USAGE             ? EXIT_USAGE
                                                    : EXIT_RUNTIME;
        goto out;
    }
    if (!tr_ok(attest_provider_create(s->cfg.tee_mode, &s->attest))) {
        fprintf(stderr, "teerexd: TEE_MODE=%s is not available in this build or on this machine\n",
                s->cfg.tee_mode);
        code = EXIT_TEE;
        goto out;
    }
    tr_result r = make_key(s);
    if (!tr_ok(r)) {
        tr_log_result(TR_LOG_ERROR, "key_generation_failed", r);
        goto out;
    }
    if (!tr_ok(load_policy(s))) {
        code = EXIT_USAGE;
        goto out;
    }
    if (!tr_ok(versions_init(&s->versions, s->cfg.bb_versions_dir, s->cfg.bb_binary_path,
                             s->cfg.bb_default_version, &s->policy)))
        goto out;
    versions_ready = true;
    versions_clean_staging(&s->versions);
    if (!tr_ok(provision_init(&s->prov, &s->cfg, &s->versions, &s->policy))) {
        code = EXIT_USAGE;
        goto out;
    }
    if (!tr_ok(rate_limit_create(s->cfg.rate_limit_max, s->cfg.rate_limit_window_ms,
                                 (size_t)s->cfg.rate_limit_clients, &s->rl)))
        goto out;
    prove_queue_init(&s->queue, (unsigned)s->cfg.prove_concurrency,
                     (unsigned)s->cfg.prove_queue_limit);
    queue_ready = true;
    /* What every proof needs, checked once now: a failure is reported by
     * /health and refuses the /prove that needs it, it does not stop us. */
    readiness_run(s);
    if (!tr_ok(server_start(s))) {
        tr_log(TR_LOG_ERROR, "http_start_failed", NULL);
        goto out;
    }
    if (!tr_ok(listeners_open(&ls, s->cfg.listen, LISTEN_PUBLIC)) ||
        (s->cfg.admin_listen[0] &&
         !tr_ok(listeners_open(&ls, s->cfg.admin_listen, LISTEN_ADMIN))) ||
        (s->cfg.ops_listen[0] && !tr_ok(listeners_open(&ls, s->cfg.ops_listen, LISTEN_OPS))) ||
        !tr_ok(listeners_start(&ls, s))) {
        code = EXIT_LISTEN;
        goto out;
    }
    tr_log(TR_LOG_INFO, "ready", "{s:s,s:s,s:s,s:s,s:i,s:I,s:I,s:I,s:I}", "tee_mode",
           s->cfg.tee_mode, "status", server_status(s, NULL), "listen", s->cfg.listen, "work_dir",
           s->work_parent, "pid", (int)getpid(), "max_body_bytes",
           (json_int_t)s->cfg.max_body_bytes, "body_timeout_ms", (json_int_t)s->cfg.body_timeout_ms,
           "body_min_rate", (json_int_t)s->cfg.body_min_rate, "max_inflight_bytes",
           (json_int_t)s->cfg.max_inflight_bytes);
    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            tr_log(TR_LOG_INFO, "sighup_rescan", NULL);
            tr_ignore(versions_rescan(&s->versions));
            readiness_run(s);
            continue;
        }
        tr_log(TR_LOG_INFO, "shutdown", "{s:i}", "signal", sig);
        break;
    }
    listeners_stop(&ls);
    atomic_store(&s->stopping, true);
    drain(s);
    code = EXIT_OK;
out:
    listeners_stop(&ls);
    server_stop(s);
    if (queue_ready)
        prove_queue_destroy(&s->queue);
    rate_limit_free(s->rl);
    if (versions_ready) {
        provision_destroy(&s->prov);
        versions_destroy(&s->versions);
    }
    pgp_key_free(s->key);
    free(s->armored);
    attest_provider_destroy(s->attest);
    sbx_free(s->sbx);
    readiness_destroy(&s->ready);
    tr_log(TR_LOG_INFO, "exit", "{s:i}", "code", code);
    return code;
}
