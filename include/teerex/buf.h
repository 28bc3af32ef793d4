/* Safe byte handling: tr_slice (borrowed bytes), tr_reader (a bounds-checked
 * cursor over untrusted input) and tr_buf (an owned, growable buffer with a
 * hard cap; optionally in locked, non-dumpable memory that is wiped on free).
 *
 * Readers check "remaining < n" before every read, zero the output and leave
 * the cursor unmoved on failure, so parsers never do pointer arithmetic on
 * untrusted lengths.
 */
#ifndef TEEREX_BUF_H
#define TEEREX_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "teerex/result.h"

struct tr_slice {
    const uint8_t *ptr;
    size_t len;
};

static inline struct tr_slice tr_slice_of(const void *p, size_t n)
{
    struct tr_slice s = {(const uint8_t *)p, n};
    return s;
}

struct tr_reader {
    const uint8_t *ptr;
    size_t len;
    size_t pos;
};

void tr_reader_init(struct tr_reader *r, const void *p, size_t n);
static inline size_t tr_reader_remaining(const struct tr_reader *r)
{
    return r->len - r->pos;
}
static inline const uint8_t *tr_reader_cursor(const struct tr_reader *r)
{
    return r->ptr + r->pos;
}
TR_RESULT tr_read_u8(struct tr_reader *r, uint8_t *out);
TR_RESULT tr_read_be16(struct tr_reader *r, uint16_t *out);
TR_RESULT tr_read_be32(struct tr_reader *r, uint32_t *out);
TR_RESULT tr_read_be64(struct tr_reader *r, uint64_t *out);
TR_RESULT tr_read_bytes(struct tr_reader *r, size_t n, uint8_t *out);
/* Borrow n bytes without copying. */
TR_RESULT tr_read_slice(struct tr_reader *r, size_t n, struct tr_slice *out);
/* Cut a child reader over the next n bytes (a length-prefixed field). */
TR_RESULT tr_read_sub(struct tr_reader *r, size_t n, struct tr_reader *out);
TR_RESULT tr_read_skip(struct tr_reader *r, size_t n);
/* Fails with TR_ERR_TRAILING when bytes are left. */
TR_RESULT tr_reader_expect_end(const struct tr_reader *r);

struct tr_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* hard cap: growing past it fails with TR_ERR_TOO_BIG */
    int secret; /* locked, non-dumpable memory, wiped on free and on growth */
    int mapped; /* internal: large buffer held in its own huge-page mapping */
};

/* max == 0 means TR_BUF_DEFAULT_MAX. */
void tr_buf_init(struct tr_buf *b, size_t max);
void tr_buf_init_secret(struct tr_buf *b, size_t max);
TR_RESULT tr_buf_reserve(struct tr_buf *b, size_t extra);
TR_RESULT tr_buf_append(struct tr_buf *b, const void *p, size_t n);
TR_RESULT tr_buf_append_u8(struct tr_buf *b, uint8_t v);
TR_RESULT tr_buf_append_be16(struct tr_buf *b, uint16_t v);
TR_RESULT tr_buf_append_be32(struct tr_buf *b, uint32_t v);
TR_RESULT tr_buf_append_str(struct tr_buf *b, const char *s);
/* Reserve n bytes at the end, return a pointer to write them (len grows). */
TR_RESULT tr_buf_extend(struct tr_buf *b, size_t n, uint8_t **out);
/* Keep the allocation, drop the contents (wiped if secret). */
void tr_buf_clear(struct tr_buf *b);
/* Wipe if secret, release, and reset to empty (max and secret kept). */
void tr_buf_free(struct tr_buf *b);
static inline struct tr_slice tr_buf_slice(const struct tr_buf *b)
{
    return tr_slice_of(b->data, b->len);
}

#define TR_BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)

#endif
