/* On-demand prover versions (see provision.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "provision.h"
#include "rt_addr.h"
#include "teerex/clock.h"
#include "teerex/log.h"

tr_result provision_init(struct provisioner *p, const struct config *cfg, struct versions *v,
                         const struct bundle_policy *policy)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    p->versions = v;
    p->policy = policy;
    p->timeout_ms = cfg->bb_provision_timeout_ms;
    p->retry_ms = cfg->bb_provision_retry_ms;
    p->max_versions = cfg->bb_max_versions;
    p->max_bytes = cfg->max_upload_bytes;
    if (cfg->bb_provision[0] == '\0')
        return TR_SUCCESS;
    struct rt_addr a;
    if (!tr_ok(rt_addr_parse(cfg->bb_provision, &a)) || a.cid_auto ||
        (a.kind == RT_ADDR_VSOCK && a.cid == RT_VSOCK_CID_ANY)) {
        fprintf(stderr,
                "teerexd: BB_PROVISION must be vsock:CID:PORT, unix:PATH or tcp:HOST:PORT\n");
        TR_BAIL(TR_ERR_USAGE);
    }
    if (v->dir[0] == '\0') {
        fprintf(stderr, "teerexd: BB_PROVISION needs BB_VERSIONS_DIR (where bundles go)\n");
        TR_BAIL(TR_ERR_USAGE);
    }
    snprintf(p->addr, sizeof(p->addr), "%s", cfg->bb_provision);
    p->enabled = true;
    tr_log(TR_LOG_INFO, "bb_provision_enabled", "{s:s,s:I,s:I}", "service", p->addr, "timeout_ms",
           (json_int_t)p->timeout_ms, "max_versions", (json_int_t)p->max_versions);
    return TR_SUCCESS;
}

void provision_destroy(struct provisioner *p)
{
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
}

bool provision_can_ask(const struct provisioner *p, const char *version)
{
    return p->enabled && bundle_policy_lists(p->policy, version);
}

/* ---- the exchange with the service ---- */

static TR_RESULT wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = tr_mono_ms();
        TR_ENSURE(now < deadline, TR_ERR_BUNDLE_PROVISION_TIMEOUT);
        struct pollfd pf = {.fd = fd, .events = events};
        uint64_t left = deadline - now;
        int r = poll(&pf, 1, left > 1000 ? 1000 : (int)left);
        if (r > 0)
            return TR_SUCCESS;
        TR_ENSURE(r == 0 || errno == EINTR, TR_ERR_BUNDLE_PROVISION_FAILED);
    }
}

static TR_RESULT connect_service(const char *addr, uint64_t deadline, int *out, char *why,
                                 size_t cap)
{
    struct rt_addr a;
    int fd = -1;
    TR_GUARD(rt_addr_parse(addr, &a));
    if (!tr_ok(rt_addr_socket(&a, &fd))) {
        snprintf(why, cap, "cannot open a socket for the provisioning service %s: %s", addr,
                 strerror(errno));
        TR_BAIL(TR_ERR_BUNDLE_PROVISION_UNAVAILABLE);
    }
    int err = 0;
    if (connect(fd, (const struct sockaddr *)&a.ss, a.len) != 0) {
        err = errno;
        if (err == EINPROGRESS && tr_ok(wait_fd(fd, POLLOUT, deadline))) {
            socklen_t l = sizeof(err);
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0)
                err = errno;
        } else if (err == EINPROGRESS) {
            err = ETIMEDOUT;
        }
    }
    if (err != 0) {
        snprintf(why, cap, "cannot reach the provisioning service %s: %s", addr, strerror(err));
        close(fd);
        TR_BAIL(TR_ERR_BUNDLE_PROVISION_UNAVAILABLE);
    }
    *out = fd;
    return TR_SUCCESS;
}

static TR_RESULT send_all(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            TR_GUARD(wait_fd(fd, POLLOUT, deadline));
            continue;
        }
        TR_ENSURE(k > 0, TR_ERR_BUNDLE_PROVISION_FAILED);
        p += k;
        n -= (size_t)k;
    }
    return TR_SUCCESS;
}

