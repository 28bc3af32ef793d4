/* libmicrohttpd glue (see server.h). One thread per connection: a /prove
 * handler may wait minutes for bb without holding up anyone else, and a slow
 * client only holds its own thread (bounded by MAX_CONNECTIONS and
 * PER_IP_CONNECTIONS, and cut by the head and body deadlines below). */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lingering.h"
#include "prove_body.h"
#include "server.h"
#include "teerex/log.h"

/* A connection MHD told us about. deadline_ms != 0 while a request head is
 * awaited (new connection, or keep-alive after a response); in_body while
 * the body of a request is being read (its deadline grows with body_bytes);
 * linger when it was answered before its body was read. */
struct conn {
    struct conn *prev, *next;
    int fd;
    uint64_t deadline_ms;
    bool in_body, linger;
    uint64_t body_start_ms, body_bytes;
    struct server *srv;
};

uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int connection_fd(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

static struct conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

enum phase { PHASE_HEAD, PHASE_BODY, PHASE_HANDLER };

/* Which deadline applies: the head's (awaiting a request), the body's (from
 * the end of the head), or none (our handler runs, e.g. a proof). */
static void set_phase(struct MHD_Connection *c, struct server *s, enum phase ph)
{
    struct conn *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&s->conns_mu);
    k->deadline_ms = ph == PHASE_HEAD ? mono_ms() + s->cfg.header_timeout_ms : 0;
    k->in_body = ph == PHASE_BODY;
    if (ph == PHASE_BODY) {
        k->body_start_ms = mono_ms();
        k->body_bytes = 0;
    }
    pthread_mutex_unlock(&s->conns_mu);
}

static void count_body(struct MHD_Connection *c, struct server *s, size_t n)
{
    struct conn *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&s->conns_mu);
    k->body_bytes += n;
    pthread_mutex_unlock(&s->conns_mu);
}

static void set_linger(struct MHD_Connection *c, struct server *s)
{
    struct conn *k = conn_of(c);
    if (!k)
        return;
    pthread_mutex_lock(&s->conns_mu);
    k->linger = true;
    pthread_mutex_unlock(&s->conns_mu);
}

static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
                        enum MHD_ConnectionNotificationCode code)
{
    struct server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn *k = calloc(1, sizeof(*k));
        if (!k)
            return;
        k->fd = connection_fd(c);
        k->srv = s;
        k->deadline_ms = mono_ms() + s->cfg.header_timeout_ms;
        pthread_mutex_lock(&s->conns_mu);
        k->next = s->conns;
        if (s->conns)
            s->conns->prev = k;
        s->conns = k;
        pthread_mutex_unlock(&s->conns_mu);
        *socket_context = k;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct conn *k = *socket_context;
        if (!k)
            return;
        pthread_mutex_lock(&s->conns_mu);
        if (k->prev)
            k->prev->next = k->next;
        else
            s->conns = k->next;
        if (k->next)
            k->next->prev = k->prev;
        pthread_mutex_unlock(&s->conns_mu);
        /* MHD has sent the answer and shut the write side; it closes its
         * descriptor next. A duplicate keeps the socket open while the
         * client's remaining bytes are discarded (lingering.h). */
        if (k->linger && k->fd >= 0)
            lingering_add(s->linger, dup(k->fd));
        free(k);
        *socket_context = NULL;
    }
}

/* True when the body's deadline passed: HTTP_BODY_TIMEOUT after the head,
 * plus the time its bytes so far would take at HTTP_BODY_MIN_RATE. */
static bool body_late(const struct server *s, const struct conn *k, uint64_t now)
{
    if (!k->in_body || s->cfg.body_min_rate == 0)
        return false;
    uint64_t allowed = s->cfg.body_timeout_ms + k->body_bytes * 1000 / s->cfg.body_min_rate;
    return now - k->body_start_ms > allowed;
}

