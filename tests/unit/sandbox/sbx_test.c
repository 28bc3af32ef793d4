/* lib/sandbox: part names, path checks, the probe, output reads that follow
 * no link and open no FIFO, and the hostile prover run directly in a job
 * (every escape denied; nothing of it survives the job). */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "teerex/clock.h"
#include "teerex/sandbox.h"

static char hostile_dir[1024], hostile[1100];

static struct sbx_config base_config(void)
{
    struct sbx_config c = {.uid = 65534,
                           .gid = 65534,
                           .memory_bytes = (uint64_t)512 << 20,
                           .file_bytes = (uint64_t)8 << 20,
                           .max_procs = 64,
                           .max_files = 64,
                           .cpu_seconds = 60};
    return c;
}

static void test_parts(void)
{
    unsigned m = 0;
    EXPECT_OK(sbx_parts_parse("net,pid", &m));
    EXPECT_EQ(m, SBX_NET | SBX_PID);
    EXPECT_OK(sbx_parts_parse(" seccomp , mount,", &m));
    EXPECT_EQ(m, SBX_SECCOMP | SBX_MOUNT);
    EXPECT_OK(sbx_parts_parse("all", &m));
    EXPECT_EQ(m, SBX_ALL);
    EXPECT_OK(sbx_parts_parse("", &m));
    EXPECT_EQ(m, 0);
    EXPECT_ERR(sbx_parts_parse("net,bogus", &m), TR_ERR_USAGE);
    EXPECT_ERR(sbx_parts_parse("netx", &m), TR_ERR_USAGE);
    char s[128];
    sbx_parts_str(SBX_ALL, s, sizeof(s));
    EXPECT_STR_EQ(s, "user,nnp,seccomp,rlimits,pid,net,mount,ipc,uts");
    sbx_parts_str(SBX_USER | SBX_UTS, s, sizeof(s));
    EXPECT_STR_EQ(s, "user,uts");
    EXPECT_STR_EQ(sbx_part_name(SBX_NET), "net");
    EXPECT_TRUE(sbx_part_name(3) == NULL);
    EXPECT_STR_EQ(sbx_step_name(TR_PROC_STEP_EXEC), "exec");
    EXPECT_STR_EQ(sbx_step_name(TR_PROC_STEP_HOOK + 9), "pivot_root");
}

static void test_paths(struct sbx *s)
{
    static const char *const bad[] = {
        "lib",    "/",     "/usr//lib", "/usr/./lib",         "/usr/..", "/usr/lib/", "/job",
        "/job/x", "/proc", "/dev/shm",  "/nonexistent-teerex"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sbx_job_opts o = {
            .ro_paths = {bad[i]}, .n_ro = 1, .host_parent = "/tmp", .work_bytes = 1 << 20};
        struct sbx_job *j = NULL;
        tr_result r = sbx_job_create(s, &o, &j);
        TH_REPORT(r.err == TR_ERR_SANDBOX_PATH, "read-only path %s: %s", bad[i],
                  tr_err_name(r.err));
        sbx_job_destroy(j);
    }
}

/* Runs argv in a job with these read-only paths; returns the wait status. */
static int run_in_job(struct sbx *s, struct sbx_job *j, char **argv)
{
    struct tr_proc_spec spec;
    tr_proc_spec_init(&spec);
    spec.path = argv[0];
    spec.argv = argv;
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    spec.envp = env;
    struct tr_proc p;
    tr_result r = sbx_job_spawn(j, &spec, &p);
    TH_REPORT(tr_ok(r), "spawn %s: %s (step %s, %s)", argv[0], tr_err_name(r.err),
              sbx_step_name(p.spawn_step), strerror(p.spawn_errno));
    if (!tr_ok(r))
        return -1;
    EXPECT_OK(tr_proc_wait(&p, tr_mono_ms() + 60000));
    (void)s;
    return tr_proc_reap(&p);
}

