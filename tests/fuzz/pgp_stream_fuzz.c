/* Target functions: pgp_stream_new/update/update_b64/final (the incremental
 * decryption of /prove bodies: pgp_framer, the SEIPD v1/v2 decryptor that
 * holds back tags and the MDC, pgp_plain placing literal data straight into
 * the output, the streaming base64 decoder), against pgp_decrypt.
 *
 * Input: 4 octets that choose how the message is cut, then the message.
 * Octet 0: bit 0 feeds the message as base64 text instead of binary, bits
 * 1-3 scale the pieces (<< 0..7); octets 1-3 are the piece lengths, cycled
 * (each + 1). The key is the fixed one of pgp_message (the seeds are
 * openpgp.js and GnuPG messages to it, with a cut prefix).
 *
 * Invariants checked: the stream gives what the one-piece pgp_decrypt gives
 * (the same error code, or the same plaintext); a failed update is what
 * final answers; on failure nothing is left in the output. */
#include <stdint.h>
#include <string.h>

#include "../unit/pgp/pgp_test_util.h" /* the fixed key of pgp_tool and pgp_message */
#include "teerex/codec.h"
#include "teerex/pgp.h"

static struct pgp_key *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!tr_ok(test_key(0, &key)))
        __builtin_trap();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int b64 = data[0] & 1;
    unsigned shift = (data[0] >> 1) & 7;
    const uint8_t *msg = data + 4;
    size_t msg_len = size - 4;
    struct pgp_decrypt_opts opts = {.max_plaintext = (size_t)2 << 20};

    struct tr_buf one, out, text;
    tr_buf_init_secret(&one, (size_t)4 << 20);
    tr_buf_init_secret(&out, (size_t)4 << 20);
    tr_buf_init(&text, (size_t)8 << 20);
    tr_result want = pgp_decrypt(key, msg, msg_len, &opts, &one);

    const uint8_t *feed = msg;
    size_t n = msg_len;
    if (b64) {
        if (!tr_ok(tr_b64_encode(msg, msg_len, &text)))
            __builtin_trap();
        feed = text.data;
        n = text.len;
    }
    struct pgp_stream *s;
    if (!tr_ok(pgp_stream_new(key, &opts, &out, &s)))
        __builtin_trap();
    tr_result r = TR_SUCCESS;
    for (size_t off = 0, i = 0; off < n && tr_ok(r); i++) {
        size_t k = ((size_t)data[1 + i % 3] + 1) << shift;
        k = k < n - off ? k : n - off;
        r = b64 ? pgp_stream_update_b64(s, (const char *)feed + off, k)
                : pgp_stream_update(s, feed + off, k);
        off += k;
    }
    struct tr_slice plain;
    tr_result fin = pgp_stream_final(s, &plain);
    pgp_stream_free(s);
    if (!tr_ok(r) && fin.err != r.err)
        __builtin_trap();
    if (fin.err != want.err)
        __builtin_trap();
    if (tr_ok(fin) && (plain.len != one.len || plain.ptr != out.data ||
                       (one.len && memcmp(plain.ptr, one.data, one.len) != 0)))
        __builtin_trap();
    if (!tr_ok(fin) && (out.len != 0 || one.len != 0))
        __builtin_trap();
    tr_buf_free(&one);
    tr_buf_free(&out);
    tr_buf_free(&text);
    return 0;
}
