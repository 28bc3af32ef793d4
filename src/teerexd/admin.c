/* Admin API, served only by the admin daemon (ADMIN_LISTEN), never on the
 * public listeners: POST /upload-bb (x-bb-version, optional x-bb-digest; the
 * body a bundle archive with Content-Type application/x-tar, else the bb
 * binary itself; streamed into a staging directory, checked against the
 * digest and the policy, swapped into place; see versions.h),
 * GET /admin/versions, GET /health, GET /metrics. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server.h"
#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/log.h"

/* 4xx/5xx of an upload, with the reason (a path and errno, a digest) in
 * "detail" so an operator sees what to fix. */
static enum MHD_Result upload_error(struct MHD_Connection *c, struct request *rq, unsigned status,
                                    const char *error, const char *why)
{
    metrics_count_bb(BB_UPLOAD_REFUSED);
    tr_log(TR_LOG_WARN, "bb_upload_refused", "{s:s,s:i,s:s,s:s}", "requestId", rq->id, "status",
           (int)status, "error", error, "detail", why ? why : "");
    json_t *o = json_pack("{s:s,s:s}", "error", error, "requestId", rq->id);
    if (o && why && why[0])
        json_object_set_new(o, "detail", json_string(why));
    return reply_json(c, rq, status, o, NULL);
}

static unsigned status_of(tr_result r)
{
    switch (r.err) {
    case TR_ERR_BUNDLE_NOT_ALLOWED: return 403;
    case TR_ERR_BUNDLE_TOO_BIG: return 413;
    case TR_ERR_USAGE: return 400;
    default: return tr_err_category(r.err) == TR_CAT_INPUT ? 400 : 500;
    }
}

enum MHD_Result route_admin_first(struct server *s, struct MHD_Connection *c, struct request *rq,
                                  const char *url, const char *method)
{
    (void)url;
    if (rq->route != ROUTE_UPLOAD_BB || strcmp(method, "POST") != 0)
        return MHD_YES;
    const char *ver = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-bb-version");
    if (!ver || !bundle_version_valid(ver)) {
        rq->rejected = true;
        return reply_error(c, rq, 400,
                           "Invalid x-bb-version (expected [0-9A-Za-z._+-]{1,64}, no .. or "
                           "leading .)");
    }
    const char *dig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-bb-digest");
    if (dig && !bundle_digest_valid(dig)) {
        rq->rejected = true;
        return reply_error(c, rq, 400, "Invalid x-bb-digest (expected 64 lowercase hex digits)");
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    uint64_t n;
    if (cl && tr_ok(tr_parse_u64(cl, UINT64_MAX, &n)) && n > s->cfg.max_upload_bytes) {
        rq->rejected = true;
        return reply_error(c, rq, 413, "Upload too large");
    }
    /* A bundle archive says so; any other body is the bb binary itself. */
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    enum versions_upload_kind kind = ct && strncasecmp(ct, "application/x-tar", 17) == 0
                                         ? VERSIONS_UPLOAD_TAR
                                         : VERSIONS_UPLOAD_RAW;
    char why[512];
    tr_result r = versions_upload_begin(&s->versions, ver, kind, why, sizeof(why), &rq->upload);
    if (!tr_ok(r)) {
        rq->rejected = true;
        return upload_error(c, rq, status_of(r), "Could not store the upload", why);
    }
    return MHD_YES;
}

enum MHD_Result route_admin_data(struct server *s, struct MHD_Connection *c, struct request *rq,
                                 const char *data, size_t n)
{
    if (!rq->upload || rq->upload_err != TR_OK)
        return MHD_YES;
    rq->upload_bytes += n;
    if (rq->upload_bytes > s->cfg.max_upload_bytes) {
        /* Drop what was staged now; answer without reading the rest (chunked). */
        rq->upload_err = TR_ERR_TOO_BIG;
        versions_upload_abort(rq->upload);
        rq->upload = NULL;
        if (reply_error(c, rq, 413, "Upload too large") == MHD_YES)
            rq->rejected = true;
        return MHD_YES;
    }
    tr_result r = versions_upload_write(rq->upload, data, n);
    if (!tr_ok(r))
        rq->upload_err = r.err;
    return MHD_YES;
}

static enum MHD_Result upload_done(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    (void)s;
    if (rq->upload_err == TR_ERR_TOO_BIG)
        return reply_error(c, rq, 413, "Upload too large");
    if (rq->upload_err != TR_OK || !rq->upload)
        return upload_error(c, rq, 500, "Could not store the upload",
                            "writing the staged file failed (disk full?)");
    const char *dig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-bb-digest");
    struct bb_version v;
    char why[512];
    tr_result r = versions_upload_commit(rq->upload, dig, &v, why, sizeof(why));
    rq->upload = NULL; /* commit consumed it */
    if (!tr_ok(r))
        return upload_error(c, rq, status_of(r), tr_err_desc(r.err), why);
    metrics_count_bb(BB_UPLOAD_INSTALLED);
    readiness_run(s); /* the new prover must run too */
    tr_log(TR_LOG_INFO, "bb_uploaded", "{s:s,s:s,s:I}", "version", v.version, "digest", v.digest,
           "bytes", (json_int_t)rq->upload_bytes);
    return reply_json(c, rq, 200, json_pack("{s:s,s:s}", "version", v.version, "sha256", v.digest),
                      NULL);
}

enum MHD_Result route_admin(struct server *s, struct MHD_Connection *c, struct request *rq,
                            const char *url, const char *method)
{
    (void)url;
    bool get = strcmp(method, "GET") == 0;
    if (rq->route == ROUTE_UPLOAD_BB && strcmp(method, "POST") == 0)
        return upload_done(s, c, rq);
    if (rq->route == ROUTE_ADMIN_VERSIONS && get) {
        struct bb_version def;
        json_t *d = versions_default(&s->versions, &def)
                        ? json_pack("{s:s,s:s,s:s}", "version", def.version, "path",
                                    def.bundle.root, "sha256", def.digest)
                        : json_null();
        return reply_json(c, rq, 200,
                          json_pack("{s:o,s:o,s:s,s:s}", "default", d, "versions",
                                    versions_json(&s->versions), "dir", s->cfg.bb_versions_dir,
                                    "policy", bundle_policy_name(&s->policy)),
                          NULL);
    }
    enum MHD_Result ret;
    if (route_common(s, c, rq, method, true, &ret))
        return ret;
    rq->route = ROUTE_NOT_FOUND;
    return reply_error(c, rq, 404, "Not found");
}
