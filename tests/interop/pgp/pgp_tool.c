/* Test tool for the OpenPGP interop harness (not installed).
 *
 *   pgp_tool pubkey [fixed|random]      armored public key of the fixed test key (or a fresh one)
 *   pgp_tool decrypt IN OUT [MAX]       decrypt IN with the fixed key; MAX caps the plaintext
 *   pgp_tool encrypt PUBKEY.asc IN OUT  PKESK v6 + SEIPD v2 to an armored key
 *   pgp_tool bench MSG RUNS [b64]       times pgp_decrypt of MSG (in memory), prints MiB/s;
 *                                       b64: pgp_stream_update_b64 of MSG's base64 text
 *                                       in 64 KiB pieces (the /prove body path)
 *   pgp_tool batch MSG SPEC             negative matrix, in one process: each SPEC line
 *       "flip OFFSET MASK CODES" | "trunc LEN CODES" | "append HEX CODES" | "max N CODES"
 *     mutates MSG, decrypts it, and checks the result is one of CODES (comma
 *     separated TR_ERR names, or ANY for any failure) and nothing was appended.
 *
 * Exit 0 on success; on failure prints "ERR <TR_ERR name>" on stdout, exit 1.
 * The fixed key comes from constant seeds so node and C agree across runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "teerex/codec.h"
#include "teerex/pgp.h"

#define FIXED_CREATED 1700000000u

static int fail(tr_result r)
{
    printf("ERR %s\n", tr_err_name(r.err));
    return 1;
}

static int read_file(const char *path, struct tr_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t tmp[65536];
    size_t n;
    int rc = 0;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
        if (!tr_ok(tr_buf_append(b, tmp, n))) {
            rc = -1;
            break;
        }
    fclose(f);
    return rc;
}

static int write_file(const char *path, const struct tr_buf *b)
{
    FILE *f = fopen(path, "wb");
    if (!f || (b->len && fwrite(b->data, 1, b->len, f) != b->len)) {
        perror(path);
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static tr_result fixed_key(struct pgp_key **k)
{
    uint8_t ed[32], x[32];
    for (int i = 0; i < 32; i++) {
        ed[i] = (uint8_t)(0x11 * (i + 1));
        x[i] = (uint8_t)(0x5A ^ (i * 7));
    }
    return pgp_key_from_seed("TEE-Rex", ed, x, FIXED_CREATED, k);
}

static int code_ok(const char *codes, int32_t err)
{
    if (err == TR_OK)
        return 0;
    if (strcmp(codes, "ANY") == 0)
        return 1;
    const char *name = tr_err_name(err);
    size_t n = strlen(name);
    for (const char *p = codes; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static int batch(const struct pgp_key *key, const struct tr_buf *msg, const char *spec_path)
{
    FILE *f = fopen(spec_path, "r");
    if (!f) {
        perror(spec_path);
        return 2;
    }
    static const char SENTINEL[] = "sentinel";
    char line[4096], op[16], arg[2048], codes[1024];
    unsigned long cases = 0, bad = 0;
    struct tr_buf m, out;
    tr_buf_init(&m, msg->len + 4096);
    tr_buf_init_secret(&out, msg->len + 64);
    while (fgets(line, sizeof(line), f)) {
        unsigned long mask = 0;
        int n = sscanf(line, "%15s %2047s %1023s", op, arg, codes);
        if (n < 3)
            continue;
        tr_buf_clear(&m);
        if (!tr_ok(tr_buf_append(&m, msg->data, msg->len)))
            break;
        struct pgp_decrypt_opts opts = {0};
        unsigned long v = strtoul(arg, NULL, 10);
        if (strcmp(op, "flip") == 0) {
            if (sscanf(line, "%*s %*s %lu", &mask) != 1 || v >= m.len)
                continue;
            sscanf(line, "%*s %*s %*s %1023s", codes);
            m.data[v] ^= (uint8_t)mask;
        } else if (strcmp(op, "trunc") == 0) {
            if (v > m.len)
                continue;
            m.len = v;
        } else if (strcmp(op, "append") == 0) {
            struct tr_buf extra;
            tr_buf_init(&extra, 2048);
            int ok = tr_ok(tr_hex_decode(arg, strlen(arg), &extra)) &&
                     tr_ok(tr_buf_append(&m, extra.data, extra.len));
            tr_buf_free(&extra);
            if (!ok)
                continue;
        } else if (strcmp(op, "max") == 0) {
            opts.max_plaintext = v;
        } else {
            continue;
        }
        tr_buf_clear(&out);
        tr_ignore(tr_buf_append(&out, SENTINEL, sizeof(SENTINEL) - 1));
        tr_result r = pgp_decrypt(key, m.data, m.len, &opts, &out);
        cases++;
        int untouched = out.len == sizeof(SENTINEL) - 1 && memcmp(out.data, SENTINEL, out.len) == 0;
        if (!code_ok(codes, r.err) || !untouched) {
            bad++;
            if (bad <= 50)
                printf("MISMATCH %s %s: got %s (want %s)%s\n", op, arg, tr_err_name(r.err), codes,
                       untouched ? "" : " and the output buffer changed");
        }
    }
    fclose(f);
    tr_buf_free(&m);
    tr_buf_free(&out);
    printf("%lu cases, %lu mismatches\n", cases, bad);
    return bad || cases == 0 ? 1 : 0;
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static void sort(double *t, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
}

/* One streamed decryption of the base64 text in 64 KiB pieces, as a /prove
 * body arrives. */
