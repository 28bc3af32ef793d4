/* Start-up checks (see readiness.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readiness.h"
#include "request.h"
#include "teerex/log.h"

/* One run at a time (start-up, SIGHUP, an install on the admin API). */
static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER;

void readiness_init(struct readiness *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->mu, NULL);
}

void readiness_destroy(struct readiness *r)
{
    pthread_mutex_destroy(&r->mu);
}

__attribute__((format(printf, 3, 4))) static void fail(struct readiness_state *r, const char *check,
                                                       const char *fmt, ...)
{
    char msg[READINESS_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tr_log(TR_LOG_ERROR, "startup_check_failed", "{s:s,s:s}", "check", check, "reason", msg);
    memcpy(r->last, msg, sizeof(msg));
    if (r->n_reasons < READINESS_MAX_REASONS)
        memcpy(r->reasons[r->n_reasons++], msg, sizeof(msg));
}

/* The parent of work directories takes a private directory. */
static bool check_workdir(struct readiness_state *r, const char *parent)
{
    char dir[1100];
    snprintf(dir, sizeof(dir), "%s/teerexd-check-XXXXXX", parent);
    if (mkdtemp(dir) == NULL) {
        fail(r, "workdir", "work directory %s is not usable: %s (PROVE_WORK_DIR)", parent,
             strerror(errno));
        return false;
    }
    rmdir(dir);
    return true;
}

/* Points in DIR/NAME of POINT_BYTES each; -1 when absent or not a whole number. */
static long long points(const char *dir, const char *name, unsigned point_bytes)
{
    char path[1200];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size % point_bytes != 0)
        return -1;
    return (long long)(st.st_size / point_bytes);
}

