/* Internal interfaces between the files of lib/pgp (not installed).
 *
 * Why hand-written: see include/teerex/pgp.h. This header only shares the
 * packet-level helpers between the per-packet files; every primitive comes
 * from OpenSSL 3 or zlib.
 */
#ifndef TEEREX_PGP_INTERNAL_H
#define TEEREX_PGP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "teerex/buf.h"
#include "teerex/limits.h"
#include "teerex/pgp.h"

/* Packet tags (RFC 9580 section 5). */
enum {
    PGP_TAG_PKESK = 1,
    PGP_TAG_SIGNATURE = 2,
    PGP_TAG_SKESK = 3,
    PGP_TAG_OPS = 4,
    PGP_TAG_SECRET_KEY = 5,
    PGP_TAG_PUBLIC_KEY = 6,
    PGP_TAG_SECRET_SUBKEY = 7,
    PGP_TAG_COMPRESSED = 8,
    PGP_TAG_SED = 9,
    PGP_TAG_MARKER = 10,
    PGP_TAG_LITERAL = 11,
    PGP_TAG_TRUST = 12,
    PGP_TAG_USER_ID = 13,
    PGP_TAG_PUBLIC_SUBKEY = 14,
    PGP_TAG_USER_ATTRIBUTE = 17,
    PGP_TAG_SEIPD = 18,
    PGP_TAG_AEAD_LIBREPGP = 20,
    PGP_TAG_PADDING = 21,
};

/* Algorithm identifiers (RFC 9580 section 9). */
enum {
    PGP_PK_ECDH = 18,
    PGP_PK_EDDSA_LEGACY = 22,
    PGP_PK_X25519 = 25,  /* RFC 9580 native X25519 (recipients only) */
    PGP_PK_ED25519 = 27, /* RFC 9580 native Ed25519 (recipients only) */
    PGP_SYM_AES128 = 7,
    PGP_SYM_AES192 = 8,
    PGP_SYM_AES256 = 9,
    PGP_AEAD_OCB = 2,
    PGP_AEAD_GCM = 3,
    PGP_HASH_SHA256 = 8,
    PGP_HASH_SHA384 = 9,
    PGP_HASH_SHA512 = 10,
    PGP_COMP_NONE = 0,
    PGP_COMP_ZIP = 1,
    PGP_COMP_ZLIB = 2,
};

#define PGP_AEAD_TAG_LEN 16
#define PGP_V2_SALT_LEN 32
#define PGP_MAX_SESSION_KEY 32
#define PGP_FPR_LEN 20
#define PGP_X25519_LEN 32

/* Legacy curve OIDs used by v4 Curve25519 keys (RFC 9580 section 9.2). */
extern const uint8_t PGP_OID_ED25519_LEGACY[9];
extern const uint8_t PGP_OID_CV25519_LEGACY[10];

/* ---- pgp_packet.c: packet framing and MPIs ---- */
struct pgp_packet {
    uint8_t tag;
    int partial;          /* body was sent in partial lengths (assembled into scratch) */
    struct tr_slice body; /* into the input, or into scratch when partial */
};

/* Reads one packet (old or new header). A partial-length body is assembled
 * into scratch (cleared first; its cap bounds the size) and body points
 * there; otherwise body borrows the input. */
TR_RESULT pgp_packet_read(struct tr_reader *r, struct tr_buf *scratch, struct pgp_packet *out);

/* A packet header decoded from the octets at hand: the one place the header
 * rules live (pgp_packet_read_segs and the streaming framer both use it). */
struct pgp_header {
    uint8_t tag;
    uint8_t size;      /* octets of the header; 0 when more octets are needed */
    int partial;       /* the first length is a partial length (>= 512) */
    int indeterminate; /* old format, length type 3: the body runs to the end */
    size_t len;        /* first (or only) piece length */
};
TR_RESULT pgp_header_decode(const uint8_t *p, size_t n, struct pgp_header *out);
/* A new-format length (RFC 9580 4.2.1); *size 0 when more octets are needed. */
void pgp_length_decode(const uint8_t *p, size_t n, size_t *len, int *partial, size_t *size);

