/* vm-standin-init: a stand-in for the AWS Nitro Enclaves bootstrap init, for
 * the VM test only (it is never part of a deployed image).
 *
 * In a real enclave the EIF's bootstrap ramdisk holds AWS's `init` and
 * `nsm.ko` (nitro-cli's blobs). Their sources are public
 * (aws/aws-nitro-enclaves-sdk-bootstrap, init/init.c); this program is
 * written here from that public description, step by step:
 *   1. block every signal; mount devtmpfs on /dev; make /dev/console the
 *      standard input, output and error;
 *   2. load /nsm.ko (finit_module) when present, then delete it;
 *   3. tell the parent the enclave is up (a one-byte heartbeat over vsock to
 *      CID 3 port 9000) — NOT done here: this VM has no vsock device (the
 *      host has no vhost-vsock), which is said on the console;
 *   4. read /env and /cmd (one value per line), then delete them;
 *   5. bind-mount /rootfs onto itself, move it over /, chroot into it;
 *   6. mount /dev (devtmpfs), /proc, the /dev/fd and /dev/std* links, tmpfs on
 *      /run and /tmp, /dev/shm, /dev/pts, /sys, a tmpfs on /sys/fs/cgroup and
 *      one cgroup v1 hierarchy per enabled controller of /proc/cgroups;
 *   7. start /cmd in its own session with the /env environment (PATH set for
 *      the lookup), wait for it, and reboot when it ends.
 *
 * Test-only additions, all from the test's extra ramdisk (/vm-test/, never in
 * an image built by deploy/make-eif.sh) and each announced on the console:
 *   - /vm-test/modules.order: kernel modules to load before step 3 (the stock
 *     Debian kernel has virtio-net and vsock as modules; AWS's has them built in);
 *   - /vm-test/net: "IFNAME ADDRESS PREFIXLEN" for the test NIC (QEMU user
 *     networking with a host-forwarded port); lo stays down, as in an enclave;
 *   - /vm-test/cmd-append: extra argv words appended to /cmd (teerex-init
 *     options such as --env that add the test listener and the NSM emulator);
 *   - /vm-test/agent: a TCP port on the test NIC where a helper process takes
 *     one command per connection, because the image has no shell:
 *     "kill COMM SIGNO" (signal every process named COMM, answer their pids),
 *     "pids COMM", "meminfo" (/proc/meminfo).
 * Where AWS's init would die (a failed mount, a missing /cmd), this one says
 * what failed and reboots the VM (QEMU runs with -no-reboot: it exits), so
 * the test sees it at once.
 * Differences forced by the stock kernel: a cgroup v1 hierarchy that cannot
 * be mounted (Debian's 6.12 has no v1 memory or cpuset controller) is
 * reported and skipped instead of fatal. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINES 512
#define MAX_LINE 4096

static void say(const char *fmt, ...)
{
    va_list ap;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    fprintf(stderr, "vm-standin-init [%ld.%03ld]: ", (long)ts.tv_sec, ts.tv_nsec / 1000000);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

/* Where AWS's init exits (the kernel panics, then reboots after panic=30),
 * reboot at once with a reason (QEMU -no-reboot then exits). */
static _Noreturn void fatal(const char *what, const char *arg)
{
    say("FATAL: %s %s: %s", what, arg ? arg : "", strerror(errno));
    sync();
    reboot(RB_AUTOBOOT);
    for (;;)
        pause();
}

static void mount_or_die(const char *src, const char *dst, const char *type, unsigned long flags,
                         const char *data)
{
    if (mount(src, dst, type, flags, data) != 0)
        fatal("mount", dst);
}

static void mkdir_ok(const char *path, mode_t mode)
{
    if (mkdir(path, mode) != 0 && errno != EEXIST)
        fatal("mkdir", path);
}

static void mount_dev(void)
{
    /* Already mounted is fine (a kernel with CONFIG_DEVTMPFS_MOUNT). */
    if (mount("dev", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, NULL) != 0 && errno != EBUSY)
        fatal("mount", "/dev");
}

static void console_stdio(void)
{
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);
    if (fd < 0)
        fatal("open", "/dev/console");
    for (int i = 0; i < 3; i++)
        dup2(fd, i);
    if (fd > 2)
        close(fd);
}

