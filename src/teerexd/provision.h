/* On-demand prover versions: when /prove names a version teerexd lacks, it
 * asks the host's provisioning service (`teerex bb serve`, BB_PROVISION:
 * vsock:3:PORT from an enclave to its EC2 parent, unix: or tcp: on the same
 * host) for the bundle, installs it like an admin upload (digest checked,
 * pinned policy enforced) and proves with it. Concurrent requests for one
 * version share one fetch; a version that could not be had is not asked for
 * again before BB_PROVISION_RETRY; at most PROVISION_MAX_ACTIVE versions are
 * fetched at once and BB_MAX_VERSIONS installed. Protocol: bundle.h,
 * docs/PROTOCOL-EXT.md "Provisioning". */
#ifndef TEEREXD_PROVISION_H
#define TEEREXD_PROVISION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "teerex/bundle.h"
#include "versions.h"

#define PROVISION_SLOTS 32
#define PROVISION_MAX_ACTIVE 4

struct provision_slot {
    char version[TR_MAX_VERSION_LEN + 1];
    bool busy;
    int32_t err; /* of the last attempt (TR_OK: installed) */
    char why[512];
    uint64_t finished_ms;
};

struct provisioner {
    bool enabled;
    char addr[160];
    uint64_t timeout_ms, retry_ms, max_versions, max_bytes;
    struct versions *versions;
    const struct bundle_policy *policy;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct provision_slot slots[PROVISION_SLOTS];
    atomic_uint_fast64_t asked, installed, failed, shared;
};

TR_RESULT provision_init(struct provisioner *p, const struct config *cfg, struct versions *v,
                         const struct bundle_policy *policy);
void provision_destroy(struct provisioner *p);
/* Whether asking for version makes sense (enabled, and on the pinned list). */
bool provision_can_ask(const struct provisioner *p, const char *version);
/* Makes version installed, waiting at most until deadline_ms (monotonic).
 * TR_SUCCESS: versions_lookup() now finds it. Otherwise the error
 * (TR_ERR_BUNDLE_PROVISION_*, TR_ERR_BUNDLE_NOT_ALLOWED, ...) and a sentence
 * in why. */
TR_RESULT provision_version(struct provisioner *p, const char *version, uint64_t deadline_ms,
                            char *why, size_t cap);

#endif