/* Streamed bodies come in pieces of 512 octets or more in practice
 * (openpgp.js, GnuPG); later pieces may legally be tiny, so their number per
 * packet is capped (TOO_MANY_PACKETS) to bound the piece list. */
#define PGP_MAX_PIECES ((size_t)1 << 18)

/* A packet body as the pieces it was sent in (one piece unless partial
 * lengths were used), borrowed from the input: lets large streamed bodies be
 * decrypted or copied once, without assembling them first. */
struct pgp_segs {
    struct tr_slice *v;
    size_t n, cap;
    size_t total;
};
void pgp_segs_free(struct pgp_segs *s);
TR_RESULT pgp_packet_read_segs(struct tr_reader *r, struct pgp_segs *segs, uint8_t *out_tag);
/* Sequential reading across the pieces. */
struct pgp_seg_cursor {
    const struct pgp_segs *s;
    size_t i, off, pos;
};
void pgp_seg_cursor_init(struct pgp_seg_cursor *c, const struct pgp_segs *s);
/* Copies exactly n octets (TRUNCATED when fewer remain). */
TR_RESULT pgp_seg_copy(struct pgp_seg_cursor *c, uint8_t *dst, size_t n);
/* The next contiguous run of at most max octets (empty at the end). */
struct tr_slice pgp_seg_next(struct pgp_seg_cursor *c, size_t max);
/* New-format header with a definite length. */
TR_RESULT pgp_packet_write_header(struct tr_buf *out, uint8_t tag, size_t body_len);
/* MPI: 2-octet bit count + big-endian magnitude, no leading zero octets. */
TR_RESULT pgp_mpi_read(struct tr_reader *r, struct tr_slice *out);
TR_RESULT pgp_mpi_write(struct tr_buf *out, const uint8_t *p, size_t n);
/* A Curve25519 point as MPI: 0x40 || 32 octets (263 bits). */
TR_RESULT pgp_point_read(struct tr_reader *r, uint8_t out[PGP_X25519_LEN]);

/* ---- pgp_frame.c: packet framing as the octets arrive ---- */
/* Tracks where headers, partial lengths and bodies are in a stream fed in
 * pieces of any size, with exactly the errors of pgp_packet_read_segs (a
 * body's octets are the caller's: it asks how many are at hand). */
struct pgp_framer {
    uint8_t hdr[6];
    uint8_t hdr_n;     /* octets of a header or partial length held */
    uint8_t tag;       /* the packet being read */
    uint8_t in_packet; /* a header was read and the packet has not ended */
    uint8_t in_body;   /* inside a piece's body (else: a header or length is next) */
    uint8_t more;      /* the current piece is partial: a length follows it */
    uint8_t to_end;    /* indeterminate length: the body runs to the end */
    size_t left;       /* body octets left in the current piece */
    size_t pieces;     /* pieces of the packet completed */
};
enum { PGP_FRAME_START = 1, PGP_FRAME_END = 2 };
void pgp_framer_init(struct pgp_framer *f);
/* Between packets: the next octet begins a new one. */
static inline int pgp_framer_idle(const struct pgp_framer *f)
{
    return !f->in_packet && f->hdr_n == 0;
}
/* How many of the next n octets belong to the current piece's body. */
static inline size_t pgp_framer_body(const struct pgp_framer *f, size_t n)
{
    if (!f->in_body)
        return 0;
    return f->to_end || n < f->left ? n : f->left;
}
/* Reads header or partial-length octets at the front of p (not in a body):
 * *used octets were consumed; *ev gets PGP_FRAME_START when a header was
 * completed (f->tag is the packet's) and PGP_FRAME_END when the packet
 * ended with it (an empty body). */
TR_RESULT pgp_framer_head(struct pgp_framer *f, const uint8_t *p, size_t n, size_t *used, int *ev);
/* The caller took k body octets (k <= pgp_framer_body). *ev gets
 * PGP_FRAME_END when that ended the packet. */