/* Loads a kernel module file with its parameters; returns 0, or -1 with errno. */
static int load_module(const char *path, const char *params)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = (int)syscall(SYS_finit_module, fd, params, 0);
    int e = errno;
    close(fd);
    errno = e;
    return rc == 0 || errno == EEXIST ? 0 : -1;
}

/* Reads a file of lines into a NULL-terminated array (NULL if absent). */
static char **read_lines(const char *path, size_t *count)
{
    FILE *f = fopen(path, "re");
    *count = 0;
    if (!f)
        return NULL;
    char **v = calloc(MAX_LINES + 1, sizeof(*v));
    char line[MAX_LINE];
    if (!v)
        fatal("calloc", path);
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (*count == MAX_LINES)
            fatal("too many lines in", path);
        v[*count] = strdup(line);
        if (!v[*count])
            fatal("strdup", path);
        (*count)++;
    }
    fclose(f);
    return v;
}

/* The kernel keeps "module.param=value" words of its command line for
 * modules loaded later, but only hands them over when the loader asks (as
 * modprobe does): collect the ones for MOD into PARAMS. */
static void cmdline_params(const char *cmdline, const char *mod, char *params, size_t cap)
{
    size_t ml = strlen(mod), used = 0;
    params[0] = '\0';
    for (const char *w = cmdline; *w;) {
        size_t wl = strcspn(w, " \n");
        if (wl > ml + 1 && strncmp(w, mod, ml) == 0 && w[ml] == '.' && used + wl - ml < cap) {
            used += (size_t)snprintf(params + used, cap - used, "%s%.*s", used ? " " : "",
                                     (int)(wl - ml - 1), w + ml + 1);
        }
        w += wl;
        w += strspn(w, " \n");
    }
}

static void load_test_modules(void)
{
    size_t n;
    char **mods = read_lines("/vm-test/modules.order", &n);
    char cmdline[4096] = "";
    if (!mods)
        return;
    /* /proc is not mounted before the chroot: a short-lived mount to read it. */
    mkdir_ok("/vm-test/proc", 0555);
    mount_or_die("proc", "/vm-test/proc", "proc", MS_NODEV | MS_NOSUID | MS_NOEXEC, NULL);
    FILE *f = fopen("/vm-test/proc/cmdline", "re");
    if (!f || !fgets(cmdline, sizeof(cmdline), f))
        fatal("read", "/proc/cmdline");
    fclose(f);
    umount("/vm-test/proc");
    for (size_t i = 0; i < n; i++) {
        char path[512], params[1024];
        if (!mods[i][0])
            continue;
        snprintf(path, sizeof(path), "/vm-test/modules/%s.ko", mods[i]);
        cmdline_params(cmdline, mods[i], params, sizeof(params));
        if (load_module(path, params) != 0)
            fatal("test-only module", path);
        say("test-only: loaded module %s%s%s", mods[i], params[0] ? " " : "", params);
    }
}

static void nic_ioctl(int s, unsigned long req, struct ifreq *ifr, const char *what)
{
    if (ioctl(s, req, ifr) != 0)
        fatal("test NIC", what);
}

/* The test NIC: address and netmask by ioctl, then up. */
static void test_nic(void)
{
    size_t n;
    char **cfg = read_lines("/vm-test/net", &n);
    char ifname[IFNAMSIZ], addr[64];
    int prefix;
    if (!cfg || n < 1)
        return;
    if (sscanf(cfg[0], "%15s %63s %d", ifname, addr, &prefix) != 3 || prefix < 1 || prefix > 32) {
        errno = EINVAL;
        fatal("bad /vm-test/net line", cfg[0]);
    }
    /* The driver probes the device asynchronously after its module loads. */
    for (int i = 0; i < 500 && if_nametoindex(ifname) == 0; i++)
        usleep(20000);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        fatal("socket", "AF_INET");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1) {
        errno = EINVAL;
        fatal("bad address", addr);
    }
    nic_ioctl(s, SIOCSIFADDR, &ifr, "SIOCSIFADDR");
    sin->sin_addr.s_addr = htonl(0xffffffffu << (32 - prefix));
    nic_ioctl(s, SIOCSIFNETMASK, &ifr, "SIOCSIFNETMASK");
    nic_ioctl(s, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS");
    ifr.ifr_flags |= IFF_UP;
    nic_ioctl(s, SIOCSIFFLAGS, &ifr, "SIOCSIFFLAGS");
    close(s);
    say("test-only: %s up with %s/%d (QEMU user network, host-forwarded port)", ifname, addr,
        prefix);
}

