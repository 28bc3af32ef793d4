/* A hostile prover for the sandbox tests: installed as `bb`, it tries every
 * escape a compromised bb would try and reports what it could do through its
 * proof. The proof is chonk-shaped (>= 1935 fields of 32 bytes, each below
 * the BN254 modulus: first byte 0) so the server returns it; each field
 * carries 31 bytes of the report, one line per attempt:
 *     <attempt> DENIED|ALLOWED <detail>
 * Hints (what it aims at) come from hostile.conf, "key value" lines
 * teerexd_pid, tcp_port (any number of them), unix_socket, abstract_socket,
 * other_dir, marker, memory_target_mb, fork_target. Its mode: attack
 * (default), ok (a proof, nothing else), sleep:N (sleep, then a proof),
 * seccomp (call ptrace itself: killed by the filter), orphan (leave a process
 * behind, then a proof). Both sit beside it (hostile.conf, mode) or, when it
 * is installed as a prover bundle DIR/versions/V/bb (a bundle holds nothing
 * but bb), in DIR/hints/ (hostile.conf, V.mode), made visible with
 * PROVER_SANDBOX_RO_PATHS.
 * Built static (no library needed in the sandbox), without sanitizers. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 8
static char report[64 * 1024];
static size_t report_len;
static char here[4096], out_dir[4096], crs_dir[4096], input_path[4096];
static long teerexd_pid, memory_target_mb = 4096, fork_target = 20000;
static int ports[MAX_PORTS], n_ports;
static char unix_socket[100], abstract_socket[100], other_dir[4096], marker[128];

static long long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
static long long last_ms;

static void say(const char *name, int allowed, const char *fmt, ...)
{
    char detail[512];
    long long now = ms_now(), took = last_ms ? now - last_ms : 0;
    last_ms = now;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    int w = snprintf(report + report_len, sizeof(report) - report_len, "%s %s %s [%lld ms]\n", name,
                     allowed ? "ALLOWED" : "DENIED", detail, took);
    if (w > 0 && (size_t)w < sizeof(report) - report_len)
        report_len += (size_t)w;
}

/* here/name, else here/../../hints/name2. */
static FILE *open_hint(const char *name, const char *name2)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", here, name);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(path, sizeof(path), "%s/../../hints/%s", here, name2);
        f = fopen(path, "r");
    }
    return f;
}

static void read_hints(void)
{
    char line[4200];
    FILE *f = open_hint("hostile.conf", "hostile.conf");
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *v = strchr(line, ' ');
        if (!v)
            continue;
        *v++ = '\0';
        if (!strcmp(line, "teerexd_pid"))
            teerexd_pid = strtol(v, NULL, 10);
        else if (!strcmp(line, "tcp_port") && n_ports < MAX_PORTS)
            ports[n_ports++] = (int)strtol(v, NULL, 10);
        else if (!strcmp(line, "unix_socket"))
            snprintf(unix_socket, sizeof(unix_socket), "%s", v);
        else if (!strcmp(line, "abstract_socket"))
            snprintf(abstract_socket, sizeof(abstract_socket), "%s", v);
        else if (!strcmp(line, "other_dir"))
            snprintf(other_dir, sizeof(other_dir), "%s", v);
        else if (!strcmp(line, "marker"))
            snprintf(marker, sizeof(marker), "%s", v);
        else if (!strcmp(line, "memory_target_mb"))
            memory_target_mb = strtol(v, NULL, 10);
        else if (!strcmp(line, "fork_target"))
            fork_target = strtol(v, NULL, 10);
    }
    fclose(f);
}

/* Runs fn in a child: the filter kills a process for some calls, and the
 * rest of the attempts must still run. Returns a description. */
static int in_child(int (*fn)(void), char *desc, size_t cap)
{
    pid_t p = fork();
    if (p < 0) {
        snprintf(desc, cap, "fork: %s", strerror(errno));
        return 0;
    }
    if (p == 0)
        _exit(fn());
    int st;
    waitpid(p, &st, 0);
    if (WIFSIGNALED(st)) {
        snprintf(desc, cap, "killed by signal %d%s", WTERMSIG(st),
                 WTERMSIG(st) == SIGSYS ? " (SIGSYS: the seccomp filter)" : "");
        return 0;
    }
    int e = WEXITSTATUS(st);
    snprintf(desc, cap, "%s", e ? strerror(e) : "succeeded");
    return e == 0;
}

