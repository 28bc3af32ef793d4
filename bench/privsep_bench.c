/* What an OpenSSH-style key-holder process would cost teerexd: the private
 * key in a separate process, the HTTP/JSON side asking it over a socketpair.
 * Measured for 1 KiB, 1 MiB and 16 MiB prover inputs:
 *   in-process     pgp_decrypt in the server process (today)
 *   full split     ciphertext to the key holder, plaintext back (it decrypts)
 *   key split      the key holder only unwraps the session key: a ~100-byte
 *                  request and a 32-byte answer (the AEAD pass stays outside);
 *                  its cost is one small round trip on top of the same work
 * Median of N runs, milliseconds.   privsep_bench [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "teerex/pgp.h"
#include "teerex/secmem.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof(*t), cmp);
    return t[n / 2];
}

static int xfer(int fd, void *p, size_t n, int wr)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t k = wr ? write(fd, b, n) : read(fd, b, n);
        if (k <= 0)
            return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* The key holder: reads (op, len, bytes), answers (len, bytes). op 1:
 * decrypt and return the plaintext; op 2: return 32 bytes (a session key). */
static void holder(int fd, const struct pgp_key *key)
{
    for (;;) {
        uint64_t hdr[2];
        if (xfer(fd, hdr, sizeof(hdr), 0))
            _exit(0);
        uint8_t *in = malloc(hdr[1] ? hdr[1] : 1);
        if (!in || xfer(fd, in, hdr[1], 0))
            _exit(1);
        struct tr_buf out;
        tr_buf_init_secret(&out, (size_t)64 << 20);
        if (hdr[0] == 1) {
            struct pgp_decrypt_opts o = {0};
            if (!tr_ok(pgp_decrypt(key, in, hdr[1], &o, &out)))
                _exit(2);
        } else {
            static const uint8_t sk[32];
            tr_ignore(tr_buf_append(&out, sk, sizeof(sk)));
        }
        uint64_t len = out.len;
        if (xfer(fd, &len, sizeof(len), 1) || xfer(fd, out.data, out.len, 1))
            _exit(3);
        tr_buf_free(&out);
        free(in);
    }
}

static double ask(int fd, uint64_t op, const uint8_t *p, size_t n, uint8_t *back)
{
    double t0 = now_ms();
    uint64_t hdr[2] = {op, n}, len;
    if (xfer(fd, hdr, sizeof(hdr), 1) || xfer(fd, (void *)p, n, 1) ||
        xfer(fd, &len, sizeof(len), 0) || xfer(fd, back, len, 0)) {
        fprintf(stderr, "ipc failed\n");
        exit(1);
    }
    return now_ms() - t0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 21;
    tr_ignore(tr_secmem_init(0));
    struct pgp_key *key;
    struct tr_buf arm;
    tr_buf_init(&arm, 0);
    struct pgp_pubkey *pk;
    if (!tr_ok(pgp_key_generate("bench", &key)) || !tr_ok(pgp_key_armored_public(key, &arm)) ||
        !tr_ok(pgp_pubkey_parse_armored((const char *)arm.data, arm.len, &pk)))
        return 1;
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    pid_t kid = fork();
    if (kid == 0) {
        close(sv[0]);
        holder(sv[1], key);
    }
    close(sv[1]);
    static const size_t sizes[] = {1024, (size_t)1 << 20, (size_t)16 << 20};
    uint8_t *back = malloc((size_t)17 << 20);
    double *t = calloc((size_t)n, sizeof(double));
    printf("%-8s %14s %14s %12s %16s\n", "input", "in-process", "full split", "(+ ms)",
           "key split (+ ms)");
    for (size_t s = 0; s < 3; s++) {
        uint8_t *plain = malloc(sizes[s]);
        memset(plain, 'x', sizes[s]);
        struct tr_buf msg;
        tr_buf_init(&msg, 0);
        if (!tr_ok(pgp_encrypt(pk, plain, sizes[s], &msg)))
            return 1;
        for (int i = 0; i < n; i++) {
            struct tr_buf out;
            tr_buf_init_secret(&out, (size_t)64 << 20);
            struct pgp_decrypt_opts o = {0};
            double t0 = now_ms();
            if (!tr_ok(pgp_decrypt(key, msg.data, msg.len, &o, &out)))
                return 1;
            t[i] = now_ms() - t0;
            tr_buf_free(&out);
        }
        double inproc = median(t, n);
        for (int i = 0; i < n; i++)
            t[i] = ask(sv[0], 1, msg.data, msg.len, back);
        double split = median(t, n);
        uint8_t pkesk[100] = {0};
        for (int i = 0; i < n; i++)
            t[i] = ask(sv[0], 2, pkesk, sizeof(pkesk), back);
        double small = median(t, n);
        printf("%-8zu %11.3f ms %11.3f ms %+11.3f %+15.3f\n", sizes[s], inproc, split,
               split - inproc, small);
        tr_buf_free(&msg);
        free(plain);
    }
    close(sv[0]);
    waitpid(kid, NULL, 0);
    pgp_pubkey_free(pk);
    pgp_key_free(key);
    tr_buf_free(&arm);
    free(back);
    free(t);
    return 0;
}
