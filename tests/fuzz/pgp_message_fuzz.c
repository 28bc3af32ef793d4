/* Target functions: pgp_decrypt (packet framing, partial lengths, PKESK v3/v6
 * with ECDH + AES key unwrap, SEIPD v1/v2, and behind them the decrypted
 * message grammar, literal data and zlib/zip inflation).
 *
 * The key is fixed and deterministic (pgp_key_from_seed with the seeds of
 * tests/interop/pgp/pgp_tool.c), so the committed seeds, which openpgp.js and
 * GnuPG encrypted to that key, decrypt and reach the inner parsers.
 * Invariant checked: on failure nothing is appended to the output. The caps
 * are the server's (TR_MAX_PLAINTEXT); pgp_message.options lets inputs reach
 * the size of a message in a 50 MiB body. */
#include <stdint.h>
#include <string.h>

#include "fixed_key.h"
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
    struct tr_buf out;
    tr_buf_init_secret(&out, TR_MAX_PLAINTEXT);
    struct pgp_decrypt_opts opts = {.max_plaintext = TR_MAX_PLAINTEXT};
    tr_result r = pgp_decrypt(key, data, size, &opts, &out);
    if (!tr_ok(r) && out.len != 0)
        __builtin_trap();
    tr_buf_free(&out);
    return 0;
}
