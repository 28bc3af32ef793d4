/* teerexd pieces of the operations work (issue 14): the queue's deadline and
 * the metrics every series of which has HELP and TYPE. */
#include <string.h>
#include <time.h>

#include "harness.h"
#include "metrics.h"
#include "prove_queue.h"
#include "teerex/clock.h"

static void test_queue_deadline(void)
{
    struct prove_queue q;
    prove_queue_init(&q, 1, 4);
    EXPECT_OK(prove_queue_enter_by(&q, -1, tr_mono_ms() + 5000)); /* free slot: at once */
    uint64_t t0 = tr_mono_ms();
    EXPECT_ERR(prove_queue_enter_by(&q, -1, t0 + 300), TR_ERR_PROVER_QUEUE_TIMEOUT);
    uint64_t waited = tr_mono_ms() - t0;
    TH_REPORT(waited >= 290 && waited < 1500, "left the queue at its deadline (%llu ms)",
              (unsigned long long)waited);
    unsigned waiting, active;
    prove_queue_stats(&q, &waiting, &active);
    EXPECT_EQ(waiting, 0); /* nothing left behind */
    EXPECT_EQ(active, 1);
    EXPECT_ERR(prove_queue_enter_by(&q, -1, t0), TR_ERR_PROVER_QUEUE_TIMEOUT); /* past already */
    prove_queue_leave(&q);
    EXPECT_OK(prove_queue_enter_by(&q, -1, t0)); /* a free slot needs no waiting */
    prove_queue_leave(&q);
    prove_queue_destroy(&q);
}

/* Every sample line's metric has a HELP and a TYPE line before it. */
static void test_metrics_help(void)
{
    metrics_count_queue_timeout();
    metrics_set_state(true, false, 3);
    struct tr_buf b;
    tr_buf_init(&b, 1 << 20);
    EXPECT_OK(metrics_render(2, 1, &b));
    EXPECT_OK(tr_buf_append_u8(&b, 0));
    const char *t = (const char *)b.data;
    EXPECT_TRUE(strstr(t, "\nteerexd_queue_timeouts_total 1\n") != NULL);
    EXPECT_TRUE(strstr(t, "\nteerexd_ready 1\n") != NULL);
    EXPECT_TRUE(strstr(t, "\nteerexd_prove_open 3\n") != NULL);
    for (const char *line = t; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n > 0 && line[0] != '#') {
            char name[128];
            size_t k = strcspn(line, "{ ");
            if (k >= sizeof(name))
                k = sizeof(name) - 1;
            memcpy(name, line, k);
            name[k] = 0;
            const char *suffixes[] = {"_bucket", "_sum", "_count"};
            for (size_t i = 0; i < 3; i++) { /* histogram parts share the base name */
                size_t sl = strlen(suffixes[i]);
                if (k > sl && strcmp(name + k - sl, suffixes[i]) == 0 &&
                    strstr(name, "duration_seconds"))
                    name[k - sl] = 0;
            }
            char help[160], type[160];
            snprintf(help, sizeof(help), "# HELP %s ", name);
            snprintf(type, sizeof(type), "# TYPE %s ", name);
            TH_REPORT(strstr(t, help) && strstr(t, help) < line, "HELP before %s", name);
            TH_REPORT(strstr(t, type) && strstr(t, type) < line, "TYPE before %s", name);
        }
        line += n + (end ? 1 : 0);
    }
    tr_buf_free(&b);
}

int main(void)
{
    RUN_TEST(test_queue_deadline);
    RUN_TEST(test_metrics_help);
    return TEST_SUMMARY();
}