TR_RESULT pgp_framer_took(struct pgp_framer *f, size_t k, int *ev);
/* The stream ended: TRUNCATED inside a packet, except that an
 * indeterminate body ends here (*ev = PGP_FRAME_END). */
TR_RESULT pgp_framer_end(struct pgp_framer *f, int *ev);

/* ---- pgp_armor.c ---- */
uint32_t pgp_crc24(const uint8_t *p, size_t n);
TR_RESULT pgp_armor_encode(const char *type, const uint8_t *p, size_t n, struct tr_buf *out);

/* ---- pgp_keypkt.c: v4 key packet bodies and fingerprints ---- */
struct pgp_ecdh_pub {
    uint8_t algo; /* PGP_PK_X25519: native key (no KDF fields); anything else: PGP_PK_ECDH */
    uint8_t point[PGP_X25519_LEN];
    uint8_t kdf_hash; /* PGP_HASH_* */
    uint8_t kdf_sym;  /* PGP_SYM_* (key wrap) */
    uint8_t fpr[PGP_FPR_LEN];
};
TR_RESULT pgp_keypkt_write_ed25519(struct tr_buf *out, uint32_t created, const uint8_t pub[32]);
TR_RESULT pgp_keypkt_write_ecdh(struct tr_buf *out, uint32_t created, const struct pgp_ecdh_pub *k);
TR_RESULT pgp_keypkt_parse_ed25519(struct tr_slice body, uint32_t *created, uint8_t pub[32]);
/* Also fills k->fpr. */
TR_RESULT pgp_keypkt_parse_ecdh(struct tr_slice body, uint32_t *created, struct pgp_ecdh_pub *k);
/* RFC 9580 native keys (5.5.5.7, 5.5.5.9): v4, algorithm 27 / 25, 32 raw
 * octets. parse_x25519 sets k->algo = PGP_PK_X25519 and fills k->fpr. */
TR_RESULT pgp_keypkt_parse_ed25519_native(struct tr_slice body, uint32_t *created, uint8_t pub[32]);
TR_RESULT pgp_keypkt_parse_x25519(struct tr_slice body, uint32_t *created, struct pgp_ecdh_pub *k);
/* A recipient's primary: EdDSALegacy (22) or Ed25519 (27); *algo says which. */
TR_RESULT pgp_keypkt_parse_signer(struct tr_slice body, uint32_t *created, uint8_t *algo,
                                  uint8_t pub[32]);
/* A recipient's encryption subkey: ECDH Curve25519 (18) or X25519 (25);
 * UNSUPPORTED_PUBKEY_ALGO / UNSUPPORTED_VERSION for any other kind. */
TR_RESULT pgp_keypkt_parse_enc(struct tr_slice body, uint32_t *created, struct pgp_ecdh_pub *k);
/* v4 fingerprint: SHA-1(0x99 || be16 len || body). */
TR_RESULT pgp_keypkt_fingerprint(struct tr_slice body, uint8_t out[PGP_FPR_LEN]);

/* ---- pgp_sig.c: v4 certification signatures over Ed25519 ---- */
enum { PGP_SIGTYPE_POSITIVE_CERT = 0x13, PGP_SIGTYPE_SUBKEY_BINDING = 0x18 };
/* Appends a whole signature packet (header included). `target` is the user
 * ID (positive cert) or the subkey body (binding). */
TR_RESULT pgp_sig_make(EVP_PKEY *signer, const uint8_t signer_fpr[PGP_FPR_LEN], uint8_t type,
                       uint32_t created, struct tr_slice primary_body, struct tr_slice target,
                       struct tr_buf *out);
/* Verifies a v4 EdDSA-legacy signature packet body of the given type. */
TR_RESULT pgp_sig_verify(EVP_PKEY *signer, uint8_t type, struct tr_slice primary_body,
                         struct tr_slice target, struct tr_slice sig_body);
