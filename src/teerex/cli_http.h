/* HTTP for the teerex CLI on libcurl: one GET or POST, the body collected in
 * a capped tr_buf, the timings of the phases the SDK names (transmit =
 * request bytes on the wire, proving = upload done until the first response
 * byte, receive = first byte until the end) and a progress hook. */
#ifndef TEEREX_CLI_HTTP_H
#define TEEREX_CLI_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"

/* Called about 10 times a second while a request runs. */
typedef void (*cli_http_progress_fn)(void *ctx, uint64_t up_now, uint64_t up_total,
                                     uint64_t down_now, double elapsed_s, int upload_done);

struct cli_http_opts {
    const char *local_address; /* source address to bind (NULL: any); env TEEREX_LOCAL_ADDRESS */
    long connect_timeout_ms;   /* 0: 10 s */
    long timeout_ms;           /* 0: no limit */
    size_t max_response;       /* cap on the response body; 0: 64 MiB */
    cli_http_progress_fn progress;
    void *progress_ctx;
};

struct cli_http_response {
    long status;              /* HTTP status, 0 when no response arrived */
    struct tr_buf body;       /* response body (NUL-terminated, not counted) */
    char request_id[96];      /* X-Request-Id, "" if absent */
    long decrypt_ms;          /* x-decrypt-duration-ms, -1 if absent */
    long prove_ms;            /* x-prove-duration-ms, -1 if absent */
    char prover_version[128]; /* x-prover-version, "" if absent */
    double transmit_s;        /* connect + upload */
    double wait_s;            /* upload done -> first response byte */
    double receive_s;         /* first response byte -> done */
    double total_s;
    uint64_t uploaded;
    char error[256]; /* libcurl's message on a network failure */
};

/* Global libcurl setup/teardown (once per process). */
TR_RESULT cli_http_global_init(void);
void cli_http_global_cleanup(void);

void cli_http_response_init(struct cli_http_response *r, size_t max_body);
void cli_http_response_free(struct cli_http_response *r);

/* GET url. A network failure returns TR_ERR_CLIENT_NETWORK (resp->error says
 * why); any HTTP status is success here: the caller reads resp->status. */
TR_RESULT cli_http_get(const char *url, const struct cli_http_opts *opts,
                       struct cli_http_response *resp);

/* POST body (Content-Type: application/json) with extra "Name: value" header
 * lines (NULL-terminated list, may be NULL). */
TR_RESULT cli_http_post_json(const char *url, const char *const *headers, const uint8_t *body,
                             size_t len, const struct cli_http_opts *opts,
                             struct cli_http_response *resp);

/* Joins base URL and path ("/attestation"), dropping a trailing '/' of base. */
TR_RESULT cli_url_join(const char *base, const char *path, struct tr_buf *out);

#endif
