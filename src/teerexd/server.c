/* libmicrohttpd glue (see server.h). One thread per connection: a /prove
 * handler may wait minutes for bb without holding up anyone else, and a slow
 * client only holds its own thread (bounded by MAX_CONNECTIONS and
 * PER_IP_CONNECTIONS, and cut by the request-head deadline below). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "server.h"
#include "teerex/log.h"

/* A connection MHD told us about; deadline_ms != 0 while a request head is
 * awaited (new connection, or keep-alive after a response). */
struct conn {
    struct conn *prev, *next;
    int fd;
    uint64_t deadline_ms;
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

static void set_deadline(struct MHD_Connection *c, struct server *s, bool waiting_head)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (!ci || !ci->socket_context)
        return;
    struct conn *k = ci->socket_context;
    pthread_mutex_lock(&s->conns_mu);
    k->deadline_ms = waiting_head ? mono_ms() + s->cfg.header_timeout_ms : 0;
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
        free(k);
        *socket_context = NULL;
    }
}

/* Closes (shutdown, MHD then sees EOF) connections whose request head did not
 * arrive in time: a header dribbled byte by byte cannot hold a thread forever. */
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

static void add_common(struct MHD_Response *r, struct request *rq)
{
    MHD_add_response_header(r, "X-Request-Id", rq->id);
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            "Content-Type, X-Request-Id, X-Aztec-Version");
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            "X-Request-Id, X-Prove-Duration-Ms, X-Decrypt-Duration-Ms");
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

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

static void format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)cap);
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a))
            inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)cap);
        else
            inet_ntop(AF_INET6, a, out, (socklen_t)cap);
    } else if (sa->sa_family == AF_VSOCK) {
        snprintf(out, cap, "vsock:%u", ((const struct sockaddr_vm *)sa)->svm_cid);
    } else {
        snprintf(out, cap, "unix");
    }
}

void client_ip(struct server *s, struct MHD_Connection *c, char *out, size_t cap, bool *local)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, cap, "unknown");
    *local = false;
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    format_addr(sa, out, cap);
    *local = sa->sa_family == AF_UNIX || is_loopback(sa);
    bool trusted = false;
    for (size_t i = 0; i < s->cfg.n_trusted && !trusted; i++)
        trusted = http_cidr_match(&s->cfg.trusted[i], sa);
    if (!trusted)
        return;
    const char *xff = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forwarded-For");
    if (!xff)
        return;
    char first[64];
    size_t n = 0;
    while (*xff == ' ')
        xff++;
    while (xff[n] && xff[n] != ',' && xff[n] != ' ' && n < sizeof(first) - 1) {
        first[n] = xff[n];
        n++;
    }
    first[n] = '\0';
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, first, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, first, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
    } else {
        return; /* not an address: keep the proxy's */
    }
    format_addr((struct sockaddr *)&ss, out, cap);
    *local = is_loopback((struct sockaddr *)&ss);
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

static enum MHD_Result handle(struct server *s, enum listen_kind kind, struct MHD_Connection *c,
                              const char *url, const char *method, const char *data,
                              size_t *data_size, void **con_cls)
{
    bool admin = kind == LISTEN_ADMIN;
    struct request *rq = *con_cls;
    if (!rq) {
        set_deadline(c, s, false);
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
        tr_buf_init(&rq->body, s->cfg.max_body_bytes + 1);
        *con_cls = rq;
        if (rq->route == ROUTE_PROVE && strcmp(method, "POST") == 0)
            return route_prove_first(s, c, rq);
        if (admin)
            return route_admin_first(s, c, rq, url, method);
        return MHD_YES;
    }
    if (*data_size > 0) {
        size_t n = *data_size;
        *data_size = 0;
        if (rq->rejected)
            return MHD_YES; /* a response is queued; the rest is discarded */
        if (admin)
            return route_admin_data(s, c, rq, data, n);
        if (rq->route != ROUTE_PROVE || rq->too_large)
            return MHD_YES;
        if (!tr_ok(tr_buf_append(&rq->body, data, n))) {
            rq->too_large = true;
            tr_buf_free(&rq->body);
            /* Answer now instead of reading the rest (chunked bodies). */
            if (reply_error(c, rq, 413, "Request body too large") == MHD_YES)
                rq->rejected = true;
        }
        return MHD_YES;
    }
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
    tr_buf_free(&rq->body);
    free(rq);
    *con_cls = NULL;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        set_deadline(c, s, true);
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
    pthread_mutex_destroy(&s->conns_mu);
}
