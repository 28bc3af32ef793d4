/* Prover bundles: a bb release with the exact runtime it needs, so any bb
 * runs in our image whatever glibc the image has (docs/PROTOCOL-EXT.md,
 * "Prover bundles").
 *
 * A bundle is a directory D holding
 *     D/bb                          the prover (regular file, executable)
 *     D/lib/ld-linux-x86-64.so.2    the ELF loader        } optional: without
 *     D/lib/<soname>                every library bb needs } lib/ bb runs directly
 * and nothing else: no symlinks, no other directories, names of
 * [A-Za-z0-9._+-] not starting with '.', at most BUNDLE_MAX_FILES files.
 * It runs as `D/lib/ld-linux-x86-64.so.2 --inhibit-cache --library-path D/lib
 * D/bb ARGS` and needs nothing outside D. A plain executable file F (a static
 * binary, the test fakes, a legacy BB_BINARY_PATH) is a one-file bundle: it
 * runs as `F ARGS` and its digest is that of a bundle holding only `bb`.
 *
 * The digest covers everything that runs: SHA-256 over the manifest
 *     "teerex-bundle-v1\n"
 *     "<mode> <sha256 of the file, hex> <path>\n"   per file, sorted by path
 * where mode is 755 when the owner may execute the file and 644 otherwise,
 * and path is relative to D ("bb", "lib/libc.so.6"). Anyone can recompute it
 * with find, sort and sha256sum (docs/PROTOCOL-EXT.md shows how).
 *
 * This module is the one place that knows how to run a version: the prover,
 * the sandbox and the start-up checks call bundle_open() and bundle_argv(). */
#ifndef TEEREX_BUNDLE_H
#define TEEREX_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"
#include "teerex/result.h"

#define BUNDLE_BB "bb"
#define BUNDLE_LIB_DIR "lib"
#define BUNDLE_LOADER "ld-linux-x86-64.so.2"
#define BUNDLE_MANIFEST_TAG "teerex-bundle-v1"
#define BUNDLE_MAX_FILES 64
#define BUNDLE_NAME_MAX 128                       /* one path component */
#define BUNDLE_PATH_MAX 1200                      /* absolute paths of a bundle's parts */
#define BUNDLE_DIGEST_HEX 65                      /* 64 hex digits + NUL */
#define BUNDLE_ARGV_PREFIX 5                      /* loader --inhibit-cache --library-path LIB bb */
#define BUNDLE_MAX_FILE_BYTES ((uint64_t)1 << 30) /* 1 GiB: one file of a bundle */
#define BUNDLE_MAX_TOTAL_BYTES ((uint64_t)2 << 30) /* 2 GiB: a whole bundle */

enum bundle_kind {
    BUNDLE_FILE = 1,  /* a single executable file, run directly */
    BUNDLE_BARE,      /* a directory with bb and no lib/: bb runs directly */
    BUNDLE_LOADER_DIR /* a directory with bb and lib/ (loader + libraries) */
};

/* Where a bundle lives and how it runs. Plain data: copy it freely. */
struct bundle {
    enum bundle_kind kind;
    char root[BUNDLE_PATH_MAX];   /* what the prover needs: the directory D, or the file */
    char bb[BUNDLE_PATH_MAX];     /* D/bb, or the file */
    char lib[BUNDLE_PATH_MAX];    /* D/lib ("" unless BUNDLE_LOADER_DIR) */
    char loader[BUNDLE_PATH_MAX]; /* D/lib/ld-linux-x86-64.so.2 ("" unless LOADER_DIR) */
};

/* Checks the layout of a bundle directory or executable file (lstat only,
 * no symlink followed) and fills out. TR_ERR_BUNDLE_NOT_FOUND when path does
 * not exist, TR_ERR_BUNDLE_LAYOUT when it is not a bundle. */
TR_RESULT bundle_open(const char *path, struct bundle *out);

/* The argv prefix that runs the bundle's bb (pointers into b; NULL
 * terminated). Returns the number of entries (1 or BUNDLE_ARGV_PREFIX). The
 * caller appends bb's own arguments. */
size_t bundle_argv(const struct bundle *b, const char *out[BUNDLE_ARGV_PREFIX + 1]);

/* The manifest text (see above) of the bundle, appended to out. Fails with
 * TR_ERR_BUNDLE_LAYOUT when the directory holds anything but bb and lib/
 * files, or a file changes type while it is read. */
TR_RESULT bundle_manifest(const struct bundle *b, struct tr_buf *out);
/* SHA-256 of the manifest, lowercase hex. */
TR_RESULT bundle_digest(const struct bundle *b, char out_hex[BUNDLE_DIGEST_HEX]);
/* bundle_open + bundle_digest. */
TR_RESULT bundle_digest_path(const char *path, char out_hex[BUNDLE_DIGEST_HEX]);

/* A relative path allowed inside a bundle: "bb" or "lib/<name>" with name of
 * [A-Za-z0-9._+-]{1,BUNDLE_NAME_MAX-1}, not starting with '.'. */
bool bundle_path_valid(const char *rel);
/* One file name component by the same rule. */
bool bundle_name_valid(const char *name, size_t len);
/* A digest in the form above: 64 lowercase hex digits. */
bool bundle_digest_valid(const char *hex);

