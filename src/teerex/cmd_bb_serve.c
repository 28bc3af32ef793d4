/* teerex bb serve: the host's provisioning service. teerexd (in the
 * enclave: over vsock to the EC2 parent; in standard mode: unix or tcp on
 * the same host) asks for a prover version with one JSON line; the service
 * answers with the bundle archive, built once with `teerex bb fetch`'s
 * pipeline and kept in its store (docs/PROTOCOL-EXT.md, "Provisioning").
 * Concurrent requests for one version share one build; a version that could
 * not be built is answered from memory for --retry; one build at a time. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_bb.h"
#include "cli_http.h"
#include "commands.h"
#include "exit_codes.h"
#include "rt_addr.h"
#include "teerex/file.h"
#include "teerex/clock.h"
#include "teerex/codec.h"
#include "teerex/log.h"

#define MAX_LISTEN 4
#define MEMORY 64 /* versions whose last failure is remembered */

struct failure {
    char version[65];
    char error[32];
    char detail[512];
    uint64_t at_ms;
};

struct service {
    struct cli_bb_fetch_opts fetch;
    char store[CLI_BB_PATH_MAX];
    const char *allow; /* comma-separated versions, NULL = any */
    uint64_t retry_ms, io_timeout_ms;
    unsigned max_clients;
    int fds[MAX_LISTEN];
    size_t nfds;
    pthread_mutex_t build_mu; /* one build at a time; held while checking the store */
    pthread_mutex_t mu;       /* failures, counters */
    struct failure failures[MEMORY];
    atomic_uint clients;
    atomic_uint_fast64_t builds, served;
};

static volatile sig_atomic_t stopping;
static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: teerex bb serve --listen ADDR [--listen ADDR]... [--store DIR]\n"
               "                       [--allow V1,V2,...] [--retry DURATION] [--max-clients N]\n"
               "                       [--registry URL] [--cache DIR] [--debs DIR]\n"
               "                       [--debian-mirror URL] [--debian-suite NAME]\n"
               "\n"
               "The provisioning service teerexd asks for prover versions it lacks (teerexd's\n"
               "BB_PROVISION). ADDR: vsock:any:PORT on an EC2 parent (the enclave connects to\n"
               "CID 3), unix:PATH or tcp:HOST:PORT on the host of a standard-mode teerexd.\n"
               "A version is built like `teerex bb fetch` (same options, same digest) once,\n"
               "kept in the store as VERSION.tar, and sent to every teerexd that asks.\n"
               "\n"
               "  --store DIR        built bundles [CACHE/bundles]\n"
               "  --allow LIST       only these versions may be built (default: any npm has)\n"
               "  --retry DURATION   a version that could not be built is refused from memory\n"
               "                     for this long [60s]\n"
               "  --max-clients N    connections served at once [16]\n"
               "  --registry, --cache, --debs, --debian-mirror, --debian-suite: as in\n"
               "                     `teerex bb fetch --help` (pin --debs for reproducible\n"
               "                     digests that a pinned enclave's list can hold)\n"
               "\n"
               "Logs one JSON object per line on stderr. SIGTERM/SIGINT: stop accepting,\n"
               "finish the requests being served (30 s), exit.\n"
               "exit codes: 0 stopped by a signal, 1 runtime failure, 2 usage,\n"
               "            4 a listener could not be opened\n");
}

/* ---- the store ---- */

static TR_RESULT store_paths(const struct service *sv, const char *version, char *tar, char *digest)
{
    int a = snprintf(tar, CLI_BB_PATH_MAX + 80, "%s/%s.tar", sv->store, version);
    int b = snprintf(digest, CLI_BB_PATH_MAX + 80, "%s/%s.digest", sv->store, version);
    TR_ENSURE(a > 0 && a < CLI_BB_PATH_MAX + 80 && b > 0 && b < CLI_BB_PATH_MAX + 80,
              TR_ERR_OVERFLOW);
    return TR_SUCCESS;
}

