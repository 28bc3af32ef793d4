/* bb process management (see prover.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prove_queue.h"
#include "prover.h"
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

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
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

static TR_RESULT write_file(const char *dir, const char *name, struct tr_slice data)
{
    char path[1200];
    int w = snprintf(path, sizeof(path), "%s/%s", dir, name);
    TR_ENSURE(w > 0 && (size_t)w < sizeof(path), TR_ERR_OVERFLOW);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    TR_ENSURE(fd >= 0, TR_ERR_IO);
    const uint8_t *p = data.ptr;
    size_t n = data.len;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            close(fd);
            TR_BAIL(TR_ERR_IO);
        }
        p += k;
        n -= (size_t)k;
    }
    TR_ENSURE(close(fd) == 0, TR_ERR_IO);
    return TR_SUCCESS;
}

/* TR_ERR_NOT_FOUND when absent (not an error for vk / public_inputs). */
static TR_RESULT read_file(const char *dir, const char *name, struct tr_buf *out)
{
    char path[1200];
    int w = snprintf(path, sizeof(path), "%s/%s", dir, name);
    TR_ENSURE(w > 0 && (size_t)w < sizeof(path), TR_ERR_OVERFLOW);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return tr_fail_at(TR_ERR_NOT_FOUND, __FILE__, __LINE__);
    tr_result res = TR_SUCCESS;
    for (;;) {
        uint8_t *dst;
        TR_TRY(tr_buf_reserve(out, 65536));
        dst = out->data + out->len;
        ssize_t k = read(fd, dst, out->cap - out->len);
        if (k < 0 && errno == EINTR)
            continue;
        TR_CHECK(k >= 0, TR_ERR_IO);
        if (k == 0)
            break;
        out->len += (size_t)k;
    }
out:
    close(fd);
    return res;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        return rmdir(path) == 0 ? 0 : 0;
    return unlink(path) == 0 ? 0 : 0;
}

static void remove_tree(const char *dir)
{
    if (nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 || access(dir, F_OK) == 0)
        tr_log(TR_LOG_ERROR, "workdir_remove_failed", "{s:s}", "dir", dir);
}

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

static TR_RESULT spawn(char *const argv[], const char *dir, const struct config *cfg, int out_fd,
                       pid_t *out_pid)
{
    char env_home[1200], env_crs[1100], env_hc[64];
    char *envp[6];
    size_t ne = 0;
    envp[ne++] = "PATH=/usr/local/bin:/usr/bin:/bin";
    snprintf(env_home, sizeof(env_home), "HOME=%s", dir);
    envp[ne++] = env_home;
    if (cfg->crs_path[0]) {
        snprintf(env_crs, sizeof(env_crs), "CRS_PATH=%s", cfg->crs_path);
        envp[ne++] = env_crs;
    }
    if (cfg->hardware_concurrency[0]) {
        snprintf(env_hc, sizeof(env_hc), "HARDWARE_CONCURRENCY=%s", cfg->hardware_concurrency);
        envp[ne++] = env_hc;
    }
    envp[ne] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGHUP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &defaults);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    int rc = posix_spawn(out_pid, argv[0], &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        tr_log(TR_LOG_ERROR, "prover_spawn_failed", "{s:s,s:s}", "path", argv[0], "errno",
               strerror(rc));
        TR_BAIL(TR_ERR_PROVER_SPAWN);
    }
    return TR_SUCCESS;
}

/* Waits for the child, feeding its output to cap; kills the group on
 * timeout, client hang-up or cancel. */
static TR_RESULT supervise(pid_t pid, int rd, const struct config *cfg,
                           const struct prove_request *rq, struct capture *cap, int *out_status)
{
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    uint64_t deadline = rq->deadline_ms ? rq->deadline_ms : now_ms() + cfg->prove_timeout_ms;
    int32_t why = TR_OK;
    bool exited = false, pipe_open = true;
    int status = 0;
    while (!exited) {
        struct pollfd pf[3];
        nfds_t n = 0;
        int i_pipe = -1, i_pid = -1, i_cli = -1;
        if (pipe_open) {
            pf[n] = (struct pollfd){.fd = rd, .events = POLLIN};
            i_pipe = (int)n++;
        }
        if (pidfd >= 0) {
            pf[n] = (struct pollfd){.fd = pidfd, .events = POLLIN};
            i_pid = (int)n++;
        }
        if (rq->client_fd >= 0) {
            pf[n] = (struct pollfd){.fd = rq->client_fd, .events = POLLRDHUP};
            i_cli = (int)n++;
        }
        uint64_t now = now_ms();
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
        if (i_pid < 0 || (pf[i_pid].revents & POLLIN)) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid)
                exited = true;
        }
    }
    if (!exited) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    } else {
        /* Drain what is left in the pipe, then kill stragglers bb left in its group. */
        uint8_t buf[4096];
        int fl = fcntl(rd, F_GETFL);
        fcntl(rd, F_SETFL, fl | O_NONBLOCK);
        for (int i = 0; i < 64; i++) {
            ssize_t k = read(rd, buf, sizeof(buf));
            if (k <= 0)
                break;
            capture_add(cap, buf, (size_t)k);
        }
        kill(-pid, SIGKILL);
    }
    if (pidfd >= 0)
        close(pidfd);
    *out_status = status;
    if (why != TR_OK)
        TR_BAIL(why);
    return TR_SUCCESS;
}

