#include <string.h>

#include "cli_expect.h"
#include "teerex/codec.h"
#include "teerex/http.h"

tr_result cli_parse_pcr(const char *arg, struct attest_pcr_expect *out)
{
    TR_ENSURE_REF(arg);
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    const char *eq = strchr(arg, '=');
    char idx[8];
    uint64_t n;
    TR_ENSURE(eq != NULL && eq != arg && (size_t)(eq - arg) < sizeof(idx), TR_ERR_USAGE);
    memcpy(idx, arg, (size_t)(eq - arg));
    idx[eq - arg] = '\0';
    TR_ENSURE(tr_ok(tr_parse_u64(idx, ATTEST_MAX_PCRS - 1, &n)), TR_ERR_USAGE);
    size_t hex_len = strlen(eq + 1);
    TR_ENSURE(hex_len == 64 || hex_len == 96 || hex_len == 128, TR_ERR_USAGE);
    TR_ENSURE(tr_ok(tr_hex_decode_fixed(eq + 1, out->value, hex_len / 2)), TR_ERR_USAGE);
    out->index = (unsigned)n;
    out->len = hex_len / 2;
    return TR_SUCCESS;
}

tr_result cli_parse_bb(const char *arg, struct attest_bb_expect *out)
{
    TR_ENSURE_REF(arg);
    TR_ENSURE_REF(out);
    memset(out, 0, sizeof(*out));
    const char *eq = strrchr(arg, '=');
    TR_ENSURE(eq != NULL && eq != arg && (size_t)(eq - arg) <= TR_MAX_VERSION_LEN, TR_ERR_USAGE);
    memcpy(out->version, arg, (size_t)(eq - arg));
    out->version[eq - arg] = '\0';
    TR_ENSURE(tr_ok(http_version_validate(out->version)), TR_ERR_USAGE);
    TR_ENSURE(strlen(eq + 1) == 64 && tr_ok(tr_hex_decode_fixed(eq + 1, out->sha256, 32)),
              TR_ERR_USAGE);
    return TR_SUCCESS;
}
