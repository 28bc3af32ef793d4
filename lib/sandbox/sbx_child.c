/* The sandbox's hooks, run by tr_proc in the forked child before exec.
 *
 * They run in a copy of a multi-threaded process, so they make raw system
 * calls only: the C library's set*id() wrappers would try to signal the
 * parent's other threads (which do not exist here) and wait for them. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sbx_internal.h"

static int limit(int resource, uint64_t soft, uint64_t hard)
{
    struct rlimit r = {.rlim_cur = soft ? soft : RLIM_INFINITY,
                       .rlim_max = hard ? hard : RLIM_INFINITY};
    return setrlimit(resource, &r) == 0 ? 0 : errno;
}

/* RLIMIT_NPROC counts every process of the uid: only meaningful once the
 * prover has a uid of its own (the user part); otherwise it would count
 * everything teerexd's user runs. */
static int set_rlimits(const struct sbx_config *cfg, bool own_uid)
{
    int e;
    uint64_t cpu = cfg->cpu_seconds;
    if ((e = limit(RLIMIT_AS, cfg->memory_bytes, cfg->memory_bytes)) ||
        (e = limit(RLIMIT_FSIZE, cfg->file_bytes, cfg->file_bytes)) ||
        (own_uid && (e = limit(RLIMIT_NPROC, cfg->max_procs, cfg->max_procs))) ||
        (e = limit(RLIMIT_NOFILE, cfg->max_files, cfg->max_files)) ||
        /* SIGXCPU at the soft limit, SIGKILL 5 s later */
        (e = limit(RLIMIT_CPU, cpu, cpu ? cpu + 5 : 0)))
        return e;
    struct rlimit zero = {0, 0};
    return setrlimit(RLIMIT_CORE, &zero) == 0 ? 0 : errno; /* no core file of the input */
}

/* Its own uid and gid, no supplementary group, no capability in any set. */
static int drop_privileges(const struct sbx_config *cfg, int *step)
{
    *step = SBX_STEP_CAPS_BOUND;
    for (unsigned long cap = 0; cap < 64; cap++) {
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            return errno; /* EINVAL: past the kernel's last capability */
    }
    *step = SBX_STEP_GROUPS;
    if (syscall(SYS_setgroups, 0, NULL) != 0)
        return errno;
    *step = SBX_STEP_GID;
    if (syscall(SYS_setresgid, cfg->gid, cfg->gid, cfg->gid) != 0)
        return errno;
    *step = SBX_STEP_UID;
    if (syscall(SYS_setresuid, cfg->uid, cfg->uid, cfg->uid) != 0)
        return errno;
    *step = SBX_STEP_CAPS_CLEAR;
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[2] = {{0, 0, 0}, {0, 0, 0}};
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        return errno;
    if (syscall(SYS_capset, &h, d) != 0 || syscall(SYS_capget, &h, d) != 0)
        return errno;
    for (int i = 0; i < 2; i++) {
        if (d[i].effective || d[i].permitted || d[i].inheritable)
            return EPERM;
    }
    return 0;
}

/* If memory runs out, the kernel kills the prover before teerexd. Written
 * while the host's /proc is still there; best effort. */
static void oom_first(void)
{
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t w = write(fd, "1000", 4);
        (void)w;
        close(fd);
    }
}

int sbx_child_confine(void *arg, int *step)
{
    struct sbx_child *c = arg;
    int e;
    if (c->parts & SBX_RLIMITS)
        oom_first();
    if ((c->parts & SBX_MOUNT) && (e = sbx_mount_layout(c, step)) != 0)
        return e;
    *step = SBX_STEP_RLIMITS;
    if ((c->parts & SBX_RLIMITS) && (e = set_rlimits(c->cfg, c->parts & SBX_USER)) != 0)
        return e;
    if ((c->parts & SBX_USER) && (e = drop_privileges(c->cfg, step)) != 0)
        return e;
    return 0;
}

int sbx_child_seal(void *arg, int *step)
{
    struct sbx_child *c = arg;
    *step = SBX_STEP_NNP;
    if ((c->parts & SBX_NNP) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return errno;
    *step = SBX_STEP_SECCOMP;
    if ((c->parts & SBX_SECCOMP) &&
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, c->filter) != 0)
        return errno;
    return 0;
}
