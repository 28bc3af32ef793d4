/* The emulator's test PKI: an EC P-384 root and three intermediates made on
 * demand in a directory (never committed), and short-lived leaves. Only
 * the last intermediate's key is stored (mode 0600): the root and upper
 * keys are discarded once the chain is made. Files: root.pem, ca1.pem,
 * ca2.pem, ca3.pem, ca3.key; root.pem is written last, so its presence
 * means the set is complete. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "nsm_emu_internal.h"

#define E_PKI TR_ERR_NSM_EMU_PKI

static const char *const CA_FILES[EMU_CHAIN_LEN] = {"root.pem", "ca1.pem", "ca2.pem", "ca3.pem"};

void emu_pki_free(struct emu_pki *pki)
{
    if (pki == NULL)
        return;
    for (int i = 0; i < EMU_CHAIN_LEN; i++)
        tr_buf_free(&pki->ca_der[i]);
    X509_free(pki->issuer);
    EVP_PKEY_free(pki->issuer_key);
    X509_free(pki->leaf);
    EVP_PKEY_free(pki->leaf_key);
    tr_buf_free(&pki->leaf_der);
    memset(pki, 0, sizeof(*pki));
}

static bool add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return false;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1;
}

/* Makes a certificate for key, signed by issuer_key (self-signed when issuer is NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       int64_t not_before, int64_t not_after, bool ca, int pathlen)
{
    X509 *x = X509_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    bool ok = x != NULL && RAND_bytes(serial, sizeof(serial)) == 1;
    serial[0] &= 0x7f;
    ok = ok && (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL &&
         BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL && X509_set_version(x, 2) == 1 &&
         X509_set_pubkey(x, key) == 1 &&
         ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) != NULL &&
         ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) != NULL;
    BN_free(bn);
    X509_NAME *name = ok ? X509_get_subject_name(x) : NULL;
    ok = ok &&
         X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, (const unsigned char *)"US", -1, -1,
                                    0) &&
         X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                    (const unsigned char *)"tee-rex NSM emulator (TEST ONLY)", -1,
                                    -1, 0) &&
         X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    ok = ok && X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) == 1;
    X509 *iss = issuer ? issuer : x;
    if (ok && ca) {
        char bc[32];
        snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d", pathlen);
        ok = add_ext(x, iss, NID_basic_constraints, bc) &&
             add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_ext(x, iss, NID_subject_key_identifier, "hash") &&
             (issuer == NULL || add_ext(x, iss, NID_authority_key_identifier, "keyid:always"));
    } else if (ok) {
        ok = add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") &&
             add_ext(x, iss, NID_key_usage, "critical,digitalSignature") &&
             add_ext(x, iss, NID_authority_key_identifier, "keyid:always");
    }
    ok = ok && X509_sign(x, issuer_key, EVP_sha384()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static tr_result der_of(X509 *x, struct tr_buf *out)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    TR_ENSURE(n > 0, TR_ERR_OSSL);
    tr_result r = tr_buf_append(out, der, (size_t)n);
    OPENSSL_free(der);
    return r;
}

static tr_result path_in(const char *dir, const char *file, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    TR_ENSURE(n > 0 && (size_t)n < cap, E_PKI);
    return TR_SUCCESS;
}

/* Writes PEM (certificate or private key) atomically: temp file + rename. */
static tr_result write_pem(const char *dir, const char *file, X509 *cert, EVP_PKEY *key)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    TR_GUARD(path_in(dir, file, path, sizeof(path)));
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
    TR_ENSURE(n > 0 && (size_t)n < sizeof(tmp), E_PKI);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, key ? 0600 : 0644);
    TR_ENSURE(fd >= 0, E_PKI);
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        TR_BAIL(E_PKI);
    }
    int ok =
        key ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(f, cert);
    ok = ok == 1 && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        TR_BAIL(E_PKI);
    }
    return TR_SUCCESS;
}

