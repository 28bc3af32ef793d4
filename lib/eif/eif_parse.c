/* EIF parser: validates a whole image held in memory.
 *
 * Hand-written because the only implementation of the format is AWS's Rust
 * crate (aws-nitro-enclaves-image-format); no C library reads EIFs. Every
 * field is read through tr_reader, and every section must start exactly
 * where the previous one ended, so offsets can neither overlap nor hide
 * unmeasured bytes in gaps.
 */
#include <string.h>

#include <zlib.h>

#include "teerex/eif.h"

static const uint8_t EIF_MAGIC[4] = {'.', 'e', 'i', 'f'};

const char *eif_section_type_name(uint16_t type)
{
    switch (type) {
    case EIF_SECTION_KERNEL: return "kernel";
    case EIF_SECTION_CMDLINE: return "cmdline";
    case EIF_SECTION_RAMDISK: return "ramdisk";
    case EIF_SECTION_SIGNATURE: return "signature";
    case EIF_SECTION_METADATA: return "metadata";
    default: return "invalid";
    }
}

/* zlib's crc32 takes a uInt length: feed large ranges in pieces. */
static uint32_t crc_update(uint32_t crc, const uint8_t *p, size_t n)
{
    uLong c = crc;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

/* Kernel, cmdline, then (version 4) optional metadata, one or more
 * ramdisks, optional signature last: the order nitro-cli writes. */
static TR_RESULT check_layout(struct eif_image *img)
{
    img->kernel = img->cmdline = img->metadata = img->signature = -1;
    img->n_ramdisks = 0;
    int phase = 0; /* 0 kernel, 1 cmdline, 2 metadata/ramdisk, 3 ramdisk/signature, 4 end */
    for (int i = 0; i < img->num_sections; i++) {
        uint16_t t = img->sections[i].type;
        if (phase == 0 && t == EIF_SECTION_KERNEL) {
            img->kernel = i;
            phase = 1;
        } else if (phase == 1 && t == EIF_SECTION_CMDLINE) {
            img->cmdline = i;
            phase = 2;
        } else if (phase == 2 && t == EIF_SECTION_METADATA && img->metadata < 0 &&
                   img->n_ramdisks == 0) {
            img->metadata = i;
        } else if ((phase == 2 || phase == 3) && t == EIF_SECTION_RAMDISK) {
            img->n_ramdisks++;
            phase = 3;
        } else if (phase == 3 && t == EIF_SECTION_SIGNATURE) {
            img->signature = i;
            phase = 4;
        } else {
            TR_BAIL(TR_ERR_EIF_BAD_LAYOUT);
        }
    }
    TR_ENSURE(phase >= 3, TR_ERR_EIF_BAD_LAYOUT);
    return TR_SUCCESS;
}

TR_RESULT eif_parse(const uint8_t *p, size_t n, struct eif_image *out)
{
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    TR_ENSURE(p != NULL || n == 0, TR_ERR_NULL_ARG);
    TR_ENSURE(n >= EIF_HEADER_LEN, TR_ERR_EIF_TRUNCATED);

    struct tr_reader r;
    tr_reader_init(&r, p, n);
    uint8_t magic[4];
    uint16_t reserved;
    uint32_t unused;
    uint64_t offsets[EIF_MAX_SECTIONS], sizes[EIF_MAX_SECTIONS];
    TR_GUARD(tr_read_bytes(&r, sizeof(magic), magic));
    TR_ENSURE(memcmp(magic, EIF_MAGIC, sizeof(magic)) == 0, TR_ERR_EIF_BAD_MAGIC);
    TR_GUARD(tr_read_be16(&r, &out->version));
    TR_ENSURE(out->version >= 2 && out->version <= EIF_VERSION, TR_ERR_EIF_BAD_VERSION);
    TR_GUARD(tr_read_be16(&r, &out->flags));
    TR_GUARD(tr_read_be64(&r, &out->default_mem));
    TR_GUARD(tr_read_be64(&r, &out->default_cpus));
    TR_GUARD(tr_read_be16(&r, &reserved));
    TR_GUARD(tr_read_be16(&r, &out->num_sections));
    for (int i = 0; i < EIF_MAX_SECTIONS; i++)
        TR_GUARD(tr_read_be64(&r, &offsets[i]));
    for (int i = 0; i < EIF_MAX_SECTIONS; i++)
        TR_GUARD(tr_read_be64(&r, &sizes[i]));
    TR_GUARD(tr_read_be32(&r, &unused));
    TR_GUARD(tr_read_be32(&r, &out->crc));
    TR_ENSURE(out->num_sections >= 1 && out->num_sections <= EIF_MAX_SECTIONS,
              TR_ERR_EIF_BAD_SECTION_COUNT);
    TR_ENSURE(reserved == 0 && unused == 0, TR_ERR_EIF_BAD_TABLE);
    for (int i = out->num_sections; i < EIF_MAX_SECTIONS; i++)
        TR_ENSURE(offsets[i] == 0 && sizes[i] == 0, TR_ERR_EIF_BAD_TABLE);

    /* Sections: header at the running position, then exactly size bytes. */
    for (int i = 0; i < out->num_sections; i++) {
        struct eif_section *s = &out->sections[i];
        uint64_t size;
        TR_ENSURE(offsets[i] == r.pos, TR_ERR_EIF_BAD_OFFSET);
        TR_ENSURE(tr_reader_remaining(&r) >= EIF_SECTION_HEADER_LEN, TR_ERR_EIF_TRUNCATED);
        s->offset = r.pos;
        TR_GUARD(tr_read_be16(&r, &s->type));
        TR_GUARD(tr_read_be16(&r, &s->flags));
        TR_GUARD(tr_read_be64(&r, &size));
        TR_ENSURE(s->type >= EIF_SECTION_KERNEL && s->type <= EIF_SECTION_METADATA,
                  TR_ERR_EIF_BAD_SECTION_TYPE);
        TR_ENSURE(size == sizes[i], TR_ERR_EIF_BAD_SIZE);
        TR_ENSURE(size <= tr_reader_remaining(&r), TR_ERR_EIF_BAD_SIZE);
        TR_GUARD(tr_read_slice(&r, (size_t)size, &s->data));
    }
    TR_ENSURE(tr_reader_remaining(&r) == 0, TR_ERR_EIF_TRAILING);
    TR_GUARD(check_layout(out));
    TR_ENSURE(out->signature < 0 || out->version >= 3, TR_ERR_EIF_BAD_LAYOUT);
    TR_ENSURE(out->metadata < 0 || out->version >= 4, TR_ERR_EIF_BAD_LAYOUT);

    /* CRC-32 over everything but the CRC field (the header's last 4 bytes). */
    uint32_t crc = crc_update(0, p, EIF_HEADER_LEN - 4);
    crc = crc_update(crc, p + EIF_HEADER_LEN, n - EIF_HEADER_LEN);
    TR_ENSURE(crc == out->crc, TR_ERR_EIF_BAD_CRC);
    return TR_SUCCESS;
}
