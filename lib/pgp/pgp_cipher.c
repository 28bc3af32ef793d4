/* Maps OpenPGP algorithm identifiers to OpenSSL ciphers (RFC 9580 9.3, 9.6).
 * Only AES is supported: it is what openpgp.js and GnuPG pick for our key's
 * preferences, and everything else is refused with a specific error. */
#include "pgp_internal.h"

size_t pgp_cipher_key_len(uint8_t sym)
{
    switch (sym) {
    case PGP_SYM_AES128: return 16;
    case PGP_SYM_AES192: return 24;
    case PGP_SYM_AES256: return 32;
    default: return 0;
    }
}

const EVP_CIPHER *pgp_cipher_cfb(uint8_t sym)
{
    switch (sym) {
    case PGP_SYM_AES128: return EVP_aes_128_cfb128();
    case PGP_SYM_AES192: return EVP_aes_192_cfb128();
    case PGP_SYM_AES256: return EVP_aes_256_cfb128();
    default: return NULL;
    }
}

size_t pgp_aead_nonce_len(uint8_t aead)
{
    switch (aead) {
    case PGP_AEAD_OCB: return 15;
    case PGP_AEAD_GCM: return 12;
    default: return 0;
    }
}

const EVP_CIPHER *pgp_cipher_aead(uint8_t sym, uint8_t aead)
{
    if (aead == PGP_AEAD_OCB) {
        switch (sym) {
        case PGP_SYM_AES128: return EVP_aes_128_ocb();
        case PGP_SYM_AES192: return EVP_aes_192_ocb();
        case PGP_SYM_AES256: return EVP_aes_256_ocb();
        default: return NULL;
        }
    }
    if (aead == PGP_AEAD_GCM) {
        switch (sym) {
        case PGP_SYM_AES128: return EVP_aes_128_gcm();
        case PGP_SYM_AES192: return EVP_aes_192_gcm();
        case PGP_SYM_AES256: return EVP_aes_256_gcm();
        default: return NULL;
        }
    }
    return NULL;
}
