/* teerex-init supervisor: one epoll loop over a signalfd, the children's
 * output pipes, our own log pipe and the console (see main.c). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "init.h"
#include "rt_console.h"
#include "rt_logfwd.h"
#include "rt_netlink.h"
#include "teerex/clock.h"
#include "teerex/proc.h"
#include "teerex/log.h"

struct sup;
/* Where a line came from: the console and the log forwarder both get it. */
struct line_src {
    struct sup *s;
    const char *name;
};

struct child {
    const struct rt_child_spec *spec;
    struct line_src src;
    pid_t pid; /* 0: not running */
    struct tr_proc proc;
    int out_fd;
    struct rt_linebuf lb;
    uint64_t started_ms, next_start_ms, backoff_ms;
    uint64_t starts, exits;
};

struct sup {
    const struct rt_config *cfg;
    struct rt_console con;
    int epfd, sigfd, log_r, log_w, con_fd;
    int stdin_fd; /* /dev/null, or an empty pipe where /dev is not mounted */
    bool con_pollable, con_want_out;
    struct rt_linebuf self_lb;
    struct line_src self_src;
    struct rt_logfwd fwd;
    bool fwd_on;
    unsigned fwd_gen; /* socket generation registered in epoll (0: none) */
    uint32_t fwd_ev;
    uint32_t fwd_seen; /* events seen on the forwarder socket this round */
    struct child ch[RT_MAX_CHILDREN];
    size_t n;
    bool stopping;
    uint64_t stop_deadline_ms;
    bool killed;
    uint64_t zombies_reaped, spawn_failures;
};

/* epoll tags: small integers, children are 16 + index. */
enum { TAG_SIG = 1, TAG_LOG = 2, TAG_CON = 3, TAG_FWD = 4, TAG_CHILD = 16 };

static void ep_add(struct sup *s, int fd, uint32_t ev, uint64_t tag)
{
    struct epoll_event e = {.events = ev, .data.u64 = tag};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) != 0 && fd == s->con_fd)
        s->con_pollable = false; /* a regular file: writes never wait */
}

static void write_stats(struct sup *s)
{
    const char *path = s->cfg->stats_file;
    char tmp[4200];
    if (!path)
        return;
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return;
    fprintf(f,
            "{\"console_lines_in\":%llu,\"console_lines_written\":%llu,"
            "\"console_lines_dropped\":%llu,\"console_bytes_dropped\":%llu,"
            "\"console_lines_silenced\":%llu,\"zombies_reaped\":%llu,\"spawn_failures\":%llu,"
            "\"log_forward\":{\"on\":%s,\"connected\":%s,\"lines_in\":%llu,"
            "\"lines_sent\":%llu,\"lines_dropped\":%llu,\"lines_withheld\":%llu,"
            "\"connects\":%llu,\"connect_failures\":%llu,\"disconnects\":%llu},"
            "\"children\":{",
            (unsigned long long)s->con.lines_in, (unsigned long long)s->con.lines_written,
            (unsigned long long)s->con.lines_dropped, (unsigned long long)s->con.bytes_dropped,
            (unsigned long long)s->con.lines_silenced, (unsigned long long)s->zombies_reaped,
            (unsigned long long)s->spawn_failures, s->fwd_on ? "true" : "false",
            s->fwd_on && s->fwd.ring.fd >= 0 ? "true" : "false",
            (unsigned long long)s->fwd.ring.lines_in, (unsigned long long)s->fwd.ring.lines_written,
            (unsigned long long)s->fwd.ring.lines_dropped,
            (unsigned long long)s->fwd.lines_withheld, (unsigned long long)s->fwd.connects,
            (unsigned long long)s->fwd.connect_failures, (unsigned long long)s->fwd.disconnects);
    for (size_t i = 0; i < s->n; i++)
        fprintf(f, "%s\"%s\":{\"pid\":%d,\"starts\":%llu,\"exits\":%llu,\"backoff_ms\":%llu}",
                i ? "," : "", s->ch[i].spec->name, (int)s->ch[i].pid,
                (unsigned long long)s->ch[i].starts, (unsigned long long)s->ch[i].exits,
                (unsigned long long)s->ch[i].backoff_ms);
    fprintf(f, "}}\n");
    if (fclose(f) == 0)
        rename(tmp, path);
}

