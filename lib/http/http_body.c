/* POST /prove body: {"data":"<base64 of the OpenPGP message>"}.
 *
 * Mirrors what the reference server's express.json() + shape check answer:
 * a body that is not a JSON object or array is "Malformed request body"; any
 * JSON without a string `data` is "Invalid request body".
 *
 * Memory: the body is judged by yajl's event parser, which builds no tree,
 * so a hostile shape costs nothing per value: a 24 MiB `[{},{},...]` made
 * jansson's tree grow to ~1.9 GB (issue 16). What a parse holds besides the
 * body (N bytes): yajl's nesting stack (1 byte per open level, < N), the
 * decoded copy of one escaped string (< N, only for strings with escapes) and
 * the decoded `data` (3/4 of its text): at most 3N in all, and N + 3N/4 for
 * the shape every SDK sends. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "teerex/codec.h"
#include "teerex/http.h"

static int b64_byte(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=';
}

/* The one shape every SDK sends, byte for byte: {"data":"<base64>"} (what
 * JSON.stringify produces). Base64 text has no escapes, so such a body is
 * valid JSON whose `data` is exactly the bytes between the quotes; it is
 * decoded in place of the input. Why not a parser here: for a 22 MB body a
 * byte-by-byte lexer costs ~25 % of teerexd's CPU per 16 MiB /prove
 * (measured with jansson). Anything else — whitespace, other keys, escapes —
 * goes to the event parser below, so the answer is the same. */
static int exact_shape(const uint8_t *body, size_t len, struct tr_slice *out_b64)
{
    static const char head[] = "{\"data\":\"";
    const size_t hl = sizeof(head) - 1;
    if (len < hl + 2 || memcmp(body, head, hl) != 0 || body[len - 2] != '"' || body[len - 1] != '}')
        return 0;
    for (size_t i = hl; i < len - 2; i++) {
        if (!b64_byte(body[i]))
            return 0;
    }
    *out_b64 = tr_slice_of(body + hl, len - hl - 2);
    return 1;
}

static tr_result decode_data(const char *s, size_t n, struct tr_buf *out)
{
    size_t before = out->len;
    tr_result r = tr_b64_decode(s, n, out);
    if (!tr_ok(r)) {
        out->len = before;
        if (r.err == TR_ERR_BAD_BASE64)
            TR_BAIL(TR_ERR_HTTP_BODY_BAD_BASE64);
    }
    return r;
}

/* What the events tell about the shape: only the top-level object's members
 * matter; the last `data` member wins, as with JSON.parse. */
struct shape {
    struct tr_buf *out;
    size_t start;     /* out->len before the body */
    size_t depth;     /* open objects and arrays */
    bool top_object;  /* the value at depth 0 is an object */
    bool key_is_data; /* the last top-level key was "data" */
    bool data_string; /* a top-level data member is a string */
    int32_t data_err; /* decoding the last data string */
};

static int on_value(void *ctx)
{
    struct shape *s = ctx;
    if (s->depth == 1 && s->top_object && s->key_is_data) {
        s->data_string = false; /* a later data member that is not a string */
        s->key_is_data = false;
    }
    return 1;
}
static int on_null(void *ctx)
{
    return on_value(ctx);
}
static int on_bool(void *ctx, int v)
{
    (void)v;
    return on_value(ctx);
}
static int on_number(void *ctx, const char *p, size_t n)
{
    (void)p;
    (void)n;
    return on_value(ctx);
}

static int on_string(void *ctx, const unsigned char *p, size_t n)
{
    struct shape *s = ctx;
    if (s->depth == 1 && s->top_object && s->key_is_data) {
        s->key_is_data = false;
        s->data_string = true;
        s->out->len = s->start; /* an earlier data member is replaced */
        if (s->out->data)
            s->out->data[s->start] = 0;
        s->data_err = decode_data((const char *)p, n, s->out).err;
    }
    return 1;
}

