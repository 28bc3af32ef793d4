/* EIF writer: kernel, cmdline, metadata, ramdisks, optional signature, in
 * nitro-cli's order, with its header defaults.
 *
 * Hand-written for the same reason as the parser (the format exists only in
 * AWS's Rust crate). Sections are streamed once: the PCRs and the CRC of
 * everything after the header are computed while copying; the header is
 * written last (its CRC joined with zlib's crc32_combine), so a multi-GB
 * image never sits in memory.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "teerex/eif.h"

#define COPY_CHUNK ((size_t)1 << 20)

void eif_build_init(struct eif_build *b)
{
    memset(b, 0, sizeof(*b));
    b->default_mem = EIF_DEFAULT_MEM;
    b->default_cpus = EIF_DEFAULT_CPUS;
#if defined(__aarch64__)
    b->flags = EIF_FLAG_ARM64;
#endif
    b->kernel.fd = b->cmdline.fd = b->metadata.fd = -1;
    for (size_t i = 0; i < EIF_MAX_RAMDISKS; i++)
        b->ramdisks[i].fd = -1;
}

static int is_space(uint8_t c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

struct tr_slice eif_cmdline_trim(const uint8_t *p, size_t n)
{
    if (!p)
        return tr_slice_of(p, 0);
    while (n > 0 && is_space(p[0]))
        p++, n--;
    while (n > 0 && is_space(p[n - 1]))
        n--;
    return tr_slice_of(p, n);
}

TR_RESULT eif_blob_fd(int fd, struct eif_blob *out)
{
    struct stat st;
    TR_ENSURE(fd >= 0, TR_ERR_NULL_ARG);
    TR_ENSURE(fstat(fd, &st) == 0, TR_ERR_SYS);
    TR_ENSURE(S_ISREG(st.st_mode), TR_ERR_EIF_UNSUPPORTED_FILE);
    out->mem = NULL;
    out->len = (size_t)st.st_size;
    out->fd = fd;
    return TR_SUCCESS;
}

struct writer {
    int fd;
    uint64_t pos; /* bytes written after the header */
    uint32_t crc; /* CRC of those bytes */
    struct eif_measure m;
    uint8_t *chunk;
};

static TR_RESULT write_all(int fd, const uint8_t *p, size_t n, off_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        TR_ENSURE(w > 0, TR_ERR_IO);
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return TR_SUCCESS;
}

