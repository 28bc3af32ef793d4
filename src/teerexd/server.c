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
#include "reply.h"
#include "routes.h"
#include "server.h"
#include "teerex/clock.h"
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
    k->deadline_ms = ph == PHASE_HEAD ? tr_mono_ms() + s->cfg.header_timeout_ms : 0;
    k->in_body = ph == PHASE_BODY;
    if (ph == PHASE_BODY) {
        k->body_start_ms = tr_mono_ms();
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
        k->deadline_ms = tr_mono_ms() + s->cfg.header_timeout_ms;
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
        uint64_t now = tr_mono_ms();
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

static int32_t framing_problem(struct MHD_Connection *c)
{
    struct framing f = {NULL, false, false, false};
    MHD_get_connection_values(c, MHD_HEADER_KIND, scan_framing, &f);
    if (f.cl_conflict)
        return TR_ERR_HTTP_CONFLICTING_LENGTH;
    if (f.te && f.cl)
        return TR_ERR_HTTP_LENGTH_AND_CHUNKED;
    if (f.te_other)
        return TR_ERR_HTTP_BAD_TRANSFER_ENCODING;
    return TR_OK;
}

/* First call (the head is complete): everything that can be judged from the
 * head is answered now, before any body byte is read. */
static enum MHD_Result first_call(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    int32_t bad = framing_problem(c);
    if (bad != TR_OK) {
        rq->rejected = true;
        return reply_code(c, rq, bad);
    }
    return rq->def->first ? rq->def->first(s, c, rq) : MHD_YES;
}

/* Every request, on every listener: the route table (routes.c) says which
 * handler takes the head, the body and the end. */
static enum MHD_Result handle(struct server *s, enum listen_kind kind, struct MHD_Connection *c,
                              const char *url, const char *method, const char *data,
                              size_t *data_size, void **con_cls)
{
    struct request *rq = *con_cls;
    if (!rq) {
        set_phase(c, s, PHASE_BODY);
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        rq->srv = s;
        rq->kind = kind;
        rq->def = route_find(url, method, kind, s->cfg.ops_listen[0] != '\0');
        rq->route = rq->def->id;
        rq->method = route_method_bit(method);
        rq->upload_err = TR_OK;
        rq->t_start_ms = tr_mono_ms();
        request_id(c, rq->id);
        *con_cls = rq;
        enum MHD_Result ret = first_call(s, c, rq);
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
        if (rq->rejected || !rq->def->data)
            return MHD_YES; /* answered already, or a body nobody keeps: discarded */
        enum MHD_Result ret = rq->def->data(s, c, rq, data, n);
        if (rq->linger) /* answered on the socket mid-body (reply_result_midbody) */
            set_linger(c, s);
        return ret;
    }
    set_phase(c, s, PHASE_HANDLER);
    if (rq->rejected)
        return MHD_YES;
    return rq->def->done ? rq->def->done(s, c, rq) : route_not_found(s, c, rq);
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
    request_release(rq);
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
