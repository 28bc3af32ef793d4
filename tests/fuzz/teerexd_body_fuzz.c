/* Target functions: prove_body_* (src/teerexd/prove_body.c: a POST /prove
 * body read as it arrives, its own small state machine over the SDK's shape
 * {"data":"<base64>"}, JSON escapes in the string, what follows the closing
 * quote, and the judge of a body that leaves the shape), differentially
 * against the buffered path (http_prove_body_parse, then pgp_decrypt): the
 * same verdicts and the same plaintext, whatever the pieces.
 *
 * Input: two bytes seeding where the body is cut into pieces, then the body.
 * The key is the fixed one of pgp_message_fuzz.c, so the seeds (its corpus'
 * messages in the SDK's shape) decrypt. Invariants: same judge and decrypt
 * errors and plaintext as the buffered path; what the body holds while it
 * streams stays under twice its length (the plaintext buffer, at most 3/4
 * of it, plus the rest of a body that left the shape after the data). */
#include <stdint.h>
#include <string.h>

#include "fixed_key.h"
#include "prove_body.h"
#include "teerex/http.h"
#include "teerex/limits.h"
#include "teerex/pgp.h"

static struct pgp_key *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    key = fuzz_fixed_key();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t rnd = (uint32_t)data[0] << 8 | data[1];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;

    struct tr_buf cipher, want;
    tr_buf_init(&cipher, TR_MAX_BODY_DEFAULT);
    tr_buf_init_secret(&want, TR_MAX_PLAINTEXT);
    int32_t want_judge = http_prove_body_parse((const uint8_t *)body, len, &cipher).err;
    int32_t want_dec = TR_OK;
    if (want_judge == TR_OK) {
        struct pgp_decrypt_opts o = {.max_plaintext = TR_MAX_PLAINTEXT};
        want_dec = pgp_decrypt(key, cipher.data, cipher.len, &o, &want).err;
    }
    tr_buf_free(&cipher);

    struct prove_body *pb;
    if (!tr_ok(prove_body_new(key, len, TR_MAX_BODY_DEFAULT, &pb)))
        __builtin_trap();
    for (size_t at = 0; at < len;) {
        rnd = rnd * 1103515245u + 12345u;
        size_t step = 1 + (rnd >> 16) % (len < 64 ? 8 : len / 4);
        if (step > len - at)
            step = len - at;
        if (!tr_ok(prove_body_feed(pb, body + at, step)))
            __builtin_trap();
        at += step;
        if (prove_body_streaming(pb) && prove_body_held(pb) > 2 * len + 16)
            __builtin_trap();
    }
    int32_t judge = prove_body_judge(pb).err;
    if (judge != want_judge)
        __builtin_trap();
    if (judge == TR_OK) {
        struct tr_slice p;
        int32_t dec = prove_body_decrypt(pb, &p).err;
        if (dec != want_dec)
            __builtin_trap();
        if (dec == TR_OK && (p.len != want.len || (p.len && memcmp(p.ptr, want.data, p.len) != 0)))
            __builtin_trap();
    }
    prove_body_free(pb);
    tr_buf_free(&want);
    return 0;
}