/* Same, for a signer of key algorithm key_algo: PGP_PK_EDDSA_LEGACY (r and s
 * as MPIs) or PGP_PK_ED25519 (64-octet native signature, RFC 9580 5.2.3.4). */
TR_RESULT pgp_sig_verify_alg(EVP_PKEY *signer, uint8_t key_algo, uint8_t type,
                             struct tr_slice primary_body, struct tr_slice target,
                             struct tr_slice sig_body);

/* ---- pgp_ecdh.c: RFC 9580 section 11.5 KDF + AES key wrap ---- */
/* kek = Hash(00000001 || Z || param), truncated to the key-wrap key size. */
TR_RESULT pgp_ecdh_kek(const struct pgp_ecdh_pub *recipient, const uint8_t z[32], uint8_t *kek,
                       size_t *kek_len);
/* Unwraps (RFC 3394) into out (secret, at least wrapped_len - 8 octets). */
TR_RESULT pgp_ecdh_unwrap(uint8_t sym, const uint8_t *kek, const uint8_t *wrapped,
                          size_t wrapped_len, uint8_t *out, size_t *out_len);
TR_RESULT pgp_ecdh_wrap(uint8_t sym, const uint8_t *kek, const uint8_t *in, size_t in_len,
                        uint8_t *out, size_t *out_len);
/* X25519(priv, peer) -> z. */
TR_RESULT pgp_ecdh_derive(EVP_PKEY *priv, const uint8_t peer[32], uint8_t z[32]);
/* Native X25519 key-wrap key (RFC 9580 5.1.6): HKDF-SHA256, no salt,
 * ikm = ephemeral public || recipient public || shared secret,
 * info "OpenPGP X25519", 16 octets (AES-128 key wrap). */
TR_RESULT pgp_x25519_kek(const uint8_t eph_pub[32], const uint8_t recipient_pub[32],
                         const uint8_t shared[32], uint8_t kek[16]);

/* ---- pgp_cipher.c: algorithm tables ---- */
const EVP_CIPHER *pgp_cipher_cfb(uint8_t sym);
size_t pgp_cipher_key_len(uint8_t sym); /* 0 when unsupported */
const EVP_CIPHER *pgp_cipher_aead(uint8_t sym, uint8_t aead);
size_t pgp_aead_nonce_len(uint8_t aead); /* 0 when unsupported */

/* ---- pgp_pkesk.c ---- */
struct pgp_session_key {
    uint8_t version; /* PKESK version it came from: 3 or 6 */
    uint8_t sym;     /* from a v3 PKESK; 0 for v6 (the SEIPD v2 header names it) */
    uint8_t len;
    uint8_t key[PGP_MAX_SESSION_KEY];
};
/* Peeks at a PKESK body: its version, and whether it is addressed to the
 * subkey with fingerprint sub_fpr (or is anonymous / wildcard). */
TR_RESULT pgp_pkesk_addressed(struct tr_slice body, const uint8_t sub_fpr[PGP_FPR_LEN],
                              uint8_t *out_version, int *out_for_us);
TR_RESULT pgp_pkesk_decrypt(struct tr_slice body, EVP_PKEY *x25519, const struct pgp_ecdh_pub *ours,
                            struct pgp_session_key *out);
/* Appends a whole PKESK v6 packet for the session key to the recipient:
 * ECDH (RFC 9580 5.1.4) or, when recipient->algo is PGP_PK_X25519, native
 * X25519 (5.1.6). */
TR_RESULT pgp_pkesk_write_v6(const struct pgp_ecdh_pub *recipient, const uint8_t *sk, size_t sk_len,
                             struct tr_buf *out);

/* ---- pgp_seipd.c: SEIPD v2 keys and nonces, encryption ---- */
/* Returns the SEIPD version (1 or 2) of a body without decrypting. */
TR_RESULT pgp_seipd_version(struct tr_slice body, uint8_t *out_version);
/* Per-message AEAD state of SEIPD v2 (RFC 9580 5.13.2). */
struct pgp_v2 {
    EVP_CIPHER_CTX *c;
    uint8_t ad[5 + 8]; /* tag, version, cipher, aead, chunk octet [, total length] */
    uint8_t key_iv[32 + 16];
    size_t key_len, nonce_len;
    size_t chunk;
};
/* Checks the header fields (UNSUPPORTED_CIPHER, UNSUPPORTED_AEAD,
 * BAD_CHUNK_SIZE, BAD_SESSION_KEY) and derives key and IV with HKDF. */