static void enter_rootfs(void)
{
    mount_or_die("/rootfs", "/rootfs", NULL, MS_BIND, NULL);
    if (chdir("/rootfs") != 0)
        fatal("chdir", "/rootfs");
    mount_or_die(".", "/", NULL, MS_MOVE, NULL);
    if (chroot(".") != 0)
        fatal("chroot", ".");
    if (chdir("/") != 0)
        fatal("chdir", "/");
}

static void link_ok(const char *target, const char *linkpath)
{
    if (symlink(target, linkpath) != 0 && errno != EEXIST)
        fatal("symlink", linkpath);
}

/* One v1 hierarchy per enabled controller, as AWS's init does. */
static void mount_cgroups(void)
{
    FILE *f = fopen("/proc/cgroups", "re");
    char line[256], name[65];
    int hier, groups, enabled;
    if (!f)
        fatal("fopen", "/proc/cgroups");
    if (!fgets(line, sizeof(line), f)) /* header */
        fatal("read", "/proc/cgroups");
    while (fgets(line, sizeof(line), f)) {
        char path[128];
        if (sscanf(line, "%64s %d %d %d", name, &hier, &groups, &enabled) != 4 || !enabled)
            continue;
        snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", name);
        mkdir_ok(path, 0755);
        if (mount(name, path, "cgroup", MS_NODEV | MS_NOSUID | MS_NOEXEC, name) != 0) {
            say("cgroup v1 '%s' not mountable on this kernel (%s): skipped (AWS's 6.6 kernel "
                "mounts it)",
                name, strerror(errno));
            rmdir(path);
        }
    }
    fclose(f);
}

static void container_fs(void)
{
    const unsigned long nx = MS_NODEV | MS_NOSUID | MS_NOEXEC;
    mount_dev();
    mount_or_die("proc", "/proc", "proc", nx, NULL);
    link_ok("/proc/self/fd", "/dev/fd");
    link_ok("/proc/self/fd/0", "/dev/stdin");
    link_ok("/proc/self/fd/1", "/dev/stdout");
    link_ok("/proc/self/fd/2", "/dev/stderr");
    mount_or_die("tmpfs", "/run", "tmpfs", nx, "mode=0755");
    mount_or_die("tmpfs", "/tmp", "tmpfs", nx, NULL);
    mkdir_ok("/dev/shm", 0755);
    mount_or_die("shm", "/dev/shm", "tmpfs", nx, NULL);
    mkdir_ok("/dev/pts", 0755);
    mount_or_die("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, NULL);
    mount_or_die("sysfs", "/sys", "sysfs", nx, NULL);
    mount_or_die("cgroup_root", "/sys/fs/cgroup", "tmpfs", nx, "mode=0755");
    mount_cgroups();
}

/* Test-only agent: one line in, an answer out, per connection. */
static void agent_reply(int c, const char *line)
{
    char comm[64], out[8192];
    int sig = 0;
    size_t used = 0;
    bool do_kill = sscanf(line, "kill %63s %d", comm, &sig) == 2;
    if (!do_kill && sscanf(line, "pids %63s", comm) != 1) {
        if (strncmp(line, "meminfo", 7) == 0) {
            int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
            ssize_t k = fd >= 0 ? read(fd, out, sizeof(out)) : -1;
            if (k > 0 && write(c, out, (size_t)k) < 0)
                return;
            if (fd >= 0)
                close(fd);
            return;
        }
        dprintf(c, "error: kill COMM SIGNO | pids COMM | meminfo\n");
        return;
    }
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[300], name[64] = "";
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t k = fd >= 0 ? read(fd, name, sizeof(name) - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (k <= 0)
            continue;
        name[strcspn(name, "\n")] = '\0';
        if (strcmp(name, comm) != 0)
            continue;
        if (do_kill)
            kill((pid_t)strtol(e->d_name, NULL, 10), sig);
        used += (size_t)snprintf(out + used, sizeof(out) - used, "%s ", e->d_name);
        if (used >= sizeof(out) - 16)
            break;
    }
    if (d)
        closedir(d);
    dprintf(c, "%s\n", used ? out : "none");
}

/* Read before the chroot: /vm-test is in the initramfs, not in /rootfs. */
static int agent_port(void)
{
    size_t n;
    char **cfg = read_lines("/vm-test/agent", &n);
    return cfg && n >= 1 ? (int)strtol(cfg[0], NULL, 10) : 0;
}

static void start_agent(int port)
{
    if (port <= 0)
        return;
    pid_t pid = fork();
    if (pid != 0) {
        if (pid < 0)
            fatal("fork", "agent");
        say("test-only: agent on TCP port %d (kill, pids, meminfo)", port);
        return;
    }
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(s, 8) != 0)
        _exit(1);
    for (;;) {
        char line[256];
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        ssize_t k = read(c, line, sizeof(line) - 1);
        if (k > 0) {
            line[k] = '\0';
            line[strcspn(line, "\r\n")] = '\0';
            agent_reply(c, line);
        }
        close(c);
    }
}

