/* Benchmark of attest_verify on one real AWS document (at its own time):
 * prints the median, p10, p90 of N full verifications and of N decodes
 * (CBOR + payload checks only), in microseconds of wall time and of this
 * thread's CPU time (steadier on a shared machine). Built and run by
 * bench/attest_verify.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "teerex/attest.h"

static double clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof(double), cmp);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += t[i];
    printf("%-8s n=%d median=%.1f us p10=%.1f us p90=%.1f us mean=%.1f us\n", what, n, t[n / 2],
           t[n / 10], t[n * 9 / 10], sum / n);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DOC.cose N\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    static uint8_t doc[1 << 16];
    size_t len = fread(doc, 1, sizeof(doc), f);
    fclose(f);
    char *end = NULL;
    long nl = strtol(argv[2], &end, 10);
    if (end == argv[2] || *end != '\0' || nl < 10 || nl > 1000000)
        return 2;
    int n = (int)nl;
    double *t = calloc((size_t)n, sizeof(double));
    double *c = calloc((size_t)n, sizeof(double));
    struct attest_expect exp = ATTEST_EXPECT_INIT;
    exp.at = ATTEST_AT_DOC;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = -20; i < n; i++) { /* 20 warm-up rounds */
            struct attest_result r;
            attest_result_init(&r);
            double t0 = clock_us(CLOCK_MONOTONIC), c0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
            tr_result res =
                pass ? attest_verify(doc, len, &exp, &r) : attest_doc_decode(doc, len, &r);
            double dt = clock_us(CLOCK_MONOTONIC) - t0;
            double dc = clock_us(CLOCK_THREAD_CPUTIME_ID) - c0;
            attest_result_free(&r);
            if (!tr_ok(res)) {
                fprintf(stderr, "verification failed: %s\n", tr_err_name(res.err));
                return 1;
            }
            if (i >= 0) {
                t[i] = dt;
                c[i] = dc;
            }
        }
        report(pass ? "verify" : "decode", t, n);
        report(pass ? "  cpu" : "  cpu", c, n);
    }
    free(t);
    free(c);
    return 0;
}
