/* Per-request cost of the prover sandbox: a static program that exits at once
 * is spawned N times plainly (posix_spawn) and inside the sandbox (a job:
 * detached tmpfs, the input written, clone with namespaces, mount layout,
 * rlimits, uid change, seccomp; wait; the job removed), with each part alone
 * too, and a bare clone with each namespace flag. Prints median, 10th/90th
 * percentile, min and max in milliseconds.
 *   sandbox_bench TRUE_BINARY [N]        (run as root) */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
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

/* CPU time of this process and its reaped children, ms: what a run costs
 * whatever else the shared machine is doing. */
static double cpu_ms(void)
{
    struct rusage s, c;
    getrusage(RUSAGE_SELF, &s);
    getrusage(RUSAGE_CHILDREN, &c);
    double us =
        (double)(s.ru_utime.tv_sec + s.ru_stime.tv_sec + c.ru_utime.tv_sec + c.ru_stime.tv_sec) *
            1e6 +
        (double)(s.ru_utime.tv_usec + s.ru_stime.tv_usec + c.ru_utime.tv_usec + c.ru_stime.tv_usec);
    return us / 1e3;
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

static struct sbx *make_sbx(const char *what, unsigned parts)
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
    return sbx;
}

/* clone(2) with one namespace flag, the child exits at once, wait: what
 * each namespace costs to create and tear down. */
static void bench_clone(const char *what, unsigned long flag, int n, double *t)
{
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        long pid = syscall(SYS_clone, flag | SIGCHLD, NULL, NULL, NULL, NULL);
        if (pid == 0)
            _exit(0);
        waitpid((pid_t)pid, NULL, 0);
        t[i] = now_ms() - t0;
    }
    report(what, t, n);
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
    /* Round-robin: each round runs every variant once, so the machine's
     * load (it is shared) weighs on all of them alike; a short pause between
     * rounds lets the kernel tear down the last round's namespaces, as the
     * seconds between real proofs do. */
    static const struct {
        const char *what;
        int parts; /* -1: plain posix_spawn */
    } V[] = {
        {"plain posix_spawn + wait", -1},
        {"job, no part (dir in /dev/shm, clone)", 0},
        {"job, pid+net+ipc+uts namespaces", SBX_PID | SBX_NET | SBX_IPC | SBX_UTS},
        {"job, mount (tmpfs root, binds, /proc)", SBX_MOUNT},
        {"job, user+nnp+seccomp+rlimits", SBX_USER | SBX_NNP | SBX_SECCOMP | SBX_RLIMITS},
        {"job, full sandbox (every part)", SBX_ALL},
    };
    enum { NV = sizeof(V) / sizeof(V[0]) };
    struct sbx *sbx[NV] = {NULL};
    double *times[NV], *cpu[NV];
    for (int v = 0; v < NV; v++) {
        times[v] = calloc((size_t)n, sizeof(double));
        cpu[v] = calloc((size_t)n, sizeof(double));
        if (V[v].parts >= 0)
            sbx[v] = make_sbx(V[v].what, (unsigned)V[v].parts);
    }
    for (int i = 0; i < n; i++) {
        for (int v = 0; v < NV; v++) {
            double t0 = now_ms(), c0 = cpu_ms();
            int st = V[v].parts < 0 ? run_plain() : run_job(sbx[v]);
            times[v][i] = now_ms() - t0;
            cpu[v][i] = cpu_ms() - c0;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                fprintf(stderr, "%s: run %d failed (status %d)\n", V[v].what, i, st);
                return 1;
            }
        }
        usleep(2000);
    }
    double med[NV], cmed[NV];
    for (int v = 0; v < NV; v++) {
        med[v] = report(V[v].what, times[v], n);
        qsort(cpu[v], (size_t)n, sizeof(double), cmp_double);
        cmed[v] = cpu[v][n / 2];
        printf("%-44s CPU (teerexd + prover) median %.3f ms\n", "", cmed[v]);
        sbx_free(sbx[v]);
        free(times[v]);
        free(cpu[v]);
    }
    printf("sandbox set-up cost per request (full - plain medians): %.3f ms wall, %.3f ms CPU\n",
           med[NV - 1] - med[0], cmed[NV - 1] - cmed[0]);
    double *t = calloc((size_t)n, sizeof(double));
    bench_clone("clone + exit + wait, no namespace", 0, n, t);
    bench_clone("clone + exit + wait, CLONE_NEWPID", CLONE_NEWPID, n, t);
    bench_clone("clone + exit + wait, CLONE_NEWNET", CLONE_NEWNET, n, t);
    bench_clone("clone + exit + wait, CLONE_NEWNS", CLONE_NEWNS, n, t);
    bench_clone("clone + exit + wait, CLONE_NEWIPC", CLONE_NEWIPC, n, t);
    bench_clone("clone + exit + wait, CLONE_NEWUTS", CLONE_NEWUTS, n, t);
    free(t);
    return 0;
}