/* Closes (shutdown, MHD then sees EOF) connections whose request head did not
 * arrive in time, or whose body comes slower than the body deadline allows:
 * bytes dribbled one by one cannot hold a thread (and a connection slot). */
static void *watchdog_main(void *arg)
{
    struct server *s = arg;
    while (!atomic_load(&s->wd_stop)) {
        usleep(250 * 1000);
        uint64_t now = mono_ms();
        pthread_mutex_lock(&s->conns_mu);
        for (struct conn *k = s->conns; k; k = k->next) {
            if (k->deadline_ms && now > k->deadline_ms) {
                k->deadline_ms = 0;
                shutdown(k->fd, SHUT_RDWR);
                tr_log(TR_LOG_INFO, "request_head_timeout", "{s:i}", "fd", k->fd);
                metrics_count_cut(CUT_HEAD_TIMEOUT);
            } else if (body_late(s, k, now)) {
                k->in_body = false;
                shutdown(k->fd, SHUT_RDWR);
                tr_log(TR_LOG_INFO, "request_body_timeout", "{s:i,s:I,s:I}", "fd", k->fd, "bytes",
                       (json_int_t)k->body_bytes, "ms", (json_int_t)(now - k->body_start_ms));
                metrics_count_cut(CUT_BODY_TIMEOUT);
            }
        }
        pthread_mutex_unlock(&s->conns_mu);
    }
    return NULL;
}

static void new_request_id(char out[80])
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof(r)) != 1) {
        /* Ids are not secrets; fall back to time and counter. */
        static atomic_uint ctr;
        uint64_t t = mono_ms();
        memcpy(r, &t, 8);
        unsigned n = atomic_fetch_add(&ctr, 1);
        memcpy(r + 8, &n, sizeof(n));
    }
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    snprintf(out, 80, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
}

/* The client's X-Request-Id when it is a short token, else a new UUID. */
static void request_id(struct MHD_Connection *c, char out[80])
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    if (v) {
        size_t n = strnlen(v, 80);
        bool ok = n >= 1 && n <= 64;
        for (size_t i = 0; ok && i < n; i++) {
            char ch = v[i];
            ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 ch == '-' || ch == '_' || ch == '.' || ch == ':';
        }
        if (ok) {
            memcpy(out, v, n);
            out[n] = '\0';
            return;
        }
    }
    new_request_id(out);
}

/* Headers of every answer besides X-Request-Id (PROTOCOL.md). */
static const char *const COMMON_HEADERS[][2] = {
    {"Access-Control-Allow-Origin", "*"},
    {"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
    {"Access-Control-Allow-Headers", "Content-Type, X-Request-Id, X-Aztec-Version"},
    {"Access-Control-Expose-Headers", "X-Request-Id, X-Prove-Duration-Ms, X-Decrypt-Duration-Ms"},
};
#define N_COMMON (sizeof(COMMON_HEADERS) / sizeof(COMMON_HEADERS[0]))

static void add_common(struct MHD_Response *r, struct request *rq)
{
    MHD_add_response_header(r, "X-Request-Id", rq->id);
    for (size_t i = 0; i < N_COMMON; i++)
        MHD_add_response_header(r, COMMON_HEADERS[i][0], COMMON_HEADERS[i][1]);
}

enum MHD_Result reply_text(struct MHD_Connection *c, struct request *rq, unsigned status,
                           const char *content_type, char *body, size_t len)
{
    struct MHD_Response *r =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    add_common(r, rq);
    if (content_type)
        MHD_add_response_header(r, "Content-Type", content_type);
    rq->status = status;
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result reply_json(struct MHD_Connection *c, struct request *rq, unsigned status,
                           json_t *obj, const char *const *headers)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!text)
        return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    add_common(r, rq);
    MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
    for (size_t i = 0; headers && headers[i] && headers[i + 1]; i += 2)
        MHD_add_response_header(r, headers[i], headers[i + 1]);
    rq->status = status;
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result reply_error(struct MHD_Connection *c, struct request *rq, unsigned status,
                            const char *message)
{
    return reply_json(c, rq, status, json_pack("{s:s,s:s}", "error", message, "requestId", rq->id),
                      NULL);
}

/* Writes all of p within timeout_ms (the socket may be non-blocking). */
static bool send_all(int fd, const char *p, size_t n, int timeout_ms)
{
    uint64_t end = mono_ms() + (uint64_t)timeout_ms;
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        uint64_t now = mono_ms();
        if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || now >= end)
            return false;
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        (void)poll(&pf, 1, (int)(end - now));
    }
    return true;
}