/* recv() with the deadline; 0 at the peer's end. */
static TR_RESULT recv_some(int fd, uint8_t *p, size_t cap, uint64_t deadline, size_t *got)
{
    for (;;) {
        ssize_t k = recv(fd, p, cap, 0);
        if (k >= 0) {
            *got = (size_t)k;
            return TR_SUCCESS;
        }
        TR_ENSURE(errno == EAGAIN || errno == EINTR, TR_ERR_BUNDLE_PROVISION_FAILED);
        TR_GUARD(wait_fd(fd, POLLIN, deadline));
    }
}

static int32_t code_of(const char *error)
{
    if (strcmp(error, "unknown_version") == 0 || strcmp(error, "no_binary") == 0)
        return TR_ERR_BUNDLE_PROVISION_UNKNOWN;
    if (strcmp(error, "busy") == 0)
        return TR_ERR_BUNDLE_PROVISION_BUSY;
    if (strcmp(error, "refused") == 0) /* the host's --allow, or our pinned digest */
        return TR_ERR_BUNDLE_NOT_ALLOWED;
    return TR_ERR_BUNDLE_PROVISION_FAILED;
}

/* The pinned list's digest for version, so the service can say early that
 * it cannot build it (it is checked again when the bundle is installed). */
static void expected_digest(const struct bundle_policy *pol, const char *version, char *out)
{
    out[0] = '\0';
    for (size_t i = 0; pol && pol->pinned && i < pol->n; i++) {
        if (strcmp(pol->allowed[i].version, version) == 0) {
            memcpy(out, pol->allowed[i].digest, BUNDLE_DIGEST_HEX);
            return;
        }
    }
}

/* The reply's header line (into hdr) and the first bytes after it. */
static TR_RESULT read_header(int fd, uint64_t deadline, char *hdr, size_t *hlen, uint8_t *rest,
                             size_t *rlen)
{
    size_t have = 0;
    for (;;) {
        size_t got;
        TR_GUARD(
            recv_some(fd, (uint8_t *)hdr + have, BUNDLE_PROV_REPLY_MAX + 1 - have, deadline, &got));
        TR_ENSURE(got > 0, TR_ERR_BUNDLE_PROVISION_FAILED); /* closed before the line ended */
        have += got;
        char *nl = memchr(hdr, '\n', have);
        if (nl) {
            *hlen = (size_t)(nl - hdr);
            *rlen = have - *hlen - 1;
            memcpy(rest, nl + 1, *rlen);
            return TR_SUCCESS;
        }
        TR_ENSURE(have <= BUNDLE_PROV_REPLY_MAX, TR_ERR_BUNDLE_PROVISION_MSG);
    }
}

/* Streams size bytes (the first rlen already in rest) into an install. */
static TR_RESULT receive_bundle(struct provisioner *p, int fd, const struct bundle_prov_reply *rp,
                                const uint8_t *rest, size_t rlen, uint64_t deadline, char *why,
                                size_t cap)
{
    struct versions_upload *u = NULL;
    TR_GUARD(versions_upload_begin(p->versions, rp->version, VERSIONS_UPLOAD_TAR, why, cap, &u));
    tr_result res = TR_SUCCESS;
    uint64_t left = rp->size;
    size_t first = rlen < left ? rlen : (size_t)left;
    static const size_t BLOCK = 65536;
    uint8_t *buf = malloc(BLOCK);
    TR_CHECK(buf != NULL, TR_ERR_NOMEM);
    TR_TRY(versions_upload_write(u, rest, first));
    left -= first;
    while (left > 0) {
        size_t got;
        res = recv_some(fd, buf, left < BLOCK ? (size_t)left : BLOCK, deadline, &got);
        if (tr_ok(res) && got == 0)
            res = tr_fail_at(TR_ERR_BUNDLE_PROVISION_FAILED, __FILE__, __LINE__);
        if (!tr_ok(res)) {
            snprintf(why, cap, "the provisioning service stopped after %llu of %llu bytes",
                     (unsigned long long)(rp->size - left), (unsigned long long)rp->size);
            goto out;
        }
        TR_TRY(versions_upload_write(u, buf, got));
        left -= got;
    }
    struct bb_version bv;
    res = versions_upload_commit(u, rp->digest, &bv, why, cap);
    u = NULL; /* consumed */
out:
    free(buf);
    versions_upload_abort(u);
    return res;
}

