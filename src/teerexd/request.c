/* Request id, connection descriptor and the in-flight byte budget (request.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "request.h"
#include "teerex/clock.h"

static void new_request_id(char out[80])
{
    uint8_t r[16];
    if (RAND_bytes(r, sizeof(r)) != 1) {
        /* Ids are not secrets; fall back to time and counter. */
        static atomic_uint ctr;
        uint64_t t = tr_mono_ms();
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

void request_id(struct MHD_Connection *c, char out[80])
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

int connection_fd(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
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

void request_release(struct request *rq)
{
    if (rq->reserved)
        atomic_fetch_sub(&rq->srv->inflight_bytes, rq->reserved);
    rq->reserved = 0;
}
