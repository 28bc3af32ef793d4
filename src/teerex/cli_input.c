/* Prover input loading and output writing of the teerex CLI (cli_input.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_input.h"
#include "teerex/file.h"
#include "teerex/http.h"
#include "teerex/limits.h"

tr_result cli_scheme_parse(const char *s, enum cli_scheme *out)
{
    if (strcmp(s, "chonk") == 0)
        *out = CLI_SCHEME_CHONK;
    else if (strcmp(s, "ultra_honk") == 0)
        *out = CLI_SCHEME_ULTRA_HONK;
    else
        TR_BAIL(TR_ERR_USAGE);
    return TR_SUCCESS;
}

const char *cli_scheme_name(enum cli_scheme s)
{
    return s == CLI_SCHEME_ULTRA_HONK ? "ultra_honk" : "chonk";
}

tr_result cli_read_file(const char *path, struct tr_buf *out)
{
    tr_result r = tr_file_read(path, out->max, 0, out);
    /* A file the user named that cannot be opened is bad input, not an I/O fault. */
    if (r.err == TR_ERR_NOT_FOUND || r.err == TR_ERR_NOT_REGULAR || r.err == TR_ERR_SYS)
        TR_BAIL(TR_ERR_CLIENT_BAD_INPUT);
    return r;
}

static tr_result load_dir(const char *dir, struct tr_buf *out)
{
    tr_result res = TR_SUCCESS;
    struct tr_buf parts[2];
    struct http_container c = {.count = 2};
    char path[4096];
    for (size_t i = 0; i < 2; i++)
        tr_buf_init_secret(&parts[i], TR_MAX_PLAINTEXT);
    for (size_t i = 0; i < 2; i++) {
        const char *name = HTTP_CONTAINER_ULTRA_HONK[i];
        int w = snprintf(path, sizeof(path), "%s/%s", dir, name);
        TR_CHECK(w > 0 && (size_t)w < sizeof(path), TR_ERR_CLIENT_BAD_INPUT);
        TR_TRY(cli_read_file(path, &parts[i]));
        snprintf(c.entries[i].name, sizeof(c.entries[i].name), "%s", name);
        c.entries[i].data = tr_buf_slice(&parts[i]);
    }
    TR_TRY(http_container_write(&c, out));
out:
    for (size_t i = 0; i < 2; i++)
        tr_buf_free(&parts[i]);
    return res;
}

tr_result cli_input_load(const char *path, enum cli_scheme scheme, struct tr_buf *out)
{
    struct stat st;
    TR_ENSURE(stat(path, &st) == 0, TR_ERR_CLIENT_BAD_INPUT);
    if (S_ISDIR(st.st_mode)) {
        TR_ENSURE(scheme == CLI_SCHEME_ULTRA_HONK, TR_ERR_CLIENT_BAD_INPUT);
        return load_dir(path, out);
    }
    TR_GUARD(cli_read_file(path, out));
    TR_ENSURE(out->len > 0, TR_ERR_CLIENT_BAD_INPUT);
    if (scheme == CLI_SCHEME_ULTRA_HONK) {
        /* Refuse here what the server would refuse after a round trip. */
        struct http_container c;
        tr_result r = http_container_parse(out->data, out->len, HTTP_CONTAINER_ULTRA_HONK, &c);
        if (!tr_ok(r)) {
            tr_buf_clear(out);
            TR_BAIL(TR_ERR_CLIENT_BAD_INPUT);
        }
    }
    return TR_SUCCESS;
}

tr_result cli_write_file(const char *path, const uint8_t *p, size_t n)
{
    tr_result res = TR_SUCCESS;
    char tmp[4096];
    int w = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    TR_ENSURE(w > 0 && (size_t)w < sizeof(tmp), TR_ERR_CLIENT_WRITE);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    TR_ENSURE(fd >= 0, TR_ERR_CLIENT_WRITE);
    TR_CHECK(tr_fd_write_all(fd, p, n), TR_ERR_CLIENT_WRITE);
    TR_CHECK(fsync(fd) == 0, TR_ERR_CLIENT_WRITE);
    int rc = close(fd);
    fd = -1;
    TR_CHECK(rc == 0, TR_ERR_CLIENT_WRITE);
    TR_CHECK(rename(tmp, path) == 0, TR_ERR_CLIENT_WRITE);
out:
    if (fd >= 0)
        close(fd);
    if (!tr_ok(res))
        unlink(tmp);
    return res;
}

tr_result cli_mkdir(const char *path)
{
    struct stat st;
    if (mkdir(path, 0755) == 0)
        return TR_SUCCESS;
    TR_ENSURE(errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode), TR_ERR_CLIENT_WRITE);
    return TR_SUCCESS;
}
