/* A POST /prove body decrypted as it arrives (prove_body.h).
 *
 * The states follow the SDK's body {"data":"<base64>"} byte by byte:
 *   PREFIX    matching {"data":" (a mismatch: BUFFERED, the body kept whole)
 *   DATA      base64 characters, fed to pgp_stream_update_b64 in runs
 *   ESCAPE    a JSON escape inside the string: \/ and \u00XX of a base64
 *             character are decoded and fed (PHP escapes '/'); any other
 *             escape means data is not base64 (or the JSON is broken): TAIL
 *   CLOSE     after the closing quote: blanks, '}', blanks, the end
 *   TAIL      the body left the shape after the prefix: the rest is kept
 *   BUFFERED  not the shape from the first byte, or no declared length
 *
 * Why the TAIL judge is exact without the streamed text: the streamed part
 * is base64 characters inside a JSON string, so replacing it by one other
 * plain character ('*', not base64) changes neither the JSON's validity nor
 * its shape. The kept rest is judged by http_prove_body_parse behind
 * {"data":"* — NOT_JSON and BAD_SHAPE are the body's verdicts; success
 * means a later "data" member replaced ours (the last one wins, as in
 * JSON.parse) and it is decrypted as a buffered body; BAD_BASE64 means ours
 * stands (it holds '*') or the later one is not base64. Which of the two
 * matters only when ours was complete (the rest begins at its closing
 * quote): the rest is judged again behind {"data":"" , where ours is valid.
 * A rest that begins inside the string means ours is not base64 anyway.
 *
 * Base64 is judged as tr_b64_decode does (alphabet, '=' only as the last one
 * or two of a whole number of quads) by counting, so the verdict stays right
 * after the decryptor gave up on the message itself. */
#include "prove_body.h"

#include <stdlib.h>
#include <string.h>

#include "teerex/http.h"
#include "teerex/limits.h"
#include "teerex/pgp.h"

enum pb_state { PB_PREFIX, PB_DATA, PB_ESCAPE, PB_CLOSE, PB_TAIL, PB_BUFFERED };
enum pb_source { SRC_NONE, SRC_STREAM, SRC_CIPHER };

static const char PREFIX[] = "{\"data\":\"";
#define PREFIX_LEN (sizeof(PREFIX) - 1)
/* The rest of a body that left the shape is kept behind this (see above). */
static const char TAIL_HEAD[] = "{\"data\":\"*";
#define TAIL_HEAD_LEN (sizeof(TAIL_HEAD) - 1)

struct prove_body {
    const struct pgp_key *key;
    enum pb_state st;
    enum pb_source src; /* what prove_body_decrypt decrypts (after judge) */
    uint64_t declared, max_body, received;
    size_t prefix_n; /* PREFIX bytes matched */
    char esc[6];     /* an escape being read (ESCAPE) */
    size_t esc_n;
    bool brace;       /* CLOSE: the '}' was seen */
    bool tail_in_str; /* TAIL: the rest begins inside the data string */
    bool judged;
    uint64_t b64_chars; /* base64 text fed, judged by counting */
    unsigned pads;
    bool b64_bad;
    struct pgp_stream *stream;
    tr_result stream_err; /* the decryptor's failure, kept for prove_body_decrypt */
    struct tr_buf plain;  /* secret: the streamed plaintext, or the buffered one */
    struct tr_buf raw;    /* BUFFERED: the body; TAIL: TAIL_HEAD + the rest */
    struct tr_buf cipher; /* the data member's binary (buffered path) */
};