/* A prover that leaves a symlink, a FIFO and a directory where files belong. */
static void test_read_guards(struct sbx *s)
{
    struct sbx_job_opts o = {.ro_paths = {"/bin", "/usr/bin", "/lib64", "/lib/x86_64-linux-gnu",
                                          "/usr/lib/x86_64-linux-gnu"},
                             .n_ro = 5,
                             .host_parent = "/tmp",
                             .work_bytes = 1 << 20};
    struct sbx_job *j = NULL;
    EXPECT_OK(sbx_job_create(s, &o, &j));
    if (!j)
        return;
    const char *d = sbx_job_dir(j);
    EXPECT_OK(sbx_job_write(j, "in", (struct tr_slice){(const uint8_t *)"hello", 5}));
    EXPECT_ERR(sbx_job_write(j, "in", (struct tr_slice){(const uint8_t *)"x", 1}),
               TR_ERR_SANDBOX_WORKDIR); /* never overwritten */
    EXPECT_OK(sbx_job_mkdir(j, "output"));
    char script[2048];
    snprintf(script, sizeof(script),
             "cd %s && ln -s /etc/passwd output/link && mkfifo output/fifo && mkdir output/dir && "
             "ln -s / up && cat in > output/copy",
             d);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    int st = run_in_job(s, j, argv);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    EXPECT_OK(sbx_job_read(j, "output/copy", &b));
    EXPECT_TRUE(b.len == 5 && memcmp(b.data, "hello", 5) == 0);
    uint64_t t0 = tr_mono_ms();
    EXPECT_ERR(sbx_job_read(j, "output/fifo", &b), TR_ERR_SANDBOX_OUTPUT);
    EXPECT_TRUE(tr_mono_ms() - t0 < 1000); /* did not wait for a writer */
    EXPECT_ERR(sbx_job_read(j, "output/link", &b), TR_ERR_SANDBOX_OUTPUT);
    EXPECT_ERR(sbx_job_read(j, "output/dir", &b), TR_ERR_SANDBOX_OUTPUT);
    EXPECT_ERR(sbx_job_read(j, "up/etc/passwd", &b), TR_ERR_SANDBOX_OUTPUT);
    EXPECT_ERR(sbx_job_read(j, "output/none", &b), TR_ERR_NOT_FOUND);
    EXPECT_ERR(sbx_job_read(j, "../x", &b), TR_ERR_NOT_FOUND);
    EXPECT_EQ(b.len, 5);
    tr_buf_free(&b);
    sbx_job_destroy(j);
}

/* The report the hostile prover wrote: byte 1..31 of each 32-byte field. */
static size_t decode(const struct tr_buf *proof, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t off = 0; off + 32 <= proof->len && n + 31 < cap; off += 32) {
        if (proof->data[off] != 0)
            return 0; /* not below the field modulus */
        memcpy(out + n, proof->data + off + 1, 31);
        n += 31;
    }
    out[n] = '\0';
    return strlen(out);
}

static const char *line_of(const char *report, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = report; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ' ')
            return p;
    }
    return NULL;
}

static bool pid_of_path_running(const char *path)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    bool found = false;
    while (d && !found && (de = readdir(d)) != NULL) {
        char p[300], cmd[1200];
        snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        cmd[n] = '\0';
        found = n > 0 && strcmp(cmd, path) == 0;
    }
    if (d)
        closedir(d);
    return found;
}