static int do_ptrace(void)
{
    return ptrace(PTRACE_ATTACH, (pid_t)teerexd_pid, 0, 0) == 0 ? 0 : errno;
}
static int do_vm_read(void)
{
    char buf[16];
    struct iovec l = {buf, sizeof(buf)}, r = {(void *)0x400000, sizeof(buf)};
    return syscall(SYS_process_vm_readv, (pid_t)teerexd_pid, &l, 1, &r, 1, 0) >= 0 ? 0 : errno;
}
static int do_mount(void)
{
    return mount("none", "/job", "tmpfs", 0, NULL) == 0 ? 0 : errno;
}
static int do_unshare(void)
{
    return unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : errno;
}
static int do_bpf(void)
{
    return syscall(SYS_bpf, 0, NULL, 0) >= 0 ? 0 : errno;
}
static int do_keyctl(void)
{
    return syscall(SYS_keyctl, 0, 0, 0, 0, 0) >= 0 ? 0 : errno;
}
static int do_perf(void)
{
    char attr[128] = {0};
    return syscall(SYS_perf_event_open, attr, 0, -1, -1, 0) >= 0 ? 0 : errno;
}
static int do_io_uring(void)
{
    char params[120] = {0};
    return syscall(SYS_io_uring_setup, 4, params) >= 0 ? 0 : errno;
}
static int do_setuid0(void)
{
    return syscall(SYS_setuid, 0) == 0 ? 0 : errno;
}

static void attempt_child(const char *name, int (*fn)(void))
{
    char d[200];
    int ok = in_child(fn, d, sizeof(d));
    say(name, ok, "%s", d);
}

static void attempt_open(const char *name, const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0) {
        say(name, 0, "%s: %s", path, strerror(errno));
        return;
    }
    char b[64];
    ssize_t n = (flags & O_ACCMODE) == O_RDONLY ? read(fd, b, sizeof(b)) : write(fd, "x", 1);
    say(name, n > 0, "%s: opened, %s %zd", path, (flags & O_ACCMODE) ? "wrote" : "read", n);
    close(fd);
}

static void attempt_connect(const char *name, int family, const void *addr, socklen_t len)
{
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        say(name, 0, "socket: %s", strerror(errno));
        return;
    }
    int r = connect(s, addr, len);
    say(name, r == 0, "connect: %s", r == 0 ? "connected" : strerror(errno));
    close(s);
}

static void attack_network(void)
{
    for (int i = 0; i < n_ports; i++) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ports[i])};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        char name[32];
        snprintf(name, sizeof(name), "tcp_%d", ports[i]);
        attempt_connect(name, AF_INET, &a, sizeof(a));
    }
    if (unix_socket[0]) {
        struct sockaddr_un u = {.sun_family = AF_UNIX};
        snprintf(u.sun_path, sizeof(u.sun_path), "%s", unix_socket);
        attempt_connect("unix_socket", AF_UNIX, &u, sizeof(u));
    }
    if (abstract_socket[0]) {
        struct sockaddr_un u = {.sun_family = AF_UNIX};
        size_t n = strlen(abstract_socket);
        memcpy(u.sun_path + 1, abstract_socket, n);
        attempt_connect("abstract_socket", AF_UNIX, &u,
                        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n));
    }
    struct sockaddr_vm v = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = 5000};
    attempt_connect("vsock_parent", AF_VSOCK, &v, sizeof(v));
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    a6.sin6_addr.s6_addr[15] = 1;
    attempt_connect("tcp6_loopback", AF_INET6, &a6, sizeof(a6));
}

static void attack_teerexd(void)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%ld/mem", teerexd_pid);
    attempt_open("proc_mem", p, O_RDONLY);
    snprintf(p, sizeof(p), "/proc/%ld/environ", teerexd_pid);
    attempt_open("proc_environ", p, O_RDONLY);
    snprintf(p, sizeof(p), "/proc/%ld/maps", teerexd_pid);
    attempt_open("proc_maps", p, O_RDONLY);
    attempt_child("ptrace_attach", do_ptrace);
    attempt_child("process_vm_readv", do_vm_read);
    if (teerexd_pid <= 0) {
        say("kill_teerexd", 0, "no teerexd_pid hint");
        return;
    }
    int r = kill((pid_t)teerexd_pid, SIGKILL);
    say("kill_teerexd", r == 0, "kill(%ld, SIGKILL): %s", teerexd_pid,
        r ? strerror(errno) : "sent");
    r = kill(1, SIGTERM); /* PID 1 of the host, unless we are in our own namespace */
    say("signal_pid1", r == 0 && getpid() != 1, "kill(1): %s (own pid %d)",
        r ? strerror(errno) : "sent", (int)getpid());
}

