/* Unpacking a checked bundle archive into an empty directory (see
 * bundle.h). Paths were validated by the reader ("bb", "lib/<name>"); files
 * are created relative to the directory's descriptor, never through a
 * symlink, never over an existing file. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "teerex/file.h"
#include "teerex/bundle.h"

struct extract {
    int dirfd;
    int fd;
    bool lib_made;
};

static TR_RESULT ex_begin(void *ctx, const char *rel, bool exec, uint64_t size)
{
    (void)size;
    struct extract *x = ctx;
    if (rel[0] == 'l' && !x->lib_made) { /* "lib/<name>": the only other form */
        TR_ENSURE(mkdirat(x->dirfd, BUNDLE_LIB_DIR, 0755) == 0, TR_ERR_BUNDLE_IO);
        x->lib_made = true;
    }
    x->fd = openat(x->dirfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   exec ? 0755 : 0644);
    TR_ENSURE(x->fd >= 0, TR_ERR_BUNDLE_IO);
    /* the umask must not decide the mode the digest sees */
    TR_ENSURE(fchmod(x->fd, exec ? 0755 : 0644) == 0, TR_ERR_BUNDLE_IO);
    return TR_SUCCESS;
}

static TR_RESULT ex_data(void *ctx, const void *p, size_t n)
{
    struct extract *x = ctx;
    TR_ENSURE(tr_fd_write_all(x->fd, p, n), TR_ERR_BUNDLE_IO);
    return TR_SUCCESS;
}

static TR_RESULT ex_end(void *ctx)
{
    struct extract *x = ctx;
    int fd = x->fd;
    x->fd = -1;
    bool ok = fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    TR_ENSURE(ok, TR_ERR_BUNDLE_IO);
    return TR_SUCCESS;
}

tr_result bundle_tar_extract(int fd, const char *dir)
{
    struct extract x = {.fd = -1};
    x.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    TR_ENSURE(x.dirfd >= 0, TR_ERR_BUNDLE_IO);
    struct bundle_tar_sink sink = {ex_begin, ex_data, ex_end, &x};
    tr_result r = bundle_tar_read_fd(fd, &sink);
    if (x.fd >= 0)
        close(x.fd);
    close(x.dirfd);
    return r;
}
