/* Error names, descriptions and categories, built from the .def lists. */
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

#include "teerex/result.h"

struct err_entry {
    int32_t code;
    const char *name;
    enum tr_category cat;
    const char *desc;
};

#define TR_ERR(name, value, cat, desc) {value, #name, cat, desc},
static const struct err_entry ERRORS[] = {
    {0, "OK", TR_CAT_NONE, "success"},
#include "teerex/errors/core.def"
#include "teerex/errors/pgp.def"
#include "teerex/errors/http.def"
#include "teerex/errors/attest.def"
#include "teerex/errors/nsm.def"
#include "teerex/errors/prover.def"
#include "teerex/errors/runtime.def"
#include "teerex/errors/eif.def"
#include "teerex/errors/client.def"
#include "teerex/errors/bundle.def"
#include "teerex/errors/sandbox.def"
};
#undef TR_ERR

static _Thread_local struct tr_error_info last_error;

static const struct err_entry *find(int32_t code)
{
    for (size_t i = 0; i < sizeof(ERRORS) / sizeof(ERRORS[0]); i++) {
        if (ERRORS[i].code == code)
            return &ERRORS[i];
    }
    return NULL;
}

tr_result tr_fail_at(int32_t err, const char *file, int line)
{
    last_error.err = err;
    last_error.file = file;
    last_error.line = line;
    last_error.ossl[0] = '\0';
    unsigned long e = ERR_peek_last_error();
    if (e != 0)
        ERR_error_string_n(e, last_error.ossl, sizeof(last_error.ossl));
    ERR_clear_error();
    tr_result r = {err};
    return r;
}

const struct tr_error_info *tr_last_error(void)
{
    return &last_error;
}

const char *tr_err_name(int32_t err)
{
    const struct err_entry *e = find(err);
    return e ? e->name : "UNKNOWN";
}

const char *tr_err_desc(int32_t err)
{
    const struct err_entry *e = find(err);
    return e ? e->desc : "unknown error";
}

enum tr_category tr_err_category(int32_t err)
{
    const struct err_entry *e = find(err);
    return e ? e->cat : TR_CAT_INTERNAL;
}

const char *tr_category_name(enum tr_category cat)
{
    switch (cat) {
    case TR_CAT_NONE: return "none";
    case TR_CAT_INPUT: return "input";
    case TR_CAT_LIMIT: return "limit";
    case TR_CAT_CRYPTO: return "crypto";
    case TR_CAT_ATTEST: return "attestation";
    case TR_CAT_BUSY: return "busy";
    case TR_CAT_IO: return "io";
    case TR_CAT_USAGE: return "usage";
    case TR_CAT_INTERNAL: return "internal";
    }
    return "internal";
}