static tr_result create_chain(const char *dir)
{
    tr_result res = TR_SUCCESS;
    EVP_PKEY *keys[EMU_CHAIN_LEN] = {0};
    X509 *certs[EMU_CHAIN_LEN] = {0};
    int64_t now = (int64_t)time(NULL);
    static const char *const CN[EMU_CHAIN_LEN] = {"teerex-nsm-emu root", "teerex-nsm-emu region",
                                                  "teerex-nsm-emu zone", "teerex-nsm-emu instance"};
    for (int i = 0; i < EMU_CHAIN_LEN; i++) {
        keys[i] = EVP_EC_gen("P-384");
        TR_CHECK(keys[i] != NULL, E_PKI);
        certs[i] = make_cert(keys[i], CN[i], i ? certs[i - 1] : NULL, i ? keys[i - 1] : keys[0],
                             now - 3600, now + (int64_t)(10 - i) * 365 * 86400, true,
                             EMU_CHAIN_LEN - 1 - i);
        TR_CHECK(certs[i] != NULL, E_PKI);
    }
    TR_TRY(write_pem(dir, "ca3.key", NULL, keys[EMU_CHAIN_LEN - 1]));
    for (int i = EMU_CHAIN_LEN - 1; i >= 0; i--) /* root.pem last */
        TR_TRY(write_pem(dir, CA_FILES[i], certs[i], NULL));
out:
    for (int i = 0; i < EMU_CHAIN_LEN; i++) {
        EVP_PKEY_free(keys[i]);
        X509_free(certs[i]);
    }
    return res;
}

static X509 *read_cert(const char *dir, const char *file)
{
    char path[PATH_MAX];
    if (!tr_ok(path_in(dir, file, path, sizeof(path))))
        return NULL;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

static tr_result load_chain(const char *dir, struct emu_pki *pki)
{
    char path[PATH_MAX];
    for (int i = 0; i < EMU_CHAIN_LEN; i++) {
        X509 *x = read_cert(dir, CA_FILES[i]);
        TR_ENSURE(x != NULL, E_PKI);
        tr_buf_init(&pki->ca_der[i], 8192);
        tr_result r = der_of(x, &pki->ca_der[i]);
        if (i == EMU_CHAIN_LEN - 1 && tr_ok(r))
            pki->issuer = x;
        else
            X509_free(x);
        TR_GUARD(r);
    }
    TR_GUARD(path_in(dir, "ca3.key", path, sizeof(path)));
    FILE *f = fopen(path, "r");
    TR_ENSURE(f != NULL, E_PKI);
    pki->issuer_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    TR_ENSURE(pki->issuer_key != NULL, E_PKI);
    TR_ENSURE(X509_check_private_key(pki->issuer, pki->issuer_key) == 1, E_PKI);
    TR_GUARD(path_in(dir, "root.pem", pki->root_path, sizeof(pki->root_path)));
    return TR_SUCCESS;
}

tr_result emu_pki_load(const char *dir, struct emu_pki *pki)
{
    TR_ENSURE_REF(dir);
    TR_ENSURE_REF(pki);
    memset(pki, 0, sizeof(*pki));
    tr_buf_init(&pki->leaf_der, 8192);
    TR_ENSURE(mkdir(dir, 0700) == 0 || errno == EEXIST, E_PKI);
    /* The CA key lives here: refuse a directory someone else owns or can
     * write to (the default is under a shared /tmp). */
    struct stat st;
    TR_ENSURE(lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
                  (st.st_mode & 022) == 0,
              E_PKI);
    char lock[PATH_MAX], root[PATH_MAX];
    TR_GUARD(path_in(dir, ".lock", lock, sizeof(lock)));
    TR_GUARD(path_in(dir, "root.pem", root, sizeof(root)));
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    TR_ENSURE(lfd >= 0, E_PKI);
    tr_result res = TR_SUCCESS;
    TR_CHECK(flock(lfd, LOCK_EX) == 0, E_PKI);
    if (access(root, R_OK) != 0)
        TR_TRY(create_chain(dir));
    TR_TRY(load_chain(dir, pki));
out:
    close(lfd); /* releases the lock */
    if (!tr_ok(res))
        emu_pki_free(pki);
    return res;
}

tr_result emu_pki_new_leaf(struct emu_pki *pki, const char *module_id, unsigned lifetime_s)
{
    int64_t now = (int64_t)time(NULL);
    EVP_PKEY *key = EVP_EC_gen("P-384");
    TR_ENSURE(key != NULL, E_PKI);
    X509 *leaf = make_cert(key, module_id, pki->issuer, pki->issuer_key, now - 60,
                           now + (int64_t)lifetime_s, false, 0);
    if (leaf == NULL) {
        EVP_PKEY_free(key);
        TR_BAIL(E_PKI);
    }
    X509_free(pki->leaf);
    EVP_PKEY_free(pki->leaf_key);
    pki->leaf = leaf;
    pki->leaf_key = key;
    pki->leaf_not_after = now + (int64_t)lifetime_s;
    tr_buf_clear(&pki->leaf_der);
    return der_of(leaf, &pki->leaf_der);
}
