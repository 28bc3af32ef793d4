/* The real transport: /dev/nsm and its single ioctl. The uapi header
 * (<linux/nsm.h>, Linux 6.8+) is not in Debian 12's linux-libc-dev, so its
 * two-iovec layout is declared here from the published ABI. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "teerex/nsm.h"

struct nsm_iovec_abi {
    uint64_t addr;
    uint64_t len;
};
struct nsm_raw_abi {
    struct nsm_iovec_abi request;
    struct nsm_iovec_abi response;
};
#define NSM_MAGIC_ABI 0x0A
#define NSM_IOCTL_RAW_ABI _IOWR(NSM_MAGIC_ABI, 0x0, struct nsm_raw_abi)

static tr_result ioctl_call(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
                            size_t resp_cap, size_t *resp_len)
{
    int fd = *(const int *)ctx;
    TR_ENSURE(req_len <= NSM_REQUEST_MAX, TR_ERR_NSM_REQUEST_TOO_BIG);
    struct nsm_raw_abi raw;
    memset(&raw, 0, sizeof(raw));
    raw.request.addr = (uint64_t)(uintptr_t)req;
    raw.request.len = req_len;
    raw.response.addr = (uint64_t)(uintptr_t)resp;
    raw.response.len = resp_cap;
    int rc;
    do {
        rc = ioctl(fd, NSM_IOCTL_RAW_ABI, &raw);
    } while (rc < 0 && errno == EINTR);
    TR_ENSURE(rc == 0, TR_ERR_NSM_IOCTL);
    TR_ENSURE(raw.response.len <= resp_cap, TR_ERR_NSM_BAD_RESPONSE);
    *resp_len = (size_t)raw.response.len;
    return TR_SUCCESS;
}

TR_RESULT nsm_open(struct nsm_client *c, const char *path)
{
    TR_ENSURE_REF(c);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    int fd = open(path ? path : "/dev/nsm", O_RDWR | O_CLOEXEC);
    TR_ENSURE(fd >= 0, TR_ERR_NSM_NO_DEVICE);
    c->fd = fd;
    c->call = ioctl_call;
    c->ctx = &c->fd;
    return TR_SUCCESS;
}

void nsm_close(struct nsm_client *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->call = NULL;
    c->ctx = NULL;
}