static tr_result stream_b64(const struct pgp_key *key, const struct tr_buf *text, size_t msg_len,
                            struct tr_buf *out)
{
    struct pgp_decrypt_opts o = {.message_bound = msg_len};
    struct pgp_stream *s;
    TR_GUARD(pgp_stream_new(key, &o, out, &s));
    tr_result r = TR_SUCCESS;
    for (size_t off = 0; off < text->len && tr_ok(r); off += 65536) {
        size_t k = text->len - off < 65536 ? text->len - off : 65536;
        r = pgp_stream_update_b64(s, (const char *)text->data + off, k);
    }
    struct tr_slice plain;
    tr_result f = pgp_stream_final(s, &plain);
    pgp_stream_free(s);
    return tr_ok(r) ? f : r;
}

/* Best, median and worst of RUNS in-memory decryptions (output buffer
 * reused), of the binary message or (b64) of its base64 text streamed: wall
 * time, and the process's CPU time (user + system), which is what `openssl
 * speed` divides by (user time) and what a loaded machine does not inflate. */
static int bench(const struct pgp_key *key, const struct tr_buf *msg, int runs, int b64,
                 struct tr_buf *out)
{
    double t[64], cpu[64];
    if (runs < 1 || runs > 64)
        runs = 5;
    size_t n = 0;
    struct tr_buf text;
    tr_buf_init(&text, (size_t)512 << 20);
    if (b64 && !tr_ok(tr_b64_encode(msg->data, msg->len, &text)))
        return 2;
    for (int i = 0; i < runs; i++) {
        tr_buf_clear(out);
        double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), t0 = now_s();
        tr_result r = b64 ? stream_b64(key, &text, msg->len, out)
                          : pgp_decrypt(key, msg->data, msg->len, NULL, out);
        t[i] = now_s() - t0;
        cpu[i] = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        if (!tr_ok(r)) {
            tr_buf_free(&text);
            return fail(r);
        }
        n = out->len;
    }
    tr_buf_free(&text);
    sort(t, runs);
    sort(cpu, runs);
    /* Baseline: first touch of a fresh mapping as large as the plaintext
     * (what any decryption into new memory pays before the cipher). */
    double touch = 1e9;
    for (int i = 0; i < runs && n; i++) {
        double t0 = now_s();
        void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            break;
        memset(m, 1, n);
        munmap(m, n);
        double dt = now_s() - t0;
        touch = dt < touch ? dt : touch;
    }
    double mib = (double)n / (1024.0 * 1024.0);
    printf("plaintext_bytes=%zu runs=%d best_s=%.4f median_s=%.4f worst_s=%.4f best_mib_s=%.1f "
           "median_mib_s=%.1f cpu_best_s=%.4f cpu_median_s=%.4f cpu_worst_s=%.4f "
           "cpu_best_mib_s=%.1f cpu_median_mib_s=%.1f first_touch_s=%.4f\n",
           n, runs, t[0], t[runs / 2], t[runs - 1], mib / t[0], mib / t[runs / 2], cpu[0],
           cpu[runs / 2], cpu[runs - 1], mib / cpu[0], mib / cpu[runs / 2], touch);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: pgp_tool pubkey|decrypt|encrypt ...\n");
        return 2;
    }
    struct pgp_key *key = NULL;
    struct tr_buf in, out, aux;
    tr_buf_init(&in, (size_t)256 << 20);
    tr_buf_init(&aux, (size_t)1 << 20);
    tr_buf_init_secret(&out, (size_t)256 << 20);
    int rc = 2;
    tr_result r;
    if (strcmp(argv[1], "pubkey") == 0) {
        int random = argc > 2 && strcmp(argv[2], "random") == 0;
        r = random ? pgp_key_generate("TEE-Rex", &key) : fixed_key(&key);
        if (tr_ok(r))
            r = pgp_key_armored_public(key, &aux);
        rc = tr_ok(r) ? (fwrite(aux.data, 1, aux.len, stdout) == aux.len ? 0 : 1) : fail(r);
    } else if (strcmp(argv[1], "decrypt") == 0 && argc >= 4) {
        struct pgp_decrypt_opts opts = {0};
        if (argc > 4)
            opts.max_plaintext = (size_t)strtoull(argv[4], NULL, 10);
        r = fixed_key(&key);
        if (tr_ok(r) && read_file(argv[2], &in) == 0) {
            r = pgp_decrypt(key, in.data, in.len, &opts, &out);
            rc = tr_ok(r) ? (write_file(argv[3], &out) == 0 ? 0 : 1) : fail(r);
        } else if (!tr_ok(r)) {
            rc = fail(r);
        }
    } else if (strcmp(argv[1], "bench") == 0 && argc >= 4) {
        r = fixed_key(&key);
        if (tr_ok(r) && read_file(argv[2], &in) == 0)
            rc = bench(key, &in, (int)strtol(argv[3], NULL, 10),
                       argc > 4 && strcmp(argv[4], "b64") == 0, &out);
        else if (!tr_ok(r))
            rc = fail(r);
    } else if (strcmp(argv[1], "batch") == 0 && argc >= 4) {
        r = fixed_key(&key);
        if (tr_ok(r) && read_file(argv[2], &in) == 0)
            rc = batch(key, &in, argv[3]);
        else if (!tr_ok(r))
            rc = fail(r);
    } else if (strcmp(argv[1], "encrypt") == 0 && argc >= 5) {
        struct pgp_pubkey *pk = NULL;
        if (read_file(argv[2], &aux) == 0 && read_file(argv[3], &in) == 0) {
            r = pgp_pubkey_parse_armored((const char *)aux.data, aux.len, &pk);
            if (tr_ok(r)) {
                struct tr_buf msg;
                tr_buf_init(&msg, (size_t)256 << 20);
                r = pgp_encrypt(pk, in.data, in.len, &msg);
                rc = tr_ok(r) ? (write_file(argv[4], &msg) == 0 ? 0 : 1) : fail(r);
                tr_buf_free(&msg);
            } else {
                rc = fail(r);
            }
            pgp_pubkey_free(pk);
        }
    }
    pgp_key_free(key);
    tr_buf_free(&in);
    tr_buf_free(&out);
    tr_buf_free(&aux);
    return rc;
}