static TR_RESULT fetch(struct provisioner *p, const char *version, uint64_t deadline, char *why,
                       size_t cap)
{
    if (versions_count(p->versions) >= p->max_versions) {
        snprintf(why, cap, "%llu versions are installed (BB_MAX_VERSIONS)",
                 (unsigned long long)p->max_versions);
        TR_BAIL(TR_ERR_BUNDLE_TOO_MANY_VERSIONS);
    }
    int fd = -1;
    TR_GUARD(connect_service(p->addr, deadline, &fd, why, cap));
    tr_result res = TR_SUCCESS;
    struct tr_buf line;
    tr_buf_init(&line, BUNDLE_PROV_REQUEST_MAX + 2);
    char hdr[BUNDLE_PROV_REPLY_MAX + 2];
    uint8_t rest[BUNDLE_PROV_REPLY_MAX + 2];
    size_t hlen = 0, rlen = 0;
    struct bundle_prov_request rq;
    struct bundle_prov_reply rp;
    memset(&rq, 0, sizeof(rq));
    snprintf(rq.version, sizeof(rq.version), "%s", version);
    expected_digest(p->policy, version, rq.digest);
    TR_TRY(bundle_prov_request_write(&rq, &line));
    res = send_all(fd, line.data, line.len, deadline);
    if (tr_ok(res))
        res = read_header(fd, deadline, hdr, &hlen, rest, &rlen);
    if (tr_ok(res))
        res = bundle_prov_reply_parse(hdr, hlen, &rp);
    if (!tr_ok(res)) {
        snprintf(why, cap, "no usable answer from the provisioning service %s (%s)", p->addr,
                 tr_err_desc(res.err));
        if (res.err != TR_ERR_BUNDLE_PROVISION_TIMEOUT)
            res.err = TR_ERR_BUNDLE_PROVISION_FAILED;
        goto out;
    }
    if (!rp.ok) {
        snprintf(why, cap, "the provisioning service says %s: %.400s", rp.error, rp.detail);
        TR_FAIL(code_of(rp.error));
    }
    if (strcmp(rp.version, version) != 0 || rp.size > p->max_bytes) {
        snprintf(why, cap, "the provisioning service sent %s (%llu bytes) for %s", rp.version,
                 (unsigned long long)rp.size, version);
        TR_FAIL(TR_ERR_BUNDLE_PROVISION_FAILED);
    }
    TR_TRY(receive_bundle(p, fd, &rp, rest, rlen, deadline, why, cap));
out:
    tr_buf_free(&line);
    close(fd);
    return res;
}

/* ---- one fetch per version, shared ---- */

static struct provision_slot *slot_of(struct provisioner *p, const char *version)
{
    for (size_t i = 0; i < PROVISION_SLOTS; i++)
        if (strcmp(p->slots[i].version, version) == 0)
            return &p->slots[i];
    return NULL;
}

/* A free slot: unused, else the oldest finished one. NULL when all busy. */
static struct provision_slot *claim(struct provisioner *p, const char *version)
{
    struct provision_slot *best = NULL;
    for (size_t i = 0; i < PROVISION_SLOTS; i++) {
        struct provision_slot *s = &p->slots[i];
        if (s->busy)
            continue;
        if (s->version[0] == '\0') {
            best = s;
            break;
        }
        if (best == NULL || s->finished_ms < best->finished_ms)
            best = s;
    }
    if (best) {
        memset(best, 0, sizeof(*best));
        snprintf(best->version, sizeof(best->version), "%s", version);
    }
    return best;
}

static size_t active(const struct provisioner *p)
{
    size_t n = 0;
    for (size_t i = 0; i < PROVISION_SLOTS; i++)
        n += p->slots[i].busy;
    return n;
}