/* The stored bundle's digest, if there is one. */
static bool stored(const struct service *sv, const char *version, char out[BUNDLE_DIGEST_HEX])
{
    char tar[CLI_BB_PATH_MAX + 80], dig[CLI_BB_PATH_MAX + 80];
    if (!tr_ok(store_paths(sv, version, tar, dig)) || access(tar, R_OK) != 0)
        return false;
    FILE *f = fopen(dig, "r");
    if (!f)
        return false;
    bool ok = fgets(out, BUNDLE_DIGEST_HEX, f) != NULL && bundle_digest_valid(out);
    fclose(f);
    return ok;
}

static const char *code_for(tr_result r)
{
    switch (r.err) {
    case TR_ERR_CLIENT_BB_UNKNOWN_VERSION: return "unknown_version";
    case TR_ERR_CLIENT_BB_NO_BINARY: return "no_binary";
    case TR_ERR_CLIENT_BB_INTEGRITY: return "integrity";
    case TR_ERR_CLIENT_BB_DOES_NOT_RUN: return "does_not_run";
    case TR_ERR_CLIENT_BB_RUNTIME:
    case TR_ERR_CLIENT_BB_DEB:
    case TR_ERR_CLIENT_BB_APT: return "runtime";
    case TR_ERR_CLIENT_NETWORK:
    case TR_ERR_CLIENT_BB_REGISTRY: return "network";
    default: return "internal";
    }
}

/* Builds version into the store (VERSION.tar, VERSION.digest). */
static TR_RESULT build(struct service *sv, const char *version, char digest[BUNDLE_DIGEST_HEX],
                       struct bundle_prov_reply *err)
{
    char work[CLI_BB_PATH_MAX + 80], tar[CLI_BB_PATH_MAX + 80], dig[CLI_BB_PATH_MAX + 80];
    char tmp[CLI_BB_PATH_MAX + 100];
    TR_GUARD(store_paths(sv, version, tar, dig));
    snprintf(work, sizeof(work), "%s/.work-%s", sv->store, version);
    (void)tr_tree_remove(work, 0); /* a crashed build's leftovers */
    struct cli_bb_result *res = calloc(1, sizeof(*res));
    TR_ENSURE(res != NULL, TR_ERR_NOMEM);
    struct cli_bb_why why = {""};
    uint64_t t0 = tr_mono_ms();
    tr_log(TR_LOG_INFO, "bb_build_start", "{s:s}", "version", version);
    tr_result r = cli_bb_build(&sv->fetch, version, work, res, &why);
    struct bundle b;
    int fd = -1;
    if (tr_ok(r)) {
        snprintf(tmp, sizeof(tmp), "%s.tmp", tar);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        r = fd >= 0 ? bundle_open(work, &b) : tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
        if (tr_ok(r))
            r = bundle_tar_write(&b, fd);
        if (fd >= 0 && (fsync(fd) != 0 || close(fd) != 0) && tr_ok(r))
            r = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
        FILE *f = tr_ok(r) ? fopen(dig, "w") : NULL;
        if (f) {
            fprintf(f, "%s\n", res->digest);
            if (fclose(f) != 0)
                r = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
        } else if (tr_ok(r)) {
            r = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
        }
        if (tr_ok(r) && rename(tmp, tar) != 0)
            r = tr_fail_at(TR_ERR_CLIENT_WRITE, __FILE__, __LINE__);
        if (!tr_ok(r))
            cli_bb_say(&why, "cannot write %s in the store", tar);
        unlink(tmp);
    }
    (void)tr_tree_remove(work, 0);
    atomic_fetch_add(&sv->builds, 1);
    if (tr_ok(r)) {
        memcpy(digest, res->digest, BUNDLE_DIGEST_HEX);
        tr_log(TR_LOG_INFO, "bb_build_done", "{s:s,s:s,s:s,s:I,s:I}", "version", version, "digest",
               res->digest, "bb_version", res->bb_version, "bytes", (json_int_t)res->bytes, "ms",
               (json_int_t)(tr_mono_ms() - t0));
    } else {
        snprintf(err->error, sizeof(err->error), "%s", code_for(r));
        snprintf(err->detail, sizeof(err->detail), "%s",
                 why.text[0] ? why.text : tr_err_desc(r.err));
        tr_log(TR_LOG_WARN, "bb_build_failed", "{s:s,s:s,s:s,s:I}", "version", version, "error",
               err->error, "detail", err->detail, "ms", (json_int_t)(tr_mono_ms() - t0));
    }
    free(res);
    return r;
}

