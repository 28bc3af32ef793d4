/* Child processes (see include/teerex/proc.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "teerex/clock.h"
#include "teerex/proc.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

void tr_proc_spec_init(struct tr_proc_spec *s)
{
    memset(s, 0, sizeof(*s));
    s->fd_in = s->fd_out = s->fd_err = -1;
    s->group = TR_PROC_GROUP_NEW;
}

static const char *const STEP_NAMES[] = {
    [TR_PROC_STEP_NONE] = "none",
    [TR_PROC_STEP_PREPARE] = "prepare",
    [TR_PROC_STEP_CLONE] = "clone",
    [TR_PROC_STEP_SIGNALS] = "signals",
    [TR_PROC_STEP_GROUP] = "group",
    [TR_PROC_STEP_CWD] = "cwd",
    [TR_PROC_STEP_FDS] = "fds",
    [TR_PROC_STEP_PDEATHSIG] = "pdeathsig",
    [TR_PROC_STEP_PARENT_GONE] = "parent_gone",
    [TR_PROC_STEP_EXEC] = "exec",
};

const char *tr_proc_step_name(int step)
{
    if (step < 0 || (size_t)step >= sizeof(STEP_NAMES) / sizeof(STEP_NAMES[0]))
        return NULL;
    return STEP_NAMES[step];
}

void tr_proc_status_str(int status, char *out, size_t cap)
{
    if (WIFEXITED(status)) {
        snprintf(out, cap, "exit %d", WEXITSTATUS(status));
        return;
    }
    if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        snprintf(out, cap, "signal %d (SIG%s)%s", WTERMSIG(status), name ? name : "?",
                 WCOREDUMP(status) ? ", core dumped" : "");
        return;
    }
    snprintf(out, cap, "status 0x%x", (unsigned)status);
}

/* ---- the posix_spawn path (no namespaces, no hooks) ---- */

static void defaults_sigset(sigset_t *all)
{
    sigfillset(all);
    sigdelset(all, SIGKILL);
    sigdelset(all, SIGSTOP);
}

static TR_RESULT spawn_posix(const struct tr_proc_spec *s, struct tr_proc *out)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    sigemptyset(&none);
    defaults_sigset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (s->group == TR_PROC_GROUP_NEW) {
        flags |= POSIX_SPAWN_SETPGROUP;
        posix_spawnattr_setpgroup(&at, 0);
    } else if (s->group == TR_PROC_SESSION_NEW) {
        flags |= POSIX_SPAWN_SETSID;
    }
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawnattr_setflags(&at, flags);
    const int fds[3] = {s->fd_in, s->fd_out, s->fd_err};
    for (int i = 0; i < 3; i++) {
        if (fds[i] < 0)
            posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
        else
            posix_spawn_file_actions_adddup2(&fa, fds[i], i);
    }
    if (s->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, s->cwd);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    char *const *env = s->envp ? s->envp : environ;
    int rc = s->search_path ? posix_spawnp(&out->pid, s->path, &fa, &at, s->argv, env)
                            : posix_spawn(&out->pid, s->path, &fa, &at, s->argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        out->pid = 0;
        out->spawn_step = TR_PROC_STEP_EXEC;
        out->spawn_errno = rc;
        TR_BAIL(TR_ERR_PROC_SPAWN);
    }
    return TR_SUCCESS;
}

/* ---- the clone path: runs in the child, system calls only ---- */

struct child_report {
    int32_t step;
    int32_t err;
};

static __attribute__((noreturn)) void child_fail(int errfd, int step, int err)
{
    struct child_report r = {.step = step, .err = err ? err : EINVAL};
    ssize_t w = write(errfd, &r, sizeof(r));
    (void)w;
    _exit(127);
}

#define FD_CLOSED (-2)

/* Makes fds[i] descriptor i (i = 0..2); the rest is closed at exec. */
static int child_fds(int fds[3])
{
    for (int i = 0; i < 3; i++) {
        if (fds[i] >= 0 && fds[i] < 3 && fds[i] != i) { /* an earlier dup2 would overwrite it */
            fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
            if (fds[i] < 0)
                return errno;
        }
    }
    for (int i = 0; i < 3; i++) {
        if (fds[i] == FD_CLOSED) {
            close(i);
        } else if (fds[i] == i) {
            if (fcntl(i, F_SETFD, 0) != 0)
                return errno;
        } else if (dup2(fds[i], i) < 0) {
            return errno;
        }
    }
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
        for (int fd = 3; fd < 4096; fd++)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return 0;
}