/* Which of the served schemes the CRS can serve (serve[] is narrowed). */
static void check_crs(struct readiness_state *r, const struct config *cfg, bool serve[2])
{
    const char *crs = cfg->crs_path;
    bool served = serve[0] || serve[1];
    serve[0] = serve[1] = false; /* until shown otherwise */
    if (!served)
        return;
    if (crs[0] == '\0') {
        fail(r, "crs",
             "no CRS: CRS_PATH is unset and $HOME/.bb-crs does not exist; bb would try to "
             "download one (impossible in an enclave)");
        return;
    }
    struct stat st;
    if (stat(crs, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fail(r, "crs", "CRS_PATH %s is not a directory", crs);
        return;
    }
    long long g1 = points(crs, "bn254_g1.dat", 64);
    if (g1 < 0)
        g1 = points(crs, "bn254_g1_compressed.dat", 32);
    long long g2 = points(crs, "bn254_g2.dat", 128);
    long long grumpkin = points(crs, "grumpkin_g1_v2.flat.dat", 64);
    if (g1 < 0 || g2 != 1) {
        fail(r, "crs",
             "CRS_PATH %s lacks bn254_g1.dat (64 bytes a point) or bn254_g2.dat (128 "
             "bytes); bb would try to download them",
             crs);
        return;
    }
    serve[SCHEME_CHONK] = cfg->serve_chonk;
    serve[SCHEME_ULTRA_HONK] = cfg->serve_ultra_honk;
    if (serve[SCHEME_CHONK] && (g1 < (long long)CRS_CHONK_BN254_POINTS ||
                                grumpkin < (long long)CRS_CHONK_GRUMPKIN_POINTS)) {
        fail(r, "crs",
             "CRS_PATH %s: chonk needs %llu BN254 and %llu Grumpkin points, it has %lld and %lld "
             "(serve ultra_honk only with PROVE_SCHEMES=ultra_honk, or add the points)",
             crs, (unsigned long long)CRS_CHONK_BN254_POINTS,
             (unsigned long long)CRS_CHONK_GRUMPKIN_POINTS, g1, grumpkin < 0 ? 0 : grumpkin);
        memcpy(r->scheme_why[SCHEME_CHONK], r->last, sizeof(r->last));
        r->last[0] = '\0';
        serve[SCHEME_CHONK] = false;
    }
    if (serve[SCHEME_ULTRA_HONK] && g1 < CRS_MIN_BN254_POINTS) {
        fail(r, "crs", "CRS_PATH %s: ultra_honk needs at least %d BN254 points, it has %lld", crs,
             CRS_MIN_BN254_POINTS, g1);
        memcpy(r->scheme_why[SCHEME_ULTRA_HONK], r->last, sizeof(r->last));
        r->last[0] = '\0';
        serve[SCHEME_ULTRA_HONK] = false;
    }
}

static void check_provers(struct readiness_state *r, struct server *s)
{
    static struct bb_version list[VERSIONS_MAX]; /* large; one run at a time (run_mu) */
    pthread_mutex_lock(&s->versions.mu);
    size_t n = s->versions.count;
    memcpy(list, s->versions.list, n * sizeof(list[0]));
    pthread_mutex_unlock(&s->versions.mu);
    if (n == 0)
        fail(r, "prover",
             "no prover installed: BB_BINARY_PATH (%s) and BB_VERSIONS_DIR (%s) hold no "
             "runnable bb",
             s->cfg.bb_binary_path[0] ? s->cfg.bb_binary_path : "unset: bb from PATH",
             s->cfg.bb_versions_dir[0] ? s->cfg.bb_versions_dir : "unset");
    struct prover_env env = {.cfg = &s->cfg, .sbx = s->sbx, .work_parent = s->work_parent};
    for (size_t i = 0; i < n && r->n_provers < READINESS_MAX_PROVERS; i++) {
        struct prover_state *p = &r->provers[r->n_provers++];
        size_t vl = strnlen(list[i].version, sizeof(p->version) - 1);
        memcpy(p->version, list[i].version, vl);
        p->version[vl] = '\0';
        p->ok = tr_ok(prover_probe(&env, &list[i].bundle, p->said, sizeof(p->said)));
        if (!p->ok) {
            fail(r, "prover", "prover %s (%s) does not run: %s", list[i].version, list[i].bundle.bb,
                 p->said);
            memcpy(p->why, r->last, sizeof(p->why));
        }
    }
}

void readiness_run(struct server *s)
{
    static struct readiness_state fresh; /* large; filled without the lock, then swapped in */
    pthread_mutex_lock(&run_mu);
    memset(&fresh, 0, sizeof(fresh));
    bool serve[2] = {s->cfg.serve_chonk, s->cfg.serve_ultra_honk};
    fresh.workdir_ok = check_workdir(&fresh, s->work_parent);
    if (!fresh.workdir_ok)
        memcpy(fresh.workdir_why, fresh.last, sizeof(fresh.last));
    fresh.last[0] = '\0';
    check_crs(&fresh, &s->cfg, serve);
    for (int k = 0; k < 2; k++) { /* a failure that concerns every scheme */
        if (!serve[k] && fresh.scheme_why[k][0] == '\0' && fresh.last[0])
            memcpy(fresh.scheme_why[k], fresh.last, sizeof(fresh.last));
    }
    check_provers(&fresh, s);
    fresh.scheme_ok[SCHEME_CHONK] = serve[SCHEME_CHONK];
    fresh.scheme_ok[SCHEME_ULTRA_HONK] = serve[SCHEME_ULTRA_HONK];
    fresh.checked = true;
    pthread_mutex_lock(&s->ready.mu);
    s->ready.st = fresh;
    pthread_mutex_unlock(&s->ready.mu);
    if (fresh.n_reasons == 0)
        tr_log(TR_LOG_INFO, "startup_checks_passed", "{s:s,s:I,s:s}", "crs", s->cfg.crs_path,
               "provers", (json_int_t)fresh.n_provers, "work_dir", s->work_parent);
    pthread_mutex_unlock(&run_mu);
}

bool readiness_ok(struct server *s, json_t **reasons)
{
    struct readiness_state *r = &s->ready.st;
    pthread_mutex_lock(&s->ready.mu);
    bool ok = r->checked && r->n_reasons == 0;
    if (reasons) {
        *reasons = json_array();
        if (!r->checked)
            json_array_append_new(*reasons, json_string("start-up checks still running"));
        for (size_t i = 0; i < r->n_reasons; i++)
            json_array_append_new(*reasons, json_string(r->reasons[i]));
    }
    pthread_mutex_unlock(&s->ready.mu);
    return ok;
}

bool readiness_for(struct server *s, enum scheme scheme, const char *version, char *why, size_t cap)
{
    struct readiness_state *r = &s->ready.st;
    bool ok = true;
    why[0] = '\0';
    pthread_mutex_lock(&s->ready.mu);
    if (!r->checked) {
        ok = false;
        snprintf(why, cap, "start-up checks still running");
    } else if (!r->workdir_ok) {
        ok = false;
        snprintf(why, cap, "%s", r->workdir_why);
    } else if (!r->scheme_ok[scheme]) {
        ok = false;
        snprintf(why, cap, "%s",
                 r->scheme_why[scheme][0] ? r->scheme_why[scheme] : "this scheme is not served");
    } else if (!version && r->n_provers == 0) {
        ok = false;
        snprintf(why, cap, "%s", r->n_reasons ? r->reasons[0] : "no prover installed");
    }
    for (size_t i = 0; ok && version && i < r->n_provers; i++) {
        if (strcmp(r->provers[i].version, version) == 0 && !r->provers[i].ok) {
            ok = false;
            snprintf(why, cap, "%s", r->provers[i].why);
        }
    }
    pthread_mutex_unlock(&s->ready.mu);
    return ok;
}

json_t *readiness_provers_json(struct server *s)
{
    struct readiness_state *r = &s->ready.st;
    json_t *o = json_object();
    pthread_mutex_lock(&s->ready.mu);
    for (size_t i = 0; o && i < r->n_provers; i++)
        json_object_set_new(o, r->provers[i].version,
                            r->provers[i].ok ? json_string(r->provers[i].said) : json_null());
    pthread_mutex_unlock(&s->ready.mu);
    return o;
}

const char *server_status(struct server *s, json_t **reasons)
{
    bool ready = readiness_ok(s, reasons);
    if (!ready)
        return "not_ready";
    if (atomic_load(&s->draining))
        return "draining";
    return "ok";
}
