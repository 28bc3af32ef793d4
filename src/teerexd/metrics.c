/* Prometheus text exposition (version 0.0.4), rendered on request. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "metrics.h"

static const char *const ROUTE_NAMES[ROUTE_COUNT] = {
    "/attestation",           "/prove",  "/health",  "/public-key",
    "/encryption-public-key", "OPTIONS", "/metrics", "/upload-bb",
    "/admin/versions",        "/ready",  "/drain",   "not_found"};
static const unsigned STATUSES[] = {200, 204, 400, 404, 405, 413, 429, 500, 503};
#define N_STATUS (sizeof(STATUSES) / sizeof(STATUSES[0]) + 1) /* + "other" */
static const uint64_t BUCKETS_MS[] = {100,   500,   1000,   2000,   5000,  10000,
                                      30000, 60000, 120000, 300000, 600000};
#define N_BUCKETS (sizeof(BUCKETS_MS) / sizeof(BUCKETS_MS[0]))

static atomic_uint_fast64_t requests[ROUTE_COUNT][N_STATUS];
static atomic_uint_fast64_t prove_buckets[N_BUCKETS];
static atomic_uint_fast64_t prove_count, prove_sum_ms;
static atomic_uint_fast64_t decrypt_failures, prover_failures, rate_limited, queue_full;
static atomic_uint_fast64_t queue_timeouts;
static atomic_uint state_ready, state_draining, state_open;
static atomic_uint_fast64_t cuts[CUT_COUNT];
static const char *const CUT_NAMES[CUT_COUNT] = {"head_timeout", "body_timeout", "inflight_bytes"};
static atomic_uint bb_versions;
static atomic_uint_fast64_t bb_events[BB_EVENT_COUNT];

const char *metrics_route_name(enum route r)
{
    return r < ROUTE_COUNT ? ROUTE_NAMES[r] : "?";
}

void metrics_count_request(enum route r, unsigned status)
{
    if (r >= ROUTE_COUNT)
        return;
    size_t i = 0;
    while (i < N_STATUS - 1 && STATUSES[i] != status)
        i++;
    atomic_fetch_add(&requests[r][i], 1);
}

void metrics_observe_prove(uint64_t ms)
{
    for (size_t i = 0; i < N_BUCKETS; i++) {
        if (ms <= BUCKETS_MS[i])
            atomic_fetch_add(&prove_buckets[i], 1);
    }
    atomic_fetch_add(&prove_count, 1);
    atomic_fetch_add(&prove_sum_ms, ms);
}

void metrics_count_decrypt_failure(void)
{
    atomic_fetch_add(&decrypt_failures, 1);
}
void metrics_count_prover_failure(void)
{
    atomic_fetch_add(&prover_failures, 1);
}
void metrics_count_rate_limited(void)
{
    atomic_fetch_add(&rate_limited, 1);
}
void metrics_count_queue_full(void)
{
    atomic_fetch_add(&queue_full, 1);
}
void metrics_count_queue_timeout(void)
{
    atomic_fetch_add(&queue_timeouts, 1);
}
void metrics_set_state(bool ready, bool draining, unsigned prove_open)
{
    atomic_store(&state_ready, ready ? 1u : 0u);
    atomic_store(&state_draining, draining ? 1u : 0u);
    atomic_store(&state_open, prove_open);
}
void metrics_count_cut(enum cut_reason why)
{
    if (why < CUT_COUNT)
        atomic_fetch_add(&cuts[why], 1);
}

void metrics_set_bb_versions(unsigned n)
{
    atomic_store(&bb_versions, n);
}
void metrics_count_bb(enum bb_event e)
{
    if (e < BB_EVENT_COUNT)
        atomic_fetch_add(&bb_events[e], 1);
}