static __attribute__((noreturn)) void child_run(const struct tr_proc_spec *s, int fds[3], int errfd)
{
    int step = 0, err;
    /* The kernel's sigaction: the C library's refuses its own signals (32, 33). */
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        uint64_t mask;
    } dfl = {SIG_DFL, 0, NULL, 0};
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
    }
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
        child_fail(errfd, TR_PROC_STEP_SIGNALS, errno);
    if ((s->group == TR_PROC_GROUP_NEW && setpgid(0, 0) != 0) ||
        (s->group == TR_PROC_SESSION_NEW && setsid() < 0))
        child_fail(errfd, TR_PROC_STEP_GROUP, errno);
    if (s->confine && (err = s->confine(s->hook_arg, &step)) != 0)
        child_fail(errfd, step ? step : TR_PROC_STEP_HOOK, err);
    if (s->cwd && chdir(s->cwd) != 0)
        child_fail(errfd, TR_PROC_STEP_CWD, errno);
    if ((err = child_fds(fds)) != 0)
        child_fail(errfd, TR_PROC_STEP_FDS, err);
    if (s->pdeathsig) {
        /* After any change of credentials (which clears it). If the parent
         * died before this, its end of the report pipe is closed. */
        if (prctl(PR_SET_PDEATHSIG, s->pdeathsig) != 0)
            child_fail(errfd, TR_PROC_STEP_PDEATHSIG, errno);
        struct pollfd pf = {.fd = errfd, .events = POLLOUT};
        if (poll(&pf, 1, 0) == 1 && (pf.revents & POLLERR))
            _exit(127);
    }
    if (s->seal && (err = s->seal(s->hook_arg, &step)) != 0)
        child_fail(errfd, step ? step : TR_PROC_STEP_HOOK, err);
    if (!s->path)
        _exit(0); /* a probe of the hooks */
    char *const *env = s->envp ? s->envp : environ;
    if (s->search_path)
        execvpe(s->path, s->argv, env);
    else
        execve(s->path, s->argv, env);
    child_fail(errfd, TR_PROC_STEP_EXEC, errno);
}

static TR_RESULT spawn_clone(const struct tr_proc_spec *s, struct tr_proc *out)
{
    int rep[2] = {-1, -1}, devnull = -1;
    int fds[3] = {s->fd_in, s->fd_out, s->fd_err};
    tr_result res = TR_SUCCESS;
    out->spawn_step = TR_PROC_STEP_PREPARE;
    if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0) {
            /* No /dev (a bare chroot): stdin reads end-of-file from a pipe
             * nobody writes to, stdout/stderr asked as -1 stay closed. */
            int e[2];
            out->spawn_errno = errno;
            TR_CHECK(pipe2(e, O_CLOEXEC) == 0, TR_ERR_PROC_SPAWN);
            close(e[1]);
            devnull = e[0];
            fds[1] = fds[1] < 0 ? FD_CLOSED : fds[1];
            fds[2] = fds[2] < 0 ? FD_CLOSED : fds[2];
        }
        for (int i = 0; i < 3; i++)
            fds[i] = fds[i] < 0 ? devnull : fds[i];
    }
    int pr = pipe2(rep, O_CLOEXEC);
    out->spawn_errno = errno;
    TR_CHECK(pr == 0, TR_ERR_PROC_SPAWN);
    /* No handler of ours may run in the child before it resets them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long pid = syscall(SYS_clone, s->clone_flags | SIGCHLD, NULL, NULL, NULL, NULL);
    if (pid == 0) {
        close(rep[0]);
        child_run(s, fds, rep[1]);
    }
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(rep[1]);
    rep[1] = -1;
    if (pid < 0) {
        out->spawn_errno = clone_errno;
        out->spawn_step = TR_PROC_STEP_CLONE;
        TR_FAIL(TR_ERR_PROC_SPAWN);
    }
    out->pid = (pid_t)pid;
    out->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (out->pidfd >= 0)
        fcntl(out->pidfd, F_SETFD, FD_CLOEXEC);
    struct child_report r;
    ssize_t n;
    do {
        n = read(rep[0], &r, sizeof(r));
    } while (n < 0 && errno == EINTR);
    if (n != 0) { /* the child reported a failed step (or the pipe broke) */
        int step = n == (ssize_t)sizeof(r) ? r.step : TR_PROC_STEP_PREPARE;
        int e = n == (ssize_t)sizeof(r) ? r.err : EIO;
        (void)tr_proc_reap(out);
        out->spawn_step = step;
        out->spawn_errno = e;
        TR_FAIL(TR_ERR_PROC_SPAWN);
    }
    out->spawn_step = TR_PROC_STEP_NONE;
    out->spawn_errno = 0;
