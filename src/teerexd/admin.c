/* Admin API, served only by the admin daemon (ADMIN_LISTEN), never on the
 * public listeners: POST /upload-bb (x-bb-version, raw body streamed to a
 * temp file, fsync, rename, 0755, hash recorded), GET /admin/versions,
 * GET /health, GET /metrics. */
#include <stdio.h>
#include <string.h>

#include "server.h"
#include "teerex/codec.h"
#include "teerex/http.h"
#include "teerex/log.h"

enum MHD_Result route_metrics(struct server *s, struct MHD_Connection *c, struct request *rq);

enum MHD_Result route_admin_first(struct server *s, struct MHD_Connection *c, struct request *rq,
                                  const char *url, const char *method)
{
    (void)url;
    if (rq->route != ROUTE_UPLOAD_BB || strcmp(method, "POST") != 0)
        return MHD_YES;
    const char *ver = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-bb-version");
    if (!ver || !tr_ok(http_version_validate(ver))) {
        rq->rejected = true;
        return reply_error(c, rq, 400,
                           "Invalid x-bb-version (expected [0-9A-Za-z._+-]{1,64}, no ..)");
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    uint64_t n;
    if (cl && tr_ok(tr_parse_u64(cl, UINT64_MAX, &n)) && n > s->cfg.max_upload_bytes) {
        rq->rejected = true;
        return reply_error(c, rq, 413, "Upload too large");
    }
    if (s->cfg.bb_versions_dir[0] == '\0') {
        rq->rejected = true;
        return reply_error(c, rq, 400, "BB_VERSIONS_DIR is not configured");
    }
    tr_result r = versions_upload_begin(&s->versions, ver, &rq->upload);
    if (!tr_ok(r)) {
        tr_log_result(TR_LOG_ERROR, "upload_begin_failed", r);
        rq->rejected = true;
        return reply_error(c, rq, 500, "Could not store the upload");
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
        rq->upload_err = TR_ERR_TOO_BIG;
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
        return reply_error(c, rq, 500, "Could not store the upload");
    struct bb_version v;
    tr_result r = versions_upload_commit(rq->upload, &v);
    rq->upload = NULL; /* commit consumed it */
    if (!tr_ok(r)) {
        tr_log_result(TR_LOG_ERROR, "upload_commit_failed", r);
        return reply_error(c, rq, 500, "Could not store the upload");
    }
    tr_log(TR_LOG_INFO, "bb_uploaded", "{s:s,s:s,s:I}", "version", v.version, "sha256", v.sha256,
           "bytes", (json_int_t)rq->upload_bytes);
    return reply_json(c, rq, 200, json_pack("{s:s,s:s}", "version", v.version, "sha256", v.sha256),
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
                        ? json_pack("{s:s,s:s}", "path", def.path, "sha256", def.sha256)
                        : json_null();
        return reply_json(c, rq, 200,
                          json_pack("{s:o,s:o,s:s}", "default", d, "versions",
                                    versions_json(&s->versions), "dir", s->cfg.bb_versions_dir),
                          NULL);
    }
    if (rq->route == ROUTE_METRICS && get)
        return route_metrics(s, c, rq);
    if (rq->route == ROUTE_HEALTH && get)
        return reply_json(c, rq, 200, json_pack("{s:s}", "status", "ok"), NULL);
    if (rq->route == ROUTE_OPTIONS)
        return reply_text(c, rq, 204, NULL, NULL, 0);
    rq->route = ROUTE_NOT_FOUND;
    return reply_error(c, rq, 404, "Not found");
}
