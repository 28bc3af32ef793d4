/* Child processes: spawn with a clean signal state, wait with a deadline,
 * kill the whole process group.
 *
 *   struct tr_proc_spec s = {.path = "/usr/bin/x", .argv = av, .group = TR_PROC_GROUP_NEW};
 *   struct tr_proc p;
 *   TR_GUARD(tr_proc_spawn(&s, &p));
 *   tr_result r = tr_proc_wait(&p, tr_mono_ms() + 5000);   (TR_ERR_TIMEOUT past the deadline)
 *   int status = tr_proc_reap(&p);                          (always: kills what is left, reaps)
 *
 * Every child starts with every signal at its default action and none blocked,
 * whatever its parent (a server that ignores SIGPIPE and blocks SIGTERM) had
 * (on the posix_spawn path glibc leaves its two internal signals, 32 and 33,
 * ignored; the clone path resets them too).
 * A plain spawn uses posix_spawn. A spawn that needs more (new namespaces, a
 * parent-death signal, hooks) forks with clone(2) and runs, in the child and in
 * this order: signal reset, process group, the `confine` hook, cwd, standard
 * descriptors (every other descriptor is closed at exec), the parent-death
 * signal (and a check that the parent is still there), the `seal` hook, exec.
 * A step that fails in the child is reported to the parent (step + errno) and
 * tr_proc_spawn fails with TR_ERR_PROC_SPAWN; p.spawn_step / p.spawn_errno say
 * which. Hooks run in a forked copy of a multi-threaded process: they may only
 * make system calls (no malloc, no stdio, no locks) and return 0 or an errno.
 *
 * The leader stays a zombie until tr_proc_reap, so its pid and process group id
 * cannot be reused while the group is signalled. Supervisors that reap with
 * waitpid(-1) themselves tell the module with tr_proc_set_reaped.
 */
#ifndef TEEREX_PROC_H
#define TEEREX_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "teerex/result.h"

enum tr_proc_group {
    TR_PROC_GROUP_NEW = 0, /* setpgid(0, 0): its own process group (the default) */
    TR_PROC_SESSION_NEW,   /* setsid(): its own session and group */
    TR_PROC_GROUP_KEEP,    /* the parent's group: signals go to the child alone */
};

/* Built-in steps of the clone path (spawn_step); hooks use their own numbers
 * from TR_PROC_STEP_HOOK up and name them with step_name. */
enum tr_proc_step {
    TR_PROC_STEP_NONE = 0,
    TR_PROC_STEP_PREPARE, /* parent: pipes, /dev/null */
    TR_PROC_STEP_CLONE,   /* parent: clone(2) itself (e.g. a namespace the kernel lacks) */
    TR_PROC_STEP_SIGNALS,
    TR_PROC_STEP_GROUP,
    TR_PROC_STEP_CWD,
    TR_PROC_STEP_FDS,
    TR_PROC_STEP_PDEATHSIG,
    TR_PROC_STEP_PARENT_GONE,
    TR_PROC_STEP_EXEC,
    TR_PROC_STEP_HOOK = 100,
};

struct tr_proc_spec {
    const char *path;  /* executed; NULL (clone path only): run the hooks, then exit 0 (a probe) */
    char *const *argv; /* argv[0] first, NULL-terminated */
    char *const *envp; /* NULL: the parent's environment */
    bool search_path;  /* look path up in PATH when it has no slash */
    const char *cwd;   /* NULL: the parent's (applied after `confine`) */
    int fd_in, fd_out, fd_err; /* become 0, 1, 2; -1: /dev/null */
    enum tr_proc_group group;
    int pdeathsig;             /* signal sent when the spawning thread dies; 0: none */
    unsigned long clone_flags; /* CLONE_NEW* namespaces for the child */
    int (*confine)(void *arg, int *out_step); /* 0 or an errno; see above */
    int (*seal)(void *arg, int *out_step);    /* last step before exec */
    void *hook_arg;
};

struct tr_proc {
    pid_t pid; /* 0: nothing to wait for */
    int pidfd; /* -1 when the kernel has no pidfd_open */
    enum tr_proc_group group;
    bool exited; /* seen exiting (still a zombie until reaped) */
    bool reaped;
    int status;      /* wait status once reaped */
    int spawn_step;  /* on TR_ERR_PROC_SPAWN: the step that failed */
    int spawn_errno; /* and its errno */
};

/* Defaults: fds -1 (/dev/null), own process group, no namespaces, no hooks. */
void tr_proc_spec_init(struct tr_proc_spec *s);
TR_RESULT tr_proc_spawn(const struct tr_proc_spec *spec, struct tr_proc *out);

/* True once the child has exited (it is not reaped). */
bool tr_proc_exited(struct tr_proc *p);
/* Blocks until the child exits or the monotonic deadline (tr_mono_ms, 0 =
 * none) passes: TR_ERR_TIMEOUT, the child still running. */
TR_RESULT tr_proc_wait(struct tr_proc *p, uint64_t deadline_ms);
/* A descriptor that polls readable when the child exits (-1: none; then poll
 * tr_proc_exited at an interval). */
int tr_proc_pollfd(const struct tr_proc *p);
/* Sends sig to the child's group (TR_PROC_GROUP_KEEP: to the child alone). */
void tr_proc_kill(const struct tr_proc *p, int sig);
/* SIGKILLs whatever of the group is left (the child too if it still runs),
 * reaps the child, closes the pidfd; returns the wait status. Idempotent. */
int tr_proc_reap(struct tr_proc *p);
/* For a supervisor that reaped the child itself with waitpid(-1). */
void tr_proc_set_reaped(struct tr_proc *p, int status);

/* "exit 3", "signal 9 (SIGKILL)", "signal 31 (SIGSYS), core dumped". */
void tr_proc_status_str(int status, char *out, size_t cap);
/* "clone", "exec", ... for the built-in steps; NULL for hook steps. */
const char *tr_proc_step_name(int step);

#endif
