/* teerex bb upload's transfer (see cli_bb.h): the bundle as its
 * deterministic archive (written into an anonymous memory file), POSTed
 * with libcurl to /upload-bb of a teerexd admin listener. A vsock address
 * gets its socket from us (libcurl has no vsock): connected before libcurl
 * sees it, which CURL_SOCKOPT_ALREADY_CONNECTED tells it. */
#include <errno.h>
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli_bb.h"
#include "rt_addr.h"

struct up {
    int fd;
    char *answer;
    size_t cap, len;
    struct rt_addr vsock;
    bool use_vsock;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    struct up *u = ud;
    ssize_t k;
    do {
        k = read(u->fd, buf, size * n);
    } while (k < 0 && errno == EINTR);
    return k < 0 ? CURL_READFUNC_ABORT : (size_t)k;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    struct up *u = ud;
    size_t len = size * n, room = u->cap - 1 - u->len;
    size_t k = len < room ? len : room; /* the answer is short JSON; the rest is dropped */
    memcpy(u->answer + u->len, p, k);
    u->len += k;
    u->answer[u->len] = '\0';
    return len;
}

static curl_socket_t open_vsock(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)purpose;
    (void)addr;
    struct up *u = ud;
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    struct sockaddr_vm vm = {
        .svm_family = AF_VSOCK, .svm_cid = u->vsock.cid, .svm_port = u->vsock.port};
    if (connect(fd, (struct sockaddr *)&vm, sizeof(vm)) != 0) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

static int already_connected(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    (void)ud;
    (void)fd;
    (void)purpose;
    return CURL_SOCKOPT_ALREADY_CONNECTED;
}

/* URL and transport for ADDR. */
static TR_RESULT target(const char *addr, struct up *u, char *url, size_t cap, char *unix_path,
                        size_t ucap, struct cli_bb_why *why)
{
    int w;
    unix_path[0] = '\0';
    if (strncmp(addr, "http://", 7) == 0 || strncmp(addr, "https://", 8) == 0) {
        size_t n = strlen(addr);
        while (n > 0 && addr[n - 1] == '/')
            n--;
        w = snprintf(url, cap, "%.*s/upload-bb", (int)n, addr);
    } else {
        struct rt_addr a;
        if (!tr_ok(rt_addr_parse(addr, &a)) || a.cid_auto ||
            (a.kind == RT_ADDR_VSOCK && a.cid == RT_VSOCK_CID_ANY)) {
            cli_bb_say(why,
                       "bad admin address '%s' (tcp:HOST:PORT, unix:PATH, vsock:CID:PORT or "
                       "an http:// URL)",
                       addr);
            TR_BAIL(TR_ERR_USAGE);
        }
        if (a.kind == RT_ADDR_TCP) {
            w = snprintf(url, cap, "http://%s/upload-bb", addr + 4);
        } else if (a.kind == RT_ADDR_UNIX) {
            snprintf(unix_path, ucap, "%s", addr + 5);
            w = snprintf(url, cap, "http://localhost/upload-bb");
        } else {
            u->vsock = a;
            u->use_vsock = true;
            w = snprintf(url, cap, "http://127.0.0.1/upload-bb");
        }
    }
    TR_ENSURE(w > 0 && (size_t)w < cap, TR_ERR_OVERFLOW);
    return TR_SUCCESS;
}

tr_result cli_bb_upload(const char *addr, const char *version, const char *path, long *http_status,
                        char *answer, size_t answer_cap, char digest[BUNDLE_DIGEST_HEX],
                        struct cli_bb_why *why)
{
    struct up u = {.fd = -1, .answer = answer, .cap = answer_cap};
    char url[1200], unix_path[200];
    tr_result res = TR_SUCCESS;
    struct curl_slist *hl = NULL, *tmp;
    CURL *c = NULL;
    *http_status = 0;
    answer[0] = '\0';
    TR_ENSURE(answer_cap > 1, TR_ERR_USAGE);
    if (!bundle_version_valid(version)) {
        cli_bb_say(why, "'%s' is not a version name", version);
        TR_BAIL(TR_ERR_USAGE);
    }
    TR_GUARD(target(addr, &u, url, sizeof(url), unix_path, sizeof(unix_path), why));
    struct bundle b;
    res = bundle_open(path, &b);
    if (tr_ok(res))
        res = bundle_digest(&b, digest);
    if (!tr_ok(res)) {
        cli_bb_say(why, "%s is not a bundle: %s", path, tr_err_desc(res.err));
        return res;
    }
    u.fd = memfd_create("teerex-bundle.tar", MFD_CLOEXEC);
    TR_CHECK(u.fd >= 0, TR_ERR_SYS);
    TR_TRY(bundle_tar_write(&b, u.fd));
    off_t size = lseek(u.fd, 0, SEEK_END);
    TR_CHECK(size > 0 && lseek(u.fd, 0, SEEK_SET) == 0, TR_ERR_SYS);
    char h_ver[128], h_dig[128];
    snprintf(h_ver, sizeof(h_ver), "x-bb-version: %s", version);
    snprintf(h_dig, sizeof(h_dig), "x-bb-digest: %s", digest);
    const char *hs[] = {h_ver, h_dig, "Content-Type: application/x-tar"};
    for (size_t i = 0; i < 3; i++) {
        TR_CHECK((tmp = curl_slist_append(hl, hs[i])) != NULL, TR_ERR_NOMEM);
        hl = tmp;
    }
    c = curl_easy_init();
    TR_CHECK(c != NULL, TR_ERR_CLIENT_CURL);
    char err[CURL_ERROR_SIZE] = "";
    bool ok = curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)size) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_READDATA, &u) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_WRITEDATA, &u) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L) == CURLE_OK &&
              curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30L * 60 * 1000) == CURLE_OK;
    if (ok && unix_path[0])
        ok = curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path) == CURLE_OK;
    if (ok && u.use_vsock)
        ok = curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_vsock) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &u) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, already_connected) == CURLE_OK;
    TR_CHECK(ok, TR_ERR_CLIENT_CURL);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        cli_bb_say(why, "uploading to %s failed: %s", addr, err[0] ? err : curl_easy_strerror(rc));
        TR_FAIL(TR_ERR_CLIENT_NETWORK);
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_status);
out:
    if (c)
        curl_easy_cleanup(c);
    curl_slist_free_all(hl);
    if (u.fd >= 0)
        close(u.fd);
    return res;
}