static bool allowed(const struct service *sv, const char *version)
{
    if (sv->allow == NULL)
        return true;
    size_t n = strlen(version);
    for (const char *p = sv->allow; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, version, n) == 0)
            return true;
        p += len + (end != NULL);
    }
    return false;
}

static bool remembered_failure(struct service *sv, const char *version,
                               struct bundle_prov_reply *rp)
{
    bool hit = false;
    pthread_mutex_lock(&sv->mu);
    for (size_t i = 0; i < MEMORY; i++) {
        struct failure *f = &sv->failures[i];
        if (strcmp(f->version, version) == 0 && tr_mono_ms() - f->at_ms < sv->retry_ms) {
            memcpy(rp->error, f->error, sizeof(rp->error));
            snprintf(rp->detail, sizeof(rp->detail), "%.400s (remembered)", f->detail);
            hit = true;
        }
    }
    pthread_mutex_unlock(&sv->mu);
    return hit;
}

static void remember_failure(struct service *sv, const char *version,
                             const struct bundle_prov_reply *rp)
{
    pthread_mutex_lock(&sv->mu);
    struct failure *oldest = &sv->failures[0];
    for (size_t i = 0; i < MEMORY; i++) {
        if (strcmp(sv->failures[i].version, version) == 0) {
            oldest = &sv->failures[i];
            break;
        }
        if (sv->failures[i].at_ms < oldest->at_ms)
            oldest = &sv->failures[i];
    }
    snprintf(oldest->version, sizeof(oldest->version), "%s", version);
    memcpy(oldest->error, rp->error, sizeof(oldest->error));
    memcpy(oldest->detail, rp->detail, sizeof(oldest->detail));
    oldest->at_ms = tr_mono_ms();
    pthread_mutex_unlock(&sv->mu);
}

/* The answer for a request: ok (digest of the stored bundle) or an error. */
static void resolve(struct service *sv, const struct bundle_prov_request *rq,
                    struct bundle_prov_reply *rp)
{
    memset(rp, 0, sizeof(*rp));
    snprintf(rp->version, sizeof(rp->version), "%s", rq->version);
    if (!allowed(sv, rq->version)) {
        snprintf(rp->error, sizeof(rp->error), "refused");
        snprintf(rp->detail, sizeof(rp->detail), "%s is not in this host's --allow list",
                 rq->version);
        return;
    }
    /* One build at a time, and a second request for a version being built
     * waits here, then finds it in the store: one fetch per version. */
    pthread_mutex_lock(&sv->build_mu);
    if (!stored(sv, rq->version, rp->digest) && !remembered_failure(sv, rq->version, rp)) {
        if (!tr_ok(build(sv, rq->version, rp->digest, rp)))
            remember_failure(sv, rq->version, rp);
    }
    pthread_mutex_unlock(&sv->build_mu);
    if (rp->error[0])
        return;
    if (rq->digest[0] && strcmp(rq->digest, rp->digest) != 0) {
        snprintf(rp->error, sizeof(rp->error), "refused");
        snprintf(rp->detail, sizeof(rp->detail),
                 "this host builds %s as %s, the enclave allows %s (other Debian packages? pin "
                 "--debs)",
                 rq->version, rp->digest, rq->digest);
        return;
    }
    rp->ok = true;
}

/* ---- connections ---- */

static TR_RESULT wait_fd(int fd, short ev, uint64_t deadline)
{
    while (tr_mono_ms() < deadline && !stopping) {
        struct pollfd p = {.fd = fd, .events = ev};
        int r = poll(&p, 1, 500);
        if (r > 0)
            return TR_SUCCESS;
        if (r < 0 && errno != EINTR)
            break;
    }
    TR_BAIL(TR_ERR_TIMEOUT);
}

