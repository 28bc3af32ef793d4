/* pgp_encrypt: PKESK v6 + SEIPD v2 (AES-256-OCB) holding one binary literal
 * data packet, for our C client (what openpgp.js 6 with aeadProtect writes).
 *
 * Why hand-written: see include/teerex/pgp.h.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "pgp_internal.h"

/* 2^(12+6) = 256 KiB chunks, openpgp.js's default. */
#define CHUNK_OCTET 12

tr_result pgp_encrypt(const struct pgp_pubkey *pk, const uint8_t *plaintext, size_t len,
                      struct tr_buf *out)
{
    TR_ENSURE(pk != NULL && out != NULL && (plaintext != NULL || len == 0), TR_ERR_NULL_ARG);
    TR_ENSURE(len <= UINT32_MAX - 6, TR_ERR_TOO_BIG);
    size_t start = out->len;
    tr_result res = TR_SUCCESS;
    uint8_t sk[32];
    struct tr_buf inner;
    tr_buf_init_secret(&inner, len + 16);
    TR_CHECK_OSSL(RAND_priv_bytes(sk, sizeof(sk)), TR_ERR_RANDOM);
    /* Literal data: binary, no file name, date 0. */
    TR_TRY(pgp_packet_write_header(&inner, PGP_TAG_LITERAL, len + 6));
    static const uint8_t lit[6] = {'b', 0, 0, 0, 0, 0};
    TR_TRY(tr_buf_append(&inner, lit, sizeof(lit)));
    TR_TRY(tr_buf_append(&inner, plaintext, len));
    TR_TRY(pgp_pkesk_write_v6(&pk->sub, sk, sizeof(sk), out));
    TR_TRY(pgp_seipd_encrypt_v2(sk, sizeof(sk), CHUNK_OCTET, tr_buf_slice(&inner), out));
out:
    OPENSSL_cleanse(sk, sizeof(sk));
    tr_buf_free(&inner);
    if (!tr_ok(res)) {
        out->len = start;
        if (out->data)
            out->data[start] = 0;
    }
    return res;
}