static void on_line(void *ctx, const uint8_t *line, size_t n)
{
    struct line_src *src = ctx;
    rt_console_push(&src->s->con, line, n);
    if (src->s->fwd_on)
        rt_logfwd_push(&src->s->fwd, src->name, line, n);
}

static void drain(struct sup *s, int fd, struct rt_linebuf *lb, bool *eof)
{
    uint8_t buf[16384];
    /* Bounded per wake-up so one chatty child cannot starve the loop. */
    for (int round = 0; round < 8; round++) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return; /* EAGAIN */
        if (k == 0) {
            (void)s;
            rt_linebuf_finish(lb);
            *eof = true;
            return;
        }
        rt_linebuf_feed(lb, buf, (size_t)k);
    }
}

/* Through tr_proc, the child starts with a clean signal state, its own session, output
 * into the pipe, and SIGKILL when teerex-init dies. That last part matters
 * when teerex-init is not PID 1 (under the AWS init, in tests): a killed
 * teerex-init must not leave a server running. */
static void start_child(struct sup *s, struct child *c)
{
    int p[2] = {-1, -1};
    int err = 0;
    const char *step = "pipe";
    if (pipe2(p, O_CLOEXEC) != 0) {
        err = errno;
        goto fail;
    }
    struct tr_proc_spec spec;
    tr_proc_spec_init(&spec);
    spec.path = c->spec->argv[0];
    spec.argv = c->spec->argv;
    spec.fd_in = s->stdin_fd;
    spec.fd_out = p[1];
    spec.fd_err = p[1];
    spec.group = TR_PROC_SESSION_NEW;
    spec.pdeathsig = SIGKILL;
    tr_result r = tr_proc_spawn(&spec, &c->proc);
    close(p[1]);
    p[1] = -1;
    if (!tr_ok(r)) {
        err = c->proc.spawn_errno ? c->proc.spawn_errno : EIO;
        step = tr_proc_step_name(c->proc.spawn_step);
        goto fail;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    c->pid = c->proc.pid;
    c->out_fd = p[0];
    c->src = (struct line_src){.s = s, .name = c->spec->name};
    rt_linebuf_init(&c->lb, on_line, &c->src);
    c->started_ms = tr_mono_ms();
    c->starts++;
    ep_add(s, p[0], EPOLLIN, TAG_CHILD + (uint64_t)(c - s->ch));
    tr_log(TR_LOG_INFO, "child_started", "{s:s,s:i,s:I}", "child", c->spec->name, "pid",
           (int)c->pid, "starts", (json_int_t)c->starts);
    return;
fail:
    for (int i = 0; i < 2; i++) {
        if (p[i] >= 0)
            close(p[i]);
    }
    s->spawn_failures++;
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : s->cfg->restart_min_ms;
    if (c->backoff_ms > s->cfg->restart_max_ms)
        c->backoff_ms = s->cfg->restart_max_ms;
    c->next_start_ms = tr_mono_ms() + c->backoff_ms;
    tr_log(TR_LOG_ERROR, "child_spawn_failed", "{s:s,s:s,s:s,s:s,s:I}", "child", c->spec->name,
           "program", c->spec->argv[0], "error", strerror(err), "step", step ? step : "hook",
           "retry_ms", (json_int_t)c->backoff_ms);
}

static void close_output(struct sup *s, struct child *c)
{
    if (c->out_fd < 0)
        return;
    bool eof = false;
    for (int i = 0; i < 64 && !eof; i++) {
        size_t before = s->con.lines_in;
        drain(s, c->out_fd, &c->lb, &eof);
        if (s->con.lines_in == before && c->lb.len == 0)
            break;
    }
    rt_linebuf_finish(&c->lb);
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->out_fd, NULL);
    close(c->out_fd);
    c->out_fd = -1;
}

