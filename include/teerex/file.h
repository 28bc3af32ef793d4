/* Reading a whole file, and hashing one, with a size bound.
 *
 *   struct tr_buf b;
 *   tr_buf_init(&b, 1 << 20);
 *   TR_GUARD(tr_file_read(path, 1 << 20, TR_FILE_NOFOLLOW, &b));
 *
 * Paths are opened O_RDONLY | O_CLOEXEC | O_NOCTTY (| O_NOFOLLOW with
 * TR_FILE_NOFOLLOW) and must name a regular file. Errors: TR_ERR_NOT_FOUND
 * (no such file), TR_ERR_NOT_REGULAR (a directory, a device, a FIFO, or a
 * symbolic link under TR_FILE_NOFOLLOW), TR_ERR_SYS (open refused: errno is
 * left set for a message), TR_ERR_TOO_BIG (more than max bytes), TR_ERR_IO
 * (a read failed), TR_ERR_OSSL (the digest).
 */
#ifndef TEEREX_FILE_H
#define TEEREX_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "teerex/buf.h"
#include "teerex/result.h"

enum { TR_FILE_NOFOLLOW = 1, TR_FILE_SAME_FS = 2 };

/* Opens path as described above; the descriptor is the caller's. */
TR_RESULT tr_file_open(const char *path, unsigned flags, int *out_fd);

/* Appends the whole file to out (its own max applies too). */
TR_RESULT tr_file_read(const char *path, size_t max, unsigned flags, struct tr_buf *out);
/* Appends everything fd yields until end of file (a pipe, stdin too). */
TR_RESULT tr_fd_read_all(int fd, size_t max, struct tr_buf *out);
/* Writes all n bytes to fd, again after EINTR and short writes: true when
 * all were written (else errno says why, 0 for a write that took nothing). */
bool tr_fd_write_all(int fd, const void *p, size_t n);

/* out (EVP_MD_get_size(md) bytes, at most EVP_MAX_MD_SIZE) = md(content);
 * *nbytes (may be NULL) = the content's length. */
TR_RESULT tr_file_digest(const char *path, unsigned flags, const EVP_MD *md, uint64_t max,
                         uint8_t *out, uint64_t *nbytes);
TR_RESULT tr_fd_digest(int fd, const EVP_MD *md, uint64_t max, uint8_t *out, uint64_t *nbytes);

/* Removes dir and everything below it, depth first, following no link
 * (TR_FILE_SAME_FS: not crossing into other mounts either). Best effort:
 * true when dir is gone afterwards (or never existed); an empty path is
 * left alone and counts as gone. */
bool tr_tree_remove(const char *dir, unsigned flags);

#endif
