/* teerex-eif build: ramdisks + EIF + pcrs.json. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/pem.h>

#include "eif_cli.h"
#include "teerex/codec.h"
#include "teerex/eif.h"
#include "teerex/file.h"

#define MAX_ARGS 256
#define MAX_SMALL_FILE ((size_t)1 << 20) /* cmdline, key, certificate */

static void help(FILE *f)
{
    fprintf(
        f,
        "usage: teerex-eif build --kernel FILE --cmdline FILE --init FILE --nsm FILE\n"
        "         (--root DIR | --file SRC:DST:MODE)... --cmd ARGV [--env K=V]...\n"
        "         --out FILE.eif [--pcrs-json FILE] [--sign-key KEY.pem --sign-cert CERT.pem]\n"
        "         [--name NAME] [--image-version V] [--kernel-version V] [--arch "
        "x86_64|aarch64]\n\n"
        "Writes an AWS Nitro Enclave image as nitro-cli build-enclave lays it out: kernel,\n"
        "cmdline, metadata, the bootstrap ramdisk (dev/, init, nsm.ko; PCR1) and the\n"
        "customer ramdisk (rootfs/..., cmd, env; PCR2), then the signature (PCR8) when\n"
        "--sign-key/--sign-cert (EC P-256/384/521, PEM) are given.\n\n"
        "  --kernel, --cmdline, --init, --nsm   from /usr/share/nitro_enclaves/blobs/<arch>/\n"
        "                       (bzImage or Image, cmdline, init, nsm.ko); the cmdline\n"
        "                       text is trimmed of surrounding whitespace, as nitro-cli does\n"
        "  --root DIR           copy DIR's tree into rootfs/ (modes kept, owners 0)\n"
        "  --file SRC:DST:MODE  put file SRC at rootfs/DST with octal MODE (repeatable)\n"
        "  --cmd ARGV           the command the AWS init runs, split on spaces (repeatable,\n"
        "                       words are appended); no quoting\n"
        "  --env K=V            an environment variable for the command (repeatable; a\n"
        "                       name given twice is a usage error)\n"
        "  --pcrs-json FILE     also write the measurements as JSON (PCR0, PCR1, PCR2[, PCR8])\n\n"
        "Every ramdisk entry is sorted, owned by 0:0 and has mtime 0, so the PCRs depend\n"
        "only on the file contents and modes. The metadata section's BuildTime comes from\n"
        "SOURCE_DATE_EPOCH (0 when unset); it is not measured.\n"
        "Prints {\"Measurements\": {...}} on stdout.\n\n"
        "exit codes: 0 ok, 1 failure (I/O, unreadable or changing inputs), 2 usage (options,\n"
        "            ramdisk paths, cmd/env values, signing key)\n");
}

struct opts {
    const char *kernel, *cmdline, *init, *nsm, *out, *pcrs_json, *key, *cert;
    const char *name, *image_version, *kernel_version, *arch;
    const char *roots[16];
    size_t n_roots;
    char *files[1024];
    size_t n_files;
    char *cmd_words[MAX_ARGS];
    size_t n_cmd;
    const char *env[MAX_ARGS];
    size_t n_env;
    char *cmd_copy[MAX_ARGS];
    size_t n_cmd_copy;
};