static void child_exited(struct sup *s, struct child *c, int status)
{
    uint64_t now = tr_mono_ms();
    uint64_t ran = now - c->started_ms;
    /* What the child left behind (e.g. a prover it started) goes with it: its
     * session's group outlives the reaped leader while members remain. */
    kill(-c->pid, SIGKILL);
    tr_proc_set_reaped(&c->proc, status);
    c->pid = 0;
    close_output(s, c);
    c->exits++;
    if (ran >= s->cfg->stable_after_ms || c->backoff_ms == 0)
        c->backoff_ms = s->cfg->restart_min_ms;
    else
        c->backoff_ms =
            c->backoff_ms * 2 > s->cfg->restart_max_ms ? s->cfg->restart_max_ms : c->backoff_ms * 2;
    c->next_start_ms = now + c->backoff_ms;
    tr_log(TR_LOG_WARN, "child_exited", "{s:s,s:i,s:I,s:I,s:b}", "child", c->spec->name,
           WIFSIGNALED(status) ? "signal" : "code",
           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), "ran_ms", (json_int_t)ran,
           "restart_in_ms", (json_int_t)(s->stopping ? -1 : (long)c->backoff_ms), "stopping",
           s->stopping);
}

static void reap(struct sup *s)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        bool ours = false;
        for (size_t i = 0; i < s->n; i++) {
            if (s->ch[i].pid == pid) {
                child_exited(s, &s->ch[i], status);
                ours = true;
            }
        }
        if (!ours)
            s->zombies_reaped++; /* an orphan re-parented to us */
    }
}

static void signal_children(struct sup *s, int sig)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->ch[i].pid > 0)
            tr_proc_kill(&s->ch[i].proc, sig); /* its whole process group (setsid) */
    }
}

static void on_signal(struct sup *s)
{
    struct signalfd_siginfo si;
    while (read(s->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD: reap(s); break;
        case SIGTERM:
        case SIGINT:
            if (!s->stopping) {
                s->stopping = true;
                s->stop_deadline_ms = tr_mono_ms() + s->cfg->stop_timeout_ms;
                tr_log(TR_LOG_INFO, "stopping", "{s:i}", "signal", (int)si.ssi_signo);
            }
            signal_children(s, (int)si.ssi_signo);
            break;
        case SIGUSR1:
            write_stats(s);
            tr_log(TR_LOG_INFO, "stats", "{s:I,s:I,s:I,s:I,s:I,s:I}", "console_lines_in",
                   (json_int_t)s->con.lines_in, "console_lines_dropped",
                   (json_int_t)s->con.lines_dropped, "console_lines_written",
                   (json_int_t)s->con.lines_written, "zombies_reaped",
                   (json_int_t)s->zombies_reaped, "log_forward_lines_sent",
                   (json_int_t)s->fwd.ring.lines_written, "log_forward_lines_dropped",
                   (json_int_t)s->fwd.ring.lines_dropped);
            break;
        default: break;
        }
    }
}

static int open_console(const struct rt_config *cfg)
{
    if (cfg->console == RT_CONSOLE_OFF)
        return -1;
    if (cfg->console == RT_CONSOLE_STDERR)
        return fcntl(2, F_DUPFD_CLOEXEC, 3);
    const char *path = cfg->console_path ? cfg->console_path : "/dev/console";
    /* A file console (tests, debugging) is created; a device never is. */
    int creat = strncmp(path, "/dev/", 5) == 0 ? 0 : O_CREAT;
    int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | O_APPEND | creat, 0600);
    if (fd < 0) {
        fprintf(stderr, "teerex-init: cannot open console %s (%s), using stderr\n", path,
                strerror(errno));
        fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    }
    return fd;
}