static int on_key(void *ctx, const unsigned char *p, size_t n)
{
    struct shape *s = ctx;
    if (s->depth == 1 && s->top_object)
        s->key_is_data = n == 4 && memcmp(p, "data", 4) == 0;
    return 1;
}

static int open_level(struct shape *s, bool object)
{
    if (s->depth == 0)
        s->top_object = object;
    else
        (void)on_value(s); /* data: {...} or [...] is not a string */
    s->depth++;
    return 1;
}
static int on_start_map(void *ctx)
{
    return open_level(ctx, true);
}
static int on_start_array(void *ctx)
{
    return open_level(ctx, false);
}
static int on_end(void *ctx)
{
    ((struct shape *)ctx)->depth--;
    return 1;
}

/* yajl grows its nesting stack 128 bytes at a time; where realloc copies
 * (sanitizers, other allocators) a body of a million '[' would cost O(N^2).
 * Its allocations go through these, which grow a block by half its size at
 * least, so any body parses with O(log N) reallocations. The capacity sits
 * in a header in front of each block. */
struct block {
    size_t cap;
    max_align_t align;
};
#define HDR offsetof(struct block, align)

static void *grow(void *ctx, void *p, size_t n)
{
    (void)ctx;
    size_t cap = 0;
    struct block *b = p ? (struct block *)((char *)p - HDR) : NULL;
    if (b) {
        cap = b->cap;
        if (n <= cap)
            return p;
    }
    size_t want = cap + cap / 2 > n ? cap + cap / 2 : n;
    if (want > SIZE_MAX - HDR)
        return NULL;
    struct block *nb = realloc(b, HDR + want);
    if (!nb)
        return NULL;
    nb->cap = want;
    return (char *)nb + HDR;
}
static void *ya_malloc(void *ctx, size_t n)
{
    return grow(ctx, NULL, n);
}
static void ya_free(void *ctx, void *p)
{
    (void)ctx;
    if (p)
        free((char *)p - HDR);
}
static yajl_alloc_funcs ALLOC = {ya_malloc, grow, ya_free, NULL};

static const yajl_callbacks EVENTS = {
    .yajl_null = on_null,
    .yajl_boolean = on_bool,
    .yajl_number = on_number, /* numbers as text: no overflow, any size */
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end,
    .yajl_start_array = on_start_array,
    .yajl_end_array = on_end,
};

tr_result http_prove_body_parse(const uint8_t *body, size_t len, struct tr_buf *out)
{
    TR_ENSURE_REF(out);
    struct tr_slice b64;
    if (body != NULL && exact_shape(body, len, &b64))
        return decode_data((const char *)b64.ptr, b64.len, out);
    /* An empty body is what express leaves as {}: a shape error. */
    TR_ENSURE(len > 0 && body != NULL, TR_ERR_HTTP_BODY_BAD_SHAPE);
    /* Strict like body-parser: the first non-blank byte opens an object or array. */
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    TR_ENSURE(i < len && (body[i] == '{' || body[i] == '['), TR_ERR_HTTP_BODY_NOT_JSON);
    struct shape s = {.out = out, .start = out->len, .data_err = TR_OK};
    yajl_handle h = yajl_alloc(&EVENTS, &ALLOC, &s);
    TR_ENSURE(h != NULL, TR_ERR_NOMEM);
    tr_result res = TR_SUCCESS;
    /* One document, nothing after it, strict UTF-8 (yajl's defaults). */
    bool ok =
        yajl_parse(h, body, len) == yajl_status_ok && yajl_complete_parse(h) == yajl_status_ok;
    yajl_free(h);
    TR_CHECK(ok, TR_ERR_HTTP_BODY_NOT_JSON);
    TR_CHECK(s.top_object && s.data_string, TR_ERR_HTTP_BODY_BAD_SHAPE);
    TR_CHECK(s.data_err == TR_OK, s.data_err);
out:
    if (!tr_ok(res)) {
        out->len = s.start; /* nothing of a rejected body stays */
        if (out->data)
            out->data[s.start] = 0;
    }
    return res;
}