/* 0: a base64 character (A-Z a-z 0-9 + /) or '=', 1: anything else. */
static const uint8_t OTHER[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 1, 1,
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1,
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

tr_result prove_body_new(const struct pgp_key *key, uint64_t declared, uint64_t max_body,
                         struct prove_body **out)
{
    TR_ENSURE(key != NULL && out != NULL, TR_ERR_NULL_ARG);
    *out = NULL;
    struct prove_body *pb = calloc(1, sizeof(*pb));
    TR_ENSURE(pb != NULL, TR_ERR_NOMEM);
    pb->key = key;
    pb->declared = declared;
    pb->max_body = max_body;
    pb->st = declared > 0 ? PB_PREFIX : PB_BUFFERED;
    pb->stream_err = TR_SUCCESS;
    tr_buf_init_secret(&pb->plain, TR_MAX_PLAINTEXT);
    tr_buf_init(&pb->raw, (size_t)max_body + TAIL_HEAD_LEN + 1);
    tr_buf_init(&pb->cipher, (size_t)max_body);
    *out = pb;
    return TR_SUCCESS;
}

static void drop_stream(struct prove_body *pb)
{
    pgp_stream_free(pb->stream); /* wipes what it decrypted */
    pb->stream = NULL;
    tr_buf_free(&pb->plain);
}

static void start_stream(struct prove_body *pb)
{
    struct pgp_decrypt_opts o = {.max_plaintext = TR_MAX_PLAINTEXT,
                                 .message_bound = (size_t)(pb->declared / 4 * 3 + 3)};
    tr_result r = pgp_stream_new(pb->key, &o, &pb->plain, &pb->stream);
    if (!tr_ok(r)) {
        pb->stream = NULL;
        pb->stream_err = r;
    }
}

/* Base64 text of the data string (alphabet and '=' only). */
static void take_b64(struct prove_body *pb, const char *p, size_t n)
{
    /* Only '=' and what follows it matter to the count: memchr finds the
     * first one (none in all but the last quad). */
    const char *q = pb->pads ? p : memchr(p, '=', n);
    for (; q && q < p + n; q++) {
        if (*q == '=')
            pb->pads++;
        else
            pb->b64_bad = true; /* text after '=' */
    }
    pb->b64_chars += n;
    if (!pb->stream)
        return;
    tr_result r = pgp_stream_update_b64(pb->stream, p, n);
    if (!tr_ok(r)) {
        /* The stream is dead and would only answer r: keep r, free the rest now. */
        pb->stream_err = r;
        if (r.err == TR_ERR_BAD_BASE64)
            pb->b64_bad = true;
        drop_stream(pb);
    }
}

static tr_result keep(struct prove_body *pb, const void *p, size_t n)
{
    return tr_buf_append(&pb->raw, p, n);
}

/* The body left the shape; what is kept starts with TAIL_HEAD and then
 * lead (the quote or escape already read) and the rest. */
static tr_result to_tail(struct prove_body *pb, bool in_string, const char *lead, size_t lead_n)
{
    pb->st = PB_TAIL;
    pb->tail_in_str = in_string;
    if (in_string)
        drop_stream(pb); /* data is not base64, or a later member replaces it */
    TR_GUARD(keep(pb, TAIL_HEAD, TAIL_HEAD_LEN));
    return keep(pb, lead, lead_n);
}

/* One escape is complete in esc[]: a base64 character goes on as text. */
static tr_result escape_done(struct prove_body *pb)
{
    char c = 0;
    if (pb->esc_n == 2 && pb->esc[1] == '/') {
        c = '/';
    } else if (pb->esc_n == 6) {
        unsigned v = 0;
        for (size_t i = 2; i < 6; i++) {
            char h = pb->esc[i];
            int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
            if (d < 0) {
                v = 0x100; /* not an escape: the judge says so */
                break;
            }
            v = v * 16 + (unsigned)d;
        }
        if (v < 0x80 && !OTHER[v])
            c = (char)v;
    }
    pb->st = PB_DATA;
    if (c) {
        take_b64(pb, &c, 1);
        return TR_SUCCESS;
    }
    return to_tail(pb, true, pb->esc, pb->esc_n);
}

static tr_result feed_escape(struct prove_body *pb, const char **p, const char *end)
{
    while (*p < end && pb->st == PB_ESCAPE) {
        char c = *(*p)++;
        pb->esc[pb->esc_n++] = c;
        if (pb->esc_n == 2 && c != 'u')
            return escape_done(pb);
        if (pb->esc_n == 6)
            return escape_done(pb);
    }
    return TR_SUCCESS;
}

static tr_result feed_data(struct prove_body *pb, const char **p, const char *end)
{
    const char *s = *p, *q = s;
    /* Eight at a time while all are base64 (the hot loop of a /prove). */
    while (end - q >= 8 && (OTHER[(uint8_t)q[0]] | OTHER[(uint8_t)q[1]] | OTHER[(uint8_t)q[2]] |
                            OTHER[(uint8_t)q[3]] | OTHER[(uint8_t)q[4]] | OTHER[(uint8_t)q[5]] |
                            OTHER[(uint8_t)q[6]] | OTHER[(uint8_t)q[7]]) == 0)
        q += 8;
    while (q < end && !OTHER[(uint8_t)*q])
        q++;
    if (q > s)
        take_b64(pb, s, (size_t)(q - s));
    *p = q;
    if (q == end)
        return TR_SUCCESS;
    char c = *(*p)++;
    if (c == '"') {
        pb->st = PB_CLOSE;
        return TR_SUCCESS;
    }
    if (c == '\\') {
        pb->st = PB_ESCAPE;
        pb->esc[0] = c;
        pb->esc_n = 1;
        return TR_SUCCESS;
    }
    return to_tail(pb, true, &c, 1);
}

static tr_result feed_close(struct prove_body *pb, const char **p, const char *end)
{
    while (*p < end) {
        char c = **p;
        if (blank(c)) {
            (*p)++;
        } else if (c == '}' && !pb->brace) {
            pb->brace = true;
            (*p)++;
        } else {
            /* Blanks between tokens were dropped: they change no verdict. */
            return to_tail(pb, false, pb->brace ? "\"}" : "\"", pb->brace ? 2 : 1);
        }
    }
    return TR_SUCCESS;
}

static tr_result feed_prefix(struct prove_body *pb, const char **p, const char *end)
{
    while (*p < end && pb->prefix_n < PREFIX_LEN) {
        if (**p != PREFIX[pb->prefix_n]) {
            /* Not the SDK's shape: kept whole, judged as before. */
            pb->st = PB_BUFFERED;
            TR_GUARD(tr_buf_reserve(&pb->raw, (size_t)pb->declared)); /* one mapping */
            return keep(pb, PREFIX, pb->prefix_n);
        }
        (*p)++;
        pb->prefix_n++;
    }
    if (pb->prefix_n == PREFIX_LEN) {
        pb->st = PB_DATA;
        start_stream(pb);
    }
    return TR_SUCCESS;
}

tr_result prove_body_feed(struct prove_body *pb, const char *data, size_t n)
{
    TR_ENSURE(pb != NULL && (data != NULL || n == 0), TR_ERR_NULL_ARG);
    TR_ENSURE(!pb->judged, TR_ERR_USAGE);
    pb->received += n;
    const char *p = data, *end = data + n;
    while (p < end) {
        switch (pb->st) {
        case PB_PREFIX: TR_GUARD(feed_prefix(pb, &p, end)); break;
        case PB_DATA: TR_GUARD(feed_data(pb, &p, end)); break;
        case PB_ESCAPE: TR_GUARD(feed_escape(pb, &p, end)); break;
        case PB_CLOSE: TR_GUARD(feed_close(pb, &p, end)); break;
        case PB_TAIL:
        case PB_BUFFERED:
            TR_GUARD(keep(pb, p, (size_t)(end - p)));
            p = end;
            break;
        }
    }
    return TR_SUCCESS;
}

uint64_t prove_body_received(const struct prove_body *pb)
{
    return pb ? pb->received : 0;
}

bool prove_body_streaming(const struct prove_body *pb)
{
    return pb && pb->stream != NULL;
}

uint64_t prove_body_held(const struct prove_body *pb)
{
    if (!pb)
        return 0;
    uint64_t held = pb->raw.len + pb->cipher.cap + pb->plain.cap;
    /* A compressed message is kept compressed until the end (lib/pgp). The
     * decryptor's fixed state (a 16 KiB base64 window and its binary, the
     * PKESK packets) is per-connection overhead like the thread's stack and
     * libmicrohttpd's buffers, outside the budget as before. */
    if (pb->stream) {
        uint64_t bin = pb->b64_chars / 4 * 3;
        held += bin > pb->plain.cap ? bin - pb->plain.cap : 0;
    }
    return held;
}

/* The streamed data stands: its base64 verdict. */
static tr_result streamed_verdict(struct prove_body *pb)
{
    if (pb->b64_bad || pb->pads > 2 || pb->b64_chars % 4 != 0)
        TR_BAIL(TR_ERR_HTTP_BODY_BAD_BASE64);
    pb->src = SRC_STREAM;
    return TR_SUCCESS;
}

static tr_result judge_tail(struct prove_body *pb)
{
    tr_result r = http_prove_body_parse(pb->raw.data, pb->raw.len, &pb->cipher);
    if (tr_ok(r)) {
        pb->src = SRC_CIPHER; /* a later data member replaced ours */
        return r;
    }
    if (r.err != TR_ERR_HTTP_BODY_BAD_BASE64 || pb->tail_in_str)
        return r;
    /* Ours holds '*' in the first judge: judged again with ours valid (""). */
    memcpy(pb->raw.data + 1, PREFIX, PREFIX_LEN);
    r = http_prove_body_parse(pb->raw.data + 1, pb->raw.len - 1, &pb->cipher);
    tr_buf_free(&pb->cipher);
    if (!tr_ok(r))
        return r; /* the later data member is not base64 */
    return streamed_verdict(pb);
}

tr_result prove_body_judge(struct prove_body *pb)
{
    TR_ENSURE(pb != NULL, TR_ERR_NULL_ARG);
    TR_ENSURE(!pb->judged, TR_ERR_USAGE);
    pb->judged = true;
    tr_result r;
    switch (pb->st) {
    case PB_PREFIX: /* a body shorter than the prefix */
        TR_GUARD(keep(pb, PREFIX, pb->prefix_n));
        /* fall through */
    case PB_BUFFERED:
        r = http_prove_body_parse(pb->raw.data, pb->raw.len, &pb->cipher);
        if (tr_ok(r))
            pb->src = SRC_CIPHER;
        break;
    case PB_DATA:
    case PB_ESCAPE: /* the string never ended */
        r = tr_fail_at(TR_ERR_HTTP_BODY_NOT_JSON, __FILE__, __LINE__);
        break;
    case PB_CLOSE:
        r = pb->brace ? streamed_verdict(pb)
                      : tr_fail_at(TR_ERR_HTTP_BODY_NOT_JSON, __FILE__, __LINE__);
        break;
    case PB_TAIL:
    default: r = judge_tail(pb); break;
    }
    tr_buf_free(&pb->raw);
    if (pb->src != SRC_STREAM)
        drop_stream(pb);
    return r;
}

tr_result prove_body_decrypt(struct prove_body *pb, struct tr_slice *out)
{
    TR_ENSURE(pb != NULL && out != NULL, TR_ERR_NULL_ARG);
    *out = tr_slice_of(NULL, 0);
    TR_ENSURE(pb->judged && pb->src != SRC_NONE, TR_ERR_USAGE);
    if (pb->src == SRC_STREAM) {
        pb->src = SRC_NONE;
        if (!pb->stream)
            return pb->stream_err; /* it failed while the body arrived */
        tr_result r = pgp_stream_final(pb->stream, out);
        if (!tr_ok(r))
            drop_stream(pb);
        return r;
    }
    pb->src = SRC_NONE;
    struct pgp_decrypt_opts o = {.max_plaintext = TR_MAX_PLAINTEXT};
    tr_result r = pgp_decrypt(pb->key, pb->cipher.data, pb->cipher.len, &o, &pb->plain);
    tr_buf_free(&pb->cipher);
    if (tr_ok(r))
        *out = tr_buf_slice(&pb->plain);
    return r;
}

void prove_body_free(struct prove_body *pb)
{
    if (!pb)
        return;
    pgp_stream_free(pb->stream);
    tr_buf_free(&pb->plain);
    tr_buf_free(&pb->raw);
    tr_buf_free(&pb->cipher);
    free(pb);
}
