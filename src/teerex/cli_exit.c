/* Error -> exit code, in one place. The rules are tried in order: the
 * attestation class (10 + class), then the code table, then the category
 * table, then the module table; anything else is 1. */
#include "exit_codes.h"
#include "teerex/attest.h"
#include "teerex/result.h"

struct by_code {
    int32_t err;
    int code;
};

static const struct by_code BY_CODE[] = {
    {TR_ERR_CLIENT_NETWORK, TEEREX_EXIT_NETWORK},
    {TR_ERR_CLIENT_HTTP_STATUS, TEEREX_EXIT_SERVER},
    {TR_ERR_CLIENT_BAD_RESPONSE, TEEREX_EXIT_SERVER},
    {TR_ERR_CLIENT_BAD_MODE, TEEREX_EXIT_SERVER},
    {TR_ERR_CLIENT_BAD_PROOF, TEEREX_EXIT_SERVER},
    {TR_ERR_CLIENT_UNHEALTHY, TEEREX_EXIT_SERVER},
    {TR_ERR_CLIENT_UNATTESTED, TEEREX_EXIT_UNATTESTED},
    {TR_ERR_CLIENT_NO_DOCUMENT, TEEREX_EXIT_UNATTESTED},
    {TR_ERR_CLIENT_BAD_INPUT, TEEREX_EXIT_USAGE},
    {TR_ERR_CLIENT_BB_UNKNOWN_VERSION, TEEREX_EXIT_BB_UNKNOWN_VERSION},
    {TR_ERR_CLIENT_BB_NO_BINARY, TEEREX_EXIT_BB_NO_BINARY},
    {TR_ERR_CLIENT_BB_INTEGRITY, TEEREX_EXIT_BB_INTEGRITY},
    {TR_ERR_CLIENT_BB_DOES_NOT_RUN, TEEREX_EXIT_BB_DOES_NOT_RUN},
    {TR_ERR_CLIENT_BB_RUNTIME, TEEREX_EXIT_BB_RUNTIME},
    {TR_ERR_CLIENT_BB_DEB, TEEREX_EXIT_BB_RUNTIME},
    {TR_ERR_CLIENT_BB_APT, TEEREX_EXIT_BB_RUNTIME},
};

static const struct {
    enum tr_category cat;
    int code;
} BY_CATEGORY[] = {
    {TR_CAT_USAGE, TEEREX_EXIT_USAGE},
};

/* Whole modules (error code ranges, see include/teerex/errors/). */
static const struct {
    int32_t lo, hi;
    int code;
} BY_MODULE[] = {
    {100, 199, TEEREX_EXIT_SERVER}, /* pgp: a key the server sent that we cannot use */
};

int cli_exit_code(int32_t err)
{
    if (err == TR_OK)
        return TEEREX_EXIT_OK;
    enum attest_class cls = attest_class_of(err);
    if (cls != ATTEST_CLASS_NONE)
        return TEEREX_EXIT_ATTEST + (int)cls;
    for (size_t i = 0; i < sizeof(BY_CODE) / sizeof(BY_CODE[0]); i++) {
        if (BY_CODE[i].err == err)
            return BY_CODE[i].code;
    }
    enum tr_category cat = tr_err_category(err);
    for (size_t i = 0; i < sizeof(BY_CATEGORY) / sizeof(BY_CATEGORY[0]); i++) {
        if (BY_CATEGORY[i].cat == cat)
            return BY_CATEGORY[i].code;
    }
    for (size_t i = 0; i < sizeof(BY_MODULE) / sizeof(BY_MODULE[0]); i++) {
        if (err >= BY_MODULE[i].lo && err <= BY_MODULE[i].hi)
            return BY_MODULE[i].code;
    }
    return TEEREX_EXIT_FAILURE;
}

void cli_exit_help(FILE *f)
{
    static const struct {
        const char *codes, *meaning;
    } DOC[] = {
        {"0", "ok"},
        {"1", "failure (I/O, out of memory, ...)"},
        {"2", "usage: bad command line or input file"},
        {"3", "network: server unreachable, timeout, transport error"},
        {"4", "server error: 4xx/5xx, an answer, key or proof that cannot be used"},
        {"5", "server not attested (prove --require-attestation)"},
        {"10+", "attestation failure: 10 + class (see teerex attest --help)"},
        {"30-34", "teerex bb fetch (see teerex bb fetch --help)"},
    };
    fprintf(f, "\nexit codes:\n");
    for (size_t i = 0; i < sizeof(DOC) / sizeof(DOC[0]); i++)
        fprintf(f, "  %-6s %s\n", DOC[i].codes, DOC[i].meaning);
}
