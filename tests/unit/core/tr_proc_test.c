/* tr_proc: both spawn paths (posix_spawn and clone with hooks), clean signal
 * state, deadlines, group kill, exec and hook failures, parent-death signal. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "teerex/clock.h"
#include "teerex/proc.h"

static char *SH = "/bin/sh";

/* Runs sh -c script (clone path when `clone`), returns its stdout in out. */
static int run_sh(const char *script, bool clone, char *out, size_t cap, int *status)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    char *argv[] = {SH, "-c", (char *)script, NULL};
    struct tr_proc_spec s;
    tr_proc_spec_init(&s);
    s.path = SH;
    s.argv = argv;
    s.fd_out = p[1];
    if (clone)
        s.pdeathsig = SIGKILL; /* forces the clone path */
    struct tr_proc pr;
    tr_result r = tr_proc_spawn(&s, &pr);
    close(p[1]);
    if (!tr_ok(r)) {
        close(p[0]);
        return -1;
    }
    size_t n = 0;
    ssize_t k;
    while (n + 1 < cap && (k = read(p[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(p[0]);
    EXPECT_OK(tr_proc_wait(&pr, 0));
    *status = tr_proc_reap(&pr);
    return 0;
}

static void test_exit_code_and_output(void)
{
    for (int c = 0; c < 2; c++) {
        char out[256];
        int st = -1;
        EXPECT_EQ(run_sh("echo hello; exit 3", c, out, sizeof(out), &st), 0);
        EXPECT_STR_EQ(out, "hello\n");
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    }
}

/* The test process ignores SIGPIPE and blocks SIGTERM; children must not. */
static void test_clean_signal_state(void)
{
    signal(SIGPIPE, SIG_IGN);
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (int c = 0; c < 2; c++) {
        char out[512];
        int st = -1;
        EXPECT_EQ(run_sh("grep -E '^Sig(Blk|Ign)' /proc/self/status", c, out, sizeof(out), &st), 0);
        /* posix_spawn (c == 0): glibc leaves its internal signals 32 and 33 ignored. */
        EXPECT_STR_EQ(out, c ? "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
                             : "SigBlk:\t0000000000000000\nSigIgn:\t0000000180000000\n");
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    signal(SIGPIPE, SIG_DFL);
}

static void test_deadline_and_group_kill(void)
{
    for (int c = 0; c < 2; c++) {
        char *argv[] = {SH, "-c", "sleep 100 & sleep 100 & wait", NULL};
        struct tr_proc_spec s;
        tr_proc_spec_init(&s);
        s.path = SH;
        s.argv = argv;
        s.pdeathsig = c ? SIGKILL : 0;
        struct tr_proc p;
        EXPECT_OK(tr_proc_spawn(&s, &p));
        uint64_t t0 = tr_mono_ms();
        EXPECT_ERR(tr_proc_wait(&p, t0 + 150), TR_ERR_TIMEOUT);
        uint64_t took = tr_mono_ms() - t0;
        EXPECT_TRUE(took >= 150 && took < 2000);
        EXPECT_TRUE(!tr_proc_exited(&p));
        pid_t pgid = p.pid;
        int st = tr_proc_reap(&p);
        EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
        /* The two sleeps were in its group: gone (we are their subreaper). */
        bool gone = false;
        for (int i = 0; i < 200 && !gone; i++) {
            while (waitpid(-1, NULL, WNOHANG) > 0) {
            }
            gone = kill(-pgid, 0) != 0 && errno == ESRCH;
            if (!gone)
                usleep(10000);
        }
        EXPECT_TRUE(gone);
        EXPECT_EQ(tr_proc_reap(&p), st); /* idempotent */
    }
}

static void test_exec_failure(void)
{
    /* Under valgrind posix_spawn's vfork is a fork: glibc cannot see the
     * child's exec error there. The clone path reports it either way. */
    for (int c = getenv("TR_VALGRIND") ? 1 : 0; c < 2; c++) {
        char *argv[] = {"/nonexistent/bb", NULL};
        struct tr_proc_spec s;
        tr_proc_spec_init(&s);
        s.path = argv[0];
        s.argv = argv;
        s.pdeathsig = c ? SIGKILL : 0;
        struct tr_proc p;
        EXPECT_ERR(tr_proc_spawn(&s, &p), TR_ERR_PROC_SPAWN);
        EXPECT_EQ(p.spawn_step, TR_PROC_STEP_EXEC);
        EXPECT_EQ(p.spawn_errno, ENOENT);
        EXPECT_EQ(p.pidfd, -1);
        EXPECT_STR_EQ(tr_proc_step_name(p.spawn_step), "exec");
    }
}

static int hook_calls;
static int failing_hook(void *arg, int *step)
{
    (void)arg;
    *step = TR_PROC_STEP_HOOK + 7;
    return EPERM;
}
static int writing_hook(void *arg, int *step)
{
    (void)step;
    /* Runs in the child: the parent's variable must stay untouched. */
    *(int *)arg += 1;
    return 0;
}

static void test_hooks(void)
{
    struct tr_proc_spec s;
    tr_proc_spec_init(&s);
    char *argv[] = {SH, "-c", "exit 0", NULL};
    s.path = SH;
    s.argv = argv;
    s.confine = failing_hook;
    struct tr_proc p;
    EXPECT_ERR(tr_proc_spawn(&s, &p), TR_ERR_PROC_SPAWN);
    EXPECT_EQ(p.spawn_step, TR_PROC_STEP_HOOK + 7);
    EXPECT_EQ(p.spawn_errno, EPERM);
    EXPECT_TRUE(tr_proc_step_name(p.spawn_step) == NULL);

    s.confine = writing_hook;
    s.seal = failing_hook;
    s.hook_arg = &hook_calls;
    EXPECT_ERR(tr_proc_spawn(&s, &p), TR_ERR_PROC_SPAWN);
    EXPECT_EQ(p.spawn_step, TR_PROC_STEP_HOOK + 7);
    EXPECT_EQ(hook_calls, 0);

    /* A probe: hooks, then exit 0 without exec. */
    s.seal = writing_hook;
    s.path = NULL;
    s.argv = NULL;
    EXPECT_OK(tr_proc_spawn(&s, &p));
    EXPECT_OK(tr_proc_wait(&p, tr_mono_ms() + 5000));
    int st = tr_proc_reap(&p);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_env_cwd_fds(void)
{
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    char *argv[] = {SH, "-c", "pwd; echo \"$X\"; env | wc -l; ls /proc/self/fd | wc -l", NULL};
    char *envp[] = {"X=42", NULL};
    struct tr_proc_spec s;
    tr_proc_spec_init(&s);
    s.path = SH;
    s.argv = argv;
    s.envp = envp;
    s.cwd = "/";
    s.fd_out = p[1];
    s.group = TR_PROC_SESSION_NEW;
    s.pdeathsig = SIGKILL;
    int extra = dup(2); /* an open descriptor the child must not inherit */
    struct tr_proc pr;
    EXPECT_OK(tr_proc_spawn(&s, &pr));
    close(p[1]);
    char out[256];
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sizeof(out) && (k = read(p[0], out + n, sizeof(out) - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(p[0]);
    close(extra);
    tr_proc_reap(&pr);
    /* env: X plus what sh exports itself (PWD, SHLVL...); fds: 0,1,2 and ls's own dir fd. */
    EXPECT_TRUE(strncmp(out, "/\n42\n", 5) == 0);
    int env_lines = 0, fd_lines = 0;
    EXPECT_EQ(sscanf(out + 5, "%d %d", &env_lines, &fd_lines), 2);
    EXPECT_TRUE(env_lines <= 4);
    EXPECT_EQ(fd_lines, 4);
}

static void *spawn_and_exit(void *arg)
{
    struct tr_proc *p = arg;
    char *argv[] = {"/bin/sleep", "100", NULL};
    struct tr_proc_spec s;
    tr_proc_spec_init(&s);
    s.path = argv[0];
    s.argv = argv;
    s.pdeathsig = SIGKILL;
    EXPECT_OK(tr_proc_spawn(&s, p));
    return NULL; /* the spawning thread ends: the child gets SIGKILL */
}

static void test_pdeathsig(void)
{
    struct tr_proc p;
    pthread_t t;
    pthread_create(&t, NULL, spawn_and_exit, &p);
    pthread_join(t, NULL);
    EXPECT_OK(tr_proc_wait(&p, tr_mono_ms() + 5000));
    int st = tr_proc_reap(&p);
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static void test_namespaces(void)
{
    if (geteuid() != 0) {
        printf("skip namespaces: not root\n");
        return;
    }
    char *argv[] = {SH, "-c", "echo $$", NULL};
    int p[2];
    EXPECT_EQ(pipe(p), 0);
    struct tr_proc_spec s;
    tr_proc_spec_init(&s);
    s.path = SH;
    s.argv = argv;
    s.fd_out = p[1];
    s.clone_flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
    struct tr_proc pr;
    EXPECT_OK(tr_proc_spawn(&s, &pr));
    close(p[1]);
    char out[32];
    ssize_t n = read(p[0], out, sizeof(out) - 1);
    out[n > 0 ? n : 0] = '\0';
    close(p[0]);
    EXPECT_STR_EQ(out, "1\n"); /* PID 1 of its own namespace */
    tr_proc_reap(&pr);
}

static void test_status_str(void)
{
    char b[64];
    tr_proc_status_str(3 << 8, b, sizeof(b));
    EXPECT_STR_EQ(b, "exit 3");
    tr_proc_status_str(SIGKILL, b, sizeof(b));
    EXPECT_STR_EQ(b, "signal 9 (SIGKILL)");
    tr_proc_status_str(SIGSYS | 0x80, b, sizeof(b));
    EXPECT_STR_EQ(b, "signal 31 (SIGSYS), core dumped");
    struct tr_proc p = {.pid = 123, .pidfd = -1};
    tr_proc_set_reaped(&p, 5 << 8);
    EXPECT_TRUE(tr_proc_exited(&p));
    EXPECT_EQ(tr_proc_reap(&p), 5 << 8);
    EXPECT_EQ(tr_proc_pollfd(&p), -1);
}

int main(void)
{
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    RUN_TEST(test_exit_code_and_output);
    RUN_TEST(test_clean_signal_state);
    RUN_TEST(test_deadline_and_group_kill);
    RUN_TEST(test_exec_failure);
    RUN_TEST(test_hooks);
    RUN_TEST(test_env_cwd_fds);
    RUN_TEST(test_pdeathsig);
    RUN_TEST(test_namespaces);
    RUN_TEST(test_status_str);
    return TEST_SUMMARY();
}