out:
    if (rep[0] >= 0)
        close(rep[0]);
    if (rep[1] >= 0)
        close(rep[1]);
    if (devnull >= 0)
        close(devnull);
    return res;
}

tr_result tr_proc_spawn(const struct tr_proc_spec *s, struct tr_proc *out)
{
    memset(out, 0, sizeof(*out));
    out->pidfd = -1;
    out->group = s->group;
    TR_ENSURE(s->argv != NULL || s->path == NULL, TR_ERR_NULL_ARG);
    bool plain = !s->clone_flags && !s->confine && !s->seal && !s->pdeathsig && s->path;
    if (plain) {
        TR_GUARD(spawn_posix(s, out));
        out->pidfd = (int)syscall(SYS_pidfd_open, out->pid, 0);
        if (out->pidfd >= 0)
            fcntl(out->pidfd, F_SETFD, FD_CLOEXEC);
        return TR_SUCCESS;
    }
    return spawn_clone(s, out);
}

/* ---- waiting, signalling, reaping ---- */

bool tr_proc_exited(struct tr_proc *p)
{
    if (p->pid <= 0 || p->exited || p->reaped)
        return true;
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == p->pid)
        p->exited = true;
    else if (errno == ECHILD)
        p->exited = true; /* not ours to wait for (any more) */
    return p->exited;
}

int tr_proc_pollfd(const struct tr_proc *p)
{
    return p->reaped ? -1 : p->pidfd;
}

tr_result tr_proc_wait(struct tr_proc *p, uint64_t deadline_ms)
{
    while (!tr_proc_exited(p)) {
        int wait_ms = 20; /* without a pidfd: poll the child's state */
        if (deadline_ms) {
            uint64_t now = tr_mono_ms();
            TR_ENSURE(now < deadline_ms, TR_ERR_TIMEOUT);
            if (p->pidfd >= 0 || deadline_ms - now < (uint64_t)wait_ms)
                wait_ms = deadline_ms - now > 60000 ? 60000 : (int)(deadline_ms - now);
        } else if (p->pidfd >= 0) {
            wait_ms = 60000;
        }
        if (p->pidfd >= 0) {
            struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};
            int k = poll(&pf, 1, wait_ms);
            TR_ENSURE(k >= 0 || errno == EINTR, TR_ERR_SYS);
        } else {
            struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)wait_ms * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return TR_SUCCESS;
}

void tr_proc_kill(const struct tr_proc *p, int sig)
{
    if (p->pid <= 0 || p->reaped)
        return; /* a reaped pid may already be someone else's */
    if (p->group == TR_PROC_GROUP_KEEP) {
        if (p->pidfd < 0 || syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) != 0)
            kill(p->pid, sig);
        return;
    }
    /* The leader is not reaped: its pid still names the group. */
    if (kill(-p->pid, sig) != 0 && errno == ESRCH)
        kill(p->pid, sig); /* it had not reached setpgid yet */
}

int tr_proc_reap(struct tr_proc *p)
{
    if (p->pid > 0 && !p->reaped) {
        tr_proc_kill(p, SIGKILL); /* the rest of the group; the child too if it runs */
        int status = 0;
        pid_t w;
        do {
            w = waitpid(p->pid, &status, 0);
        } while (w < 0 && errno == EINTR);
        p->status = w == p->pid ? status : 0;
        p->reaped = true;
        p->exited = true;
    }
    if (p->pidfd >= 0) {
        close(p->pidfd);
        p->pidfd = -1;
    }
    return p->status;
}

void tr_proc_set_reaped(struct tr_proc *p, int status)
{
    p->status = status;
    p->reaped = true;
    p->exited = true;
    if (p->pidfd >= 0) {
        close(p->pidfd);
        p->pidfd = -1;
    }
}
