/* The monotonic clock in milliseconds (deadlines, durations). */
#ifndef TEEREX_CLOCK_H
#define TEEREX_CLOCK_H

#include <stdint.h>

uint64_t tr_mono_ms(void);

#endif
