/* Output of teerex-logd (see logd.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "logd.h"
#include "teerex/log.h"

/* systemd sets JOURNAL_STREAM to "DEV:INODE" of the stream it connected to
 * stdout/stderr; only when stdout is that stream does the journal read a
 * "<N>" prefix as the priority (sd-daemon(3)). */
static bool stdout_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    struct stat st;
    if (!js || fstat(1, &st) != 0)
        return false;
    char want[64];
    snprintf(want, sizeof(want), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    return strcmp(js, want) == 0;
}

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
}

tr_result logd_out_open(struct logd_out *o, const struct logd_opts *opts)
{
    memset(o, 0, sizeof(*o));
    o->path = opts->output;
    o->max_bytes = opts->max_bytes;
    o->keep = opts->keep;
    if (o->path == NULL) {
        o->fd = 1;
        o->prefix = opts->syslog_prefix < 0 ? stdout_is_journal() : opts->syslog_prefix == 1;
        return TR_SUCCESS;
    }
    o->prefix = opts->syslog_prefix == 1;
    o->fd = open_file(o->path);
    TR_ENSURE(o->fd >= 0, TR_ERR_IO);
    struct stat st;
    if (fstat(o->fd, &st) == 0)
        o->size = (uint64_t)st.st_size;
    return TR_SUCCESS;
}

/* FILE.(keep-1) -> FILE.keep, ..., FILE -> FILE.1, then a new FILE. */
static void rotate(struct logd_out *o)
{
    char from[4200], to[4200];
    for (uint64_t i = o->keep; i >= 1; i--) {
        if (i == 1)
            snprintf(from, sizeof(from), "%s", o->path);
        else
            snprintf(from, sizeof(from), "%s.%llu", o->path, (unsigned long long)(i - 1));
        snprintf(to, sizeof(to), "%s.%llu", o->path, (unsigned long long)i);
        rename(from, to); /* a missing FILE.i is fine */
    }
    if (o->keep == 0)
        unlink(o->path);
    int fd = open_file(o->path);
    if (fd < 0) {
        o->errors++;
        return; /* keep writing to the old file rather than lose everything */
    }
    close(o->fd);
    o->fd = fd;
    o->size = 0;
    o->rotations++;
}

void logd_out_line(struct logd_out *o, const uint8_t *line, size_t n, int prio)
{
    char pre[8];
    size_t pl = o->prefix ? (size_t)snprintf(pre, sizeof(pre), "<%d>", prio) : 0;
    size_t total = pl + n + 1;
    if (o->path && o->max_bytes && o->size + total > o->max_bytes && o->size > 0)
        rotate(o);
    /* One write per line: a reader of the file never sees half of one. */
    struct iovec iov[3] = {{pre, pl}, {(void *)line, n}, {"\n", 1}};
    size_t done = 0;
    while (done < total) {
        ssize_t w;
        if (done == 0) {
            w = writev(o->fd, iov, 3);
        } else { /* a short write (full disk, signal): finish byte by byte */
            uint8_t b = done < pl ? (uint8_t)pre[done] : done < pl + n ? line[done - pl] : '\n';
            w = write(o->fd, &b, 1);
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            o->errors++;
            return;
        }
        done += (size_t)w;
    }
    o->size += total;
    o->lines++;
    o->bytes += n + 1;
}

void logd_out_reopen(struct logd_out *o)
{
    if (o->path == NULL)
        return;
    int fd = open_file(o->path);
    if (fd < 0) {
        o->errors++;
        tr_log(TR_LOG_ERROR, "output_reopen_failed", "{s:s,s:s}", "path", o->path, "error",
               strerror(errno));
        return;
    }
    close(o->fd);
    o->fd = fd;
    struct stat st;
    o->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void logd_out_close(struct logd_out *o)
{
    if (o->path && o->fd >= 0)
        close(o->fd);
    o->fd = -1;
}