static pid_t launch(char **argv, char **envp)
{
    pid_t pid = fork();
    if (pid < 0)
        fatal("fork", argv[0]);
    if (pid > 0)
        return pid;
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    setsid();
    /* PATH for the lookup only; the program gets exactly /env. */
    setenv("PATH", "/sbin:/usr/sbin:/bin:/usr/bin", 1);
    execvpe(argv[0], argv, envp);
    fatal("exec", argv[0]);
}

int main(void)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);

    mount_dev();
    console_stdio();
    say("stand-in for the AWS enclave init (test only); kernel modules, mounts, /env, /cmd, "
        "chroot, exec as AWS's init does");
    if (access("/nsm.ko", F_OK) == 0) {
        if (load_module("/nsm.ko", "") != 0)
            fatal("insert", "/nsm.ko");
        unlink("/nsm.ko");
        say("nsm.ko loaded (no NSM device in this VM: /dev/nsm will not appear)");
    }
    load_test_modules();
    say("no enclave heartbeat (vsock CID 3 port 9000): this VM has no vsock device, the host "
        "has no vhost-vsock");
    test_nic();

    size_t n_env, n_cmd, n_add;
    char **env = read_lines("/env", &n_env);
    char **cmd = read_lines("/cmd", &n_cmd);
    char **add = read_lines("/vm-test/cmd-append", &n_add);
    if (!cmd || n_cmd == 0) {
        errno = ENOENT;
        fatal("no command in", "/cmd");
    }
    if (!env) {
        env = calloc(1, sizeof(*env));
        if (!env)
            fatal("calloc", "env");
    }
    unlink("/env");
    unlink("/cmd");
    if (n_add) {
        char **argv = calloc(n_cmd + n_add + 1, sizeof(*argv));
        if (!argv)
            fatal("calloc", "argv");
        memcpy(argv, cmd, n_cmd * sizeof(*argv));
        memcpy(argv + n_cmd, add, n_add * sizeof(*argv));
        for (size_t i = 0; i < n_add; i++)
            say("test-only: appended to /cmd: %s", add[i]);
        cmd = argv;
    }
    for (size_t i = 0; i < n_env; i++)
        say("/env: %s", env[i]);

    int port = agent_port();
    enter_rootfs();
    container_fs();
    start_agent(port);
    pid_t pid = launch(cmd, env);
    say("started %s (pid %d)", cmd[0], (int)pid);
    for (;;) {
        int status;
        pid_t w = wait(&status);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            fatal("wait", NULL);
        if (w == pid) {
            if (WIFEXITED(status))
                say("%s exited with code %d: rebooting", cmd[0], WEXITSTATUS(status));
            else
                say("%s killed by signal %d: rebooting", cmd[0], WTERMSIG(status));
            break;
        }
    }
    sync();
    reboot(RB_AUTOBOOT);
    return 0;
}