static TR_RESULT send_all(int fd, const void *p, size_t n, uint64_t deadline)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            TR_GUARD(wait_fd(fd, POLLOUT, deadline));
            continue;
        }
        TR_ENSURE(k > 0, TR_ERR_IO);
        b += k;
        n -= (size_t)k;
    }
    return TR_SUCCESS;
}

static TR_RESULT send_file(int fd, const char *path, uint64_t size, uint64_t deadline)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    TR_ENSURE(in >= 0, TR_ERR_IO);
    off_t off = 0;
    tr_result res = TR_SUCCESS;
    while ((uint64_t)off < size) {
        ssize_t k = sendfile(fd, in, &off, (size_t)(size - (uint64_t)off));
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            TR_TRY(wait_fd(fd, POLLOUT, deadline));
            continue;
        }
        TR_CHECK(k > 0, TR_ERR_IO);
    }
out:
    close(in);
    return res;
}

/* One request line, without its '\n'. */
static TR_RESULT read_line(int fd, char *buf, size_t cap, size_t *n, uint64_t deadline)
{
    size_t have = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + have, cap - have, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
            TR_GUARD(wait_fd(fd, POLLIN, deadline));
            continue;
        }
        TR_ENSURE(k > 0, TR_ERR_IO);
        have += (size_t)k;
        char *nl = memchr(buf, '\n', have);
        if (nl) {
            *n = (size_t)(nl - buf);
            return TR_SUCCESS;
        }
        TR_ENSURE(have < cap, TR_ERR_BUNDLE_PROVISION_MSG);
    }
}

struct conn {
    struct service *sv;
    int fd;
    char peer[RT_ADDR_TEXT_MAX];
};

static void serve_one(struct conn *c)
{
    struct service *sv = c->sv;
    char line[BUNDLE_PROV_REQUEST_MAX + 2];
    size_t n = 0;
    struct bundle_prov_request rq;
    struct bundle_prov_reply rp;
    memset(&rp, 0, sizeof(rp));
    struct tr_buf out;
    tr_buf_init(&out, BUNDLE_PROV_REPLY_MAX + 2);
    uint64_t t0 = tr_mono_ms();
    tr_result r = read_line(c->fd, line, sizeof(line), &n, t0 + sv->io_timeout_ms);
    if (tr_ok(r))
        r = bundle_prov_request_parse(line, n, &rq);
    if (!tr_ok(r)) {
        tr_log(TR_LOG_WARN, "provision_bad_request", "{s:s,s:s}", "peer", c->peer, "error",
               tr_err_name(r.err));
        snprintf(rp.error, sizeof(rp.error), "refused");
        snprintf(rp.detail, sizeof(rp.detail), "malformed request line");
        if (tr_ok(bundle_prov_reply_write(&rp, &out)))
            tr_ignore(send_all(c->fd, out.data, out.len, tr_mono_ms() + 2000));
        goto out;
    }
    tr_log(TR_LOG_INFO, "provision_request", "{s:s,s:s,s:s}", "peer", c->peer, "version",
           rq.version, "digest", rq.digest);
    resolve(sv, &rq, &rp);
    char tar[CLI_BB_PATH_MAX + 80], dig[CLI_BB_PATH_MAX + 80];
    struct stat st;
    if (rp.ok && (!tr_ok(store_paths(sv, rq.version, tar, dig)) || stat(tar, &st) != 0)) {
        rp.ok = false;
        snprintf(rp.error, sizeof(rp.error), "internal");
        snprintf(rp.detail, sizeof(rp.detail), "the stored bundle vanished");
    }
    if (rp.ok)
        rp.size = (uint64_t)st.st_size;
    r = bundle_prov_reply_write(&rp, &out);
    uint64_t deadline = tr_mono_ms() + sv->io_timeout_ms + (rp.size >> 20) * 1000; /* >= 1 MiB/s */
    if (tr_ok(r))
        r = send_all(c->fd, out.data, out.len, deadline);
    if (tr_ok(r) && rp.ok)
        r = send_file(c->fd, tar, rp.size, deadline);
    if (rp.ok && tr_ok(r))
        atomic_fetch_add(&sv->served, 1);
    tr_log(rp.ok && tr_ok(r) ? TR_LOG_INFO : TR_LOG_WARN, "provision_answered",
           "{s:s,s:s,s:b,s:s,s:s,s:s,s:I,s:I}", "peer", c->peer, "version", rq.version, "ok",
           rp.ok && tr_ok(r), "digest", rp.digest, "error", rp.error, "detail", rp.detail, "bytes",
           (json_int_t)rp.size, "ms", (json_int_t)(tr_mono_ms() - t0));
out:
    tr_buf_free(&out);
}

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    serve_one(c);
    close(c->fd);
    atomic_fetch_sub(&c->sv->clients, 1);
    free(c);
    return NULL;
}

