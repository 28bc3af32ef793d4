/* Prometheus text metrics: requests by route and status, prove durations,
 * queue depth, decrypt/prover failures, rate-limited requests. Counters are
 * C11 atomics: handlers never take a lock to count. */
#ifndef TEEREXD_METRICS_H
#define TEEREXD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "teerex/buf.h"

enum route {
    ROUTE_ATTESTATION = 0,
    ROUTE_PROVE,
    ROUTE_HEALTH,
    ROUTE_PUBLIC_KEY,
    ROUTE_ENC_PUBLIC_KEY,
    ROUTE_OPTIONS,
    ROUTE_METRICS,
    ROUTE_UPLOAD_BB,
    ROUTE_ADMIN_VERSIONS,
    ROUTE_READY,
    ROUTE_DRAIN,
    ROUTE_NOT_FOUND,
    ROUTE_COUNT
};

const char *metrics_route_name(enum route r);
void metrics_count_request(enum route r, unsigned status);
void metrics_observe_prove(uint64_t ms);
void metrics_count_decrypt_failure(void);
void metrics_count_prover_failure(void);
void metrics_count_rate_limited(void);
void metrics_count_queue_full(void);
void metrics_count_queue_timeout(void);
/* Readiness, drain and open /prove requests, as gauges (set before rendering). */
void metrics_set_state(bool ready, bool draining, unsigned prove_open);
/* Requests refused or connections closed by a server-wide limit (issue 16). */
enum cut_reason { CUT_HEAD_TIMEOUT, CUT_BODY_TIMEOUT, CUT_INFLIGHT_BYTES, CUT_COUNT };
void metrics_count_cut(enum cut_reason why);
/* queue gauges are read from the queue when rendering */
/* Prover bundles: versions runnable now; provisioning outcomes (a request
 * that waited for another's fetch is "joined"); admin uploads. */
enum bb_event {
    BB_PROVISION_INSTALLED = 0,
    BB_PROVISION_FAILED,
    BB_PROVISION_JOINED,
    BB_UPLOAD_INSTALLED,
    BB_UPLOAD_REFUSED,
    BB_EVENT_COUNT
};
void metrics_set_bb_versions(unsigned n);
void metrics_count_bb(enum bb_event e);
TR_RESULT metrics_render(unsigned queue_waiting, unsigned queue_active, struct tr_buf *out);

#endif