static void attack_files(void)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/pwned", here);
    attempt_open("write_own_dir", p, O_WRONLY | O_CREAT);
    snprintf(p, sizeof(p), "%s/bb", here);
    attempt_open("overwrite_bb", p, O_WRONLY);
    attempt_open("write_etc", "/etc/pwned", O_WRONLY | O_CREAT);
    attempt_open("write_root", "/pwned", O_WRONLY | O_CREAT);
    attempt_open("write_tmp", "/tmp/pwned", O_WRONLY | O_CREAT);
    attempt_open("read_shadow", "/etc/shadow", O_RDONLY);
    attempt_open("dev_mem", "/dev/mem", O_RDONLY);
    attempt_open("dev_kmsg", "/dev/kmsg", O_RDONLY);
    attempt_open("proc_kcore", "/proc/kcore", O_RDONLY);
    attempt_open("sysrq", "/proc/sysrq-trigger", O_WRONLY);
    if (crs_dir[0]) {
        snprintf(p, sizeof(p), "%s/bn254_g1.dat", crs_dir);
        attempt_open("write_crs", p, O_WRONLY);
    }
    attempt_child("setuid0", do_setuid0);
}

static void attack_kernel(void)
{
    attempt_child("mount", do_mount);
    attempt_child("unshare", do_unshare);
    attempt_child("bpf", do_bpf);
    attempt_child("keyctl", do_keyctl);
    attempt_child("perf_event_open", do_perf);
    attempt_child("io_uring_setup", do_io_uring);
}

/* Does any file we can reach hold the other request's marker? */
static int grep_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return 0;
    static char buf[1 << 16];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return memmem(buf, (size_t)n, marker, strlen(marker)) != NULL;
}

static int grep_tree(const char *dir, int depth, char *found, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *de;
    int hit = 0;
    while (!hit && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char p[4200];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (strcmp(p, here) == 0 || strcmp(de->d_name, "hostile.conf") == 0)
            continue; /* our own hints hold the marker */
        if (de->d_type == DT_DIR && depth > 0)
            hit = grep_tree(p, depth - 1, found, cap);
        else if (de->d_type == DT_REG && grep_file(p))
            hit = 1, snprintf(found, cap, "%s", p);
    }
    closedir(d);
    return hit;
}

static void attack_other_request(void)
{
    if (!marker[0])
        return;
    char found[4200] = "";
    const char *roots[] = {other_dir, "/dev/shm",         "/tmp", "/var/tmp",
                           "/run",    "/proc/1/root/job", "/job"};
    int hit = 0;
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]) && !hit; i++) {
        if (roots[i][0] && strcmp(roots[i], "/job") != 0)
            hit = grep_tree(roots[i], 3, found, sizeof(found));
    }
    /* Every process we can see: its root and cwd. */
    DIR *d = opendir("/proc");
    struct dirent *de;
    int seen = 0;
    while (!hit && d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        seen++;
        char p[300];
        snprintf(p, sizeof(p), "/proc/%s/root/job", de->d_name);
        if (atoi(de->d_name) != getpid()) /* our own /job holds our own input */
            hit = grep_tree(p, 2, found, sizeof(found));
    }
    if (d)
        closedir(d);
    if (hit)
        say("read_other_request", 1, "marker found in %s", found);
    else
        say("read_other_request", 0, "marker not found (%d processes visible)", seen);
}

static void attack_limits(void)
{
    /* file size */
    signal(SIGXFSZ, SIG_IGN);
    char p[4200];
    snprintf(p, sizeof(p), "%s/big", out_dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    static char chunk[1 << 20];
    long mb = 0;
    while (fd >= 0 && mb < 2048 && write(fd, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk))
        mb++;
    int e = errno;
    if (fd >= 0)
        close(fd);
    unlink(p);
    say("file_size", mb >= 2048, "wrote %ld MiB, then %s", mb, strerror(e));
    /* memory */
    long got = 0;
    static char *chunks[1024];
    for (; got < memory_target_mb && got / 64 < 1024; got += 64) {
        char *m = mmap(NULL, 64 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            break;
        memset(m, 1, 64 << 20);
        chunks[got / 64] = m;
    }
    say("memory_hog", got >= memory_target_mb, "held %ld MiB of %ld", got, memory_target_mb);
    for (long i = 0; i < got / 64; i++)
        munmap(chunks[i], 64 << 20);
    /* processes */
    long n = 0;
    pid_t kids[20000];
    e = 0;
    for (; n < fork_target && n < 20000; n++) {
        pid_t k = fork();
        if (k == 0) {
            pause();
            _exit(0);
        }
        if (k < 0) {
            e = errno;
            break;
        }
        kids[n] = k;
    }
    for (long i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    for (long i = 0; i < n; i++)
        waitpid(kids[i], NULL, 0);
    say("fork_bomb", n >= fork_target, "%ld processes, then %s", n, e ? strerror(e) : "stopped");
}

static void report_identity(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256], caps[512] = "";
    size_t used = 0;
    while (f && fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) || !strncmp(line, "Cap", 3) ||
            !strncmp(line, "NoNewPrivs:", 11) || !strncmp(line, "Seccomp:", 8)) {
            line[strcspn(line, "\n")] = '\0';
            for (char *c = line; *c; c++)
                if (*c == '\t')
                    *c = ' ';
            int w = snprintf(caps + used, sizeof(caps) - used, "%s;", line);
            if (w > 0 && (size_t)w < sizeof(caps) - used)
                used += (size_t)w;
        }
    }
    if (f)
        fclose(f);
    char oom[16] = "?";
    f = fopen("/proc/self/oom_score_adj", "r");
    if (f && fgets(oom, sizeof(oom), f))
        oom[strcspn(oom, "\n")] = '\0';
    if (f)
        fclose(f);
    say("identity", 0, "pid %d %soom_score_adj %s;", (int)getpid(), caps, oom);
    char env[1024] = "";
    used = 0;
    for (char **e = environ; *e; e++) {
        int w = snprintf(env + used, sizeof(env) - used, "%.*s;", (int)strcspn(*e, "="), *e);
        if (w > 0 && (size_t)w < sizeof(env) - used)
            used += (size_t)w;
    }
    say("environment", 0, "%s", env);
    char cwd[512];
    say("cwd", 0, "%s", getcwd(cwd, sizeof(cwd)) ? cwd : strerror(errno));
}

