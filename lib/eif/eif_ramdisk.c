/* The two ramdisks nitro-cli builds with linuxkit, without linuxkit:
 * the bootstrap ramdisk (AWS's init and nsm.ko; measured by PCR1) and the
 * customer ramdisk laid out for the AWS enclave init, which loads nsm.ko,
 * reads /cmd and /env (one argv element / one K=V per line), and chroots
 * into /rootfs after mounting proc, sys, dev, run and tmp there. */
#include <string.h>
#include <sys/stat.h>

#include "teerex/eif.h"

/* Every ramdisk entry gets this mtime: PCRs depend on contents only. */
#define EIF_RAMDISK_MTIME 0

TR_RESULT eif_ramdisk_bootstrap(const char *init_path, const char *nsm_path, int fd)
{
    tr_result res = TR_SUCCESS;
    struct eif_tree t;
    eif_tree_init(&t);
    TR_CHECK(init_path && nsm_path, TR_ERR_NULL_ARG);
    TR_TRY(eif_tree_add_dir(&t, "dev", 0755));
    TR_TRY(eif_tree_add_file(&t, "init", init_path, 0755));
    TR_TRY(eif_tree_add_file(&t, "nsm.ko", nsm_path, 0755));
    TR_TRY(eif_tree_write(&t, fd, EIF_RAMDISK_MTIME));
out:
    eif_tree_free(&t);
    return res;
}

/* Lines for /cmd or /env: non-empty, no newline (the reader splits on it). */
static TR_RESULT lines(const char *const *v, size_t n, struct tr_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        TR_ENSURE(v[i] && v[i][0] && !strchr(v[i], '\n') && !strchr(v[i], '\r'),
                  TR_ERR_EIF_BAD_ARG);
        TR_GUARD(tr_buf_append_str(out, v[i]));
        TR_GUARD(tr_buf_append_u8(out, '\n'));
    }
    return TR_SUCCESS;
}

TR_RESULT eif_ramdisk_customer(struct eif_tree *rootfs_files, const char *const *argv, size_t argc,
                               const char *const *env, size_t envc, int fd)
{
    static const char *const dirs[] = {"rootfs",     "rootfs/dev", "rootfs/proc", "rootfs/run",
                                       "rootfs/sys", "rootfs/tmp", "rootfs/var"};
    tr_result res = TR_SUCCESS;
    struct tr_buf cmd, envb;
    tr_buf_init(&cmd, 64 * 1024);
    tr_buf_init(&envb, 64 * 1024);
    TR_CHECK(rootfs_files && argc >= 1, TR_ERR_EIF_BAD_ARG);
    for (size_t i = 0; i < rootfs_files->n; i++) {
        const char *p = rootfs_files->v[i].path;
        TR_CHECK(strncmp(p, "rootfs/", 7) == 0 || strcmp(p, "rootfs") == 0, TR_ERR_EIF_BAD_PATH);
    }
    TR_TRY(lines(argv, argc, &cmd));
    TR_TRY(lines(env, envc, &envb));
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        TR_TRY(eif_tree_add_dir(rootfs_files, dirs[i], 0755));
    TR_TRY(eif_tree_add_data(rootfs_files, "cmd", cmd.data, cmd.len, 0644));
    TR_TRY(eif_tree_add_data(rootfs_files, "env", envb.data, envb.len, 0644));
    TR_TRY(eif_tree_write(rootfs_files, fd, EIF_RAMDISK_MTIME));
out:
    tr_buf_free(&cmd);
    tr_buf_free(&envb);
    return res;
}