/* Bundle archives (bundle_tar.c, bundle_tar_write.c): how a bundle travels
 * (admin upload, provisioning). A tar stream (ustar/pax/GNU, uncompressed) of
 * regular files "bb" and "lib/<name>", optionally the directory "lib/"; any
 * other entry (symlink, hard link, device, other path, duplicate) refuses the
 * whole archive; "bb" is required. Only the owner's execute bit of a mode
 * counts. The reader hands each file to a sink as it goes: nothing is
 * buffered, so memory stays bounded whatever the archive's size. */
struct bundle_tar_sink {
    TR_RESULT (*begin)(void *ctx, const char *rel, bool exec, uint64_t size);
    TR_RESULT (*data)(void *ctx, const void *p, size_t n);
    TR_RESULT (*end)(void *ctx);
    void *ctx;
};
TR_RESULT bundle_tar_read_fd(int fd, const struct bundle_tar_sink *sink);
TR_RESULT bundle_tar_read_mem(const void *p, size_t n, const struct bundle_tar_sink *sink);
/* Extracts a bundle archive (fd) into the empty directory dir: files created
 * with O_EXCL|O_NOFOLLOW, modes 0755 (exec) or 0644, lib/ made on demand. */
TR_RESULT bundle_tar_extract(int fd, const char *dir);
/* Writes the bundle as a deterministic archive: ustar, "bb" then the lib/
 * files sorted by name, no directory entries, modes 0755/0644, owner 0:0, no
 * owner names, mtime 0. The same bundle always gives the same bytes. */
TR_RESULT bundle_tar_write(const struct bundle *b, int fd);

/* Provisioning messages (bundle_provision.c; docs/PROTOCOL-EXT.md,
 * "Provisioning"). teerexd asks the host's provisioning service for a version
 * with one JSON line; the service answers one JSON line, then on success
 * exactly `size` bytes of a bundle archive:
 *   request  {"version":"4.1.2"[,"digest":"<hex>"]}\n           (<= 1 KiB)
 *   reply    {"version":"4.1.2","digest":"<hex>","size":N}\n<N bytes>
 *            {"error":"<code>","detail":"<sentence>"}\n         (<= 4 KiB)
 * error codes: unknown_version, no_binary, integrity, does_not_run,
 * runtime, network, refused, busy, internal. */
#define BUNDLE_PROV_REQUEST_MAX 1024
#define BUNDLE_PROV_REPLY_MAX 4096

struct bundle_prov_request {
    char version[65];
    char digest[BUNDLE_DIGEST_HEX]; /* "" when not given */
};
struct bundle_prov_reply {
    bool ok;
    char version[65];
    char digest[BUNDLE_DIGEST_HEX];
    uint64_t size;
    char error[32];   /* a code above when !ok */
    char detail[512]; /* printable ASCII, truncated */
};
/* One line without its '\n'. TR_ERR_BUNDLE_PROVISION_MSG when malformed. */
TR_RESULT bundle_prov_request_parse(const char *line, size_t n, struct bundle_prov_request *out);
TR_RESULT bundle_prov_reply_parse(const char *line, size_t n, struct bundle_prov_reply *out);
/* The lines, '\n' included, appended to out. */
TR_RESULT bundle_prov_request_write(const struct bundle_prov_request *rq, struct tr_buf *out);
TR_RESULT bundle_prov_reply_write(const struct bundle_prov_reply *rp, struct tr_buf *out);

/* A version name: [0-9A-Za-z._+-]{1,64}, not starting with '.', no "..". */
bool bundle_version_valid(const char *version);

/* Which bundles an enclave accepts (bundle_policy.c). Open: any bundle, its
 * digest attested (the reference's behaviour). Pinned: only the (version,
 * digest) pairs of an allow-list that the measured image carries, so a
 * hostile host cannot swap in a prover that sees every input.
 *
 * Allow-list file: one "VERSION DIGEST" per line; blank lines and lines
 * starting with '#' are ignored; at most BUNDLE_POLICY_MAX entries. */
#define BUNDLE_POLICY_MAX 256
#define BUNDLE_ALLOWLIST_MAX_BYTES ((size_t)64 * 1024)

struct bundle_allowed {
    char version[65];
    char digest[BUNDLE_DIGEST_HEX];
};

struct bundle_policy {
    bool pinned;
    size_t n;
    struct bundle_allowed allowed[BUNDLE_POLICY_MAX];
};

/* "pinned" / "open". */
const char *bundle_policy_name(const struct bundle_policy *p);
/* Parses allow-list text into p (p->pinned untouched). TR_ERR_BUNDLE_ALLOWLIST
 * on a malformed line, *bad_line (may be NULL) set to its number. */
TR_RESULT bundle_allowlist_parse(const char *text, size_t len, struct bundle_policy *p,
                                 size_t *bad_line);
TR_RESULT bundle_allowlist_load(const char *path, struct bundle_policy *p, size_t *bad_line);
/* Open: always true. Pinned: (version, digest) is on the list. */
bool bundle_policy_allows(const struct bundle_policy *p, const char *version, const char *digest);
/* Open: always true. Pinned: the version has an entry (worth provisioning). */
bool bundle_policy_lists(const struct bundle_policy *p, const char *version);

#endif
