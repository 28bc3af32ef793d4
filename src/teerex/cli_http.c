/* libcurl plumbing of the teerex CLI (see cli_http.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "cli_http.h"
#include "teerex/clock.h"
#include "teerex/codec.h"

#define DEFAULT_MAX_RESPONSE ((size_t)64 * 1024 * 1024)

struct xfer {
    struct cli_http_response *resp;
    const struct cli_http_opts *opts;
    uint64_t start_us;
    double upload_done_s; /* < 0 until the request body is fully sent */
    double first_byte_s;  /* < 0 until the first response byte arrived */
    double last_progress_s;
    int overflow;
    const uint8_t *up; /* request body (POST) */
    size_t up_len, up_pos;
};

/* Seconds since t0_us (tr_mono_us). */
static double since(uint64_t t0_us)
{
    return tr_ms_since(t0_us) / 1e3;
}

tr_result cli_http_global_init(void)
{
    TR_ENSURE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK, TR_ERR_CLIENT_CURL);
    return TR_SUCCESS;
}

void cli_http_global_cleanup(void)
{
    curl_global_cleanup();
}

void cli_http_response_init(struct cli_http_response *r, size_t max_body)
{
    memset(r, 0, sizeof(*r));
    tr_buf_init(&r->body, max_body ? max_body : DEFAULT_MAX_RESPONSE);
    r->decrypt_ms = -1;
    r->prove_ms = -1;
}

void cli_http_response_free(struct cli_http_response *r)
{
    tr_buf_free(&r->body);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    if (!tr_ok(tr_buf_append(&x->resp->body, p, len))) {
        x->overflow = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return len;
}

/* Header values are untrusted: copied only within bounds, numbers parsed
 * strictly; anything odd is ignored (they are informational). */
static void header_value(const char *line, size_t len, size_t name_len, char *out, size_t out_size)
{
    size_t i = name_len;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    size_t end = len;
    while (end > i && (line[end - 1] == '\r' || line[end - 1] == '\n' || line[end - 1] == ' '))
        end--;
    size_t n = end - i;
    if (n >= out_size) {
        out[0] = 0;
        return;
    }
    memcpy(out, line + i, n);
    out[n] = 0;
}

static int header_is(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    return len > n && strncasecmp(line, name, n) == 0;
}

static void header_ms(const char *line, size_t len, size_t name_len, long *out)
{
    char v[24];
    uint64_t ms;
    header_value(line, len, name_len, v, sizeof(v));
    if (v[0] && tr_ok(tr_parse_u64(v, 86400000ull * 365, &ms)))
        *out = (long)ms;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t len = size * n;
    if (x->first_byte_s < 0)
        x->first_byte_s = since(x->start_us);
    if (header_is(p, len, "HTTP/")) { /* a new response (e.g. after 100 Continue) */
        x->resp->request_id[0] = 0;
        x->resp->decrypt_ms = x->resp->prove_ms = -1;
        x->resp->prover_version[0] = 0;
    } else if (header_is(p, len, "x-prover-version:")) {
        header_value(p, len, strlen("x-prover-version:"), x->resp->prover_version,
                     sizeof(x->resp->prover_version));
        for (char *q = x->resp->prover_version; *q; q++) {
            if ((unsigned char)*q < 0x20 || (unsigned char)*q >= 0x7f)
                *q = '?'; /* printed to a terminal: no control bytes */
        }
    } else if (header_is(p, len, "x-request-id:")) {
        header_value(p, len, strlen("x-request-id:"), x->resp->request_id,
                     sizeof(x->resp->request_id));
    } else if (header_is(p, len, "x-decrypt-duration-ms:")) {
        header_ms(p, len, strlen("x-decrypt-duration-ms:"), &x->resp->decrypt_ms);
    } else if (header_is(p, len, "x-prove-duration-ms:")) {
        header_ms(p, len, strlen("x-prove-duration-ms:"), &x->resp->prove_ms);
    }
    return len;
}

/* The request body goes through a read callback so we know when its last
 * byte was handed to the socket: the end of "transmit". */
static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct xfer *x = ud;
    size_t room = size * n, left = x->up_len - x->up_pos;
    size_t k = left < room ? left : room;
    memcpy(buf, x->up + x->up_pos, k);
    x->up_pos += k;
    if (x->up_pos == x->up_len && x->upload_done_s < 0)
        x->upload_done_s = since(x->start_us);
    return k;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal;
    struct xfer *x = ud;
    double t = since(x->start_us);
    if (x->upload_done_s < 0 && ultotal > 0 && ulnow >= ultotal)
        x->upload_done_s = t;
    if (x->opts->progress && t - x->last_progress_s >= 0.1) {
        x->last_progress_s = t;
        x->opts->progress(x->opts->progress_ctx, (uint64_t)ulnow, (uint64_t)ultotal,
                          (uint64_t)dlnow, t, x->upload_done_s >= 0);
    }
    return 0;
}

