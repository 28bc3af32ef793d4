/* Target functions: nsm_msg_parse_response and every per-request reader
 * (nsm_msg_read_attestation, _describe_pcr, _extend_pcr, _unit, _describe,
 * _random): the bytes the NSM device answers with. */
#include <stdint.h>
#include <string.h>

#include "teerex/nsm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tr_buf doc;
    tr_buf_init(&doc, TR_MAX_ATTEST_DOC);
    if (tr_ok(nsm_msg_read_attestation(data, size, &doc)) && (doc.len == 0 || doc.len > size))
        __builtin_trap();
    tr_buf_free(&doc);

    uint8_t buf[64];
    size_t len = 0;
    bool locked;
    if (tr_ok(nsm_msg_read_describe_pcr(data, size, &locked, buf, sizeof(buf), &len)) &&
        len > sizeof(buf))
        __builtin_trap();
    if (tr_ok(nsm_msg_read_extend_pcr(data, size, buf, sizeof(buf), &len)) && len > sizeof(buf))
        __builtin_trap();
    tr_ignore(nsm_msg_read_unit(data, size, "LockPCR"));
    tr_ignore(nsm_msg_read_unit(data, size, "LockPCRs"));
    struct nsm_description d;
    if (tr_ok(nsm_msg_read_describe(data, size, &d)) &&
        (strlen(d.module_id) >= sizeof(d.module_id) || strlen(d.digest) != 6))
        __builtin_trap();
    uint8_t rnd[32];
    if (tr_ok(nsm_msg_read_random(data, size, rnd, sizeof(rnd), &len)) &&
        (len == 0 || len > sizeof(rnd)))
        __builtin_trap();
    return 0;
}
