/* One sandboxed prover run: its private work directory (a detached tmpfs, or
 * a host directory when the mount part is off), the read-only paths it sees,
 * and its spawn. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx_internal.h"
#include "teerex/file.h"

struct sbx_job {
    struct sbx *sbx;
    int root_fd; /* the tmpfs (mount part), else -1 */
    int dir_fd;  /* the work directory */
    bool host;   /* dir is a host directory, removed at the end */
    char dir[PATH_MAX];
    struct sbx_child child;
    char ro_store[SBX_MAX_RO][PATH_MAX];
};

tr_result sbx_tmpfs_create(uint64_t bytes, uint32_t uid, uint32_t gid, bool chown_job,
                           int *out_root, int *out_job)
{
    char size[32];
    snprintf(size, sizeof(size), "%" PRIu64, bytes);
    int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
    TR_ENSURE(fs >= 0, TR_ERR_SANDBOX_WORKDIR);
    bool ok = fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) == 0 &&
              fsconfig(fs, FSCONFIG_SET_STRING, "nr_inodes", "4096", 0) == 0 &&
              fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) == 0 &&
              fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0;
    int root =
        ok ? fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)
           : -1;
    int e = errno;
    close(fs);
    errno = e;
    TR_ENSURE(root >= 0, TR_ERR_SANDBOX_WORKDIR);
    int job = -1;
    if (mkdirat(root, "job", 0700) == 0 &&
        (!chown_job || fchownat(root, "job", uid, gid, AT_SYMLINK_NOFOLLOW) == 0))
        job = openat(root, "job", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (job < 0) {
        e = errno;
        close(root);
        errno = e;
        TR_BAIL(TR_ERR_SANDBOX_WORKDIR);
    }
    *out_root = root;
    *out_job = job;
    return TR_SUCCESS;
}

/* Absolute, no empty, "." or ".." component, no trailing slash, not the
 * root, not where the sandbox mounts its own things, and existing. */
