/* Shared between the files of lib/sandbox (not a public header). */
#ifndef TEEREX_SBX_INTERNAL_H
#define TEEREX_SBX_INTERNAL_H

#include <linux/filter.h>

#include "teerex/sandbox.h"

struct sbx {
    struct sbx_config cfg;
    unsigned active, unavailable;
    char why[SBX_NPARTS][160];
    struct sock_fprog filter; /* built once; .len 0 without the seccomp part */
};

/* What the child needs; prepared by the parent, used (and written: the child
 * has its own copy of memory) by the hooks after the fork. */
struct sbx_child {
    unsigned parts;
    const struct sbx_config *cfg;
    const struct sock_fprog *filter;
    int root_fd; /* the job's detached tmpfs (mount part), else -1 */
    size_t n_ro;
    const char *ro[SBX_MAX_RO]; /* sorted, none below another */
    int ro_fd[SBX_MAX_RO];
};

/* Steps of the hooks, reported by tr_proc when one fails. */
enum sbx_step {
    SBX_STEP_PRIVATE = TR_PROC_STEP_HOOK + 1, /* make the copied tree private */
    SBX_STEP_OPEN_RO,                         /* clone a read-only path */
    SBX_STEP_OPEN_DEV,                        /* clone a device node */
    SBX_STEP_ATTACH,                          /* attach the tmpfs root */
    SBX_STEP_MOUNTPOINTS,                     /* mount the read-only paths at their place */
    SBX_STEP_DEV,                             /* /dev */
    SBX_STEP_PROC,                            /* /proc */
    SBX_STEP_JOB,                             /* the read-write work directory */
    SBX_STEP_PIVOT,                           /* pivot_root and drop the old root */
    SBX_STEP_ROOT_RO,                         /* the root read-only */
    SBX_STEP_RLIMITS,
    SBX_STEP_CAPS_BOUND, /* empty capability bounding set */
    SBX_STEP_GROUPS,
    SBX_STEP_GID,
    SBX_STEP_UID,
    SBX_STEP_CAPS_CLEAR, /* no capability left in any set */
    SBX_STEP_NNP,
    SBX_STEP_SECCOMP,
    SBX_STEP_END,
};
/* The part a failing step belongs to (0: none). */
unsigned sbx_step_part(int step);
unsigned long sbx_clone_flags(unsigned parts);

/* The tr_proc hooks (sbx_child.c), arg = struct sbx_child. */
int sbx_child_confine(void *arg, int *step);
int sbx_child_seal(void *arg, int *step);
/* The mount namespace's layout (sbx_mount.c), called by confine. */
int sbx_mount_layout(struct sbx_child *c, int *step);

/* The system call filter (sbx_filter.c). */
TR_RESULT sbx_filter_build(struct sock_fprog *out);
void sbx_filter_free(struct sock_fprog *f);

/* A detached tmpfs holding an empty "job" directory owned by uid:gid
 * (sbx_job.c); also used by the start-up probe. */
TR_RESULT sbx_tmpfs_create(uint64_t bytes, uint32_t uid, uint32_t gid, bool chown_job,
                           int *out_root, int *out_job);

#endif
