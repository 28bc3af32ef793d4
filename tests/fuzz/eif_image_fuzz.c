/* Target functions: eif_parse, eif_image_pcrs, eif_sig_parse,
 * eif_sig_verify (teerex-eif describe reads untrusted EIF files).
 *
 * Each input is parsed as is, then again with its header CRC recomputed so
 * the fuzzer reaches the checks and code behind the CRC. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "teerex/eif.h"

static void run(const uint8_t *data, size_t size)
{
    struct eif_image img;
    struct eif_pcrs pcrs;
    if (!tr_ok(eif_parse(data, size, &img)))
        return;
    /* Every section lies inside the input, in order. */
    for (int i = 0; i < img.num_sections; i++) {
        const struct tr_slice *s = &img.sections[i].data;
        if (s->ptr < data || s->ptr + s->len > data + size)
            __builtin_trap();
    }
    if (!tr_ok(eif_image_pcrs(&img, &pcrs)))
        return;
    if (img.signature >= 0) {
        struct eif_signature sig;
        eif_signature_init(&sig);
        const struct tr_slice *s = &img.sections[img.signature].data;
        if (tr_ok(eif_sig_parse(s->ptr, s->len, &sig)))
            tr_ignore(eif_sig_verify(&sig, pcrs.pcr0));
        eif_signature_free(&sig);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size);
    if (size < EIF_HEADER_LEN)
        return 0;
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    uLong c = crc32(0, copy, EIF_HEADER_LEN - 4);
    c = crc32(c, copy + EIF_HEADER_LEN, (uInt)(size - EIF_HEADER_LEN));
    copy[EIF_HEADER_LEN - 4] = (uint8_t)(c >> 24);
    copy[EIF_HEADER_LEN - 3] = (uint8_t)(c >> 16);
    copy[EIF_HEADER_LEN - 2] = (uint8_t)(c >> 8);
    copy[EIF_HEADER_LEN - 1] = (uint8_t)c;
    run(copy, size);
    free(copy);
    return 0;
}