static void test_hostile(struct sbx *s)
{
    struct sbx_job_opts o = {
        .ro_paths = {hostile_dir}, .n_ro = 1, .host_parent = "/tmp", .work_bytes = 64 << 20};
    struct sbx_job *j = NULL;
    EXPECT_OK(sbx_job_create(s, &o, &j));
    if (!j)
        return;
    EXPECT_OK(sbx_job_mkdir(j, "output"));
    char out[1100];
    snprintf(out, sizeof(out), "%s/output", sbx_job_dir(j));
    char *argv[] = {hostile, "prove", "-o", out, NULL};
    int st = run_in_job(s, j, argv);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct tr_buf proof;
    tr_buf_init(&proof, 1 << 20);
    EXPECT_OK(sbx_job_read(j, "output/proof", &proof));
    EXPECT_TRUE(proof.len >= 1935 * 32 && proof.len % 32 == 0);
    static char report[64 * 1024];
    EXPECT_TRUE(decode(&proof, report, sizeof(report)) > 0);
    tr_buf_free(&proof);
    printf("hostile prover's report:\n%s", report);
    unsigned act = sbx_active(s);
    /* What each attempt needs to be denied: valgrind, for one, lacks seccomp,
     * the new mount API and real rlimits, so its run has fewer parts. */
    static const struct {
        const char *name;
        unsigned needs;
    } expect[] = {
        {"proc_mem", SBX_PID},
        {"proc_environ", SBX_PID},
        {"ptrace_attach", SBX_PID},
        {"process_vm_readv", SBX_PID},
        {"kill_teerexd", SBX_PID},
        {"write_etc", SBX_USER},
        {"write_own_dir", SBX_USER},
        {"overwrite_bb", SBX_USER},
        {"setuid0", SBX_USER},
        {"mount", SBX_USER},
        {"bpf", SBX_USER},
        {"keyctl", 0},
        {"perf_event_open", 0},
        {"tcp6_loopback", SBX_NET},
        {"vsock_parent", SBX_NET},
        {"unshare", SBX_SECCOMP},
        {"io_uring_setup", SBX_SECCOMP},
        {"memory_hog", SBX_RLIMITS},
        {"fork_bomb", SBX_RLIMITS},
        {"file_size", SBX_RLIMITS},
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        const char *n = expect[i].name, *l = line_of(report, n);
        if ((act & expect[i].needs) != expect[i].needs)
            continue;
        TH_REPORT(l && strncmp(l + strlen(n), " DENIED", 7) == 0, "%s: %.*s", n,
                  l ? (int)strcspn(l, "\n") : 6, l ? l : "absent");
    }
    if (act & SBX_SECCOMP) {
        const char *l = line_of(report, "ptrace_attach");
        EXPECT_TRUE(l && strstr(l, "SIGSYS") != NULL);
    }
    if ((act & (SBX_USER | SBX_NNP | SBX_SECCOMP)) == (SBX_USER | SBX_NNP | SBX_SECCOMP)) {
        const char *l = line_of(report, "identity");
        EXPECT_TRUE(l && strstr(l, "Uid: 65534 65534 65534 65534;") &&
                    strstr(l, "CapEff: 0000000000000000;") &&
                    strstr(l, "CapBnd: 0000000000000000;") && strstr(l, "NoNewPrivs: 1;") &&
                    strstr(l, "Seccomp: 2;"));
    }
    if (act & SBX_PID)
        EXPECT_TRUE(line_of(report, "identity") && strstr(line_of(report, "identity"), "pid 1 "));
    sbx_job_destroy(j);
    /* The process it left in its own session died with its PID namespace. */
    bool gone = false;
    for (int i = 0; i < 100 && !gone; i++) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        gone = !pid_of_path_running(hostile);
        if (!gone)
            usleep(20000);
    }
    TH_REPORT(gone || !(act & SBX_PID), "a hostile process outlived its job");
}

/* A copy of the hostile prover in a directory of its own, aimed at us. */
static bool install_hostile(void)
{
    const char *build = getenv("TR_BUILD_DIR");
    char src[1100], cmd[4096];
    snprintf(src, sizeof(src), "%s/tests/hostile-bb/bb", build ? build : "");
    snprintf(hostile_dir, sizeof(hostile_dir), "/tmp/teerex-sbx-test.XXXXXX");
    if (!build || access(src, X_OK) != 0 || !mkdtemp(hostile_dir))
        return false;
    chmod(hostile_dir, 0755);
    snprintf(hostile, sizeof(hostile), "%s/bb", hostile_dir);
    snprintf(cmd, sizeof(cmd),
             "cp '%s' '%s' && printf 'teerexd_pid %d\nmemory_target_mb 2048\nfork_target 2000\n' "
             "> '%s/hostile.conf'",
             src, hostile, (int)getpid(), hostile_dir);
    return system(cmd) == 0;
}

int main(void)
{
    bool have_hostile = install_hostile();
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans come to us, we reap them */
    RUN_TEST(test_parts);
    struct sbx_config c = base_config();
    struct sbx *s = NULL;
    EXPECT_OK(sbx_create(&c, &s));
    if (!s)
        return TEST_SUMMARY();
    char on[128];
    sbx_parts_str(sbx_active(s), on, sizeof(on));
    printf("sandbox parts here: %s\n", on);
    th_current = "paths";
    test_paths(s);
    if (geteuid() == 0) {
        th_current = "read_guards";
        test_read_guards(s);
        if (have_hostile) {
            th_current = "hostile";
            test_hostile(s);
        } else {
            printf("skip hostile: tests/hostile-bb/bb not built\n");
        }
    } else {
        printf("skip jobs: not root\n");
    }
    sbx_free(s);
    /* Everything off: the probe still works and nothing is active. */
    c.disabled = SBX_ALL;
    EXPECT_OK(sbx_create(&c, &s));
    EXPECT_EQ(sbx_active(s), 0);
    EXPECT_EQ(sbx_unavailable(s), 0);
    sbx_free(s);
    if (have_hostile) {
        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", hostile_dir);
        EXPECT_EQ(system(cmd), 0);
    }
    return TEST_SUMMARY();
}
