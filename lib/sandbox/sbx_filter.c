/* The prover's system call filter, built once with libseccomp and exported as
 * a BPF program that each prover child loads with seccomp(2).
 *
 * A deny-list, not an allow-list: bb is a large C++ program whose releases
 * change (threads, allocators, the C library's own choice of calls), and an
 * allow-list that misses one call kills every proof of some release. What a
 * prover never needs, and what an attacker who owns it would reach for, is
 * refused: debugging other processes, mounts and namespaces, kernel keyrings,
 * BPF, perf, modules, kexec, io_uring (its operations bypass seccomp), clock
 * and system settings. Those kill the process (the kernel logs the call).
 * Sockets other than AF_UNIX fail with EACCES: vsock is not confined by
 * network namespaces and would reach the parent instance. clone3 fails with
 * ENOSYS so the C library falls back to clone, whose flags a filter can
 * read; clone with a namespace flag kills the process. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "sbx_internal.h"

static const char *const KILL_CALLS[] = {
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "kcmp",
    "pidfd_getfd",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "mount_setattr",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "unshare",
    "setns",
    "bpf",
    "kexec_load",
    "kexec_file_load",
    "keyctl",
    "add_key",
    "request_key",
    "perf_event_open",
    "init_module",
    "finit_module",
    "delete_module",
    "userfaultfd",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "iopl",
    "ioperm",
    "lookup_dcookie",
    "name_to_handle_at",
    "open_by_handle_at",
    "uselib",
    "vhangup",
    "sethostname",
    "setdomainname",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "fanotify_init",
    "nfsservctl",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "_sysctl",
};

static const unsigned long NS_FLAGS[] = {
    CLONE_NEWNS,  CLONE_NEWUSER, CLONE_NEWPID,    CLONE_NEWNET,
    CLONE_NEWIPC, CLONE_NEWUTS,  CLONE_NEWCGROUP,
};

static TR_RESULT rules(scmp_filter_ctx ctx)
{
    for (size_t i = 0; i < sizeof(KILL_CALLS) / sizeof(KILL_CALLS[0]); i++) {
        int nr = seccomp_syscall_resolve_name(KILL_CALLS[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not a system call of this architecture */
        TR_ENSURE(seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0) == 0, TR_ERR_SANDBOX_FILTER);
    }
    for (size_t i = 0; i < sizeof(NS_FLAGS) / sizeof(NS_FLAGS[0]); i++)
        TR_ENSURE(seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
                                   SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS[i], NS_FLAGS[i])) == 0,
                  TR_ERR_SANDBOX_FILTER);
    TR_ENSURE(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) == 0,
              TR_ERR_SANDBOX_FILTER);
    TR_ENSURE(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
                               SCMP_A0(SCMP_CMP_NE, AF_UNIX, 0)) == 0,
              TR_ERR_SANDBOX_FILTER);
    return TR_SUCCESS;
}

tr_result sbx_filter_build(struct sock_fprog *out)
{
    tr_result res = TR_SUCCESS;
    int fd = -1;
    memset(out, 0, sizeof(*out));
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    TR_CHECK(ctx != NULL, TR_ERR_SANDBOX_FILTER);
    /* Another architecture's entry points (i386 int 0x80, x32) are killed. */
    TR_CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) == 0,
             TR_ERR_SANDBOX_FILTER);
    TR_CHECK(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) == 0, TR_ERR_SANDBOX_FILTER);
    TR_TRY(rules(ctx));
    fd = memfd_create("teerexd-seccomp", MFD_CLOEXEC);
    TR_CHECK(fd >= 0, TR_ERR_SANDBOX_FILTER);
    TR_CHECK(seccomp_export_bpf(ctx, fd) == 0, TR_ERR_SANDBOX_FILTER);
    off_t len = lseek(fd, 0, SEEK_END);
    TR_CHECK(len > 0 && len % (off_t)sizeof(struct sock_filter) == 0 &&
                 len / (off_t)sizeof(struct sock_filter) <= BPF_MAXINSNS,
             TR_ERR_SANDBOX_FILTER);
    struct sock_filter *prog = malloc((size_t)len);
    TR_CHECK(prog != NULL, TR_ERR_NOMEM);
    if (pread(fd, prog, (size_t)len, 0) != len) {
        free(prog);
        TR_FAIL(TR_ERR_SANDBOX_FILTER);
    }
    out->filter = prog;
    out->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
out:
    if (fd >= 0)
        close(fd);
    seccomp_release(ctx);
    return res;
}

void sbx_filter_free(struct sock_fprog *f)
{
    free(f->filter);
    memset(f, 0, sizeof(*f));
}
