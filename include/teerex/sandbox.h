/* The prover's sandbox: every bb run is confined so that a compromised bb
 * cannot reach the key, the server, the admin API or another request
 * (docs/THREAT-MODEL.md).
 *
 * Parts, each probed at start-up and each one the operator can turn off:
 *   user     its own uid/gid (no passwd entry needed), no capabilities at all
 *   nnp      no_new_privs: no set-uid or file-capability gain through exec
 *   seccomp  a system call filter: ptrace, process_vm_*, mount, bpf, kexec,
 *            keyctl, perf_event_open, namespaces, io_uring... kill the prover;
 *            sockets other than AF_UNIX fail with EACCES (vsock is not
 *            confined by network namespaces)
 *   rlimits  address space, file size, processes, open files, CPU time, no core
 *   pid      its own PID namespace: it sees no other process; it is PID 1 there,
 *            so when it dies everything it started dies with it
 *   net      its own network namespace: no interface up, no route, no listener
 *   mount    its own mount namespace: a private tmpfs root, read-only, holding
 *            only the read-only paths it was given (at the same paths, so argv
 *            needs no rewriting), /dev/{null,zero,full,random,urandom}, its own
 *            /proc, and its work directory /job read-write. The tmpfs is never
 *            attached to the host's tree: teerexd writes the input and reads the
 *            output through a descriptor, and it is freed when teerexd and the
 *            prover are both gone (even after kill -9: no plaintext on disk)
 *   ipc, uts its own System V IPC / message queues and host name
 * Always: its own session, SIGKILL when the spawning thread dies
 * (parent-death signal), a clean signal state, no inherited descriptors.
 *
 * The seccomp filter is built once with libseccomp (Debian's: it resolves
 * system call names, adds the architecture checks that stop i386/x32 entry
 * points from bypassing an x86-64 filter, and compiles argument tests) and
 * exported as BPF; each prover only loads the ready program.
 */
#ifndef TEEREX_SANDBOX_H
#define TEEREX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "teerex/buf.h"
#include "teerex/proc.h"
#include "teerex/result.h"

enum sbx_part {
    SBX_USER = 1u << 0,
    SBX_NNP = 1u << 1,
    SBX_SECCOMP = 1u << 2,
    SBX_RLIMITS = 1u << 3,
    SBX_PID = 1u << 4,
    SBX_NET = 1u << 5,
    SBX_MOUNT = 1u << 6,
    SBX_IPC = 1u << 7,
    SBX_UTS = 1u << 8,
};
#define SBX_ALL 0x1ffu
#define SBX_NPARTS 9
#define SBX_JOB_DIR "/job" /* the work directory as the prover sees it (mount part) */
#define SBX_MAX_RO 32      /* read-only paths of one job */

/* "user", "nnp", ... for one part; NULL for anything else. */
const char *sbx_part_name(unsigned part);
/* A comma-separated list of part names, or "all", or "" (none). */
TR_RESULT sbx_parts_parse(const char *list, unsigned *out);
/* The names of the parts in mask, comma-separated ("" when none). */
void sbx_parts_str(unsigned mask, char *out, size_t cap);

struct sbx_config {
    unsigned disabled; /* parts the operator turned off */
    uint32_t uid, gid;
    uint64_t memory_bytes; /* RLIMIT_AS; 0: unlimited */
    uint64_t file_bytes;   /* RLIMIT_FSIZE: largest file the prover may write */
    uint64_t max_procs;    /* RLIMIT_NPROC of the prover uid: its threads and processes */
    uint64_t max_files;    /* RLIMIT_NOFILE */
    uint64_t cpu_seconds;  /* RLIMIT_CPU; 0: unlimited */
};

struct sbx;
/* Builds the filter and probes every part the config leaves on by running
 * the real set-up in a child that exits instead of exec'ing. A part the
 * kernel or our privileges lack is left out and reported by
 * sbx_unavailable/sbx_why: the caller decides whether to run without it. */
TR_RESULT sbx_create(const struct sbx_config *cfg, struct sbx **out);
void sbx_free(struct sbx *s);
unsigned sbx_active(const struct sbx *s);      /* parts in force */
unsigned sbx_unavailable(const struct sbx *s); /* wanted, but missing here */
/* Why a part is unavailable ("clone: Operation not permitted"); "" if it is not. */
const char *sbx_why(const struct sbx *s, unsigned part);
const struct sbx_config *sbx_config(const struct sbx *s);

/* One prover run: its private work directory and what it may see. */
struct sbx_job_opts {
    const char *ro_paths[SBX_MAX_RO]; /* absolute, normalised, existing */
    size_t n_ro;
    const char *host_parent; /* parent of the work directory without the mount part */
    uint64_t work_bytes;     /* size of the private tmpfs (inputs + outputs) */
};
struct sbx_job;
TR_RESULT sbx_job_create(struct sbx *s, const struct sbx_job_opts *o, struct sbx_job **out);
/* The work directory as the prover sees it (SBX_JOB_DIR, or a host path). */
const char *sbx_job_dir(const struct sbx_job *j);
/* A file or directory in the work directory, owned by the prover's uid. */
TR_RESULT sbx_job_write(struct sbx_job *j, const char *name, struct tr_slice data);
TR_RESULT sbx_job_mkdir(struct sbx_job *j, const char *name);
/* Appends a regular file of the work directory ("output/proof") to out,
 * following no symbolic link and opening nothing but regular files
 * (TR_ERR_SANDBOX_OUTPUT otherwise); TR_ERR_NOT_FOUND when absent. */
TR_RESULT sbx_job_read(struct sbx_job *j, const char *relpath, struct tr_buf *out);
/* Spawns base (path, argv, envp, fds) inside the job's sandbox: its session,
 * the namespaces, the hooks, cwd = the work directory, parent-death SIGKILL.
 * TR_ERR_SANDBOX_SETUP when a set-up step fails (p->spawn_step, see
 * sbx_step_name). */
TR_RESULT sbx_job_spawn(struct sbx_job *j, const struct tr_proc_spec *base, struct tr_proc *p);
/* Removes the work directory and frees the job. */
void sbx_job_destroy(struct sbx_job *j);

/* Names a spawn step (the sandbox's own and tr_proc's). */
const char *sbx_step_name(int step);
/* True when status says the prover was killed by the system call filter. */
bool sbx_killed_by_filter(const struct sbx *s, int status);
/* At start-up: removes host work directories (teerexd-<pid>.*) that a
 * teerexd no longer running left in parent; returns how many. */
size_t sbx_remove_stale(const char *parent);

#endif
