/* teerex_eif: AWS Nitro Enclave Image Format (EIF) writer and bounds-checked
 * parser, cpio "newc" ramdisk writer, PCR computation and the nitro-cli
 * signature section (COSE_Sign1 over PCR0, PCR8).
 *
 * Layout (aws-nitro-enclaves-image-format, version 4, all big-endian):
 *   header (548 bytes): magic ".eif", u16 version, u16 flags (bit 0: arm64),
 *     u64 default_mem, u64 default_cpus, u16 reserved, u16 num_sections,
 *     u64 section_offsets[32], u64 section_sizes[32], u32 unused, u32 crc32
 *     (CRC-32/ISO-HDLC over the whole file except the crc32 field itself);
 *   then per section: a 12-byte section header (u16 type, u16 flags,
 *     u64 size) followed by `size` data bytes. section_offsets[i] points at
 *     the section header, section_sizes[i] is the data size.
 *   Order as nitro-cli writes it: kernel, cmdline, metadata, ramdisks...,
 *   optional signature.
 *
 * PCRs (SHA-384, "extend" = SHA-384(48 zero bytes || SHA-384(data))):
 *   PCR0 kernel || cmdline || every ramdisk, PCR1 kernel || cmdline ||
 *   first ramdisk, PCR2 the other ramdisks, PCR8 the DER of the signing
 *   certificate (signed images only).
 */
#ifndef TEEREX_EIF_H
#define TEEREX_EIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "teerex/buf.h"
#include "teerex/result.h"

#define EIF_HEADER_LEN 548
#define EIF_SECTION_HEADER_LEN 12
#define EIF_MAX_SECTIONS 32
#define EIF_MAX_RAMDISKS (EIF_MAX_SECTIONS - 4)
#define EIF_VERSION 4
#define EIF_FLAG_ARM64 0x1
#define EIF_PCR_LEN 48
#define EIF_DEFAULT_MEM ((uint64_t)1024 * 1024 * 1024) /* nitro-cli's EifBuilder default */
#define EIF_DEFAULT_CPUS 2
/* A signature section holds one PEM certificate and one COSE_Sign1, encoded
 * as CBOR arrays of integers (<= 2 bytes per byte): far below this. */
#define EIF_MAX_SIGNATURE_SECTION ((size_t)64 * 1024)
#define EIF_MAX_PATH 1024

enum eif_section_type {
    EIF_SECTION_INVALID = 0,
    EIF_SECTION_KERNEL = 1,
    EIF_SECTION_CMDLINE = 2,
    EIF_SECTION_RAMDISK = 3,
    EIF_SECTION_SIGNATURE = 4,
    EIF_SECTION_METADATA = 5,
};

/* ---------------------------------------------------------------- parser */

struct eif_section {
    uint16_t type;
    uint16_t flags;
    uint64_t offset;      /* of the 12-byte section header */
    struct tr_slice data; /* borrowed from the parsed bytes */
};

struct eif_image {
    uint16_t version;
    uint16_t flags;
    uint64_t default_mem;
    uint64_t default_cpus;
    uint32_t crc;
    uint16_t num_sections;
    struct eif_section sections[EIF_MAX_SECTIONS];
    int kernel, cmdline, metadata, signature; /* section index, -1 if absent */
    int n_ramdisks;
};

/* Parses and validates a whole EIF held in memory: header fields, section
 * table (contiguous, in order, no overlap or gap, no trailing bytes), every
 * section header against the table, the section layout and the CRC. The
 * image borrows from p. */
TR_RESULT eif_parse(const uint8_t *p, size_t n, struct eif_image *out);
const char *eif_section_type_name(uint16_t type);

/* ------------------------------------------------------------------ PCRs */

struct eif_pcrs {
    uint8_t pcr0[EIF_PCR_LEN], pcr1[EIF_PCR_LEN], pcr2[EIF_PCR_LEN], pcr8[EIF_PCR_LEN];
    bool has_pcr8;
};

/* Streaming measurement, fed the sections in file order. */
struct eif_measure {
    EVP_MD_CTX *image, *boot, *app;
    uint16_t cur_type;
    int n_ramdisks;
};
TR_RESULT eif_measure_init(struct eif_measure *m);
/* Starts a section; bytes given to eif_measure_update go to the PCRs that
 * measure this section type (metadata and signature go nowhere). */
