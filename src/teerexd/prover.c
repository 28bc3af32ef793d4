/* bb process management (see prover.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prove_queue.h"
#include "prover.h"
#include "teerex/clock.h"
#include "teerex/proc.h"
#include "teerex/sandbox.h"
#include "teerex/http.h"
#include "teerex/limits.h"
#include "teerex/log.h"

#define MAX_OUTPUT_FILE ((size_t)64 * 1024 * 1024)

bool scheme_parse(const char *s, enum scheme *out)
{
    if (!s || strcmp(s, "chonk") == 0) {
        *out = SCHEME_CHONK;
        return true;
    }
    if (strcmp(s, "ultra_honk") == 0) {
        *out = SCHEME_ULTRA_HONK;
        return true;
    }
    return false;
}

const char *scheme_name(enum scheme s)
{
    return s == SCHEME_ULTRA_HONK ? "ultra_honk" : "chonk";
}

void prover_pick_work_dir(const struct config *cfg, char *out, size_t cap)
{
    if (cfg->work_dir[0]) {
        snprintf(out, cap, "%s", cfg->work_dir);
        return;
    }
    if (access("/dev/shm", W_OK | X_OK) == 0) {
        snprintf(out, cap, "/dev/shm");
        return;
    }
    const char *t = getenv("TMPDIR");
    snprintf(out, cap, "%s", t && *t ? t : "/tmp");
}

void prove_output_init(struct prove_output *o)
{
    memset(o, 0, sizeof(*o));
    tr_buf_init(&o->proof, MAX_OUTPUT_FILE + 4);
    tr_buf_init(&o->vk, MAX_OUTPUT_FILE);
    tr_buf_init(&o->public_inputs, MAX_OUTPUT_FILE);
    tr_buf_init(&o->log, TR_MAX_PROVER_STDERR + 1);
    o->exit_code = -1;
}

void prove_output_free(struct prove_output *o)
{
    tr_buf_free(&o->proof);
    tr_buf_free(&o->vk);
    tr_buf_free(&o->public_inputs);
    tr_buf_free(&o->log);
}

static TR_RESULT put(char *storage, size_t cap, size_t *used, const char *p, size_t n)
{
    TR_ENSURE(cap - *used > n, TR_ERR_PROVER_BAD_TEMPLATE);
    memcpy(storage + *used, p, n);
    *used += n;
    return TR_SUCCESS;
}

tr_result prover_expand(const char *tmpl, const char *const *bb_argv, const char *dir,
                        const char *crs, bool append_crs, char *storage, size_t cap,
                        char *argv[PROVER_MAX_ARGS + 1])
{
    size_t used = 0, argc = 0, nbb = 0;
    TR_ENSURE(bb_argv != NULL && bb_argv[0] != NULL, TR_ERR_PROVER_NO_BINARY);
    while (bb_argv[nbb])
        nbb++;
    const char *bb = bb_argv[nbb - 1];
    bool has_crs = strstr(tmpl, "{crs}") != NULL;
    char extra[] = " -c {crs}";
    const char *parts[2] = {tmpl, append_crs && crs && *crs && !has_crs ? extra : ""};
    for (int part = 0; part < 2; part++) {
        const char *p = parts[part];
        while (*p) {
            while (*p == ' ')
                p++;
            if (!*p)
                break;
            if (strncmp(p, "{bb}", 4) == 0 && (p[4] == ' ' || p[4] == '\0')) {
                /* the whole token: the bundle's argv prefix */
                for (size_t i = 0; i < nbb; i++) {
                    TR_ENSURE(argc < PROVER_MAX_ARGS, TR_ERR_PROVER_BAD_TEMPLATE);
                    argv[argc++] = storage + used;
                    TR_GUARD(put(storage, cap, &used, bb_argv[i], strlen(bb_argv[i]) + 1));
                }
                p += 4;
                continue;
            }
            TR_ENSURE(argc < PROVER_MAX_ARGS, TR_ERR_PROVER_BAD_TEMPLATE);
            argv[argc++] = storage + used;
            while (*p && *p != ' ') {
                const char *sub = NULL;
                size_t skip = 1;
                if (strncmp(p, "{bb}", 4) == 0) {
                    sub = bb;
                    skip = 4;
                } else if (strncmp(p, "{dir}", 5) == 0) {
                    sub = dir;
                    skip = 5;
                } else if (strncmp(p, "{crs}", 5) == 0) {
                    sub = crs ? crs : "";
                    skip = 5;
                }
                if (sub)
                    TR_GUARD(put(storage, cap, &used, sub, strlen(sub)));
                else
                    TR_GUARD(put(storage, cap, &used, p, 1));
                p += skip;
            }
            TR_GUARD(put(storage, cap, &used, "", 1));
        }
    }
    TR_ENSURE(argc > 0 && argv[0][0] == '/', TR_ERR_PROVER_BAD_TEMPLATE);
    argv[argc] = NULL;
    return TR_SUCCESS;
}

