/* Helpers shared by the attestation unit tests: reading ../shared files. */
#ifndef TEEREX_ATTEST_TESTUTIL_H
#define TEEREX_ATTEST_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static inline const char *tu_shared(void)
{
    const char *s = getenv("TEEREX_SHARED");
    return s && *s ? s : "/work/shared";
}

/* Reads a whole file (malloc'd); NULL when absent. */
static inline uint8_t *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8192;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

#endif