static TR_RESULT write_inputs(const struct prove_request *rq, const char *dir)
{
    if (rq->scheme == SCHEME_CHONK)
        return write_file(dir, "ivc-inputs.msgpack", rq->input);
    struct http_container c;
    TR_GUARD(http_container_parse(rq->input.ptr, rq->input.len, HTTP_CONTAINER_ULTRA_HONK, &c));
    for (size_t i = 0; i < c.count; i++)
        TR_GUARD(write_file(dir, c.entries[i].name, c.entries[i].data));
    return TR_SUCCESS;
}

tr_result prover_run(const struct config *cfg, const char *work_parent,
                     const struct prove_request *rq, struct prove_output *out)
{
    tr_result res = TR_SUCCESS;
    char dir[1100];
    int pfd[2] = {-1, -1};
    bool made_dir = false;
    const char *bb_argv[BUNDLE_ARGV_PREFIX + 1];
    TR_CHECK(rq->bb != NULL && rq->bb->bb[0], TR_ERR_PROVER_NO_BINARY);
    bundle_argv(rq->bb, bb_argv);
    int w = snprintf(dir, sizeof(dir), "%s/teerexd-XXXXXX", work_parent);
    TR_CHECK(w > 0 && (size_t)w < sizeof(dir), TR_ERR_PROVER_TEMPDIR);
    TR_CHECK(mkdtemp(dir) != NULL, TR_ERR_PROVER_TEMPDIR); /* mode 0700 */
    made_dir = true;
    TR_TRY(write_inputs(rq, dir));
    char outdir[1200];
    snprintf(outdir, sizeof(outdir), "%s/output", dir);
    TR_CHECK(mkdir(outdir, 0700) == 0, TR_ERR_PROVER_TEMPDIR);

    static const size_t STORAGE = 16384;
    char *storage = malloc(STORAGE);
    TR_CHECK(storage != NULL, TR_ERR_NOMEM);
    char *argv[PROVER_MAX_ARGS + 1];
    const char *tmpl = rq->scheme == SCHEME_ULTRA_HONK ? cfg->cmd_ultra_honk : cfg->cmd_chonk;
    res = prover_expand(tmpl, bb_argv, dir, cfg->crs_path, rq->scheme == SCHEME_ULTRA_HONK, storage,
                        STORAGE, argv);
    if (!tr_ok(res)) {
        free(storage);
        goto out;
    }
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        free(storage);
        TR_FAIL(TR_ERR_SYS);
    }
    pid_t pid;
    uint64_t t0 = now_ms();
    res = spawn(argv, dir, cfg, pfd[1], &pid);
    free(storage);
    close(pfd[1]);
    pfd[1] = -1;
    if (!tr_ok(res))
        goto out;
    struct capture cap = {.log = &out->log};
    int status = 0;
    res = supervise(pid, pfd[0], cfg, rq, &cap, &status);
    out->prove_ms = now_ms() - t0;
    if (!tr_ok(res))
        goto out;
    if (WIFSIGNALED(status))
        TR_FAIL(TR_ERR_PROVER_SIGNAL);
    out->exit_code = WEXITSTATUS(status);
    TR_CHECK(out->exit_code == 0, TR_ERR_PROVER_EXIT);
    /* bb exits 0 on an unsatisfied witness: its log is the only sign. */
    TR_CHECK(!cap.builder_failure, TR_ERR_PROVER_BUILDER_FAILURE);
    TR_TRY(tr_buf_append_be32(&out->proof, 0));
    res = read_file(outdir, "proof", &out->proof);
    if (res.err == TR_ERR_NOT_FOUND)
        TR_FAIL(TR_ERR_PROVER_NO_PROOF);
    TR_TRY(res);
    size_t plen = out->proof.len - 4;
    TR_CHECK(plen > 0, TR_ERR_PROVER_NO_PROOF);
    TR_CHECK(plen % 32 == 0 && plen / 32 <= UINT32_MAX, TR_ERR_PROVER_BAD_PROOF);
    uint32_t fields = (uint32_t)(plen / 32);
    out->proof.data[0] = (uint8_t)(fields >> 24);
    out->proof.data[1] = (uint8_t)(fields >> 16);
    out->proof.data[2] = (uint8_t)(fields >> 8);
    out->proof.data[3] = (uint8_t)fields;
    tr_result r2 = read_file(outdir, "vk", &out->vk);
    if (!tr_ok(r2))
        tr_buf_clear(&out->vk);
    r2 = read_file(outdir, "public_inputs", &out->public_inputs);
    if (!tr_ok(r2))
        tr_buf_clear(&out->public_inputs);
out:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (made_dir)
        remove_tree(dir);
    return res;
}