TR_RESULT pgp_v2_setup(struct pgp_v2 *v, int enc, uint8_t sym, uint8_t aead, uint8_t co,
                       const uint8_t salt[PGP_V2_SALT_LEN], const uint8_t *sk, size_t sk_len);
void pgp_v2_free(struct pgp_v2 *v);
/* Nonce of chunk `index` (and of the final tag: index = number of chunks). */
void pgp_v2_nonce(const struct pgp_v2 *v, uint64_t index, uint8_t nonce[16]);
/* The final tag's associated data ends with the plaintext length. */
void pgp_v2_set_total(struct pgp_v2 *v, uint64_t total);
/* Decrypts and authenticates a whole body (the version octet first) with
 * every decrypted octet appended to out (an empty secret buffer); out_data
 * is the decrypted packet sequence inside it (v1: without prefix and MDC).
 * On failure out is wiped and left empty. */
TR_RESULT pgp_seipd_decrypt(struct tr_slice body, const struct pgp_session_key *sk,
                            struct tr_buf *out, struct tr_slice *out_data);
/* Appends a whole SEIPD v2 packet (AES-256-OCB) holding `inner`. */
TR_RESULT pgp_seipd_encrypt_v2(const uint8_t *sk, size_t sk_len, uint8_t chunk_octet,
                               struct tr_slice inner, struct tr_buf *out);

/* ---- pgp_plain.c: the decrypted packet sequence, as it is decrypted ---- */
/* Walks the plaintext with the grammar of pgp_inner_literal (depth 0) while
 * the decryptor produces it: the literal data body is placed straight at its
 * final place in out (no intermediate buffer), skipped packets cost nothing,
 * a compressed packet's body is collected and inflated by pgp_inner_literal
 * at the end. Errors are held until pgp_plain_final: the plaintext is not
 * authenticated while it is walked. raw: no grammar, every octet appended. */
struct pgp_plain {
    struct tr_buf *out;
    size_t start; /* out->len on entry */
    size_t max;   /* literal data cap */
    size_t bound; /* plaintext octets can be no more (0: unknown): sizes out */
    int raw;
    struct pgp_framer f;
    size_t packets;
    int found;           /* a literal data packet ended */
    int mode;            /* what the current packet's body is (pgp_plain.c) */
    int32_t end_err;     /* raised when the current packet ends */
    uint8_t lit_head[2]; /* format, file name length */
    size_t lit_seen;     /* header octets seen */
    size_t lit_total;    /* body octets (written or not) */
    int32_t lit_err;     /* out could not take the body: raised at the packet's end */
    struct tr_buf comp;  /* a compressed packet's body (secret) */
    int comp_done;       /* that packet ended: nothing may follow */
    size_t comp_packets; /* packets before it */
    int trailing;        /* octets followed it */
    tr_result err;       /* the first failure */
};
void pgp_plain_init(struct pgp_plain *pl, struct tr_buf *out, size_t max_plaintext, size_t bound,
                    int raw);
/* Where the next plaintext octets may be decrypted straight to: returns the
 * place in out and *room octets (0: use pgp_plain_put). */
uint8_t *pgp_plain_direct(struct pgp_plain *pl, size_t want, size_t *room);
/* n octets were written at the place pgp_plain_direct gave. */
void pgp_plain_wrote(struct pgp_plain *pl, size_t n);
/* Plaintext octets from elsewhere (copied where they belong). */
void pgp_plain_put(struct pgp_plain *pl, const uint8_t *p, size_t n);
/* How many octets pgp_plain_put may take before the routing can change. */
size_t pgp_plain_run(const struct pgp_plain *pl);
/* The plaintext ended and is authenticated: the rest of the grammar (and
 * inflation). On success the literal body is out[start, out->len). */
