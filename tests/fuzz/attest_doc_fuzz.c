/* Target functions: attest_verify (document parser, payload type checks,
 * chain building, signature, PCR / nonce / key / bb-version checks) and
 * attest_user_data_parse. The time is fixed (no clock): just after the
 * seeds in corpus/attest_doc/ were made by the NSM emulator, whose (public)
 * test root is trusted here, so mutations reach every check. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "teerex/attest.h"

/* The emulator root the seeds chain to (a throwaway test certificate). */
static const char SEED_ROOT[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIICKzCCAbKgAwIBAgIQUuXUgx+Z9DI0F4GuRn/S1TAKBggqhkjOPQQDAzBWMQsw\n"
                                "CQYDVQQGEwJVUzEpMCcGA1UECgwgdGVlLXJleCBOU00gZW11bGF0b3IgKFRFU1Qg\n"
                                "T05MWSkxHDAaBgNVBAMME3RlZXJleC1uc20tZW11IHJvb3QwHhcNMjYxMTI1MDYx\n"
                                "MzQ4WhcNMzYxMTIyMDcxMzQ4WjBWMQswCQYDVQQGEwJVUzEpMCcGA1UECgwgdGVl\n"
                                "LXJleCBOU00gZW11bGF0b3IgKFRFU1QgT05MWSkxHDAaBgNVBAMME3RlZXJleC1u\n"
                                "c20tZW11IHJvb3QwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAAT+RE2Idwz8r3w2ymls\n"
                                "lpIXM+taGEs9n2fdcK7M5/NSf/5MPqxmI84DkrdfxUkW+tFcDg6eSH9FhJct01xn\n"
                                "x6Ze2tWDq5UNnQZ3BheMu1JpNgbWFRH5MtfnfjtIHXbnywSjRTBDMBIGA1UdEwEB\n"
                                "/wQIMAYBAf8CAQMwDgYDVR0PAQH/BAQDAgEGMB0GA1UdDgQWBBS4uelRPI0scHoP\n"
                                "NO6ZSZWqIaoHhjAKBggqhkjOPQQDAwNnADBkAjABrcFde09ueiOeiQZxRSQdEgUu\n"
                                "rX4nKts/CfUn0uNAEg9Z36q7C1oLndtGefwn61UCMHkQ91E+0RRo+I4sHMgI6q/r\n"
                                "3n1ejwDV5wbRBJS47kg3Dqg+cZJq4azK6XkvfHBluw==\n"
                                "-----END CERTIFICATE-----\n";
#define SEED_TIME_MS 1795590888000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct attest_pcr_expect pcr = {.index = 3, .len = 48};
    static const struct attest_bb_expect bb = {.version = "1.0.0"};
    static const uint8_t nonce[8] = {0};
    struct attest_expect exp = ATTEST_EXPECT_INIT;
    exp.at = ATTEST_AT_TIME;
    exp.at_ms = SEED_TIME_MS;
    exp.extra_root_pem = SEED_ROOT;
    exp.max_age_ms = ATTEST_NO_MAX_AGE;
    exp.pcrs = &pcr;
    exp.n_pcrs = 1;
    exp.bb = &bb;
    exp.n_bb = 1;
    exp.nonce = nonce;
    exp.nonce_len = sizeof(nonce);
    struct attest_result r;
    attest_result_init(&r);
    tr_result res = attest_verify(data, size, &exp, &r);
    if (!tr_ok(res) && attest_class_of(res.err) == ATTEST_CLASS_NONE && res.err != TR_ERR_NOMEM)
        __builtin_trap(); /* every rejection has a class */
    if (r.public_key.len > TR_NSM_MAX_PUBLIC_KEY || r.user_data.len > TR_NSM_MAX_USER_DATA ||
        r.nonce.len > TR_NSM_MAX_NONCE || strlen(r.module_id) >= sizeof(r.module_id))
        __builtin_trap();
    attest_result_free(&r);

    struct attest_versions *v = malloc(sizeof(*v));
    if (v != NULL) {
        if (tr_ok(attest_user_data_parse(data, size, v)) && v->n > 64)
            __builtin_trap();
        free(v);
    }
    return 0;
}
