/* Internal interface of the NSM emulator (nsm_emu.c, nsm_emu_pki.c). */
#ifndef TEEREX_NSM_EMU_INTERNAL_H
#define TEEREX_NSM_EMU_INTERNAL_H

#include <limits.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "teerex/nsm.h"

#define EMU_CHAIN_LEN 4 /* root + 3 intermediates, like AWS cabundles */

struct emu_pki {
    struct tr_buf ca_der[EMU_CHAIN_LEN]; /* root first */
    X509 *issuer;                        /* last intermediate */
    EVP_PKEY *issuer_key;
    X509 *leaf;
    EVP_PKEY *leaf_key;
    struct tr_buf leaf_der;
    int64_t leaf_not_after; /* Unix seconds */
    char root_path[PATH_MAX];
};

/* Loads the CA chain from dir or creates it (under a lock). */
tr_result emu_pki_load(const char *dir, struct emu_pki *pki);
/* A fresh leaf valid from now - 60 s for lifetime_s, CN = module_id. */
tr_result emu_pki_new_leaf(struct emu_pki *pki, const char *module_id, unsigned lifetime_s);
void emu_pki_free(struct emu_pki *pki);

#endif