static const char *reason_phrase(unsigned status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 413: return "Payload Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

enum MHD_Result reply_error_midbody(struct MHD_Connection *c, struct request *rq, unsigned status,
                                    const char *message, uint64_t retry_after_s)
{
    struct server *s = rq->srv;
    rq->status = status;
    rq->rejected = true;
    char *body = NULL;
    json_t *o = json_pack("{s:s,s:s}", "error", message, "requestId", rq->id);
    body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    char head[1024];
    size_t bl = body ? strlen(body) : 0;
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: application/json; "
                     "charset=utf-8\r\nContent-Length: %zu\r\nX-Request-Id: %s\r\n",
                     status, reason_phrase(status), bl, rq->id);
    for (size_t i = 0; i < N_COMMON && n > 0 && (size_t)n < sizeof(head); i++)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "%s: %s\r\n", COMMON_HEADERS[i][0],
                      COMMON_HEADERS[i][1]);
    if (retry_after_s && n > 0 && (size_t)n < sizeof(head))
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Retry-After: %" PRIu64 "\r\n",
                      retry_after_s);
    if (n > 0 && (size_t)n + 2 < sizeof(head)) {
        memcpy(head + n, "\r\n", 3);
        int fd = connection_fd(c);
        /* MHD reads the body and writes nothing until it ends: the socket's
         * write side is ours here. */
        if (fd >= 0 && send_all(fd, head, (size_t)n + 2, 1000) && body)
            (void)send_all(fd, body, bl, 1000);
    }
    free(body);
    set_linger(c, s);
    return MHD_NO; /* MHD shuts the write side and closes (lingering) */
}

bool inflight_reserve(struct server *s, struct request *rq, uint64_t n)
{
    uint64_t max = s->cfg.max_inflight_bytes;
    uint_fast64_t cur = atomic_load(&s->inflight_bytes);
    do {
        if (max != 0 && (n > max || cur > max - n))
            return false;
    } while (!atomic_compare_exchange_weak(&s->inflight_bytes, &cur, cur + n));
    rq->reserved += n;
    return true;
}

/* Framing that must not be guessed at: two different Content-Length values
 * (which one would a proxy in front have used?), Content-Length together with
 * Transfer-Encoding, or a transfer coding other than chunked. */
struct framing {
    const char *cl;
    bool cl_conflict, te, te_other;
};

static enum MHD_Result scan_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    struct framing *f = cls;
    if (!key || !value)
        return MHD_YES;
    if (strcasecmp(key, "Content-Length") == 0) {
        if (f->cl && strcmp(f->cl, value) != 0)
            f->cl_conflict = true;
        f->cl = value;
    } else if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->te = true;
        f->te_other |= strcasecmp(value, "chunked") != 0;
    }
    return MHD_YES;
}

static const char *framing_problem(struct MHD_Connection *c)
{
    struct framing f = {NULL, false, false, false};
    MHD_get_connection_values(c, MHD_HEADER_KIND, scan_framing, &f);
    if (f.cl_conflict)
        return "Conflicting Content-Length headers";
    if (f.te && f.cl)
        return "Content-Length together with Transfer-Encoding";
    if (f.te_other)
        return "Unsupported Transfer-Encoding (only chunked)";
    return NULL;
}