static void timespec_at(uint64_t ms, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ms / 1000);
    ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

tr_result provision_version(struct provisioner *p, const char *version, uint64_t deadline_ms,
                            char *why, size_t cap)
{
    snprintf(why, cap, "%s", "");
    TR_ENSURE(p->enabled, TR_ERR_BUNDLE_PROVISION_UNAVAILABLE);
    if (!bundle_policy_lists(p->policy, version)) {
        snprintf(why, cap, "%s is not on this enclave's pinned list", version);
        TR_BAIL(TR_ERR_BUNDLE_NOT_ALLOWED);
    }
    uint64_t mine = tr_mono_ms() + p->timeout_ms;
    uint64_t deadline = deadline_ms < mine ? deadline_ms : mine;
    atomic_fetch_add(&p->asked, 1);
    pthread_mutex_lock(&p->mu);
    struct provision_slot *s = slot_of(p, version);
    if (s && s->busy) {
        /* someone is fetching it: wait for that one fetch */
        atomic_fetch_add(&p->shared, 1);
        metrics_count_bb(BB_PROVISION_JOINED);
        tr_log(TR_LOG_INFO, "bb_provision_wait", "{s:s}", "version", version);
        struct timespec ts;
        timespec_at(deadline, &ts);
        while (s->busy && strcmp(s->version, version) == 0 && tr_mono_ms() < deadline)
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        int32_t err = s->busy ? TR_ERR_BUNDLE_PROVISION_TIMEOUT : s->err;
        if (err != TR_OK)
            snprintf(why, cap, "%s", s->busy ? "provisioning did not finish in time" : s->why);
        pthread_mutex_unlock(&p->mu);
        if (err != TR_OK)
            TR_BAIL(err);
        return TR_SUCCESS;
    }
    if (s && s->err != TR_OK && tr_mono_ms() - s->finished_ms < p->retry_ms) {
        /* failed a moment ago: the same answer, without asking the host again */
        int32_t err = s->err;
        snprintf(why, cap, "%s (not asked again before BB_PROVISION_RETRY)", s->why);
        pthread_mutex_unlock(&p->mu);
        TR_BAIL(err);
    }
    if (active(p) >= PROVISION_MAX_ACTIVE || (s == NULL && (s = claim(p, version)) == NULL)) {
        pthread_mutex_unlock(&p->mu);
        snprintf(why, cap, "%d versions are being provisioned already", PROVISION_MAX_ACTIVE);
        TR_BAIL(TR_ERR_BUNDLE_PROVISION_BUSY);
    }
    s->busy = true;
    pthread_mutex_unlock(&p->mu);

    uint64_t t0 = tr_mono_ms();
    tr_log(TR_LOG_INFO, "bb_provision_start", "{s:s,s:s}", "version", version, "service", p->addr);
    char local[512] = "";
    tr_result r = fetch(p, version, deadline, local, sizeof(local));
    if (tr_ok(r)) {
        atomic_fetch_add(&p->installed, 1);
        metrics_count_bb(BB_PROVISION_INSTALLED);
        tr_log(TR_LOG_INFO, "bb_provision_done", "{s:s,s:I}", "version", version, "ms",
               (json_int_t)(tr_mono_ms() - t0));
    } else {
        atomic_fetch_add(&p->failed, 1);
        metrics_count_bb(BB_PROVISION_FAILED);
        if (local[0] == '\0')
            snprintf(local, sizeof(local), "%s", tr_err_desc(r.err));
        tr_log(TR_LOG_WARN, "bb_provision_failed", "{s:s,s:s,s:s,s:I}", "version", version, "error",
               tr_err_name(r.err), "detail", local, "ms", (json_int_t)(tr_mono_ms() - t0));
    }
    pthread_mutex_lock(&p->mu);
    s->busy = false;
    s->err = r.err;
    s->finished_ms = tr_mono_ms();
    snprintf(s->why, sizeof(s->why), "%s", local);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    snprintf(why, cap, "%s", local);
    return r;
}
