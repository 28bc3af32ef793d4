/* What the teerex CLI tells its user: phases with timings (named as the SDK
 * names them), a live progress line on a terminal, plain lines otherwise,
 * and one JSON object with --json. Human output goes to stderr so stdout
 * stays for machine output. */
#ifndef TEEREX_CLI_REPORT_H
#define TEEREX_CLI_REPORT_H

#include <stdint.h>
#include <stdio.h>

#define CLI_MAX_PHASES 16

struct cli_phase {
    const char *name;
    double ms;
};

struct cli_report {
    int json;      /* --json: one object on stdout at the end, no plain lines */
    int tty;       /* stderr is a terminal: progress line with \r */
    int line_open; /* a progress line is on screen */
    FILE *out;     /* stderr */
    struct cli_phase phases[CLI_MAX_PHASES];
    int n_phases;
};

void cli_report_init(struct cli_report *r, int json);
/* Adds a phase (summed when the same name repeats, e.g. after a retry) and
 * prints "phase <name> <ms> ms" unless --json. */
void cli_report_phase(struct cli_report *r, const char *name, double ms);
/* A note or warning line (printed also with --json, on stderr). */
void cli_report_note(struct cli_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Progress hook for cli_http (ctx = struct cli_report *): on a tty shows
 * "transmit 1.2/3.4 MiB" then "proving 12.3 s"; nothing otherwise. */
void cli_report_progress(void *ctx, uint64_t up_now, uint64_t up_total, uint64_t down_now,
                         double elapsed_s, int upload_done);
/* Ends a progress line if one is open. */
void cli_report_end_line(struct cli_report *r);
double cli_report_phase_ms(const struct cli_report *r, const char *name); /* -1 if absent */

/* The SDK's retry policy: 2 retries on network errors and 5xx. */
#define CLI_MAX_RETRIES 2
/* Sleeps before retry number `attempt` (1 s, 2 s): long enough for a load
 * balancer's health check to notice a dead instance. */
void cli_backoff(int attempt);

#endif