static void opts_free(struct opts *o)
{
    for (size_t i = 0; i < o->n_cmd_copy; i++)
        free(o->cmd_copy[i]);
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    enum {
        O_KERNEL = 256,
        O_CMDLINE,
        O_INIT,
        O_NSM,
        O_ROOT,
        O_FILE,
        O_CMD,
        O_ENV,
        O_OUT,
        O_PCRS,
        O_KEY,
        O_CERT,
        O_NAME,
        O_IVER,
        O_KVER,
        O_ARCH,
        O_HELP
    };
    static const struct option LONG[] = {{"kernel", required_argument, 0, O_KERNEL},
                                         {"cmdline", required_argument, 0, O_CMDLINE},
                                         {"init", required_argument, 0, O_INIT},
                                         {"nsm", required_argument, 0, O_NSM},
                                         {"root", required_argument, 0, O_ROOT},
                                         {"file", required_argument, 0, O_FILE},
                                         {"cmd", required_argument, 0, O_CMD},
                                         {"env", required_argument, 0, O_ENV},
                                         {"out", required_argument, 0, O_OUT},
                                         {"pcrs-json", required_argument, 0, O_PCRS},
                                         {"sign-key", required_argument, 0, O_KEY},
                                         {"sign-cert", required_argument, 0, O_CERT},
                                         {"name", required_argument, 0, O_NAME},
                                         {"image-version", required_argument, 0, O_IVER},
                                         {"kernel-version", required_argument, 0, O_KVER},
                                         {"arch", required_argument, 0, O_ARCH},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", LONG, NULL)) != -1) {
        switch (c) {
        case O_KERNEL: o->kernel = optarg; break;
        case O_CMDLINE: o->cmdline = optarg; break;
        case O_INIT: o->init = optarg; break;
        case O_NSM: o->nsm = optarg; break;
        case O_OUT: o->out = optarg; break;
        case O_PCRS: o->pcrs_json = optarg; break;
        case O_KEY: o->key = optarg; break;
        case O_CERT: o->cert = optarg; break;
        case O_NAME: o->name = optarg; break;
        case O_IVER: o->image_version = optarg; break;
        case O_KVER: o->kernel_version = optarg; break;
        case O_ARCH: o->arch = optarg; break;
        case O_ROOT:
            if (o->n_roots == sizeof(o->roots) / sizeof(o->roots[0])) {
                fprintf(stderr, "teerex-eif: too many --root\n");
                return -1;
            }
            o->roots[o->n_roots++] = optarg;
            break;
        case O_FILE:
            if (o->n_files == sizeof(o->files) / sizeof(o->files[0])) {
                fprintf(stderr, "teerex-eif: too many --file\n");
                return -1;
            }
            o->files[o->n_files++] = optarg;
            break;
        case O_ENV:
            if (o->n_env == MAX_ARGS || !strchr(optarg, '=') || optarg[0] == '=') {
                fprintf(stderr, "teerex-eif: --env wants K=V (at most %d)\n", MAX_ARGS);
                return -1;
            }
            /* The AWS init hands /env to execve as it is, so of two lines
             * with one name the first wins there and the second is silently
             * lost: refuse the image instead. */
            for (size_t i = 0; i < o->n_env; i++) {
                size_t nl = (size_t)(strchr(optarg, '=') - optarg);
                if (strncmp(o->env[i], optarg, nl + 1) == 0) {
                    fprintf(stderr, "teerex-eif: --env %.*s given twice ('%s', then '%s')\n",
                            (int)nl, optarg, o->env[i], optarg);
                    return -1;
                }
            }
            o->env[o->n_env++] = optarg;
            break;
        case O_CMD: {
            if (o->n_cmd_copy == MAX_ARGS)
                return -1;
            char *copy = strdup(optarg);
            if (!copy)
                return -1;
            o->cmd_copy[o->n_cmd_copy++] = copy;
            /* Split on blanks in place: each word ends at the next blank. */
            for (char *s = copy; *s;) {
                while (*s == ' ' || *s == '\t')
                    *s++ = '\0';
                if (!*s)
                    break;
                if (o->n_cmd == MAX_ARGS) {
                    fprintf(stderr, "teerex-eif: --cmd has too many words\n");
                    return -1;
                }
                o->cmd_words[o->n_cmd++] = s;
                while (*s && *s != ' ' && *s != '\t')
                    s++;
            }
            break;
        }
        case O_HELP: help(stdout); return 1;
        default: return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "teerex-eif: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!o->kernel || !o->cmdline || !o->init || !o->nsm || !o->out || o->n_cmd == 0 ||
        (o->n_roots == 0 && o->n_files == 0)) {
        fprintf(stderr, "teerex-eif: build needs --kernel --cmdline --init --nsm --out --cmd "
                        "and at least one --root or --file\n");
        return -1;
    }
    if (!o->key != !o->cert) {
        fprintf(stderr, "teerex-eif: --sign-key and --sign-cert go together\n");
        return -1;
    }
    if (o->arch && strcmp(o->arch, "x86_64") != 0 && strcmp(o->arch, "aarch64") != 0) {
        fprintf(stderr, "teerex-eif: --arch is x86_64 or aarch64\n");
        return -1;
    }
    return 0;
}

/* --file SRC:DST:MODE (SRC may not contain ':'). */
static TR_RESULT add_file_spec(struct eif_tree *t, char *spec)
{
    char *c1 = strchr(spec, ':');
    char *c2 = c1 ? strrchr(spec, ':') : NULL;
    TR_ENSURE(c1 && c2 && c1 != c2 && c1 != spec, TR_ERR_USAGE);
    uint64_t mode;
    char dst[EIF_MAX_PATH];
    *c1 = '\0';
    *c2 = '\0';
    const char *d = c1 + 1;
    while (*d == '/')
        d++;
    char *end = NULL;
    errno = 0;
    mode = strtoull(c2 + 1, &end, 8);
    TR_ENSURE(errno == 0 && end && *end == '\0' && c2[1] != '\0' && mode <= 07777, TR_ERR_USAGE);
    int n = snprintf(dst, sizeof(dst), "rootfs/%s", d);
    TR_ENSURE(n > 0 && (size_t)n < sizeof(dst), TR_ERR_EIF_BAD_PATH);
    return eif_tree_add_file(t, dst, spec, (uint32_t)mode);
}

/* An unlinked temporary file for a ramdisk. */
static TR_RESULT temp_fd(int *out)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int n = snprintf(path, sizeof(path), "%s/teerex-eif-XXXXXX", dir && dir[0] ? dir : "/tmp");
    TR_ENSURE(n > 0 && (size_t)n < sizeof(path), TR_ERR_USAGE);
    int fd = mkstemp(path);
    TR_ENSURE(fd >= 0, TR_ERR_SYS);
    unlink(path);
    *out = fd;
    return TR_SUCCESS;
}