static enum route classify(const char *url, const char *method, enum listen_kind kind)
{
    if (strcmp(method, "OPTIONS") == 0)
        return ROUTE_OPTIONS;
    if (strcmp(url, "/metrics") == 0)
        return ROUTE_METRICS;
    if (strcmp(url, "/health") == 0)
        return ROUTE_HEALTH;
    if (strcmp(url, "/ready") == 0)
        return ROUTE_READY;
    if (kind == LISTEN_OPS)
        return strcmp(url, "/drain") == 0 ? ROUTE_DRAIN : ROUTE_NOT_FOUND;
    if (kind == LISTEN_ADMIN) {
        if (strcmp(url, "/upload-bb") == 0)
            return ROUTE_UPLOAD_BB;
        if (strcmp(url, "/admin/versions") == 0)
            return ROUTE_ADMIN_VERSIONS;
        return ROUTE_NOT_FOUND;
    }
    if (strcmp(url, "/attestation") == 0)
        return ROUTE_ATTESTATION;
    if (strcmp(url, "/prove") == 0)
        return ROUTE_PROVE;
    if (strcmp(url, "/public-key") == 0)
        return ROUTE_PUBLIC_KEY;
    if (strcmp(url, "/encryption-public-key") == 0)
        return ROUTE_ENC_PUBLIC_KEY;
    return ROUTE_NOT_FOUND;
}

/* First call (the head is complete): everything that can be judged from the
 * head is answered now, before any body byte is read. */
static enum MHD_Result first_call(struct server *s, enum listen_kind kind, struct MHD_Connection *c,
                                  struct request *rq, const char *url, const char *method)
{
    const char *bad = framing_problem(c);
    if (bad) {
        rq->rejected = true;
        return reply_error(c, rq, 400, bad);
    }
    if (kind == LISTEN_ADMIN)
        return route_admin_first(s, c, rq, url, method);
    if (kind == LISTEN_PUBLIC && rq->route == ROUTE_PROVE)
        return route_prove_first(s, c, rq, method);
    return MHD_YES;
}

static enum MHD_Result handle(struct server *s, enum listen_kind kind, struct MHD_Connection *c,
                              const char *url, const char *method, const char *data,
                              size_t *data_size, void **con_cls)
{
    bool admin = kind == LISTEN_ADMIN;
    struct request *rq = *con_cls;
    if (!rq) {
        set_phase(c, s, PHASE_BODY);
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        rq->srv = s;
        rq->admin = admin;
        rq->kind = kind;
        rq->route = classify(url, method, kind);
        rq->upload_err = TR_OK;
        rq->t_start_ms = mono_ms();
        request_id(c, rq->id);
        tr_buf_init(&rq->body, s->cfg.max_body_bytes);
        *con_cls = rq;
        enum MHD_Result ret = first_call(s, kind, c, rq, url, method);
        /* Answered before the body: MHD closes after the answer; a client
         * still sending must see the answer, not a reset (lingering.h). */
        if (rq->status != 0)
            set_linger(c, s);
        return ret;
    }
    if (*data_size > 0) {
        size_t n = *data_size;
        *data_size = 0;
        count_body(c, s, n);
        if (rq->rejected)
            return MHD_YES; /* a response is queued; the rest is discarded */
        if (admin)
            return route_admin_data(s, c, rq, data, n);
        if (!rq->prove_body)
            return MHD_YES; /* only POST /prove keeps its body */
        return route_prove_data(s, c, rq, data, n);
    }
    set_phase(c, s, PHASE_HANDLER);
    if (rq->rejected)
        return MHD_YES;
    if (admin)
        return route_admin(s, c, rq, url, method);
    if (kind == LISTEN_OPS)
        return route_ops(s, c, rq, method);
    return route_public(s, c, rq, url, method);
}

static enum MHD_Result handle_public(void *cls, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version, const char *data,
                                     size_t *data_size, void **con_cls)
{
    (void)version;
    return handle(cls, LISTEN_PUBLIC, c, url, method, data, data_size, con_cls);
}