struct env_store {
    char *ptr[8];
    char home[1200], tmp[1200], crs[1100], hc[64];
};

/* Keeps the tail of bb's output (bounded) and notices "Builder failure". */
struct capture {
    struct tr_buf *log;
    bool builder_failure;
    char carry[32];
    size_t carry_len;
};

static void capture_add(struct capture *c, const uint8_t *p, size_t n)
{
    static const char NEEDLE[] = "Builder failure";
    char scan[32 + 4096];
    size_t k = 0;
    memcpy(scan, c->carry, c->carry_len);
    k = c->carry_len;
    memcpy(scan + k, p, n);
    k += n;
    if (memmem(scan, k, NEEDLE, sizeof(NEEDLE) - 1))
        c->builder_failure = true;
    c->carry_len = k < sizeof(NEEDLE) ? k : sizeof(NEEDLE);
    memcpy(c->carry, scan + k - c->carry_len, c->carry_len);

    struct tr_buf *b = c->log;
    size_t keep = TR_MAX_PROVER_STDERR;
    if (n >= keep) {
        tr_buf_clear(b);
        tr_ignore(tr_buf_append(b, p + n - keep, keep));
        return;
    }
    if (b->len + n > keep) {
        size_t drop = b->len + n - keep;
        memmove(b->data, b->data + drop, b->len - drop);
        b->len -= drop;
    }
    tr_ignore(tr_buf_append(b, p, n));
}

