/* The prover's mount namespace, built in the child (system calls only).
 *
 * The job's tmpfs (created detached by the parent, never attached to the
 * host's tree) becomes the root. Before it is attached, every read-only path
 * and device node is cloned from the host tree (open_tree), so attaching the
 * tmpfs may hide anything. Then, in the tmpfs: the clones at their own paths
 * (read-only, nosuid, nodev), /dev with five nodes, a /proc of the prover's
 * PID namespace, /job bound read-write (noexec), then the tmpfs becomes the
 * root (enter_root) and is made read-only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sbx_internal.h"

static const char *const DEVICES[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                      "/dev/urandom"};
#define N_DEVICES (sizeof(DEVICES) / sizeof(DEVICES[0]))
static const char *const DEV_LINKS[][2] = {
    {"dev/fd", "/proc/self/fd"},
    {"dev/stdin", "/proc/self/fd/0"},
    {"dev/stdout", "/proc/self/fd/1"},
    {"dev/stderr", "/proc/self/fd/2"},
};

/* A detached copy of path's mount (and those below it), with attrs set. */
static int clone_tree(const char *path, bool recursive, uint64_t attrs, int *out)
{
    unsigned rec = recursive ? AT_RECURSIVE : 0;
    int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
    if (fd < 0)
        return errno;
    struct mount_attr a;
    memset(&a, 0, sizeof(a));
    a.attr_set = attrs;
    if (mount_setattr(fd, "", AT_EMPTY_PATH | rec, &a, sizeof(a)) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    *out = fd;
    return 0;
}

/* Creates rel's missing parent directories, then rel itself (a directory or
 * an empty file), relative to the current directory (the tmpfs root). */
static int make_mountpoint(const char *abs, bool dir)
{
    char rel[PATH_MAX];
    size_t n = strlen(abs);
    if (n < 2 || n >= sizeof(rel))
        return ENAMETOOLONG;
    memcpy(rel, abs + 1, n); /* with its NUL */
    for (char *p = rel; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int r = mkdir(rel, 0755);
        *p = '/';
        if (r != 0 && errno != EEXIST)
            return errno;
    }
    if (dir)
        return mkdir(rel, 0755) == 0 || errno == EEXIST ? 0 : errno;
    int fd = open(rel, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

static int attach(int fd, const char *abs)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno;
    int e = make_mountpoint(abs, S_ISDIR(st.st_mode));
    if (e)
        return e;
    if (move_mount(fd, "", AT_FDCWD, abs + 1, MOVE_MOUNT_F_EMPTY_PATH) != 0)
        return errno;
    close(fd);
    return 0;
}

static int make_dev(int dev_fd[N_DEVICES])
{
    if (mkdir("dev", 0755) != 0)
        return errno;
    for (size_t i = 0; i < N_DEVICES; i++) {
        int e = attach(dev_fd[i], DEVICES[i]);
        if (e)
            return e;
    }
    for (size_t i = 0; i < sizeof(DEV_LINKS) / sizeof(DEV_LINKS[0]); i++) {
        if (symlink(DEV_LINKS[i][1], DEV_LINKS[i][0]) != 0)
            return errno;
    }
    return 0;
}

static int make_proc(void)
{
    if (mkdir("proc", 0555) != 0)
        return errno;
    unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    /* Only the prover's processes, without /proc/sys, kcore, sysrq-trigger...;
     * kernels before 5.8 lack subset=pid. */
    if (mount("proc", "proc", "proc", fl, "hidepid=invisible,subset=pid") == 0)
        return 0;
    return mount("proc", "proc", "proc", fl, NULL) == 0 ? 0 : errno;
}

/* Makes the tmpfs (the current directory) the root: pivot_root and the old
 * tree detached, or, when teerexd itself runs chrooted (the Nitro init
 * chroots into the image, whose root is no mount point, where pivot_root
 * refuses), the tmpfs moved onto "/" and chroot'ed into. The old tree then
 * stays in the namespace beneath it, out of reach of a process with no
 * capability, no descriptor outside and no mount system call. */
static int enter_root(bool root_is_mount)
{
    if (root_is_mount) {
        if (syscall(SYS_pivot_root, ".", ".") != 0 || umount2(".", MNT_DETACH) != 0)
            return errno;
    } else if (mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0) {
        return errno;
    }
    return chdir("/") == 0 ? 0 : errno;
}

int sbx_mount_layout(struct sbx_child *c, int *step)
{
    int dev_fd[N_DEVICES];
    int e;
    /* Nothing we mount may propagate to the host's namespace. */
    *step = SBX_STEP_PRIVATE;
    bool root_is_mount = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
    if (!root_is_mount && (errno != EINVAL || mount(NULL, "/proc", NULL, MS_PRIVATE, NULL) != 0))
        return errno;
    *step = SBX_STEP_OPEN_RO;
    for (size_t i = 0; i < c->n_ro; i++) {
        e = clone_tree(c->ro[i], true, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                       &c->ro_fd[i]);
        if (e)
            return e;
    }
    *step = SBX_STEP_OPEN_DEV;
    for (size_t i = 0; i < N_DEVICES; i++) {
        e = clone_tree(DEVICES[i], false, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, &dev_fd[i]);
        if (e)
            return e;
    }
    /* Any directory will do as the place to attach it: this namespace is ours
     * and its old tree is dropped below. /proc exists wherever we run. */
    *step = SBX_STEP_ATTACH;
    if (move_mount(c->root_fd, "", AT_FDCWD, "/proc", MOVE_MOUNT_F_EMPTY_PATH) != 0 ||
        chdir("/proc") != 0)
        return errno;
    *step = SBX_STEP_MOUNTPOINTS;
    for (size_t i = 0; i < c->n_ro; i++) {
        if ((e = attach(c->ro_fd[i], c->ro[i])) != 0)
            return e;
    }
    *step = SBX_STEP_DEV;
    if ((e = make_dev(dev_fd)) != 0)
        return e;
    *step = SBX_STEP_PROC;
    if ((e = make_proc()) != 0)
        return e;
    *step = SBX_STEP_JOB;
    if (mount("job", "job", NULL, MS_BIND, NULL) != 0 ||
        mount(NULL, "job", NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) !=
            0)
        return errno;
    *step = SBX_STEP_PIVOT;
    if ((e = enter_root(root_is_mount)) != 0)
        return e;
    *step = SBX_STEP_ROOT_RO;
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) != 0)
        return errno;
    return 0;
}
