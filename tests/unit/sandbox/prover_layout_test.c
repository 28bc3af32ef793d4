/* What each kind of prover sees read-only (src/teerexd/prover_sandbox.c): a
 * bundle with its own loader sees only itself; a lone dynamic bb its
 * directory plus the host's libraries; a static one only its directory; a
 * script its interpreter's directory too; CRS_PATH and
 * PROVER_SANDBOX_RO_PATHS always. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "prover.h"

static char root[64] = "/tmp/teerex-layout.XXXXXX";

static void put(const char *rel, const char *content, mode_t mode)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    fputs(content, f);
    fclose(f);
    chmod(p, mode);
}

static bool has(const struct prover_layout *l, const char *path)
{
    for (size_t i = 0; i < l->opts.n_ro; i++)
        if (strcmp(l->opts.ro_paths[i], path) == 0)
            return true;
    return false;
}

static void layout_of(const struct config *cfg, const char *rel, struct prover_layout *l)
{
    char p[256];
    struct bundle b;
    snprintf(p, sizeof(p), "%s/%s", root, rel);
    EXPECT_OK(bundle_open(p, &b));
    EXPECT_OK(prover_layout(cfg, &b, 1000, l));
    EXPECT_EQ(l->opts.work_bytes, 1000 + ((uint64_t)512 << 20));
}

int main(void)
{
    if (!mkdtemp(root))
        return 1;
    char p[256];
    const char *dirs[] = {"loader", "loader/lib", "bare", "static", "script", "crs", "extra"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
        mkdir(p, 0755);
    }
    /* Real ELF files: /bin/true is dynamic (our own binary is not under
     * valgrind: /proc/self/exe is then valgrind's static tool). */
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "cp /bin/true %s/loader/bb && cp /bin/true %s/loader/lib/ld-linux-x86-64.so.2 && "
             "cp /bin/true %s/bare/bb",
             root, root, root);
    EXPECT_EQ(system(cmd), 0);
    /* A minimal static ELF header: class 64, no program header at all. */
    unsigned char elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    elf[54] = 56; /* e_phentsize */
    snprintf(p, sizeof(p), "%s/static/bb", root);
    FILE *f = fopen(p, "w");
    fwrite(elf, 1, sizeof(elf), f);
    fclose(f);
    chmod(p, 0755);
    put("script/bb", "#!/bin/sh\nexit 0\n", 0755);

    struct config cfg;
    memset(&cfg, 0, sizeof(cfg));
    snprintf(cfg.host_libs, sizeof(cfg.host_libs), "/usr/lib/x86_64-linux-gnu:/nonexistent-lib");
    struct prover_layout l;

    layout_of(&cfg, "loader", &l);
    snprintf(p, sizeof(p), "%s/loader", root);
    EXPECT_EQ(l.opts.n_ro, 1);
    EXPECT_TRUE(has(&l, p));

    layout_of(&cfg, "bare", &l);
    snprintf(p, sizeof(p), "%s/bare", root);
    EXPECT_EQ(l.opts.n_ro, 2); /* the missing library directory is left out */
    EXPECT_TRUE(has(&l, p) && has(&l, "/usr/lib/x86_64-linux-gnu"));

    layout_of(&cfg, "bare/bb", &l); /* a lone file: its directory */
    EXPECT_EQ(l.opts.n_ro, 2);
    EXPECT_TRUE(has(&l, p));

    layout_of(&cfg, "static", &l);
    snprintf(p, sizeof(p), "%s/static", root);
    EXPECT_EQ(l.opts.n_ro, 1);
    EXPECT_TRUE(has(&l, p));

    snprintf(cfg.crs_path, sizeof(cfg.crs_path), "%s/crs", root);
    snprintf(cfg.sandbox_ro_paths, sizeof(cfg.sandbox_ro_paths), "%s/extra::%s/crs", root, root);
    layout_of(&cfg, "script", &l);
    snprintf(p, sizeof(p), "%s/script", root);
    EXPECT_TRUE(has(&l, p) && has(&l, "/bin") && has(&l, "/usr/lib/x86_64-linux-gnu") &&
                has(&l, cfg.crs_path));
    snprintf(p, sizeof(p), "%s/extra", root);
    EXPECT_TRUE(has(&l, p));
    EXPECT_EQ(l.opts.n_ro, 5); /* the CRS listed twice counts once */

    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    EXPECT_EQ(system(cmd), 0);
    return TEST_SUMMARY();
}
