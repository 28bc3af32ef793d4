/* The monotonic clock (deadlines, durations, phase timings) and the wall
 * clock in milliseconds (timestamps checked against or put into documents).
 * Every program reads these clocks through here, never by itself. */
#ifndef TEEREX_CLOCK_H
#define TEEREX_CLOCK_H

#include <stdint.h>

/* Milliseconds / microseconds since an arbitrary fixed point. */
uint64_t tr_mono_ms(void);
uint64_t tr_mono_us(void);
/* Milliseconds (with fractions) since t0_us, a tr_mono_us() reading. */
double tr_ms_since(uint64_t t0_us);
/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
uint64_t tr_wall_ms(void);

#endif
