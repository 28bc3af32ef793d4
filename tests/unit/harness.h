/* A tiny unit-test harness: EXPECT_* macros count checks, TEST_MAIN runs the
 * listed test functions and prints "N passed, N failed" (per check). */
#ifndef TEEREX_TEST_HARNESS_H
#define TEEREX_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "teerex/result.h"

static int th_passed, th_failed;
static const char *th_current = "";

#define TH_REPORT(ok, ...)                                                                         \
    do {                                                                                           \
        if (ok) {                                                                                  \
            th_passed++;                                                                           \
        } else {                                                                                   \
            th_failed++;                                                                           \
            fprintf(stderr, "FAIL %s (%s:%d): ", th_current, __FILE__, __LINE__);                  \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define EXPECT_TRUE(c) TH_REPORT((c), "%s", #c)
#define EXPECT_EQ(a, b)                                                                            \
    do {                                                                                           \
        long long th_a_ = (long long)(a), th_b_ = (long long)(b);                                  \
        TH_REPORT(th_a_ == th_b_, "%s == %s (%lld != %lld)", #a, #b, th_a_, th_b_);                \
    } while (0)
#define EXPECT_STR_EQ(a, b)                                                                        \
    do {                                                                                           \
        const char *th_a_ = (a), *th_b_ = (b);                                                     \
        TH_REPORT(th_a_ &&th_b_ &&strcmp(th_a_, th_b_) == 0, "%s == %s (\"%s\" != \"%s\")", #a,    \
                  #b, th_a_ ? th_a_ : "(null)", th_b_ ? th_b_ : "(null)");                         \
    } while (0)
#define EXPECT_MEM_EQ(a, b, n)                                                                     \
    TH_REPORT(memcmp((a), (b), (n)) == 0, "memcmp(%s, %s, %s)", #a, #b, #n)
#define EXPECT_OK(call)                                                                            \
    do {                                                                                           \
        tr_result th_r_ = (call);                                                                  \
        TH_REPORT(th_r_.err == TR_OK, "%s failed: %s", #call, tr_err_name(th_r_.err));             \
    } while (0)
/* Asserts the exact error code. */
#define EXPECT_ERR(call, code)                                                                     \
    do {                                                                                           \
        tr_result th_r_ = (call);                                                                  \
        TH_REPORT(th_r_.err == (code), "%s: expected %s, got %s", #call, tr_err_name(code),        \
                  tr_err_name(th_r_.err));                                                         \
    } while (0)

#define RUN_TEST(fn)                                                                               \
    do {                                                                                           \
        th_current = #fn;                                                                          \
        fn();                                                                                      \
    } while (0)

#define TEST_SUMMARY() (printf("%d passed, %d failed\n", th_passed, th_failed), th_failed ? 1 : 0)

#endif