static void build_env(const struct config *cfg, const char *dir, struct env_store *e)
{
    size_t n = 0;
    e->ptr[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    snprintf(e->home, sizeof(e->home), "HOME=%s", dir);
    e->ptr[n++] = e->home;
    snprintf(e->tmp, sizeof(e->tmp), "TMPDIR=%s", dir);
    e->ptr[n++] = e->tmp;
    if (cfg->crs_path[0]) {
        snprintf(e->crs, sizeof(e->crs), "CRS_PATH=%s", cfg->crs_path);
        e->ptr[n++] = e->crs;
    }
    if (cfg->hardware_concurrency[0]) {
        snprintf(e->hc, sizeof(e->hc), "HARDWARE_CONCURRENCY=%s", cfg->hardware_concurrency);
        e->ptr[n++] = e->hc;
    }
    e->ptr[n] = NULL;
}

static void log_spawn_failure(const struct prover_env *env, const char *path, tr_result r,
                              const struct tr_proc *p)
{
    const char *hint = "";
    if (p->spawn_step == TR_PROC_STEP_EXEC && p->spawn_errno == EACCES &&
        (sbx_active(env->sbx) & SBX_USER))
        hint = "the prover runs as PROVER_UID: every directory on its path needs o+x, the file "
               "o+rx";
    else if (p->spawn_step == TR_PROC_STEP_EXEC && p->spawn_errno == ENOENT &&
             (sbx_active(env->sbx) & SBX_MOUNT))
        hint = "the prover sees only its directory, PROVER_HOST_LIBS, CRS_PATH and "
               "PROVER_SANDBOX_RO_PATHS: is its loader or interpreter elsewhere?";
    tr_log(TR_LOG_ERROR,
           r.err == TR_ERR_SANDBOX_SETUP ? "prover_sandbox_failed" : "prover_spawn_failed",
           "{s:s,s:s,s:s,s:s}", "path", path, "step", sbx_step_name(p->spawn_step), "errno",
           strerror(p->spawn_errno), "hint", hint);
}

/* Waits for bb, feeding its output to cap; kills it (its whole PID namespace
 * or group) on timeout, client hang-up or cancel. */
static TR_RESULT supervise(struct tr_proc *p, int rd, const struct config *cfg,
                           const struct prove_request *rq, struct capture *cap)
{
    uint64_t deadline = rq->deadline_ms ? rq->deadline_ms : tr_mono_ms() + cfg->prove_timeout_ms;
    int32_t why = TR_OK;
    bool pipe_open = true;
    while (!tr_proc_exited(p)) {
        struct pollfd pf[3];
        nfds_t n = 0;
        int i_pipe = -1, i_cli = -1;
        int pidfd = tr_proc_pollfd(p);
        if (pipe_open) {
            pf[n] = (struct pollfd){.fd = rd, .events = POLLIN};
            i_pipe = (int)n++;
        }
        if (pidfd >= 0)
            pf[n++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
        if (rq->client_fd >= 0) {
            pf[n] = (struct pollfd){.fd = rq->client_fd, .events = POLLRDHUP};
            i_cli = (int)n++;
        }
        uint64_t now = tr_mono_ms();
        if (now >= deadline) {
            why = TR_ERR_PROVER_TIMEOUT;
            break;
        }
        uint64_t wait = deadline - now;
        if (wait > 250 || pidfd < 0 || !pipe_open)
            wait = (pidfd < 0 || !pipe_open) ? 50 : 250;
        int pr = poll(pf, n, (int)wait);
        if (pr < 0 && errno != EINTR)
            break;
        if (rq->cancel && atomic_load(rq->cancel)) {
            why = TR_ERR_PROVER_SHUTDOWN;
            break;
        }
        if (i_cli >= 0 && (pf[i_cli].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            why = TR_ERR_PROVER_CLIENT_GONE;
            break;
        }
        if (i_pipe >= 0 && pf[i_pipe].revents) {
            uint8_t buf[4096];
            ssize_t k = read(rd, buf, sizeof(buf));
            if (k > 0)
                capture_add(cap, buf, (size_t)k);
            else if (k == 0 || errno != EINTR)
                pipe_open = false;
        }
    }
    if (why == TR_OK) {
        /* Drain what is left in the pipe (stragglers die at reap). */
        uint8_t buf[4096];
        int fl = fcntl(rd, F_GETFL);
        fcntl(rd, F_SETFL, fl | O_NONBLOCK);
        for (int i = 0; i < 64; i++) {
            ssize_t k = read(rd, buf, sizeof(buf));
            if (k <= 0)
                break;
            capture_add(cap, buf, (size_t)k);
        }
    }
    tr_proc_reap(p);
    if (why != TR_OK)
        TR_BAIL(why);
    return TR_SUCCESS;
}

static TR_RESULT write_inputs(const struct prove_request *rq, struct sbx_job *job)
{
    if (rq->scheme == SCHEME_CHONK)
        return sbx_job_write(job, "ivc-inputs.msgpack", rq->input);
    struct http_container c;
    TR_GUARD(http_container_parse(rq->input.ptr, rq->input.len, HTTP_CONTAINER_ULTRA_HONK, &c));
    for (size_t i = 0; i < c.count; i++)
        TR_GUARD(sbx_job_write(job, c.entries[i].name, c.entries[i].data));
    return TR_SUCCESS;
}

/* The proof as the SDK reads it: a 4-byte big-endian field count, then
 * output/proof (a whole number of 32-byte fields). */
static TR_RESULT read_outputs(struct sbx_job *job, struct prove_output *out)
{
    TR_GUARD(tr_buf_append_be32(&out->proof, 0));
    tr_result res = sbx_job_read(job, "output/proof", &out->proof);
    if (res.err == TR_ERR_NOT_FOUND)
        TR_BAIL(TR_ERR_PROVER_NO_PROOF);
    TR_GUARD(res);
    size_t plen = out->proof.len - 4;
    TR_ENSURE(plen > 0, TR_ERR_PROVER_NO_PROOF);
    TR_ENSURE(plen % 32 == 0 && plen / 32 <= UINT32_MAX, TR_ERR_PROVER_BAD_PROOF);
    uint32_t fields = (uint32_t)(plen / 32);
    out->proof.data[0] = (uint8_t)(fields >> 24);
    out->proof.data[1] = (uint8_t)(fields >> 16);
    out->proof.data[2] = (uint8_t)(fields >> 8);
    out->proof.data[3] = (uint8_t)fields;
    if (!tr_ok(sbx_job_read(job, "output/vk", &out->vk)))
        tr_buf_clear(&out->vk);
    if (!tr_ok(sbx_job_read(job, "output/public_inputs", &out->public_inputs)))
        tr_buf_clear(&out->public_inputs);
    return TR_SUCCESS;
}

/* What one run of a prover is: its sandbox job (the private work
 * directory, left for the caller to read and destroy), the reaped process
 * and how long it ran. */
struct run {
    struct sbx_job *job;
    struct tr_proc proc;
    uint64_t ms;
};

/* Fills argv (PROVER_MAX_ARGS + 1 entries, strings in ctx's storage) for a
 * run, after preparing the job's directory. */
typedef TR_RESULT (*make_argv_fn)(void *ctx, struct sbx_job *job, const char *const *bb_argv,
                                  char *argv[PROVER_MAX_ARGS + 1]);

/* The one way a prover runs, a proof or its start-up probe: the bundle's
 * argv, its read-only layout, a sandbox job, its environment, spawn, and
 * supervision (deadline, client hang-up, shutdown). */
static TR_RESULT run_prover(const struct prover_env *env, const struct bundle *bb, size_t input_len,
                            make_argv_fn make, void *ctx, const struct prove_request *rq,
                            struct capture *cap, struct run *run)
{
    const struct config *cfg = env->cfg;
    tr_result res = TR_SUCCESS;
    int pfd[2] = {-1, -1};
    run->job = NULL;
    run->proc = (struct tr_proc){.pid = 0, .pidfd = -1};
    run->ms = 0;
    const char *bb_argv[BUNDLE_ARGV_PREFIX + 1];
    TR_CHECK(bb != NULL && bb->bb[0], TR_ERR_PROVER_NO_BINARY);
    bundle_argv(bb, bb_argv);
    struct prover_layout lay;
    TR_TRY(prover_layout(cfg, bb, input_len, &lay));
    lay.opts.host_parent = env->work_parent;
    res = sbx_job_create(env->sbx, &lay.opts, &run->job);
    if (!tr_ok(res)) {
        tr_log(TR_LOG_ERROR, "prover_workdir_failed", "{s:s,s:s}", "error", tr_err_name(res.err),
               "errno", strerror(errno));
        goto out;
    }
    char *argv[PROVER_MAX_ARGS + 1];
    TR_TRY(make(ctx, run->job, bb_argv, argv));
    TR_CHECK(pipe2(pfd, O_CLOEXEC) == 0, TR_ERR_SYS);
    struct env_store envs;
    build_env(cfg, sbx_job_dir(run->job), &envs);
    struct tr_proc_spec spec;
    tr_proc_spec_init(&spec);
    spec.path = argv[0];
    spec.argv = argv;
    spec.envp = envs.ptr;
    spec.fd_out = spec.fd_err = pfd[1];
    uint64_t t0 = tr_mono_ms();
    res = sbx_job_spawn(run->job, &spec, &run->proc);
    close(pfd[1]);
    pfd[1] = -1;
    if (!tr_ok(res)) {
        log_spawn_failure(env, argv[0], res, &run->proc);
        if (res.err == TR_ERR_PROC_SPAWN)
            res = tr_fail_at(TR_ERR_PROVER_SPAWN, __FILE__, __LINE__);
        goto out;
    }
    res = supervise(&run->proc, pfd[0], cfg, rq, cap);
    run->ms = tr_mono_ms() - t0;
    if (tr_ok(res) && sbx_killed_by_filter(env->sbx, run->proc.status)) {
        tr_log(TR_LOG_ERROR, "prover_killed_by_filter", "{s:s,s:s}", "path", argv[0], "detail",
               "the sandbox's seccomp filter killed bb: it made a system call a prover never "
               "needs (ptrace, mount, bpf, ...); the kernel's audit log names it");
        res = tr_fail_at(TR_ERR_SANDBOX_KILLED, __FILE__, __LINE__);
    }
out:
    tr_proc_reap(&run->proc);
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    return res;
}

struct proof_args {
    const struct config *cfg;
    const struct prove_request *rq;
    char storage[16384];
};

/* The inputs into the job's directory, an output directory, the scheme's
 * command template. */
static tr_result proof_argv(void *ctx, struct sbx_job *job, const char *const *bb_argv,
                            char *argv[PROVER_MAX_ARGS + 1])
{
    struct proof_args *a = ctx;
    TR_GUARD(write_inputs(a->rq, job));
    TR_GUARD(sbx_job_mkdir(job, "output"));
    bool uh = a->rq->scheme == SCHEME_ULTRA_HONK;
    return prover_expand(uh ? a->cfg->cmd_ultra_honk : a->cfg->cmd_chonk, bb_argv, sbx_job_dir(job),
                         a->cfg->crs_path, uh, a->storage, sizeof(a->storage), argv);
}

tr_result prover_run(const struct prover_env *env, const struct prove_request *rq,
                     struct prove_output *out)
{
    tr_result res = TR_SUCCESS;
    struct run run;
    struct capture cap = {.log = &out->log};
    struct proof_args *args = malloc(sizeof(*args));
    TR_ENSURE(args != NULL, TR_ERR_NOMEM);
    args->cfg = env->cfg;
    args->rq = rq;
    res = run_prover(env, rq->bb, rq->input.len, proof_argv, args, rq, &cap, &run);
    out->prove_ms = run.ms;
    if (!tr_ok(res))
        goto out;
    int status = run.proc.status;
    if (WIFSIGNALED(status))
        TR_FAIL(TR_ERR_PROVER_SIGNAL);
    out->exit_code = WEXITSTATUS(status);
    TR_CHECK(out->exit_code == 0, TR_ERR_PROVER_EXIT);
    /* bb exits 0 on an unsatisfied witness: its log is the only sign. */
    TR_CHECK(!cap.builder_failure, TR_ERR_PROVER_BUILDER_FAILURE);
    TR_TRY(read_outputs(run.job, out));
out:
    sbx_job_destroy(run.job);
    free(args);
    return res;
}

/* argv: the bundle's, then --version. */
static tr_result version_argv(void *ctx, struct sbx_job *job, const char *const *bb_argv,
                              char *argv[PROVER_MAX_ARGS + 1])
{
    (void)ctx;
    (void)job;
    size_t n = 0;
    while (bb_argv[n] && n < PROVER_MAX_ARGS - 1) {
        argv[n] = (char *)bb_argv[n];
        n++;
    }
    argv[n++] = "--version";
    argv[n] = NULL;
    return TR_SUCCESS;
}

tr_result prover_probe(const struct prover_env *env, const struct bundle *bb, char *said,
                       size_t cap)
{
    struct tr_buf log;
    tr_buf_init(&log, TR_MAX_PROVER_STDERR + 1);
    struct capture capt = {.log = &log};
    struct prove_request rq = {.client_fd = -1, .deadline_ms = tr_mono_ms() + PROVER_PROBE_MS};
    struct run run;
    tr_result res = run_prover(env, bb, 0, version_argv, NULL, &rq, &capt, &run);
    sbx_job_destroy(run.job);
    /* The first line bb printed, control bytes replaced: a version, or why not. */
    char line[128];
    size_t k = 0;
    while (k < log.len && log.data[k] != '\n' && k < sizeof(line) - 1) {
        line[k] = log.data[k] < 0x20 || log.data[k] >= 0x7f ? '?' : (char)log.data[k];
        k++;
    }
    line[k] = '\0';
    tr_buf_free(&log);
    int status = run.proc.status;
    if (res.err == TR_ERR_PROVER_TIMEOUT) {
        snprintf(said, cap, "no answer to --version within %d ms", PROVER_PROBE_MS);
    } else if (res.err == TR_ERR_PROVER_SPAWN) {
        snprintf(said, cap, "could not be started: %s (prover_spawn_failed)",
                 run.proc.spawn_errno ? strerror(run.proc.spawn_errno) : tr_err_desc(res.err));
    } else if (!tr_ok(res)) {
        snprintf(said, cap, "%s", tr_err_desc(res.err));
    } else if (WIFSIGNALED(status)) {
        snprintf(said, cap, "killed by signal %d%s%s", WTERMSIG(status), k ? ": " : "", line);
        res = tr_fail_at(TR_ERR_PROVER_SIGNAL, __FILE__, __LINE__);
    } else if (WEXITSTATUS(status) != 0) {
        snprintf(said, cap, "exit %d%s%s", WEXITSTATUS(status), k ? ": " : "", line);
        res = tr_fail_at(TR_ERR_PROVER_EXIT, __FILE__, __LINE__);
    } else if (k == 0) {
        snprintf(said, cap, "printed no version");
        res = tr_fail_at(TR_ERR_PROVER_EXIT, __FILE__, __LINE__);
    } else {
        snprintf(said, cap, "%s", line);
    }
    return res;
}