static TR_RESULT emit(struct writer *w, const uint8_t *p, size_t n, bool measured)
{
    TR_GUARD(write_all(w->fd, p, n, (off_t)(EIF_HEADER_LEN + w->pos)));
    while (n > 0) {
        uInt c = n > (1u << 30) ? (1u << 30) : (uInt)n;
        w->crc = (uint32_t)crc32(w->crc, p, c);
        if (measured)
            TR_GUARD(eif_measure_update(&w->m, p, c));
        p += c;
        n -= c;
        w->pos += c;
    }
    return TR_SUCCESS;
}

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static TR_RESULT emit_section(struct writer *w, uint16_t type, const struct eif_blob *b,
                              uint64_t *off, uint64_t *size)
{
    uint8_t sh[EIF_SECTION_HEADER_LEN];
    *off = EIF_HEADER_LEN + w->pos;
    *size = b->len;
    be16(sh, type);
    be16(sh + 2, 0);
    be64(sh + 4, b->len);
    TR_GUARD(emit(w, sh, sizeof(sh), false));
    eif_measure_begin(&w->m, type);
    if (b->fd < 0)
        return emit(w, b->mem, b->len, true);
    for (size_t done = 0; done < b->len;) {
        size_t want = b->len - done < COPY_CHUNK ? b->len - done : COPY_CHUNK;
        ssize_t r = pread(b->fd, w->chunk, want, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        TR_ENSURE(r >= 0, TR_ERR_IO);
        TR_ENSURE(r > 0, TR_ERR_EIF_CHANGED); /* file shrank */
        TR_GUARD(emit(w, w->chunk, (size_t)r, true));
        done += (size_t)r;
    }
    /* The size in the header must describe what was written. */
    struct stat st;
    TR_ENSURE(fstat(b->fd, &st) == 0, TR_ERR_SYS);
    TR_ENSURE((uint64_t)st.st_size == b->len, TR_ERR_EIF_CHANGED);
    return TR_SUCCESS;
}

TR_RESULT eif_write(const struct eif_build *b, int out_fd, struct eif_pcrs *out_pcrs)
{
    tr_result res = TR_SUCCESS;
    struct writer w = {.fd = out_fd};
    struct tr_buf sig;
    uint64_t offs[EIF_MAX_SECTIONS] = {0}, sizes[EIF_MAX_SECTIONS] = {0};
    uint8_t hdr[EIF_HEADER_LEN];
    int ns = 0;
    tr_buf_init(&sig, EIF_MAX_SIGNATURE_SECTION);
    memset(out_pcrs, 0, sizeof(*out_pcrs));
    TR_CHECK(out_fd >= 0, TR_ERR_NULL_ARG);
    TR_CHECK(b->n_ramdisks >= 1 && b->n_ramdisks <= EIF_MAX_RAMDISKS, TR_ERR_EIF_TOO_BIG);
    TR_CHECK(!b->sign_key || b->sign_cert_pem, TR_ERR_NULL_ARG);
    TR_TRY(eif_measure_init(&w.m));
    w.chunk = malloc(COPY_CHUNK);
    TR_CHECK(w.chunk, TR_ERR_NOMEM);
    TR_CHECK(ftruncate(out_fd, 0) == 0, TR_ERR_IO);

    TR_TRY(emit_section(&w, EIF_SECTION_KERNEL, &b->kernel, &offs[ns], &sizes[ns]));
    ns++;
    TR_TRY(emit_section(&w, EIF_SECTION_CMDLINE, &b->cmdline, &offs[ns], &sizes[ns]));
    ns++;
    TR_TRY(emit_section(&w, EIF_SECTION_METADATA, &b->metadata, &offs[ns], &sizes[ns]));
    ns++;
    for (size_t i = 0; i < b->n_ramdisks; i++, ns++)
        TR_TRY(emit_section(&w, EIF_SECTION_RAMDISK, &b->ramdisks[i], &offs[ns], &sizes[ns]));
    TR_TRY(eif_measure_final(&w.m, out_pcrs));
    if (b->sign_key) {
        /* PCR0 is known only now, and the signature section is last. */
        TR_TRY(
            eif_sig_build(b->sign_key, b->sign_cert_pem, b->sign_cert_len, out_pcrs->pcr0, &sig));
        struct eif_blob sb = eif_blob_mem(sig.data, sig.len);
        TR_TRY(emit_section(&w, EIF_SECTION_SIGNATURE, &sb, &offs[ns], &sizes[ns]));
        ns++;
        struct eif_signature parsed;
        eif_signature_init(&parsed);
        res = eif_sig_parse(sig.data, sig.len, &parsed);
        if (tr_ok(res))
            res = eif_sig_pcr8(&parsed, out_pcrs->pcr8);
        eif_signature_free(&parsed);
        TR_TRY(res);
        out_pcrs->has_pcr8 = true;
    }

    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, ".eif", 4);
    be16(hdr + 4, EIF_VERSION);
    be16(hdr + 6, b->flags);
    be64(hdr + 8, b->default_mem);
    be64(hdr + 16, b->default_cpus);
    be16(hdr + 24, 0);
    be16(hdr + 26, (uint16_t)ns);
    for (int i = 0; i < ns; i++) {
        be64(hdr + 28 + 8 * i, offs[i]);
        be64(hdr + 28 + 8 * EIF_MAX_SECTIONS + 8 * i, sizes[i]);
    }
    uint32_t crc = (uint32_t)crc32(0, hdr, EIF_HEADER_LEN - 4);
    crc = (uint32_t)crc32_combine(crc, w.crc, (z_off_t)w.pos);
    hdr[EIF_HEADER_LEN - 4] = (uint8_t)(crc >> 24);
    hdr[EIF_HEADER_LEN - 3] = (uint8_t)(crc >> 16);
    hdr[EIF_HEADER_LEN - 2] = (uint8_t)(crc >> 8);
    hdr[EIF_HEADER_LEN - 1] = (uint8_t)crc;
    TR_TRY(write_all(out_fd, hdr, sizeof(hdr), 0));
out:
    free(w.chunk);
    eif_measure_free(&w.m);
    tr_buf_free(&sig);
    return res;
}
