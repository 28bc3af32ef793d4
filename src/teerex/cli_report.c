/* Phase reporting and the progress line of the teerex CLI (cli_report.h). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_report.h"

void cli_backoff(int attempt)
{
    struct timespec ts = {.tv_sec = attempt, .tv_nsec = 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void cli_report_init(struct cli_report *r, int json)
{
    memset(r, 0, sizeof(*r));
    r->json = json;
    r->out = stderr;
    r->tty = isatty(STDERR_FILENO);
}

void cli_report_end_line(struct cli_report *r)
{
    if (r->line_open) {
        fputs("\r\033[K", r->out);
        fflush(r->out);
        r->line_open = 0;
    }
}

void cli_report_phase(struct cli_report *r, const char *name, double ms)
{
    int i;
    for (i = 0; i < r->n_phases; i++) {
        if (strcmp(r->phases[i].name, name) == 0)
            break;
    }
    if (i == r->n_phases) {
        if (r->n_phases == CLI_MAX_PHASES)
            return;
        r->phases[i].name = name;
        r->phases[i].ms = 0;
        r->n_phases++;
    }
    r->phases[i].ms += ms;
    if (!r->json) {
        cli_report_end_line(r);
        fprintf(r->out, "teerex: phase %-17s %10.1f ms\n", name, ms);
        fflush(r->out);
    }
}

double cli_report_phase_ms(const struct cli_report *r, const char *name)
{
    for (int i = 0; i < r->n_phases; i++) {
        if (strcmp(r->phases[i].name, name) == 0)
            return r->phases[i].ms;
    }
    return -1;
}

void cli_report_note(struct cli_report *r, const char *fmt, ...)
{
    va_list ap;
    cli_report_end_line(r);
    fputs("teerex: ", r->out);
    va_start(ap, fmt);
    vfprintf(r->out, fmt, ap);
    va_end(ap);
    fputc('\n', r->out);
    fflush(r->out);
}

void cli_report_progress(void *ctx, uint64_t up_now, uint64_t up_total, uint64_t down_now,
                         double elapsed_s, int upload_done)
{
    struct cli_report *r = ctx;
    if (!r->tty || r->json)
        return;
    if (!upload_done && up_total > 0)
        fprintf(r->out, "\r\033[Kteerex: transmit %.2f / %.2f MiB  %.1f s",
                (double)up_now / 1048576.0, (double)up_total / 1048576.0, elapsed_s);
    else if (down_now == 0)
        fprintf(r->out, "\r\033[Kteerex: proving ... %.1f s elapsed", elapsed_s);
    else
        fprintf(r->out, "\r\033[Kteerex: receive %.2f MiB", (double)down_now / 1048576.0);
    fflush(r->out);
    r->line_open = 1;
}