static enum MHD_Result handle_admin(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version, const char *data,
                                    size_t *data_size, void **con_cls)
{
    (void)version;
    return handle(cls, LISTEN_ADMIN, c, url, method, data, data_size, con_cls);
}

static enum MHD_Result handle_ops(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)version;
    return handle(cls, LISTEN_OPS, c, url, method, data, data_size, con_cls);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct server *s = cls;
    struct request *rq = *con_cls;
    if (!rq)
        return;
    metrics_count_request(rq->route, rq->status ? rq->status : 499);
    if (rq->prove_open)
        atomic_fetch_sub(&s->prove_open, 1);
    tr_log(TR_LOG_DEBUG, "request_done", "{s:s,s:s,s:i,s:i}", "requestId", rq->id, "route",
           metrics_route_name(rq->route), "status", (int)rq->status, "termination", (int)toe);
    versions_upload_abort(rq->upload);
    prove_body_free(rq->pbody); /* a client gone mid-body: wiped here */
    tr_buf_free(&rq->body);
    if (rq->reserved)
        atomic_fetch_sub(&s->inflight_bytes, rq->reserved);
    free(rq);
    *con_cls = NULL;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        set_phase(c, s, PHASE_HEAD);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    tr_log(TR_LOG_DEBUG, "mhd", "{s:s}", "message", msg);
}

static struct MHD_Daemon *start_daemon(struct server *s, MHD_AccessHandlerCallback cb)
{
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    return MHD_start_daemon(flags, 0, NULL, NULL, cb, s, MHD_OPTION_CONNECTION_TIMEOUT,
                            (unsigned)s->cfg.idle_timeout_s, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)s->cfg.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned)s->cfg.per_ip_connections, MHD_OPTION_NOTIFY_COMPLETED,
                            completed, s, MHD_OPTION_NOTIFY_CONNECTION, notify_conn, s,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_THREAD_STACK_SIZE,
                            (size_t)512 * 1024, MHD_OPTION_END);
}

tr_result server_start(struct server *s)
{
    pthread_mutex_init(&s->conns_mu, NULL);
    /* An answered client may still send what it meant to: bodies over the
     * limit by a wide margin, at the pace any body must keep. */
    struct lingering_limits lim = {.max_bytes = 4 * s->cfg.max_body_bytes,
                                   .grace_ms = s->cfg.body_timeout_ms,
                                   .min_rate = s->cfg.body_min_rate,
                                   .idle_ms = s->cfg.idle_timeout_s * 1000};
    TR_GUARD(lingering_start(&lim, &s->linger));
    s->pub = start_daemon(s, handle_public);
    TR_ENSURE(s->pub != NULL, TR_ERR_SYS);
    if (s->cfg.admin_listen[0]) {
        s->adm = start_daemon(s, handle_admin);
        TR_ENSURE(s->adm != NULL, TR_ERR_SYS);
    }
    if (s->cfg.ops_listen[0]) {
        s->ops = start_daemon(s, handle_ops);
        TR_ENSURE(s->ops != NULL, TR_ERR_SYS);
    }
    TR_ENSURE(pthread_create(&s->watchdog, NULL, watchdog_main, s) == 0, TR_ERR_SYS);
    s->watchdog_started = true;
    return TR_SUCCESS;
}

void server_stop(struct server *s)
{
    atomic_store(&s->stopping, true);
    atomic_store(&s->wd_stop, true);
    if (s->watchdog_started)
        pthread_join(s->watchdog, NULL);
    s->watchdog_started = false;
    if (s->ops)
        MHD_stop_daemon(s->ops);
    if (s->adm)
        MHD_stop_daemon(s->adm);
    if (s->pub)
        MHD_stop_daemon(s->pub);
    s->adm = s->pub = s->ops = NULL;
    lingering_stop(s->linger); /* after the daemons: closing connections may add to it */
    s->linger = NULL;
    pthread_mutex_destroy(&s->conns_mu);
}