TR_RESULT pgp_plain_final(struct pgp_plain *pl);
/* Wipes and drops what was appended to out. */
void pgp_plain_abort(struct pgp_plain *pl);
void pgp_plain_free(struct pgp_plain *pl);

/* ---- pgp_seipd_open.c: SEIPD v1/v2 decryption as the body arrives ---- */
/* The body after its version octet is fed in pieces; plaintext goes to a
 * pgp_plain. v2 chunks are opened as soon as they are complete; the last
 * 32 octets (a chunk tag and the final tag, v2) or 22 (the MDC packet, v1)
 * are held back until the end. */
struct pgp_seipd_dec {
    struct pgp_plain *plain;
    uint8_t version;
    int ready; /* v2: header read, keys derived */
    struct pgp_session_key sk;
    EVP_CIPHER_CTX *c; /* v1 */
    EVP_MD_CTX *mdc;   /* v1: SHA-1 of the plaintext */
    struct pgp_v2 v2;
    uint8_t hdr[3 + PGP_V2_SALT_LEN];
    size_t hdr_n;
    uint64_t index;     /* v2: chunks opened */
    size_t chunk_pos;   /* v2: octets of the current chunk decrypted */
    uint64_t total;     /* v2: plaintext octets of the opened chunks */
    size_t prefix_left; /* v1: random prefix octets still to come */
    size_t body;        /* octets fed (after the version octet) */
    uint8_t hold[64];
    size_t hold_n;
    uint8_t scratch[4096];
};
/* sk must be the session key of a PKESK of the matching version. */
TR_RESULT pgp_seipd_dec_begin(struct pgp_seipd_dec *d, uint8_t version,
                              const struct pgp_session_key *sk, struct pgp_plain *plain);
TR_RESULT pgp_seipd_dec_update(struct pgp_seipd_dec *d, const uint8_t *p, size_t n);
/* The body ended: the held octets, the last chunk and the final tag (v2) or
 * the MDC (v1). The plaintext is authentic only when this succeeds. */
TR_RESULT pgp_seipd_dec_final(struct pgp_seipd_dec *d);
void pgp_seipd_dec_free(struct pgp_seipd_dec *d);

/* ---- pgp_literal.c / pgp_compress.c: the decrypted message ---- */
struct pgp_inner {
    size_t max_plaintext;
    size_t inflate_left; /* one budget for every nested compressed layer */
    size_t packets;      /* counted across nesting levels */
    struct tr_buf inflated[TR_MAX_PGP_PACKET_DEPTH];
    struct pgp_segs segs;
};
void pgp_inner_init(struct pgp_inner *in, size_t max_plaintext);
void pgp_inner_free(struct pgp_inner *in);
/* Walks the decrypted packet sequence down to the one literal data packet
 * and appends its body to out. On failure out is restored (the appended
 * part wiped) to its length on entry. */
TR_RESULT pgp_inner_literal(struct pgp_inner *in, struct tr_slice data, int depth,
                            struct tr_buf *out);
/* Inflates a compressed data packet body (algorithm octet first) into out,
 * failing with PGP_PLAINTEXT_LIMIT past out->max. */
TR_RESULT pgp_compress_inflate(struct tr_slice body, struct tr_buf *out);

/* ---- key objects ---- */
struct pgp_key {
    EVP_PKEY *sign; /* Ed25519 primary; private half in OpenSSL's secure heap */
    EVP_PKEY *enc;  /* X25519 subkey */
    uint32_t created;
    uint8_t fpr[PGP_FPR_LEN]; /* primary */
    struct pgp_ecdh_pub sub;  /* public half of the subkey, with its fingerprint */
    struct tr_buf pub;        /* binary transferable public key */
};

struct pgp_pubkey {
    uint8_t fpr[PGP_FPR_LEN];
    struct pgp_ecdh_pub sub;
};

#endif
