/* The prover's sandbox as teerexd configures it: its limits from PROVER_*
 * and PROVE_TIMEOUT, and what a given prover sees read-only. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "prover.h"
#include "teerex/log.h"

#define DEFAULT_MEMORY ((uint64_t)16 << 30)
#define WORK_SLACK ((uint64_t)512 << 20) /* tmpfs room above the input: outputs, bb's files */

tr_result prover_sandbox_config(const struct config *cfg, struct sbx_config *out)
{
    memset(out, 0, sizeof(*out));
    TR_GUARD(sbx_parts_parse(cfg->sandbox_disable, &out->disabled));
    out->uid = (uint32_t)cfg->prover_uid;
    out->gid = (uint32_t)cfg->prover_gid;
    out->memory_bytes = cfg->prover_memory;
    if (!out->memory_bytes) {
        long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        uint64_t ram = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : DEFAULT_MEMORY;
        out->memory_bytes = ram < DEFAULT_MEMORY ? ram : DEFAULT_MEMORY;
    }
    out->file_bytes = cfg->prover_max_file_size;
    out->max_procs = cfg->prover_max_procs;
    out->max_files = cfg->prover_max_files;
    /* CPU time in line with the wall-clock timeout: every core busy all along. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    uint64_t secs = cfg->prove_timeout_ms / 1000 + 1;
    out->cpu_seconds = secs * (uint64_t)(cores > 0 ? cores : 1) + 10;
    return TR_SUCCESS;
}

/* "/a/b/c" -> "/a/b" (into out); false for a path without a directory. */
static bool dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path || (size_t)(slash - path) >= cap)
        return false;
    memcpy(out, path, (size_t)(slash - path));
    out[slash - path] = '\0';
    return true;
}

enum kind { K_STATIC, K_DYNAMIC, K_SCRIPT, K_OTHER };

/* What it takes to run the file: its ELF program headers (an interpreter
 * means shared libraries) or a "#!" line (interp gets the interpreter). */
static enum kind kind_of(const char *path, char *interp, size_t cap)
{
    enum kind k = K_OTHER;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return K_OTHER;
    Elf64_Ehdr eh;
    ssize_t n = pread(fd, &eh, sizeof(eh), 0);
    if (n >= 2 && memcmp(&eh, "#!", 2) == 0) {
        char line[256];
        ssize_t m = pread(fd, line, sizeof(line) - 1, 2);
        line[m > 0 ? m : 0] = '\0';
        const char *p = line + strspn(line, " \t");
        size_t len = strcspn(p, " \t\n");
        if (len > 0 && len < cap && p[0] == '/') {
            memcpy(interp, p, len);
            interp[len] = '\0';
            k = K_SCRIPT;
        }
    } else if (n == (ssize_t)sizeof(eh) && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
               eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
               eh.e_phnum < 256) {
        k = K_STATIC;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
                (ssize_t)sizeof(ph))
                break;
            if (ph.p_type == PT_INTERP)
                k = K_DYNAMIC;
        }
    }
    close(fd);
    return k;
}

static TR_RESULT add(struct prover_layout *l, const char *path)
{
    struct stat st;
    if (!path[0] || stat(path, &st) != 0)
        return TR_SUCCESS; /* a library directory this system does not have */
    for (size_t i = 0; i < l->opts.n_ro; i++) {
        if (strcmp(l->paths[i], path) == 0)
            return TR_SUCCESS;
    }
    TR_ENSURE(l->opts.n_ro < SBX_MAX_RO, TR_ERR_SANDBOX_PATH);
    size_t n = strlen(path);
    TR_ENSURE(n < sizeof(l->paths[0]), TR_ERR_SANDBOX_PATH);
    memcpy(l->paths[l->opts.n_ro], path, n + 1);
    l->opts.ro_paths[l->opts.n_ro] = l->paths[l->opts.n_ro];
    l->opts.n_ro++;
    return TR_SUCCESS;
}

/* Each entry of a colon-separated list. */
static TR_RESULT add_list(struct prover_layout *l, const char *list)
{
    char one[1024];
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ":");
        if (n > 0) {
            TR_ENSURE(n < sizeof(one), TR_ERR_SANDBOX_PATH);
            memcpy(one, p, n);
            one[n] = '\0';
            TR_GUARD(add(l, one));
        }
        p += n + (p[n] == ':');
    }
    return TR_SUCCESS;
}

