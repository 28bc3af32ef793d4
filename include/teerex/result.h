/* tr_result: the one error signal of libteerex.
 *
 * Every fallible function returns a tr_result (declared with TR_RESULT so the
 * compiler warns when a caller drops it). The error is set where it is
 * detected (tr_fail_at records file:line and the OpenSSL error queue in a
 * thread-local), never later. Codes come from include/teerex/errors/ *.def,
 * one file per module, each with its own numeric range.
 */
#ifndef TEEREX_RESULT_H
#define TEEREX_RESULT_H

#include <stdbool.h>
#include <stdint.h>

/* Categories decide how a failure is reported (HTTP status, exit code). */
enum tr_category {
    TR_CAT_NONE = 0,
    TR_CAT_INPUT,    /* malformed or unsupported input -> 400 */
    TR_CAT_LIMIT,    /* input over a configured limit -> 413 */
    TR_CAT_CRYPTO,   /* authentication / decryption rejected -> 400, no detail */
    TR_CAT_ATTEST,   /* attestation verification failed */
    TR_CAT_BUSY,     /* try again later -> 429/503 */
    TR_CAT_IO,       /* network, file system, child process */
    TR_CAT_USAGE,    /* caller misuse, bad configuration */
    TR_CAT_INTERNAL, /* out of memory, library failure, bug -> 500 */
};

#define TR_ERR(name, value, cat, desc) TR_ERR_##name = value,
enum tr_err {
    TR_OK = 0,
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

typedef struct {
    int32_t err;
} tr_result;

#define TR_RESULT tr_result __attribute__((warn_unused_result))
#define TR_SUCCESS ((tr_result){0})

static inline bool tr_ok(tr_result r)
{
    return r.err == TR_OK;
}

/* Records the failure (file, line, OpenSSL error queue) and returns it. */
tr_result tr_fail_at(int32_t err, const char *file, int line);

/* Explicitly ignore a result (e.g. best-effort cleanup). */
static inline void tr_ignore(tr_result r)
{
    (void)r;
}

struct tr_error_info {
    int32_t err;
    const char *file;
    int line;
    char ossl[256]; /* first OpenSSL error string, "" if none */
};
/* The last failure recorded on this thread. */
const struct tr_error_info *tr_last_error(void);

const char *tr_err_name(int32_t err); /* "PGP_BAD_MDC" */
const char *tr_err_desc(int32_t err); /* human sentence */
enum tr_category tr_err_category(int32_t err);
const char *tr_category_name(enum tr_category cat);

/* --- Guards for functions that own nothing: early return. --- */
#define TR_BAIL(e) return tr_fail_at((e), __FILE__, __LINE__)
#define TR_ENSURE(cond, e)                                                                         \
    do {                                                                                           \
        if (!(cond))                                                                               \
            TR_BAIL(e);                                                                            \
    } while (0)
#define TR_GUARD(call)                                                                             \
    do {                                                                                           \
        tr_result tr_guard_r_ = (call);                                                            \
        if (tr_guard_r_.err != TR_OK)                                                              \
            return tr_guard_r_;                                                                    \
    } while (0)
/* OpenSSL convention: 1 is success. */
#define TR_GUARD_OSSL(call, e)                                                                     \
    do {                                                                                           \
        if ((call) != 1)                                                                           \
            TR_BAIL(e);                                                                            \
    } while (0)
#define TR_ENSURE_REF(p) TR_ENSURE((p) != NULL, TR_ERR_NULL_ARG)

/* --- Guards for functions with one cleanup label `out:` and a local
 *     `tr_result res = TR_SUCCESS;`. --- */
#define TR_FAIL(e)                                                                                 \
    do {                                                                                           \
        res = tr_fail_at((e), __FILE__, __LINE__);                                                 \
        goto out;                                                                                  \
    } while (0)
#define TR_CHECK(cond, e)                                                                          \
    do {                                                                                           \
        if (!(cond))                                                                               \
            TR_FAIL(e);                                                                            \
    } while (0)
#define TR_TRY(call)                                                                               \
    do {                                                                                           \
        res = (call);                                                                              \
        if (res.err != TR_OK)                                                                      \
            goto out;                                                                              \
    } while (0)
#define TR_CHECK_OSSL(call, e)                                                                     \
    do {                                                                                           \
        if ((call) != 1)                                                                           \
            TR_FAIL(e);                                                                            \
    } while (0)

#endif