void eif_measure_begin(struct eif_measure *m, uint16_t type);
TR_RESULT eif_measure_update(struct eif_measure *m, const void *p, size_t n);
/* Fills pcr0..pcr2 (has_pcr8 false, pcr8 zero). */
TR_RESULT eif_measure_final(struct eif_measure *m, struct eif_pcrs *out);
void eif_measure_free(struct eif_measure *m);

/* out = SHA-384(48 zero bytes || digest). */
TR_RESULT eif_pcr_extend(const uint8_t digest[EIF_PCR_LEN], uint8_t out[EIF_PCR_LEN]);
/* PCR8 from a certificate's DER (eif_sig.c, beside eif_sig_pcr8). */
TR_RESULT eif_pcr8_from_der(const uint8_t *der, size_t n, uint8_t out[EIF_PCR_LEN]);
/* PCR0..2 of a parsed image, plus PCR8 from its signature section if any
 * (the signature is parsed, not verified: see eif_sig_verify). */
TR_RESULT eif_image_pcrs(const struct eif_image *img, struct eif_pcrs *out);

/* ------------------------------------------------------------- signature */

/* The signature section nitro-cli writes: a CBOR array of one map
 * {"signing_certificate": [PEM bytes as uints], "signature": [COSE_Sign1
 * bytes as uints]} (serde_cbor's encoding of Vec<PcrSignature>); the
 * COSE_Sign1 (lib/cose: untagged, ES256/384/512 by the certificate's
 * curve) signs the CBOR map {"register_index": 0, "register_value": [PCR0
 * bytes as uints]}. Dependencies run one way: eif_image.c (a parsed
 * image's PCRs) -> eif_sig.c (the section, PCR8) -> eif_pcr.c (hashing). */
struct eif_signature {
    struct tr_buf cert_pem;
    struct tr_buf cose;
};
void eif_signature_init(struct eif_signature *s);
void eif_signature_free(struct eif_signature *s);
TR_RESULT eif_sig_build(EVP_PKEY *key, const uint8_t *cert_pem, size_t cert_len,
                        const uint8_t pcr0[EIF_PCR_LEN], struct tr_buf *out_section);
TR_RESULT eif_sig_parse(const uint8_t *p, size_t n, struct eif_signature *out);
/* PCR8 of the certificate in the section (no signature check). */
TR_RESULT eif_sig_pcr8(const struct eif_signature *s, uint8_t out[EIF_PCR_LEN]);
/* Checks the COSE_Sign1 with the certificate's key and that it signs
 * register 0 = pcr0. */
TR_RESULT eif_sig_verify(const struct eif_signature *s, const uint8_t pcr0[EIF_PCR_LEN]);

/* ---------------------------------------------------------------- writer */

/* Section bytes: in memory (fd < 0) or the first len bytes of a file. */
struct eif_blob {
    const uint8_t *mem;
    size_t len;
    int fd;
};
static inline struct eif_blob eif_blob_mem(const void *p, size_t n)
{
    struct eif_blob b = {(const uint8_t *)p, n, -1};
    return b;
}
/* len = the file's current size. */
TR_RESULT eif_blob_fd(int fd, struct eif_blob *out);

struct eif_build {
    uint16_t flags;
    uint64_t default_mem;
    uint64_t default_cpus;
    struct eif_blob kernel, cmdline, metadata;
    struct eif_blob ramdisks[EIF_MAX_RAMDISKS];
    size_t n_ramdisks;
    EVP_PKEY *sign_key;           /* NULL: unsigned */
    const uint8_t *sign_cert_pem; /* PEM bytes, written as given */
    size_t sign_cert_len;
};
void eif_build_init(struct eif_build *b);
/* The kernel command line as nitro-cli stores it: the cmdline file's text
 * with leading and trailing whitespace (tab, LF, VT, FF, CR, space) removed
 * (Rust's str::trim; non-ASCII spaces are not expected there). */
