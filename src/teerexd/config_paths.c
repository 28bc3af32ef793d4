/* Paths of the configuration made absolute once, at start-up (config.h):
 * teerexd runs bb in its own work directory with HOME set there, so a path
 * relative to where the operator started teerexd would point nowhere by the
 * time bb runs (README's `BB_BINARY_PATH=demo/node_modules/...` failed every
 * proof with PROVER_BAD_TEMPLATE), and an unset CRS_PATH made bb look in
 * that empty HOME and try to download a CRS. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "teerex/log.h"

/* dst (capacity cap) made absolute: joined to the current directory when
 * relative, then canonical when it exists. */
static TR_RESULT absolute(const char *name, char *dst, size_t cap)
{
    if (dst[0] == '\0')
        return TR_SUCCESS;
    char joined[PATH_MAX + 1100];
    if (dst[0] == '/') {
        snprintf(joined, sizeof(joined), "%s", dst);
    } else {
        char cwd[PATH_MAX];
        TR_ENSURE(getcwd(cwd, sizeof(cwd)) != NULL, TR_ERR_SYS);
        snprintf(joined, sizeof(joined), "%s/%s", cwd, dst);
    }
    char real[PATH_MAX];
    const char *use = realpath(joined, real) ? real : joined;
    if (strlen(use) >= cap) {
        fprintf(stderr, "teerexd: %s is too long once made absolute\n", name);
        TR_BAIL(TR_ERR_USAGE);
    }
    if (strcmp(use, dst) != 0) {
        tr_log(TR_LOG_INFO, "config_path_resolved", "{s:s,s:s,s:s}", "name", name, "from", dst,
               "to", use);
        memmove(dst, use, strlen(use) + 1);
    }
    return TR_SUCCESS;
}

tr_result config_resolve_paths(struct config *c)
{
    /* "bb" without a slash is looked up in PATH (versions.c), like execvp. */
    if (strchr(c->bb_binary_path, '/'))
        TR_GUARD(absolute("BB_BINARY_PATH", c->bb_binary_path, sizeof(c->bb_binary_path)));
    TR_GUARD(absolute("BB_VERSIONS_DIR", c->bb_versions_dir, sizeof(c->bb_versions_dir)));
    TR_GUARD(absolute("BB_ALLOWED_FILE", c->bb_allowed_file, sizeof(c->bb_allowed_file)));
    TR_GUARD(absolute("CRS_PATH", c->crs_path, sizeof(c->crs_path)));
    TR_GUARD(absolute("PROVE_WORK_DIR", c->work_dir, sizeof(c->work_dir)));
    if (c->crs_path[0] == '\0') {
        /* bb's own default, $HOME/.bb-crs, but of teerexd's HOME: bb itself
         * runs with HOME set to its empty per-request directory. */
        const char *home = getenv("HOME");
        char dir[1024];
        struct stat st;
        if (home && home[0] == '/' &&
            snprintf(dir, sizeof(dir), "%s/.bb-crs", home) < (int)sizeof(dir) &&
            stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(c->crs_path, sizeof(c->crs_path), "%s", dir);
            tr_log(TR_LOG_INFO, "config_path_resolved", "{s:s,s:s,s:s}", "name", "CRS_PATH", "from",
                   "", "to", c->crs_path);
        }
    }
    return TR_SUCCESS;
}
