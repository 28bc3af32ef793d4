/* Target functions: eif_sig_parse, eif_sig_pcr8, eif_sig_verify (the CBOR
 * signature section and the COSE_Sign1 inside it come from an untrusted
 * EIF). The first 48 bytes are the PCR0 to check against. */
#include <stdint.h>
#include <string.h>

#include "teerex/eif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pcr0[EIF_PCR_LEN] = {0}, pcr8[EIF_PCR_LEN];
    struct eif_signature sig;
    if (size >= EIF_PCR_LEN) {
        memcpy(pcr0, data, EIF_PCR_LEN);
        data += EIF_PCR_LEN;
        size -= EIF_PCR_LEN;
    }
    eif_signature_init(&sig);
    if (tr_ok(eif_sig_parse(data, size, &sig))) {
        if (sig.cert_pem.len == 0 || sig.cose.len == 0)
            __builtin_trap();
        tr_ignore(eif_sig_pcr8(&sig, pcr8));
        tr_ignore(eif_sig_verify(&sig, pcr0));
    }
    eif_signature_free(&sig);
    return 0;
}
