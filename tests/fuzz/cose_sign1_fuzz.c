/* Target functions: cose_sign1_parse, cose_sign1_tbs, cose_sign1_verify
 * (the COSE_Sign1 envelope of attestation documents: strict bounded CBOR,
 * tag 18 or untagged, ES384 protected header, raw r||s signature checked
 * against a fixed P-384 public key whose seeds verify). */
#include <stdint.h>
#include <stdlib.h>

#include <openssl/pem.h>

#include "teerex/cose.h"

/* Public half of a P-384 key used only to sign the seed corpus. */
static const char FUZZ_PUB[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE2U4YFQqkkHpfL6hjaQlvxcOcQe8I0MBm\n"
                               "rUhu3jewNt4a0Ym0laBTFsI3R7DPlpxlJTHUmyGdD6McYVx7Sq7Xww3x2XgchnGG\n"
                               "JMT7J7XdmoXLnmJIy2NY1BNN9/VRGl0C\n"
                               "-----END PUBLIC KEY-----\n";
static EVP_PKEY *pub;

static void release(void)
{
    EVP_PKEY_free(pub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (pub == NULL) {
        BIO *b = BIO_new_mem_buf(FUZZ_PUB, -1);
        pub = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        BIO_free(b);
        if (pub == NULL)
            __builtin_trap();
        atexit(release);
    }
    struct cose_sign1 s;
    tr_result r = cose_sign1_parse(data, size, &s);
    if (tr_ok(r)) {
        if (s.alg != COSE_ALG_ES384 || s.signature.len != COSE_ES384_SIG_LEN || s.root == NULL)
            __builtin_trap();
        struct tr_buf tbs;
        tr_buf_init(&tbs, 1 << 20);
        if (!tr_ok(cose_sign1_tbs(s.protected_hdr, s.payload, &tbs)) ||
            tbs.len < s.payload.len + s.protected_hdr.len)
            __builtin_trap();
        tr_buf_free(&tbs);
        tr_result v = cose_sign1_verify(&s, pub);
        if (!tr_ok(v) && v.err != TR_ERR_ATTEST_SIGNATURE_FAILED)
            __builtin_trap();
    } else if (s.root != NULL) {
        __builtin_trap();
    }
    cose_sign1_free(&s);
    return 0;
}