struct tr_slice eif_cmdline_trim(const uint8_t *p, size_t n);
/* Writes the EIF to out_fd (a regular file, written from offset 0) and
 * returns its PCRs (PCR8 when signed). */
TR_RESULT eif_write(const struct eif_build *b, int out_fd, struct eif_pcrs *out_pcrs);

/* ------------------------------------------------------------ metadata */

struct eif_meta_info {
    const char *image_name;
    const char *image_version;
    const char *kernel_version;
    int64_t build_time; /* Unix seconds (SOURCE_DATE_EPOCH) */
};
/* The metadata JSON (EifIdentityInfo field order), no trailing newline. */
TR_RESULT eif_meta_json(const struct eif_meta_info *m, struct tr_buf *out);
/* nitro-cli's "Measurements" object: {"HashAlgorithm": "Sha384 { ... }",
 * "PCR0": hex, "PCR1": hex, "PCR2": hex[, "PCR8": hex]} (a jansson json_t). */
struct json_t;
TR_RESULT eif_pcrs_json(const struct eif_pcrs *p, struct json_t **out);

/* ------------------------------------------------------------------ cpio */

/* cpio "newc" writer with linuxkit's (gocpio's) conventions: inode numbers
 * from 721 upwards, nlink 1 (2 for directories), dev 3:1, check 0, header
 * and name padded to 4, data padded to 4, trailer "TRAILER!!!", archive
 * padded to 512. Owners are 0 and every mtime is the given constant. */
struct eif_cpio {
    int fd;
    uint64_t len;
    uint32_t ino;
    uint32_t mtime;
};
void eif_cpio_init(struct eif_cpio *c, int fd, uint32_t mtime);
/* mode includes the file type bits (S_IFREG, S_IFDIR, S_IFLNK); data is
 * the content (symlink: the target); NULL for a directory. */
TR_RESULT eif_cpio_add(struct eif_cpio *c, const char *name, uint32_t mode,
                       const struct eif_blob *data);
TR_RESULT eif_cpio_finish(struct eif_cpio *c);

/* ------------------------------------------------------------- ramdisks */

struct eif_entry {
    char *path;    /* relative, no leading '/' */
    uint32_t mode; /* S_IF* | permission bits */
    char *src;     /* regular file: path to copy; NULL otherwise */
    uint8_t *data; /* in-memory content (cmd, env) or symlink target */
    size_t data_len;
    bool implicit; /* a parent directory added automatically */
};

struct eif_tree {
    struct eif_entry *v;
    size_t n, cap;
};
void eif_tree_init(struct eif_tree *t);
void eif_tree_free(struct eif_tree *t);
TR_RESULT eif_tree_add_file(struct eif_tree *t, const char *dst, const char *src, uint32_t perm);
TR_RESULT eif_tree_add_data(struct eif_tree *t, const char *dst, const void *p, size_t n,
                            uint32_t perm);
TR_RESULT eif_tree_add_dir(struct eif_tree *t, const char *dst, uint32_t perm);
TR_RESULT eif_tree_add_symlink(struct eif_tree *t, const char *dst, const char *target);
/* Adds everything under dir (files, directories, symlinks; modes from the
 * file system) as prefix/<relative path>. */
TR_RESULT eif_tree_add_root(struct eif_tree *t, const char *dir, const char *prefix);
/* Adds missing parent directories (0755), sorts by path, rejects
 * duplicates and writes the cpio archive. */
TR_RESULT eif_tree_write(struct eif_tree *t, int fd, uint32_t mtime);

/* Bootstrap ramdisk as nitro-cli lays it out: dev/ (0755), init (0755),
 * nsm.ko (0755). */
TR_RESULT eif_ramdisk_bootstrap(const char *init_path, const char *nsm_path, int fd);
/* Customer ramdisk for the AWS enclave init: rootfs/ with dev, proc, run,
 * sys, tmp, var (0755) plus rootfs_files (every path must be under rootfs/;
 * the tree is completed and written by this call), and
 * the files cmd and env (0644) holding argv and K=V lines, one per line. */
TR_RESULT eif_ramdisk_customer(struct eif_tree *rootfs_files, const char *const *argv, size_t argc,
                               const char *const *env, size_t envc, int fd);

#endif
