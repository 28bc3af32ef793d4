/* A structural pre-check of CBOR before libcbor decodes it.
 *
 * libcbor 0.8's cbor_load allocates a container for the count its header
 * declares before reading any element, so 9 bytes claiming 2^40 elements
 * ask for terabytes (found by fuzz_eif_image). This walk, over tr_reader,
 * accepts only definite-length items whose declared counts and lengths fit
 * in the bytes that remain, with bounded nesting, and exactly one item. */
#include "eif_cbor.h"

#define MAX_DEPTH 16

static TR_RESULT head(struct tr_reader *r, uint8_t *major, uint64_t *arg)
{
    uint8_t b;
    *major = 0;
    *arg = 0;
    TR_ENSURE(tr_ok(tr_read_u8(r, &b)), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    *major = b >> 5;
    uint8_t ai = b & 0x1f;
    if (ai < 24) {
        *arg = ai;
        return TR_SUCCESS;
    }
    /* 28-30 are reserved, 31 is indefinite length / break: not accepted. */
    TR_ENSURE(ai <= 27, TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    size_t n = (size_t)1 << (ai - 24);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t x;
        TR_ENSURE(tr_ok(tr_read_u8(r, &x)), TR_ERR_EIF_BAD_SIGNATURE_SECTION);
        v = (v << 8) | x;
    }
    *arg = v;
    return TR_SUCCESS;
}

static TR_RESULT item(struct tr_reader *r, int depth)
{
    uint8_t major = 0;
    uint64_t arg = 0;
    TR_ENSURE(depth < MAX_DEPTH, TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    TR_GUARD(head(r, &major, &arg));
    size_t left = tr_reader_remaining(r);
    switch (major) {
    case 0: /* unsigned, negative integer: the argument is the value */
    case 1: return TR_SUCCESS;
    case 2: /* byte and text strings */
    case 3:
        TR_ENSURE(arg <= left, TR_ERR_EIF_BAD_SIGNATURE_SECTION);
        return tr_read_skip(r, (size_t)arg);
    case 4: /* array: every element takes at least one byte */
        TR_ENSURE(arg <= left, TR_ERR_EIF_BAD_SIGNATURE_SECTION);
        for (uint64_t i = 0; i < arg; i++)
            TR_GUARD(item(r, depth + 1));
        return TR_SUCCESS;
    case 5: /* map: two items per entry */
        TR_ENSURE(arg <= left / 2, TR_ERR_EIF_BAD_SIGNATURE_SECTION);
        for (uint64_t i = 0; i < 2 * arg; i++)
            TR_GUARD(item(r, depth + 1));
        return TR_SUCCESS;
    case 6: /* tag: one tagged item */ return item(r, depth + 1);
    default: /* 7: simple values and floats; the head carried the payload */ return TR_SUCCESS;
    }
}

TR_RESULT eif_cbor_check(const uint8_t *p, size_t n)
{
    struct tr_reader r;
    TR_ENSURE(p && n > 0, TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    tr_reader_init(&r, p, n);
    TR_GUARD(item(&r, 0));
    TR_ENSURE(tr_reader_remaining(&r) == 0, TR_ERR_EIF_BAD_SIGNATURE_SECTION);
    return TR_SUCCESS;
}
