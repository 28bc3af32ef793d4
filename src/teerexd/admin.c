/* Admin API, served only by the admin daemon (ADMIN_LISTEN), never on the
 * public listeners: POST /upload-bb (x-bb-version, optional x-bb-digest; the
 * body a bundle archive with Content-Type application/x-tar, else the bb
 * binary itself; streamed into a staging directory, checked against the
 * digest and the policy, swapped into place; see versions.h) and
 * GET /admin/versions (routes.c; /health, /ready, /metrics are ops.c's). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "reply.h"
#include "routes.h"
#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/log.h"

/* A refused upload: status_of(r), the reason (a path and errno, a digest) in
 * "detail" so an operator sees what to fix. */
static enum MHD_Result upload_error(struct MHD_Connection *c, struct request *rq, tr_result r,
                                    const char *error, const char *why)
{
    metrics_count_bb(BB_UPLOAD_REFUSED);
    tr_log(TR_LOG_WARN, "bb_upload_refused", "{s:s,s:i,s:s,s:s}", "requestId", rq->id, "status",
           (int)status_of(r.err), "error", error, "detail", why ? why : "");
    struct reply_opts o = {.message = error, .detail = why && why[0] ? why : NULL};
    return reply_result_opts(c, rq, r, &o);
}

enum MHD_Result route_upload_first(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    rq->rejected = true; /* until the head passed every check below */
    const char *ver = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-bb-version");
    if (!ver || !bundle_version_valid(ver))
        return reply_code(c, rq, TR_ERR_HTTP_BAD_BB_VERSION);
    const char *dig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-bb-digest");
    if (dig && !bundle_digest_valid(dig))
        return reply_code(c, rq, TR_ERR_HTTP_BAD_BB_DIGEST);
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    uint64_t n;
    if (cl && tr_ok(tr_parse_u64(cl, UINT64_MAX, &n)) && n > s->cfg.max_upload_bytes)
        return reply_code(c, rq, TR_ERR_HTTP_UPLOAD_TOO_LARGE);
    /* A bundle archive says so; any other body is the bb binary itself. */
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    enum versions_upload_kind kind = ct && strncasecmp(ct, "application/x-tar", 17) == 0
                                         ? VERSIONS_UPLOAD_TAR
                                         : VERSIONS_UPLOAD_RAW;
    char why[512];
    tr_result r = versions_upload_begin(&s->versions, ver, kind, why, sizeof(why), &rq->upload);
    if (!tr_ok(r))
        return upload_error(c, rq, r, "Could not store the upload", why);
    rq->rejected = false;
    return MHD_YES;
}

enum MHD_Result route_upload_data(struct server *s, struct MHD_Connection *c, struct request *rq,
                                  const char *data, size_t n)
{
    if (!rq->upload || rq->upload_err != TR_OK)
        return MHD_YES;
    rq->upload_bytes += n;
    if (rq->upload_bytes > s->cfg.max_upload_bytes) {
        /* Drop what was staged now; answer without reading the rest (chunked). */
        rq->upload_err = TR_ERR_HTTP_UPLOAD_TOO_LARGE;
        versions_upload_abort(rq->upload);
        rq->upload = NULL;
        if (reply_code(c, rq, TR_ERR_HTTP_UPLOAD_TOO_LARGE) == MHD_YES)
            rq->rejected = true;
        return MHD_YES;
    }
    tr_result r = versions_upload_write(rq->upload, data, n);
    if (!tr_ok(r))
        rq->upload_err = r.err;
    return MHD_YES;
}

enum MHD_Result route_upload_done(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    if (rq->upload_err == TR_ERR_HTTP_UPLOAD_TOO_LARGE)
        return reply_code(c, rq, TR_ERR_HTTP_UPLOAD_TOO_LARGE);
    if (rq->upload_err != TR_OK || !rq->upload)
        return upload_error(c, rq, (tr_result){TR_ERR_IO}, "Could not store the upload",
                            "writing the staged file failed (disk full?)");
    const char *dig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-bb-digest");
    struct bb_version v;
    char why[512];
    tr_result r = versions_upload_commit(rq->upload, dig, &v, why, sizeof(why));
    rq->upload = NULL; /* commit consumed it */
    if (!tr_ok(r))
        return upload_error(c, rq, r, tr_err_desc(r.err), why);
    metrics_count_bb(BB_UPLOAD_INSTALLED);
    readiness_run(s); /* the new prover must run too */
    tr_log(TR_LOG_INFO, "bb_uploaded", "{s:s,s:s,s:I}", "version", v.version, "digest", v.digest,
           "bytes", (json_int_t)rq->upload_bytes);
    return reply_json(c, rq, 200, json_pack("{s:s,s:s}", "version", v.version, "sha256", v.digest),
                      NULL);
}

enum MHD_Result route_admin_versions(struct server *s, struct MHD_Connection *c, struct request *rq)
{
    struct bb_version def;
    json_t *d = versions_default(&s->versions, &def)
                    ? json_pack("{s:s,s:s,s:s}", "version", def.version, "path", def.bundle.root,
                                "sha256", def.digest)
                    : json_null();
    return reply_json(c, rq, 200,
                      json_pack("{s:o,s:o,s:s,s:s}", "default", d, "versions",
                                versions_json(&s->versions), "dir", s->cfg.bb_versions_dir,
                                "policy", bundle_policy_name(&s->policy)),
                      NULL);
}