static TR_RESULT line(struct tr_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static tr_result line(struct tr_buf *out, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    TR_ENSURE(n >= 0 && (size_t)n < sizeof(tmp), TR_ERR_OVERFLOW);
    return tr_buf_append(out, tmp, (size_t)n);
}

tr_result metrics_render(unsigned queue_waiting, unsigned queue_active, struct tr_buf *out)
{
    TR_GUARD(line(out, "# HELP teerexd_requests_total HTTP requests by route and status.\n"
                       "# TYPE teerexd_requests_total counter\n"));
    for (size_t r = 0; r < ROUTE_COUNT; r++) {
        for (size_t s = 0; s < N_STATUS; s++) {
            uint64_t v = atomic_load(&requests[r][s]);
            if (v == 0)
                continue;
            if (s < N_STATUS - 1)
                TR_GUARD(line(out, "teerexd_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                              ROUTE_NAMES[r], STATUSES[s], (unsigned long long)v));
            else
                TR_GUARD(line(out, "teerexd_requests_total{route=\"%s\",status=\"other\"} %llu\n",
                              ROUTE_NAMES[r], (unsigned long long)v));
        }
    }
    TR_GUARD(line(out,
                  "# HELP teerexd_prove_duration_seconds Prover run time of successful proofs.\n"
                  "# TYPE teerexd_prove_duration_seconds histogram\n"));
    for (size_t i = 0; i < N_BUCKETS; i++)
        TR_GUARD(line(out, "teerexd_prove_duration_seconds_bucket{le=\"%g\"} %llu\n",
                      (double)BUCKETS_MS[i] / 1000.0,
                      (unsigned long long)atomic_load(&prove_buckets[i])));
    uint64_t cnt = atomic_load(&prove_count);
    TR_GUARD(line(out, "teerexd_prove_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                  (unsigned long long)cnt));
    TR_GUARD(line(out, "teerexd_prove_duration_seconds_sum %.3f\n",
                  (double)atomic_load(&prove_sum_ms) / 1000.0));
    TR_GUARD(line(out, "teerexd_prove_duration_seconds_count %llu\n", (unsigned long long)cnt));
    TR_GUARD(line(out,
                  "# HELP teerexd_prove_queue_waiting Requests waiting for a prover.\n"
                  "# TYPE teerexd_prove_queue_waiting gauge\nteerexd_prove_queue_waiting %u\n",
                  queue_waiting));
    TR_GUARD(line(out,
                  "# HELP teerexd_prove_active Proofs running now.\n"
                  "# TYPE teerexd_prove_active gauge\nteerexd_prove_active %u\n",
                  queue_active));
    TR_GUARD(line(
        out,
        "# HELP teerexd_decrypt_failures_total POST /prove bodies that could not be decrypted.\n"
        "# TYPE teerexd_decrypt_failures_total counter\nteerexd_decrypt_failures_total %llu\n",
        (unsigned long long)atomic_load(&decrypt_failures)));
    TR_GUARD(
        line(out,
             "# HELP teerexd_prover_failures_total Prover runs that failed (exit, signal, timeout, "
             "no proof).\n"
             "# TYPE teerexd_prover_failures_total counter\nteerexd_prover_failures_total %llu\n",
             (unsigned long long)atomic_load(&prover_failures)));
    TR_GUARD(
        line(out,
             "# HELP teerexd_rate_limited_total POST /prove refused by the per-client rate limit.\n"
             "# TYPE teerexd_rate_limited_total counter\nteerexd_rate_limited_total %llu\n",
             (unsigned long long)atomic_load(&rate_limited)));
    TR_GUARD(line(
        out,
        "# HELP teerexd_queue_full_total POST /prove refused because the prove queue was full.\n"
        "# TYPE teerexd_queue_full_total counter\nteerexd_queue_full_total %llu\n",
        (unsigned long long)atomic_load(&queue_full)));
    TR_GUARD(
        line(out,
             "# HELP teerexd_queue_timeouts_total POST /prove that waited past PROVE_TIMEOUT "
             "for a prover (503).\n"
             "# TYPE teerexd_queue_timeouts_total counter\nteerexd_queue_timeouts_total %llu\n",
             (unsigned long long)atomic_load(&queue_timeouts)));
    TR_GUARD(line(out,
                  "# HELP teerexd_ready 1 when every start-up check passed and proofs can run.\n"
                  "# TYPE teerexd_ready gauge\nteerexd_ready %u\n",
                  atomic_load(&state_ready)));
    TR_GUARD(line(out,
                  "# HELP teerexd_draining 1 after POST /drain (balancers stop sending).\n"
                  "# TYPE teerexd_draining gauge\nteerexd_draining %u\n",
                  atomic_load(&state_draining)));
    TR_GUARD(line(out,
                  "# HELP teerexd_prove_open POST /prove requests received and not yet answered.\n"
                  "# TYPE teerexd_prove_open gauge\nteerexd_prove_open %u\n",
                  atomic_load(&state_open)));
    TR_GUARD(line(out, "# HELP teerexd_limited_total Connections closed or requests refused by a "
                       "server-wide limit.\n# TYPE teerexd_limited_total counter\n"));
    for (size_t i = 0; i < CUT_COUNT; i++)
        TR_GUARD(line(out, "teerexd_limited_total{reason=\"%s\"} %llu\n", CUT_NAMES[i],
                      (unsigned long long)atomic_load(&cuts[i])));
    TR_GUARD(
        line(out,
             "# HELP teerexd_bb_versions Prover bundles that can run now (the default included).\n"
             "# TYPE teerexd_bb_versions gauge\nteerexd_bb_versions %u\n",
             atomic_load(&bb_versions)));
    TR_GUARD(line(out, "# HELP teerexd_bb_provisions_total Missing versions asked from the "
                       "provisioning service, by outcome (joined: waited for another request's "
                       "fetch).\n# TYPE teerexd_bb_provisions_total counter\n"));
    static const char *const PROV[] = {"installed", "failed", "joined"};
    for (size_t i = 0; i < 3; i++)
        TR_GUARD(line(out, "teerexd_bb_provisions_total{result=\"%s\"} %llu\n", PROV[i],
                      (unsigned long long)atomic_load(&bb_events[BB_PROVISION_INSTALLED + i])));
    TR_GUARD(line(out, "# HELP teerexd_bb_uploads_total Admin bundle uploads, by outcome.\n"
                       "# TYPE teerexd_bb_uploads_total counter\n"));
    TR_GUARD(line(out, "teerexd_bb_uploads_total{result=\"installed\"} %llu\n",
                  (unsigned long long)atomic_load(&bb_events[BB_UPLOAD_INSTALLED])));
    TR_GUARD(line(out, "teerexd_bb_uploads_total{result=\"refused\"} %llu\n",
                  (unsigned long long)atomic_load(&bb_events[BB_UPLOAD_REFUSED])));
    return TR_SUCCESS;
}
