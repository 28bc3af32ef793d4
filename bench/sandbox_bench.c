/* Per-request cost of the prover sandbox: a static program that exits at once
 * is spawned N times plainly (posix_spawn) and inside the sandbox (a job:
 * detached tmpfs, the input written, clone with namespaces, mount layout,
 * rlimits, uid change, seccomp; wait; the job removed), with each part alone
 * too. Prints median, 10th/90th percentile, min and max in milliseconds.
 *   sandbox_bench TRUE_BINARY [N]        (run as root) */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "teerex/clock.h"
#include "teerex/proc.h"
#include "teerex/sandbox.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof(t[0]), cmp_double);
    printf("%-44s median %7.3f ms  p10 %7.3f  p90 %7.3f  min %7.3f  max %7.3f  (n=%d)\n", what,
           t[n / 2], t[n / 10], t[n * 9 / 10], t[0], t[n - 1], n);
    return t[n / 2];
}

static const char *prog;
static char dir[1024];

static int run_plain(void)
{
    char *argv[] = {(char *)prog, NULL};
    struct tr_proc_spec s;
    tr_proc_spec_init(&s);
    s.path = prog;
    s.argv = argv;
    struct tr_proc p;
    if (!tr_ok(tr_proc_spawn(&s, &p)))
        return -1;
    tr_ignore(tr_proc_wait(&p, 0));
    return tr_proc_reap(&p);
}

static int run_job(struct sbx *sbx)
{
    struct sbx_job_opts o = {
        .ro_paths = {dir}, .n_ro = 1, .host_parent = "/dev/shm", .work_bytes = 64 << 20};
    struct sbx_job *j = NULL;
    static uint8_t input[1024];
    int st = -1;
    char *argv[] = {(char *)prog, NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", NULL};
    struct tr_proc_spec s;
    tr_proc_spec_init(&s);
    s.path = prog;
    s.argv = argv;
    s.envp = envp;
    struct tr_proc p;
    if (tr_ok(sbx_job_create(sbx, &o, &j)) &&
        tr_ok(sbx_job_write(j, "input", (struct tr_slice){input, sizeof(input)})) &&
        tr_ok(sbx_job_mkdir(j, "output")) && tr_ok(sbx_job_spawn(j, &s, &p))) {
        tr_ignore(tr_proc_wait(&p, 0));
        st = tr_proc_reap(&p);
    }
    sbx_job_destroy(j);
    return st;
}

static double bench_parts(const char *what, unsigned parts, int n, double *t)
{
    struct sbx_config c = {.uid = 65534,
                           .gid = 65534,
                           .memory_bytes = (uint64_t)16 << 30,
                           .file_bytes = 256 << 20,
                           .max_procs = 1024,
                           .max_files = 1024,
                           .cpu_seconds = 6000,
                           .disabled = SBX_ALL & ~parts};
    struct sbx *sbx;
    if (!tr_ok(sbx_create(&c, &sbx))) {
        fprintf(stderr, "sbx_create failed\n");
        exit(1);
    }
    if (sbx_active(sbx) != parts) {
        char a[128];
        sbx_parts_str(sbx_active(sbx), a, sizeof(a));
        fprintf(stderr, "%s: only %s available\n", what, a);
    }
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        int st = run_job(sbx);
        t[i] = now_ms() - t0;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "%s: run %d failed (status %d)\n", what, i, st);
            exit(1);
        }
    }
    sbx_free(sbx);
    return report(what, t, n);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s TRUE_BINARY [N]\n", argv[0]);
        return 2;
    }
    prog = argv[1];
    int n = argc > 2 ? atoi(argv[2]) : 200;
    if (n < 10)
        n = 10;
    snprintf(dir, sizeof(dir), "%s", prog);
    *strrchr(dir, '/') = '\0';
    double *t = calloc((size_t)n, sizeof(double));
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        if (run_plain() != 0)
            return 1;
        t[i] = now_ms() - t0;
    }
    double plain = report("plain posix_spawn + wait", t, n);
    bench_parts("job, no part (dir in /dev/shm, clone)", 0, n, t);
    bench_parts("job, pid+net+ipc+uts namespaces", SBX_PID | SBX_NET | SBX_IPC | SBX_UTS, n, t);
    bench_parts("job, mount (tmpfs root, binds, /proc)", SBX_MOUNT, n, t);
    bench_parts("job, user+nnp+seccomp+rlimits", SBX_USER | SBX_NNP | SBX_SECCOMP | SBX_RLIMITS, n,
                t);
    double full = bench_parts("job, full sandbox (every part)", SBX_ALL, n, t);
    printf("sandbox set-up cost per request (full - plain medians): %.3f ms\n", full - plain);
    free(t);
    return 0;
}