static bool path_ok(const char *p)
{
    static const char *const RESERVED[] = {SBX_JOB_DIR, "/dev", "/proc"};
    size_t n = strlen(p);
    if (n < 2 || n >= PATH_MAX || p[0] != '/' || p[n - 1] == '/')
        return false;
    if (strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") ||
        (n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
        return false;
    for (size_t i = 0; i < sizeof(RESERVED) / sizeof(RESERVED[0]); i++) {
        size_t r = strlen(RESERVED[i]);
        if (strncmp(p, RESERVED[i], r) == 0 && (p[r] == '\0' || p[r] == '/'))
            return false;
    }
    struct stat st;
    return stat(p, &st) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Validated, sorted, and without paths already below another one. */
static TR_RESULT set_ro_paths(struct sbx_job *j, const struct sbx_job_opts *o)
{
    const char *sorted[SBX_MAX_RO];
    TR_ENSURE(o->n_ro <= SBX_MAX_RO, TR_ERR_SANDBOX_PATH);
    for (size_t i = 0; i < o->n_ro; i++) {
        TR_ENSURE(o->ro_paths[i] && path_ok(o->ro_paths[i]), TR_ERR_SANDBOX_PATH);
        sorted[i] = o->ro_paths[i];
    }
    qsort(sorted, o->n_ro, sizeof(sorted[0]), cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < o->n_ro; i++) {
        if (n > 0) {
            const char *prev = j->ro_store[n - 1];
            size_t pl = strlen(prev);
            if (strncmp(sorted[i], prev, pl) == 0 && (sorted[i][pl] == '/' || !sorted[i][pl]))
                continue; /* already visible through prev */
        }
        snprintf(j->ro_store[n], sizeof(j->ro_store[n]), "%s", sorted[i]);
        j->child.ro[n] = j->ro_store[n];
        j->child.ro_fd[n] = -1;
        n++;
    }
    j->child.n_ro = n;
    return TR_SUCCESS;
}

static TR_RESULT make_host_dir(struct sbx_job *j, const char *parent, bool chown_dir)
{
    TR_ENSURE(parent && *parent, TR_ERR_SANDBOX_WORKDIR);
    int w = snprintf(j->dir, sizeof(j->dir), "%s/teerexd-%d.XXXXXX", parent, (int)getpid());
    TR_ENSURE(w > 0 && (size_t)w < sizeof(j->dir), TR_ERR_SANDBOX_WORKDIR);
    TR_ENSURE(mkdtemp(j->dir) != NULL, TR_ERR_SANDBOX_WORKDIR); /* 0700 */
    j->host = true;
    const struct sbx_config *c = &j->sbx->cfg;
    TR_ENSURE(!chown_dir || chown(j->dir, c->uid, c->gid) == 0, TR_ERR_SANDBOX_WORKDIR);
    j->dir_fd = open(j->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    TR_ENSURE(j->dir_fd >= 0, TR_ERR_SANDBOX_WORKDIR);
    return TR_SUCCESS;
}

tr_result sbx_job_create(struct sbx *s, const struct sbx_job_opts *o, struct sbx_job **out)
{
    tr_result res = TR_SUCCESS;
    struct sbx_job *j = calloc(1, sizeof(*j));
    TR_ENSURE(j != NULL, TR_ERR_NOMEM);
    j->sbx = s;
    j->root_fd = j->dir_fd = -1;
    j->child.parts = s->active;
    j->child.cfg = &s->cfg;
    j->child.filter = &s->filter;
    j->child.root_fd = -1;
    TR_TRY(set_ro_paths(j, o));
    bool chown_dir = (s->active & SBX_USER) != 0;
    if (s->active & SBX_MOUNT) {
        TR_TRY(sbx_tmpfs_create(o->work_bytes, s->cfg.uid, s->cfg.gid, chown_dir, &j->root_fd,
                                &j->dir_fd));
        j->child.root_fd = j->root_fd;
        snprintf(j->dir, sizeof(j->dir), "%s", SBX_JOB_DIR);
    } else {
        TR_TRY(make_host_dir(j, o->host_parent, chown_dir));
    }
    *out = j;
out:
    if (!tr_ok(res))
        sbx_job_destroy(j);
    return res;
}

const char *sbx_job_dir(const struct sbx_job *j)
{
    return j->dir;
}

static bool owned_by_prover(const struct sbx_job *j)
{
    return (j->sbx->active & SBX_USER) != 0;
}

tr_result sbx_job_write(struct sbx_job *j, const char *name, struct tr_slice data)
{
    int fd = openat(j->dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
    TR_ENSURE(fd >= 0, TR_ERR_SANDBOX_WORKDIR);
    tr_result res = TR_SUCCESS;
    const struct sbx_config *c = &j->sbx->cfg;
    TR_CHECK(!owned_by_prover(j) || fchown(fd, c->uid, c->gid) == 0, TR_ERR_SANDBOX_WORKDIR);
    TR_CHECK(tr_fd_write_all(fd, data.ptr, data.len), TR_ERR_SANDBOX_WORKDIR);
out:
    if (close(fd) != 0 && tr_ok(res))
        res = tr_fail_at(TR_ERR_SANDBOX_WORKDIR, __FILE__, __LINE__);
    return res;
}

tr_result sbx_job_mkdir(struct sbx_job *j, const char *name)
{
    const struct sbx_config *c = &j->sbx->cfg;
    TR_ENSURE(mkdirat(j->dir_fd, name, 0700) == 0, TR_ERR_SANDBOX_WORKDIR);
    TR_ENSURE(!owned_by_prover(j) ||
                  fchownat(j->dir_fd, name, c->uid, c->gid, AT_SYMLINK_NOFOLLOW) == 0,
              TR_ERR_SANDBOX_WORKDIR);
    return TR_SUCCESS;
}

tr_result sbx_job_read(struct sbx_job *j, const char *relpath, struct tr_buf *out)
{
    char comp[NAME_MAX + 1];
    int cur = j->dir_fd, fd = -1;
    tr_result res = TR_SUCCESS;
    const char *p = relpath;
    for (;;) {
        size_t n = strcspn(p, "/");
        TR_CHECK(n > 0 && n <= NAME_MAX, TR_ERR_SANDBOX_OUTPUT);
        memcpy(comp, p, n);
        comp[n] = '\0';
        bool last = p[n] == '\0';
        /* No symlink followed; a FIFO or device never blocks us. */
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY);
        fd = openat(cur, comp, flags);
        if (fd < 0 && errno == ENOENT)
            TR_FAIL(TR_ERR_NOT_FOUND);
        TR_CHECK(fd >= 0, TR_ERR_SANDBOX_OUTPUT);
        if (cur != j->dir_fd)
            close(cur);
        cur = -1;
        if (last)
            break;
        cur = fd;
        fd = -1;
        p += n + 1;
    }
    struct stat st;
    TR_CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode), TR_ERR_SANDBOX_OUTPUT);
    TR_TRY(tr_fd_read_all(fd, out->max, out));
out:
    if (fd >= 0)
        close(fd);
    if (cur >= 0 && cur != j->dir_fd)
        close(cur);
    return res;
}

tr_result sbx_job_spawn(struct sbx_job *j, const struct tr_proc_spec *base, struct tr_proc *p)
{
    struct tr_proc_spec s = *base;
    s.group = TR_PROC_SESSION_NEW;
    s.pdeathsig = SIGKILL;
    s.cwd = j->dir;
    s.clone_flags = sbx_clone_flags(j->child.parts);
    s.confine = sbx_child_confine;
    s.seal = sbx_child_seal;
    s.hook_arg = &j->child;
    tr_result r = tr_proc_spawn(&s, p);
    if (r.err == TR_ERR_PROC_SPAWN && p->spawn_step != TR_PROC_STEP_EXEC)
        TR_BAIL(TR_ERR_SANDBOX_SETUP);
    return r;
}

/* A work directory on the host: never crossing into a mount below it. */
static bool remove_tree(const char *dir)
{
    return tr_tree_remove(dir, TR_FILE_SAME_FS);
}

void sbx_job_destroy(struct sbx_job *j)
{
    if (!j)
        return;
    if (j->dir_fd >= 0)
        close(j->dir_fd);
    if (j->root_fd >= 0)
        close(j->root_fd); /* the tmpfs goes with its last reference */
    if (j->host)
        remove_tree(j->dir);
    free(j);
}

/* teerexd-<pid>.XXXXXX of a process that is gone, or the name older
 * versions used (teerexd-XXXXXX). A teerexd in another PID namespace
 * sharing the parent directory would look gone: give each its own
 * PROVE_WORK_DIR (with the mount part, no host directory is made at all). */
static bool stale_name(const char *name)
{
    if (strncmp(name, "teerexd-", 8) != 0)
        return false;
    const char *p = name + 8;
    char *end = NULL;
    long pid = strtol(p, &end, 10);
    if (end != p && *end == '.' && strlen(end + 1) == 6 && pid > 0 && pid <= INT32_MAX)
        return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
    return strlen(p) == 6 && strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789") == 6;
}

size_t sbx_remove_stale(const char *parent)
{
    size_t removed = 0;
    DIR *d = parent && *parent ? opendir(parent) : NULL;
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if ((de->d_type != DT_DIR && de->d_type != DT_UNKNOWN) || !stale_name(de->d_name))
            continue;
        char path[PATH_MAX];
        int w = snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
        if (w > 0 && (size_t)w < sizeof(path) && remove_tree(path))
            removed++;
    }
    closedir(d);
    return removed;
}