tr_result prover_layout(const struct config *cfg, const struct bundle *bb, size_t input_len,
                        struct prover_layout *out)
{
    memset(out, 0, sizeof(*out));
    out->opts.work_bytes = (uint64_t)input_len + WORK_SLACK;
    if (bb->kind == BUNDLE_LOADER_DIR) {
        TR_GUARD(add(out, bb->root)); /* everything it runs is in there */
    } else {
        /* A bare bb (or a lone file: its directory) runs on the image's
         * loader and libraries, or a script on its interpreter. */
        char dir[1024], interp[256], idir[256];
        TR_ENSURE(dir_of(bb->bb, dir, sizeof(dir)), TR_ERR_PROVER_BAD_TEMPLATE);
        TR_GUARD(add(out, dir));
        enum kind k = kind_of(bb->bb, interp, sizeof(interp));
        if (k == K_SCRIPT && dir_of(interp, idir, sizeof(idir)))
            TR_GUARD(add(out, idir));
        if (k != K_STATIC)
            TR_GUARD(add_list(out, cfg->host_libs));
    }
    if (cfg->crs_path[0])
        TR_GUARD(add(out, cfg->crs_path));
    TR_GUARD(add_list(out, cfg->sandbox_ro_paths));
    return TR_SUCCESS;
}

static void log_parts(const struct sbx *s, bool strict)
{
    const struct sbx_config *c = sbx_config(s);
    char active[128], disabled[128], missing[128];
    sbx_parts_str(sbx_active(s), active, sizeof(active));
    sbx_parts_str(c->disabled, disabled, sizeof(disabled));
    sbx_parts_str(sbx_unavailable(s), missing, sizeof(missing));
    tr_log(TR_LOG_INFO, "sandbox", "{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "active", active,
           "disabled", disabled, "unavailable", missing, "uid", (json_int_t)c->uid, "gid",
           (json_int_t)c->gid, "memory_limit", (json_int_t)c->memory_bytes, "max_procs",
           (json_int_t)c->max_procs, "max_files", (json_int_t)c->max_files, "max_file_size",
           (json_int_t)c->file_bytes, "cpu_seconds", (json_int_t)c->cpu_seconds);
    if (c->disabled)
        tr_log(TR_LOG_WARN, "sandbox_parts_disabled", "{s:s,s:s}", "parts", disabled, "detail",
               "turned off by PROVER_SANDBOX_DISABLE: a compromised prover is less confined");
    for (unsigned b = 1; b <= SBX_ALL; b <<= 1) {
        if (sbx_unavailable(s) & b)
            tr_log(strict ? TR_LOG_ERROR : TR_LOG_WARN, "sandbox_part_unavailable", "{s:s,s:s}",
                   "part", sbx_part_name(b), "why", sbx_why(s, b));
    }
}

tr_result prover_sandbox_start(const struct config *cfg, const char *work_parent, struct sbx **out)
{
    struct sbx_config sc;
    if (!tr_ok(prover_sandbox_config(cfg, &sc))) {
        tr_log(
            TR_LOG_ERROR, "config_bad_sandbox_parts", "{s:s,s:s}", "value", cfg->sandbox_disable,
            "detail",
            "PROVER_SANDBOX_DISABLE takes user,nnp,seccomp,rlimits,pid,net,mount,ipc,uts or all");
        TR_BAIL(TR_ERR_USAGE);
    }
    struct sbx *s;
    tr_result r = sbx_create(&sc, &s);
    if (!tr_ok(r)) {
        tr_log_result(TR_LOG_ERROR, "sandbox_probe_failed", r);
        return r;
    }
    /* Nitro mode promises users a confined prover: every part or an explicit opt-out. */
    bool strict = strcmp(cfg->tee_mode, "nitro") == 0;
    log_parts(s, strict);
    if (strict && sbx_unavailable(s)) {
        char missing[128];
        sbx_parts_str(sbx_unavailable(s), missing, sizeof(missing));
        tr_log(TR_LOG_ERROR, "sandbox_incomplete", "{s:s,s:s}", "missing", missing, "detail",
               "TEE_MODE=nitro runs bb only fully sandboxed; list the missing parts in "
               "PROVER_SANDBOX_DISABLE to run without them");
        sbx_free(s);
        TR_BAIL(TR_ERR_SANDBOX_UNAVAILABLE);
    }
    size_t stale = sbx_remove_stale(work_parent);
    if (stale)
        tr_log(TR_LOG_WARN, "stale_workdirs_removed", "{s:s,s:I}", "dir", work_parent, "count",
               (json_int_t)stale);
    *out = s;
    return TR_SUCCESS;
}
