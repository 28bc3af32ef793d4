/* Which parts of the sandbox are in force: names, the operator's list, and
 * the start-up probe that runs the real set-up once in a child. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sbx_internal.h"
#include "teerex/clock.h"

static const char *const PART_NAMES[SBX_NPARTS] = {"user", "nnp",   "seccomp", "rlimits", "pid",
                                                   "net",  "mount", "ipc",     "uts"};

static int part_index(unsigned part)
{
    for (int i = 0; i < SBX_NPARTS; i++) {
        if (part == 1u << i)
            return i;
    }
    return -1;
}

const char *sbx_part_name(unsigned part)
{
    int i = part_index(part);
    return i < 0 ? NULL : PART_NAMES[i];
}

tr_result sbx_parts_parse(const char *list, unsigned *out)
{
    *out = 0;
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        size_t n = strcspn(p, ", ");
        if (n == 0)
            break;
        unsigned bit = 0;
        if (n == 3 && strncmp(p, "all", 3) == 0)
            bit = SBX_ALL;
        for (int i = 0; i < SBX_NPARTS && !bit; i++) {
            if (strlen(PART_NAMES[i]) == n && strncmp(p, PART_NAMES[i], n) == 0)
                bit = 1u << i;
        }
        TR_ENSURE(bit != 0, TR_ERR_USAGE);
        *out |= bit;
        p += n;
    }
    return TR_SUCCESS;
}

void sbx_parts_str(unsigned mask, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < SBX_NPARTS; i++) {
        if (!(mask & (1u << i)))
            continue;
        int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "", PART_NAMES[i]);
        if (w < 0 || (size_t)w >= cap - used)
            return;
        used += (size_t)w;
    }
}

unsigned long sbx_clone_flags(unsigned parts)
{
    unsigned long f = 0;
    f |= (parts & SBX_PID) ? CLONE_NEWPID : 0;
    f |= (parts & SBX_NET) ? CLONE_NEWNET : 0;
    f |= (parts & SBX_MOUNT) ? CLONE_NEWNS : 0;
    f |= (parts & SBX_IPC) ? CLONE_NEWIPC : 0;
    f |= (parts & SBX_UTS) ? CLONE_NEWUTS : 0;
    return f;
}

unsigned sbx_step_part(int step)
{
    if (step >= SBX_STEP_PRIVATE && step <= SBX_STEP_ROOT_RO)
        return SBX_MOUNT;
    if (step == SBX_STEP_RLIMITS)
        return SBX_RLIMITS;
    if (step >= SBX_STEP_CAPS_BOUND && step <= SBX_STEP_CAPS_CLEAR)
        return SBX_USER;
    if (step == SBX_STEP_NNP)
        return SBX_NNP;
    if (step == SBX_STEP_SECCOMP)
        return SBX_SECCOMP;
    return 0;
}

static const char *const STEP_NAMES[] = {
    "private_tree", "open_ro_path", "open_device", "attach_root",   "mount_ro_paths", "dev",
    "proc",         "job_dir",      "pivot_root",  "root_readonly", "rlimits",        "caps_bound",
    "setgroups",    "setgid",       "setuid",      "caps_clear",    "no_new_privs",   "seccomp",
};

const char *sbx_step_name(int step)
{
    const char *n = tr_proc_step_name(step);
    if (n)
        return n;
    if (step >= SBX_STEP_PRIVATE && step < SBX_STEP_END)
        return STEP_NAMES[step - SBX_STEP_PRIVATE];
    return "unknown";
}

static void set_missing(struct sbx *s, unsigned part, const char *why, int err)
{
    int i = part_index(part);
    if (i < 0 || (s->unavailable & part))
        return;
    s->unavailable |= part;
    snprintf(s->why[i], sizeof(s->why[i]), "%s%s%s", why, err ? ": " : "",
             err ? strerror(err) : "");
}

/* One child through the real hooks with these parts, exiting before exec. */
static tr_result probe(struct sbx *s, unsigned parts, int *step, int *err)
{
    struct sbx_child c;
    memset(&c, 0, sizeof(c));
    c.parts = parts;
    c.cfg = &s->cfg;
    c.filter = &s->filter;
    c.root_fd = -1;
    int job_fd = -1;
    tr_result res = TR_SUCCESS;
    *step = 0;
    *err = 0;
    if (parts & SBX_MOUNT) {
        res = sbx_tmpfs_create(1 << 20, s->cfg.uid, s->cfg.gid, parts & SBX_USER, &c.root_fd,
                               &job_fd);
        if (!tr_ok(res)) {
            *step = SBX_STEP_ATTACH;
            *err = errno;
            return res;
        }
    }
    struct tr_proc_spec spec;
    tr_proc_spec_init(&spec);
    spec.group = TR_PROC_SESSION_NEW;
    spec.pdeathsig = SIGKILL;
    spec.clone_flags = sbx_clone_flags(parts);
    spec.confine = sbx_child_confine;
    spec.seal = sbx_child_seal;
    spec.hook_arg = &c;
    struct tr_proc p;
    res = tr_proc_spawn(&spec, &p);
    if (tr_ok(res)) {
        res = tr_proc_wait(&p, tr_mono_ms() + 10000);
        int st = tr_proc_reap(&p);
        if (tr_ok(res) && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            res = tr_fail_at(TR_ERR_SANDBOX_SETUP, __FILE__, __LINE__);
    } else {
        *step = p.spawn_step;
        *err = p.spawn_errno;
    }
    if (job_fd >= 0)
        close(job_fd);
    if (c.root_fd >= 0)
        close(c.root_fd);
    return res;
}

static void probe_namespaces(struct sbx *s, unsigned want)
{
    static const unsigned NS[] = {SBX_PID, SBX_NET, SBX_MOUNT, SBX_IPC, SBX_UTS};
    for (size_t i = 0; i < sizeof(NS) / sizeof(NS[0]); i++) {
        if (!(want & NS[i]) || (s->unavailable & NS[i]))
            continue;
        int step, err;
        if (!tr_ok(probe(s, NS[i], &step, &err)))
            set_missing(s, NS[i], "clone", err);
    }
}

tr_result sbx_create(const struct sbx_config *cfg, struct sbx **out)
{
    struct sbx *s = calloc(1, sizeof(*s));
    TR_ENSURE(s != NULL, TR_ERR_NOMEM);
    s->cfg = *cfg;
    unsigned want = SBX_ALL & ~cfg->disabled;
    if (geteuid() != 0) {
        const unsigned root_only = SBX_USER | SBX_PID | SBX_NET | SBX_MOUNT | SBX_IPC | SBX_UTS;
        for (unsigned b = 1; b < SBX_ALL; b <<= 1)
            if (want & root_only & b)
                set_missing(s, b, "needs root (teerexd runs as another user)", 0);
    }
    if ((want & SBX_SECCOMP) && !(want & SBX_NNP))
        set_missing(s, SBX_SECCOMP, "needs nnp, which is disabled", 0);
    if ((want & SBX_SECCOMP) && !(s->unavailable & SBX_SECCOMP) &&
        !tr_ok(sbx_filter_build(&s->filter)))
        set_missing(s, SBX_SECCOMP, "libseccomp could not build the filter", 0);
    probe_namespaces(s, want);
    /* The whole set-up once; a failing step names the part to leave out. */
    for (int round = 0; round <= SBX_NPARTS; round++) {
        int step, err;
        unsigned parts = want & ~s->unavailable;
        if (tr_ok(probe(s, parts, &step, &err)))
            break;
        unsigned part = sbx_step_part(step);
        if (!part || round == SBX_NPARTS) {
            sbx_free(s);
            TR_BAIL(TR_ERR_SANDBOX_SETUP);
        }
        set_missing(s, part, sbx_step_name(step), err);
    }
    s->active = want & ~s->unavailable;
    *out = s;
    return TR_SUCCESS;
}

void sbx_free(struct sbx *s)
{
    if (!s)
        return;
    sbx_filter_free(&s->filter);
    free(s);
}

unsigned sbx_active(const struct sbx *s)
{
    return s->active;
}

unsigned sbx_unavailable(const struct sbx *s)
{
    return s->unavailable;
}

const char *sbx_why(const struct sbx *s, unsigned part)
{
    int i = part_index(part);
    return i < 0 ? "" : s->why[i];
}

const struct sbx_config *sbx_config(const struct sbx *s)
{
    return &s->cfg;
}

bool sbx_killed_by_filter(const struct sbx *s, int status)
{
    return (s->active & SBX_SECCOMP) && WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}
