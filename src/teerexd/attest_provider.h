/* The attestation behind /attestation: one small interface, one backend per
 * TEE_MODE. "standard" (here, attest_provider.c) makes no document; "nitro"
 * and "nitro-emulated" live in attest_nitro.c (lib/nsm: the device, or its
 * emulator); teerexd's routes only ask a provider for a document. */
#ifndef TEEREXD_ATTEST_PROVIDER_H
#define TEEREXD_ATTEST_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"
#include "teerex/result.h"

struct attest_provider {
    const char *mode; /* "standard", "nitro", "nitro-emulated": the JSON "mode" field */
    /* Appends a fresh document (COSE_Sign1 bytes) binding public_key (the
     * armored key text), user_data ({"versions":[...]} JSON) and nonce (may be
     * empty) to out_doc. NULL for modes without documents (standard). */
    TR_RESULT(*document)
    (struct attest_provider *p, struct tr_slice public_key, struct tr_slice user_data,
     struct tr_slice nonce, struct tr_buf *out_doc);
    /* Hardware randomness mixed into OpenSSL's RNG before the key is made;
     * NULL when the mode has none. */
    TR_RESULT (*get_random)(struct attest_provider *p, uint8_t *out, size_t n);
    void (*destroy)(struct attest_provider *p);
    void *ctx;
};

/* tee_mode: "standard" | "nitro" | "nitro-emulated". Fails with TR_ERR_USAGE
 * for unknown modes or modes not built in. */
TR_RESULT attest_provider_create(const char *tee_mode, struct attest_provider **out);
void attest_provider_destroy(struct attest_provider *p);

/* attest_nitro.c: "nitro" or "nitro-emulated". */
TR_RESULT attest_nitro_create(const char *tee_mode, struct attest_provider **out);

#endif