static TR_RESULT setup(struct sup *s)
{
    const struct rt_config *cfg = s->cfg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGHUP);
    TR_ENSURE(sigprocmask(SIG_BLOCK, &set, NULL) == 0, TR_ERR_SYS);
    signal(SIGPIPE, SIG_IGN);
    s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    TR_ENSURE(s->sigfd >= 0, TR_ERR_SYS);
    if (getpid() != 1)
        prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans come to us, as to PID 1 */
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    TR_ENSURE(s->epfd >= 0, TR_ERR_SYS);

    if (cfg->log_forward) {
        TR_GUARD(rt_logfwd_init(&s->fwd, cfg->log_forward, cfg->log_forward_buffer));
        s->fwd_on = true;
    }
    s->con_fd = open_console(cfg);
    s->con_pollable = true;
    TR_GUARD(rt_console_init(&s->con, s->con_fd, cfg->console_buffer));
    s->stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (s->stdin_fd < 0) {
        int ep[2]; /* no /dev yet: children read EOF from an empty pipe */
        TR_ENSURE(pipe2(ep, O_CLOEXEC) == 0, TR_ERR_SYS);
        close(ep[1]);
        s->stdin_fd = ep[0];
    }
    int lp[2];
    TR_ENSURE(pipe2(lp, O_CLOEXEC | O_NONBLOCK) == 0, TR_ERR_SYS);
    s->log_r = lp[0];
    s->log_w = lp[1];
    tr_log_set_fd(s->log_w); /* our own lines go through the same ring */
    s->self_src = (struct line_src){.s = s, .name = "teerex-init"};
    rt_linebuf_init(&s->self_lb, on_line, &s->self_src);
    tr_log_set_level((enum tr_log_level)cfg->log_level);
    ep_add(s, s->sigfd, EPOLLIN, TAG_SIG);
    ep_add(s, s->log_r, EPOLLIN, TAG_LOG);
    if (s->con_fd >= 0)
        ep_add(s, s->con_fd, 0, TAG_CON);

    for (size_t i = 0; i < cfg->n_env; i++) {
        char *eq = strchr(cfg->env[i], '=');
        char name[256];
        size_t nl = (size_t)(eq - cfg->env[i]);
        TR_ENSURE(nl < sizeof(name), TR_ERR_RT_CONFIG_VALUE);
        memcpy(name, cfg->env[i], nl);
        name[nl] = 0;
        TR_ENSURE(setenv(name, eq + 1, 1) == 0, TR_ERR_RT_CONFIG_VALUE);
        if (cfg->env_overridden[i]) /* the name only: a value may be sensitive */
            tr_log(TR_LOG_INFO, "env_override", "{s:s}", "name", name);
    }
    if (cfg->workdir)
        TR_ENSURE(chdir(cfg->workdir) == 0, TR_ERR_NOT_FOUND);
    if (cfg->loopback) {
        TR_GUARD(rt_loopback_up());
        TR_GUARD(rt_loopback_verify());
        tr_log(TR_LOG_INFO, "loopback_verified", "{s:s}", "address", "127.0.0.1");
    }
    return TR_SUCCESS;
}

static void set_console_interest(struct sup *s, bool want)
{
    if (!s->con_pollable || s->con_fd < 0 || want == s->con_want_out)
        return;
    struct epoll_event e = {.events = want ? EPOLLOUT : 0, .data.u64 = TAG_CON};
    epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->con_fd, &e);
    s->con_want_out = want;
}

/* Lets the forwarder act on what epoll saw, then keeps its socket's epoll
 * registration in step with the socket it now has (a new one after every
 * reconnect: the generation tells, since a closed fd number comes back). */
static void fwd_update(struct sup *s, int *timeout)
{
    if (!s->fwd_on)
        return;
    uint32_t want = rt_logfwd_step(&s->fwd, s->fwd_seen, tr_mono_ms(), timeout);
    s->fwd_seen = 0;
    if (s->fwd.fd < 0) {
        s->fwd_gen = 0; /* closing the socket removed it from epoll */
        return;
    }
    struct epoll_event e = {.events = want, .data.u64 = TAG_FWD};
    if (s->fwd_gen != s->fwd.gen) {
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->fwd.fd, &e);
        s->fwd_gen = s->fwd.gen;
        s->fwd_ev = want;
    } else if (want != s->fwd_ev) {
        epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->fwd.fd, &e);
        s->fwd_ev = want;
    }
}

static bool any_running(const struct sup *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->ch[i].pid > 0)
            return true;
    }
    return false;
}