static tr_result perform(CURL *c, const char *url, const uint8_t *body, size_t body_len,
                         const struct cli_http_opts *opts, struct cli_http_response *resp)
{
    struct xfer x = {.resp = resp,
                     .opts = opts,
                     .upload_done_s = -1,
                     .first_byte_s = -1,
                     .last_progress_s = -1,
                     .up = body,
                     .up_len = body_len};
    char errbuf[CURL_ERROR_SIZE] = "";
    x.start_us = tr_mono_us();
    tr_buf_clear(&resp->body);
    resp->status = 0;
    resp->error[0] = 0;

    int ok = curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                              opts->connect_timeout_ms ? opts->connect_timeout_ms : 10000L) ==
                 CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, opts->timeout_ms) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_WRITEDATA, &x) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_HEADERDATA, &x) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_USERAGENT, "teerex-c/0.1") == CURLE_OK;
    if (ok && body)
        ok = curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_READDATA, &x) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) == CURLE_OK;
    if (ok && opts->local_address)
        ok = curl_easy_setopt(c, CURLOPT_INTERFACE, opts->local_address) == CURLE_OK;
    TR_ENSURE(ok, TR_ERR_CLIENT_CURL);

    CURLcode rc = curl_easy_perform(c);
    if (x.overflow)
        TR_BAIL(TR_ERR_TOO_BIG);
    if (rc != CURLE_OK) {
        snprintf(resp->error, sizeof(resp->error), "%s",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc));
        TR_BAIL(TR_ERR_CLIENT_NETWORK);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    /* Our own clock for the first response byte: libcurl's STARTTRANSFER
     * time is not reliable for uploads. */
    curl_off_t pre = 0, total = 0, up = 0;
    curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pre);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &total);
    curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
    double total_s = (double)total / 1e6;
    double first_s = x.first_byte_s >= 0 ? x.first_byte_s : total_s;
    double up_s = x.upload_done_s >= 0 ? x.upload_done_s : (double)pre / 1e6;
    if (first_s > total_s)
        first_s = total_s;
    if (up_s > first_s)
        up_s = first_s;
    resp->transmit_s = up_s;
    resp->wait_s = first_s - up_s;
    resp->receive_s = total_s - first_s;
    resp->total_s = total_s;
    resp->uploaded = (uint64_t)up;
    /* Terminate the body for JSON parsers (not counted in len). */
    TR_GUARD(tr_buf_reserve(&resp->body, 1));
    resp->body.data[resp->body.len] = 0;
    return TR_SUCCESS;
}

tr_result cli_http_get(const char *url, const struct cli_http_opts *opts,
                       struct cli_http_response *resp)
{
    CURL *c = curl_easy_init();
    TR_ENSURE(c != NULL, TR_ERR_CLIENT_CURL);
    tr_result res = perform(c, url, NULL, 0, opts, resp);
    curl_easy_cleanup(c);
    return res;
}

tr_result cli_http_post_json(const char *url, const char *const *headers, const uint8_t *body,
                             size_t len, const struct cli_http_opts *opts,
                             struct cli_http_response *resp)
{
    tr_result res = TR_SUCCESS;
    struct curl_slist *hl = NULL, *tmp;
    CURL *c = curl_easy_init();
    TR_CHECK(c != NULL, TR_ERR_CLIENT_CURL);
    /* "Expect: 100-continue" would add a round trip per request for nothing. */
    const char *fixed[] = {"Content-Type: application/json", "Expect:"};
    for (size_t i = 0; i < 2; i++) {
        TR_CHECK((tmp = curl_slist_append(hl, fixed[i])) != NULL, TR_ERR_NOMEM);
        hl = tmp;
    }
    for (size_t i = 0; headers && headers[i]; i++) {
        TR_CHECK((tmp = curl_slist_append(hl, headers[i])) != NULL, TR_ERR_NOMEM);
        hl = tmp;
    }
    TR_CHECK(curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl) == CURLE_OK, TR_ERR_CLIENT_CURL);
    TR_TRY(perform(c, url, body, len, opts, resp));
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    return res;
}

tr_result cli_url_join(const char *base, const char *path, struct tr_buf *out)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    TR_ENSURE(n > 0, TR_ERR_USAGE);
    TR_GUARD(tr_buf_append(out, base, n));
    TR_GUARD(tr_buf_append(out, path, strlen(path) + 1));
    out->len--; /* keep the NUL, do not count it */
    return TR_SUCCESS;
}