static void accept_one(struct service *sv, int lfd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL || atomic_load(&sv->clients) >= sv->max_clients) {
        tr_log(TR_LOG_WARN, "provision_busy", "{s:i}", "clients", (int)atomic_load(&sv->clients));
        struct bundle_prov_reply rp = {.error = "busy", .detail = "too many clients at once"};
        struct tr_buf out;
        tr_buf_init(&out, BUNDLE_PROV_REPLY_MAX + 2);
        if (tr_ok(bundle_prov_reply_write(&rp, &out)))
            tr_ignore(send_all(fd, out.data, out.len, tr_mono_ms() + 1000));
        tr_buf_free(&out);
        close(fd);
        free(c);
        return;
    }
    c->sv = sv;
    c->fd = fd;
    rt_sockaddr_format((struct sockaddr *)&ss, sl, c->peer, sizeof(c->peer));
    atomic_fetch_add(&sv->clients, 1);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &at, conn_main, c) != 0) {
        atomic_fetch_sub(&sv->clients, 1);
        close(fd);
        free(c);
    }
    pthread_attr_destroy(&at);
}

static int parse_ms(const char *s, uint64_t *out)
{
    return tr_ok(tr_parse_duration_ms(s, out)) ? 0 : -1;
}

int cmd_bb_serve(int argc, char **argv)
{
    static const struct option LONG[] = {
        {"listen", required_argument, NULL, 'l'},
        {"store", required_argument, NULL, 'S'},
        {"allow", required_argument, NULL, 'a'},
        {"retry", required_argument, NULL, 'R'},
        {"max-clients", required_argument, NULL, 'M'},
        {"registry", required_argument, NULL, 'r'},
        {"cache", required_argument, NULL, 'c'},
        {"debs", required_argument, NULL, 'd'},
        {"debian-mirror", required_argument, NULL, 'm'},
        {"debian-suite", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static struct service sv; /* large: not on the stack */
    memset(&sv, 0, sizeof(sv));
    char cachebuf[CLI_BB_PATH_MAX];
    sv.fetch.registry = getenv("TEEREX_NPM_REGISTRY") && *getenv("TEEREX_NPM_REGISTRY")
                            ? getenv("TEEREX_NPM_REGISTRY")
                            : CLI_BB_DEFAULT_REGISTRY;
    sv.fetch.cache = cli_bb_default_cache(cachebuf, sizeof(cachebuf));
    sv.fetch.debs = getenv("TEEREX_DEBS") && *getenv("TEEREX_DEBS") ? getenv("TEEREX_DEBS") : NULL;
    sv.fetch.mirror = CLI_BB_DEFAULT_MIRROR;
    sv.fetch.suite = CLI_BB_DEFAULT_SUITE;
    sv.retry_ms = 60000;
    sv.io_timeout_ms = 30000;
    sv.max_clients = 16;
    const char *listen[MAX_LISTEN], *store = NULL;
    size_t nlisten = 0;
    int c;
    uint64_t u;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", LONG, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (nlisten == MAX_LISTEN) {
                usage(stderr);
                return TEEREX_EXIT_USAGE;
            }
            listen[nlisten++] = optarg;
            break;
        case 'S': store = optarg; break;
        case 'a': sv.allow = optarg; break;
        case 'R':
            if (parse_ms(optarg, &sv.retry_ms) != 0) {
                usage(stderr);
                return TEEREX_EXIT_USAGE;
            }
            break;
        case 'M':
            if (!tr_ok(tr_parse_u64(optarg, 1024, &u)) || u == 0) {
                usage(stderr);
                return TEEREX_EXIT_USAGE;
            }
            sv.max_clients = (unsigned)u;
            break;
        case 'r': sv.fetch.registry = optarg; break;
        case 'c': sv.fetch.cache = optarg; break;
        case 'd': sv.fetch.debs = optarg; break;
        case 'm': sv.fetch.mirror = optarg; break;
        case 's': sv.fetch.suite = optarg; break;
        case 'h': usage(stdout); return TEEREX_EXIT_OK;
        default: usage(stderr); return TEEREX_EXIT_USAGE;
        }
    }
    if (nlisten == 0 || optind != argc) {
        usage(stderr);
        return TEEREX_EXIT_USAGE;
    }
    tr_log_set_component("teerex-provision");
    snprintf(sv.store, sizeof(sv.store), "%s", store ? store : "");
    if (!store)
        snprintf(sv.store, sizeof(sv.store), "%s/bundles", sv.fetch.cache);
    if (!tr_ok(cli_bb_mkdirs(sv.store))) {
        fprintf(stderr, "teerex bb serve: cannot create the store %s\n", sv.store);
        return TEEREX_EXIT_FAILURE;
    }
    pthread_mutex_init(&sv.mu, NULL);
    pthread_mutex_init(&sv.build_mu, NULL);
    int code = TEEREX_EXIT_OK;
    for (size_t i = 0; i < nlisten; i++) {
        struct rt_addr a;
        if (!tr_ok(rt_addr_parse(listen[i], &a)) || a.cid_auto ||
            !tr_ok(rt_addr_listen(&a, 64, &sv.fds[sv.nfds]))) {
            fprintf(stderr, "teerex bb serve: cannot listen on %s: %s\n", listen[i],
                    strerror(errno));
            code = 4;
            goto out;
        }
        sv.nfds++;
        tr_log(TR_LOG_INFO, "listening", "{s:s}", "address", listen[i]);
    }
    if (!tr_ok(cli_http_global_init())) {
        code = TEEREX_EXIT_FAILURE;
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    tr_log(TR_LOG_INFO, "ready", "{s:s,s:s,s:s,s:s}", "store", sv.store, "registry",
           sv.fetch.registry, "debs", sv.fetch.debs ? sv.fetch.debs : "(apt)", "allow",
           sv.allow ? sv.allow : "(any)");
    while (!stopping) {
        struct pollfd pf[MAX_LISTEN];
        for (size_t i = 0; i < sv.nfds; i++)
            pf[i] = (struct pollfd){.fd = sv.fds[i], .events = POLLIN};
        if (poll(pf, sv.nfds, 500) <= 0)
            continue;
        for (size_t i = 0; i < sv.nfds; i++)
            if (pf[i].revents & POLLIN)
                accept_one(&sv, sv.fds[i]);
    }
    tr_log(TR_LOG_INFO, "shutdown", "{s:i}", "clients", (int)atomic_load(&sv.clients));
    for (uint64_t end = tr_mono_ms() + 30000; atomic_load(&sv.clients) > 0 && tr_mono_ms() < end;)
        usleep(20000);
    cli_http_global_cleanup();
out:
    for (size_t i = 0; i < sv.nfds; i++) {
        close(sv.fds[i]);
        if (strncmp(listen[i], "unix:", 5) == 0)
            unlink(listen[i] + 5);
    }
    tr_log(TR_LOG_INFO, "exit", "{s:i,s:I,s:I}", "code", code, "builds",
           (json_int_t)atomic_load(&sv.builds), "served", (json_int_t)atomic_load(&sv.served));
    return code;
}