int init_supervise(const struct rt_config *cfg)
{
    static struct sup s; /* large (line buffers); one per process */
    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.sigfd = s.epfd = s.log_r = s.log_w = s.con_fd = s.stdin_fd = -1;
    s.n = cfg->n_children;
    for (size_t i = 0; i < s.n; i++) {
        s.ch[i].spec = &cfg->children[i];
        s.ch[i].out_fd = -1;
    }
    tr_result r = setup(&s);
    bool self_eof = false;
    if (!tr_ok(r)) {
        tr_log_result(TR_LOG_ERROR, "setup_failed", r);
        rt_console_flush(&s.con);
        if (s.con_fd != 2) {
            const struct tr_error_info *e = tr_last_error();
            fprintf(stderr, "teerex-init: set-up failed: %s (%s at %s:%d)\n", tr_err_desc(r.err),
                    tr_err_name(r.err), e->file ? e->file : "?", e->line);
        }
        write_stats(&s);
        return INIT_EXIT_RUNTIME;
    }
    for (size_t i = 0; i < s.n; i++)
        start_child(&s, &s.ch[i]);

    for (;;) {
        uint64_t now = tr_mono_ms();
        int timeout = -1;
        for (size_t i = 0; i < s.n && !s.stopping; i++) {
            struct child *c = &s.ch[i];
            if (c->pid == 0) {
                if (c->next_start_ms <= now) {
                    start_child(&s, c);
                    now = tr_mono_ms();
                }
                if (c->pid == 0) {
                    uint64_t d = c->next_start_ms > now ? c->next_start_ms - now : 0;
                    if (timeout < 0 || d < (uint64_t)timeout)
                        timeout = (int)d;
                }
            }
        }
        if (s.stopping) {
            if (!any_running(&s)) {
                tr_log(TR_LOG_INFO, "children_stopped", "{s:b}", "exiting", cfg->exit_on_signal);
                if (cfg->exit_on_signal) {
                    drain(&s, s.log_r, &s.self_lb, &self_eof);
                    rt_console_flush(&s.con);
                    int ignored = -1;
                    fwd_update(&s, &ignored); /* best effort: never waits */
                    write_stats(&s);
                    if (s.fwd_on)
                        rt_logfwd_free(&s.fwd);
                    return INIT_EXIT_OK;
                }
                s.stopping = false; /* stay up, keep reaping, never restart */
                s.n = 0;
            } else if (!s.killed) {
                if (now >= s.stop_deadline_ms) {
                    signal_children(&s, SIGKILL);
                    s.killed = true;
                } else {
                    timeout = (int)(s.stop_deadline_ms - now);
                }
            }
        }
        if (s.con_fd >= 0 && !s.con_pollable && s.con.len > 0)
            timeout = timeout < 0 || timeout > 100 ? 100 : timeout;
        fwd_update(&s, &timeout);

        struct epoll_event ev[32];
        int k = epoll_wait(s.epfd, ev, 32, timeout);
        if (k < 0 && errno != EINTR)
            k = 0;
        for (int j = 0; j < k; j++) {
            uint64_t tag = ev[j].data.u64;
            if (tag == TAG_SIG) {
                on_signal(&s);
            } else if (tag == TAG_LOG) {
                drain(&s, s.log_r, &s.self_lb, &self_eof);
            } else if (tag == TAG_FWD) {
                s.fwd_seen |= ev[j].events;
            } else if (tag >= TAG_CHILD && tag < TAG_CHILD + RT_MAX_CHILDREN) {
                struct child *c = &s.ch[tag - TAG_CHILD];
                bool eof = false;
                if (c->out_fd < 0)
                    continue;
                drain(&s, c->out_fd, &c->lb, &eof);
                if (eof || (ev[j].events & (EPOLLHUP | EPOLLERR) && !(ev[j].events & EPOLLIN)))
                    close_output(&s, c);
            }
        }
        set_console_interest(&s, rt_console_flush(&s.con));
        int ignored = -1;
        fwd_update(&s, &ignored);
    }
}