static void leave_orphan(void)
{
    pid_t k = fork();
    if (k == 0) {
        setsid();
        if (fork() == 0) {
            for (;;)
                pause(); /* a grandchild in its own session, outside bb's group */
        }
        _exit(0);
    }
    waitpid(k, NULL, 0);
    say("orphan", 0, "left a process in its own session");
}

/* What teerexd gave us: size and the first bytes, in hex. */
static void report_input(void)
{
    unsigned char b[48];
    char hex[sizeof(b) * 2 + 1] = "";
    int fd = input_path[0] ? open(input_path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        say("input", 0, "missing");
        return;
    }
    ssize_t n = read(fd, b, sizeof(b));
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    for (ssize_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", b[i]);
    say("input", 0, "%lld bytes %s", (long long)size, hex);
}

/* The proof: a chonk-shaped field list carrying the report. */
static int write_proof(void)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/proof", out_dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return 3;
    size_t fields = (report_len + 30) / 31;
    if (fields < 1935)
        fields = 1935;
    for (size_t i = 0; i < fields; i++) {
        unsigned char f[32] = {0};
        size_t off = i * 31;
        if (off < report_len)
            memcpy(f + 1, report + off, report_len - off < 31 ? report_len - off : 31);
        if (write(fd, f, 32) != 32)
            return 3;
    }
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--version")) { /* teerexd's start-up check */
        puts("hostile-bb 0.0.0");
        return 0;
    }
    snprintf(here, sizeof(here), "%s", argv[0]);
    char *slash = strrchr(here, '/');
    if (slash)
        *slash = '\0';
    const char *crs = getenv("CRS_PATH");
    if (crs)
        snprintf(crs_dir, sizeof(crs_dir), "%s", crs);
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "-o"))
            snprintf(out_dir, sizeof(out_dir), "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "-c"))
            snprintf(crs_dir, sizeof(crs_dir), "%s", argv[i + 1]);
        else if (!strcmp(argv[i], "--ivc_inputs_path") || !strcmp(argv[i], "-b"))
            snprintf(input_path, sizeof(input_path), "%s", argv[i + 1]);
    }
    if (!out_dir[0])
        return 2;
    char mode[64] = "attack", mp[4200];
    const char *version = strrchr(here, '/') ? strrchr(here, '/') + 1 : here;
    snprintf(mp, sizeof(mp), "%s.mode", version);
    FILE *mf = open_hint("mode", mp);
    if (mf) {
        if (fgets(mode, sizeof(mode), mf))
            mode[strcspn(mode, "\n")] = '\0';
        fclose(mf);
    }
    read_hints();
    last_ms = ms_now();
    if (!strncmp(mode, "sleep:", 6)) {
        sleep((unsigned)atoi(mode + 6));
    } else if (!strcmp(mode, "seccomp")) {
        ptrace(PTRACE_TRACEME, 0, 0, 0); /* not reached: the filter kills the process */
        say("seccomp", 1, "ptrace returned");
    } else if (!strcmp(mode, "orphan")) {
        leave_orphan();
    } else if (!strcmp(mode, "attack")) {
        report_identity();
        attack_teerexd();
        attack_network();
        attack_files();
        attack_kernel();
        attack_other_request();
        attack_limits();
        leave_orphan();
    }
    report_input();
    return write_proof();
}