static TR_RESULT build_time(int64_t *out)
{
    const char *s = getenv("SOURCE_DATE_EPOCH");
    uint64_t v = 0;
    *out = 0;
    if (s && s[0])
        TR_GUARD(tr_parse_u64(s, (uint64_t)253402300799, &v)); /* up to year 9999 */
    *out = (int64_t)v;
    return TR_SUCCESS;
}

static TR_RESULT write_json_file(const char *path, json_t *j)
{
    TR_ENSURE(json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0, TR_ERR_IO);
    return TR_SUCCESS;
}

static TR_RESULT load_key(const char *path, EVP_PKEY **out)
{
    struct tr_buf b;
    tr_buf_init_secret(&b, MAX_SMALL_FILE);
    tr_result res = tr_file_read(path, MAX_SMALL_FILE, 0, &b);
    if (tr_ok(res)) {
        BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
        *out = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        if (!*out)
            res = tr_fail_at(TR_ERR_EIF_BAD_KEY, __FILE__, __LINE__);
    }
    tr_buf_free(&b);
    return res;
}

int cmd_build(int argc, char **argv)
{
    struct opts o;
    struct eif_tree tree;
    struct eif_build b;
    struct eif_pcrs pcrs;
    struct tr_buf cmdline, meta, cert;
    EVP_PKEY *key = NULL;
    json_t *m = NULL, *top = NULL;
    int kfd = -1, boot_fd = -1, cust_fd = -1, out_fd = -1, rc = EIF_EXIT_FAIL;
    char tmp_out[4096] = "";
    tr_result res = TR_SUCCESS;
    const char *step = "build";

    memset(&o, 0, sizeof(o));
    eif_tree_init(&tree);
    eif_build_init(&b);
    tr_buf_init(&cmdline, MAX_SMALL_FILE);
    tr_buf_init(&meta, MAX_SMALL_FILE);
    tr_buf_init(&cert, MAX_SMALL_FILE);
    int p = parse_args(argc, argv, &o);
    if (p != 0) {
        if (p < 0)
            help(stderr);
        rc = p > 0 ? EIF_EXIT_OK : EIF_EXIT_USAGE;
        goto done;
    }

    step = "--file";
    for (size_t i = 0; i < o.n_files; i++)
        TR_TRY(add_file_spec(&tree, o.files[i]));
    step = "--root";
    for (size_t i = 0; i < o.n_roots; i++)
        TR_TRY(eif_tree_add_root(&tree, o.roots[i], "rootfs"));

    step = "bootstrap ramdisk";
    TR_TRY(temp_fd(&boot_fd));
    TR_TRY(eif_ramdisk_bootstrap(o.init, o.nsm, boot_fd));
    step = "customer ramdisk";
    TR_TRY(temp_fd(&cust_fd));
    TR_TRY(eif_ramdisk_customer(&tree, (const char *const *)o.cmd_words, o.n_cmd, o.env, o.n_env,
                                cust_fd));

    step = o.cmdline;
    TR_TRY(tr_file_read(o.cmdline, cmdline.max, 0, &cmdline));
    TR_CHECK(memchr(cmdline.data ? (void *)cmdline.data : (void *)"", 0, cmdline.len) == NULL,
             TR_ERR_EIF_BAD_ARG);
    step = "SOURCE_DATE_EPOCH";
    struct eif_meta_info mi = {o.name, o.image_version, o.kernel_version, 0};
    TR_TRY(build_time(&mi.build_time));
    step = "metadata";
    TR_TRY(eif_meta_json(&mi, &meta));

    step = o.kernel;
    kfd = open(o.kernel, O_RDONLY | O_CLOEXEC);
    TR_CHECK(kfd >= 0, TR_ERR_NOT_FOUND);
    TR_TRY(eif_blob_fd(kfd, &b.kernel));
    struct tr_slice cl = eif_cmdline_trim(cmdline.data, cmdline.len); /* as nitro-cli */
    b.cmdline = eif_blob_mem(cl.ptr, cl.len);
    b.metadata = eif_blob_mem(meta.data, meta.len);
    step = "ramdisk";
    TR_TRY(eif_blob_fd(boot_fd, &b.ramdisks[0]));
    TR_TRY(eif_blob_fd(cust_fd, &b.ramdisks[1]));
    b.n_ramdisks = 2;
    if (o.arch)
        b.flags = strcmp(o.arch, "aarch64") == 0 ? EIF_FLAG_ARM64 : 0;
    if (o.key) {
        step = o.key;
        TR_TRY(load_key(o.key, &key));
        step = o.cert;
        TR_TRY(tr_file_read(o.cert, cert.max, 0, &cert));
        b.sign_key = key;
        b.sign_cert_pem = cert.data;
        b.sign_cert_len = cert.len;
    }

    step = o.out;
    int n = snprintf(tmp_out, sizeof(tmp_out), "%s.tmp.%ld", o.out, (long)getpid());
    TR_CHECK(n > 0 && (size_t)n < sizeof(tmp_out), TR_ERR_USAGE);
    out_fd = open(tmp_out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    TR_CHECK(out_fd >= 0, TR_ERR_SYS);
    TR_TRY(eif_write(&b, out_fd, &pcrs));
    TR_CHECK(fsync(out_fd) == 0 && close(out_fd) == 0, TR_ERR_IO);
    out_fd = -1;
    TR_CHECK(rename(tmp_out, o.out) == 0, TR_ERR_SYS);
    tmp_out[0] = '\0';

    step = "measurements";
    TR_TRY(eif_pcrs_json(&pcrs, (struct json_t **)&m));
    if (o.pcrs_json) {
        step = o.pcrs_json;
        TR_TRY(write_json_file(o.pcrs_json, m));
    }
    top = json_pack("{s:O}", "Measurements", m);
    TR_CHECK(top && json_dumpf(top, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0, TR_ERR_IO);
    fputc('\n', stdout);
    rc = EIF_EXIT_OK;
out:
    if (!tr_ok(res)) {
        cli_error(step, res);
        rc = tr_err_category(res.err) == TR_CAT_USAGE ? EIF_EXIT_USAGE : EIF_EXIT_FAIL;
    }
done:
    if (out_fd >= 0)
        close(out_fd);
    if (tmp_out[0])
        unlink(tmp_out);
    if (kfd >= 0)
        close(kfd);
    if (boot_fd >= 0)
        close(boot_fd);
    if (cust_fd >= 0)
        close(cust_fd);
    EVP_PKEY_free(key);
    json_decref(m);
    json_decref(top);
    tr_buf_free(&cmdline);
    tr_buf_free(&meta);
    tr_buf_free(&cert);
    eif_tree_free(&tree);
    opts_free(&o);
    return rc;
}
