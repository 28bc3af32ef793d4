#include <time.h>

#include "teerex/clock.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid clock id and pointer. */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tr_mono_ms(void)
{
    return mono_ns() / 1000000u;
}

uint64_t tr_mono_us(void)
{
    return mono_ns() / 1000u;
}

double tr_ms_since(uint64_t t0_us)
{
    uint64_t now = tr_mono_us();
    return now > t0_us ? (double)(now - t0_us) / 1e3 : 0.0;
}

uint64_t tr_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
