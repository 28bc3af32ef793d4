/* pgp_key.c, pgp_keypkt.c, pgp_sig.c, pgp_pubkey.c: key shape, determinism,
 * armored export, parsing back with signature checks. */
#include "harness.h"
#include "pgp/pgp_internal.h"
#include "pgp_test_util.h"
#include "teerex/secmem.h"

/* Offsets of the packets in a binary transferable public key. */
struct layout {
    size_t off[8], len[8];
    uint8_t tag[8];
    int n;
};

static void split(struct tr_slice bin, struct layout *l)
{
    struct tr_reader r;
    struct tr_buf s;
    tr_buf_init(&s, 1);
    tr_reader_init(&r, bin.ptr, bin.len);
    l->n = 0;
    while (tr_reader_remaining(&r) && l->n < 8) {
        struct pgp_packet p;
        l->off[l->n] = r.pos;
        if (!tr_ok(pgp_packet_read(&r, &s, &p)))
            break;
        l->len[l->n] = r.pos - l->off[l->n];
        l->tag[l->n] = p.tag;
        l->n++;
    }
    tr_buf_free(&s);
}

static tr_result parse_bin(const uint8_t *p, size_t n, struct pgp_pubkey **pk)
{
    struct tr_buf a;
    tr_buf_init(&a, 1 << 20);
    tr_result r = pgp_armor_encode("PUBLIC KEY BLOCK", p, n, &a);
    if (tr_ok(r))
        r = pgp_pubkey_parse_armored((const char *)a.data, a.len, pk);
    tr_buf_free(&a);
    return r;
}

static void test_shape_and_determinism(void)
{
    struct pgp_key *a = NULL, *b = NULL, *c = NULL;
    EXPECT_OK(test_key(0, &a));
    EXPECT_OK(test_key(0, &b));
    EXPECT_OK(test_key(1, &c));
    if (!a || !b || !c)
        return;
    struct tr_slice sa = pgp_key_public_binary(a), sb = pgp_key_public_binary(b);
    EXPECT_EQ(sa.len, sb.len);
    EXPECT_MEM_EQ(sa.ptr, sb.ptr, sa.len); /* Ed25519 signatures are deterministic */
    uint8_t fa[20], fc[20];
    pgp_key_fingerprint(a, fa);
    pgp_key_fingerprint(c, fc);
    EXPECT_TRUE(memcmp(fa, fc, 20) != 0);
    struct layout l;
    split(sa, &l);
    EXPECT_EQ(l.n, 5);
    EXPECT_EQ(l.tag[0], PGP_TAG_PUBLIC_KEY);
    EXPECT_EQ(l.tag[1], PGP_TAG_USER_ID);
    EXPECT_EQ(l.tag[2], PGP_TAG_SIGNATURE);
    EXPECT_EQ(l.tag[3], PGP_TAG_PUBLIC_SUBKEY);
    EXPECT_EQ(l.tag[4], PGP_TAG_SIGNATURE);
    /* v4 EdDSALegacy primary with the Ed25519 OID; ECDH subkey with KDF SHA-256/AES-128. */
    EXPECT_EQ(sa.ptr[l.off[0] + 2], 4);
    EXPECT_EQ(sa.ptr[l.off[0] + 7], PGP_PK_EDDSA_LEGACY);
    EXPECT_EQ(sa.ptr[l.off[3] + 7], PGP_PK_ECDH);
    const uint8_t *kdf = sa.ptr + l.off[3] + l.len[3] - 4;
    EXPECT_TRUE(kdf[0] == 3 && kdf[1] == 1 && kdf[2] == PGP_HASH_SHA256 &&
                kdf[3] == PGP_SYM_AES128);
    /* The user ID is the name, and the positive certification says so. */
    EXPECT_MEM_EQ(sa.ptr + l.off[1] + 2, "TEE-Rex", 7);
    EXPECT_EQ(sa.ptr[l.off[2] + 3], PGP_SIGTYPE_POSITIVE_CERT);
    EXPECT_EQ(sa.ptr[l.off[4] + 3], PGP_SIGTYPE_SUBKEY_BINDING);

    struct tr_buf arm;
    tr_buf_init(&arm, 1 << 16);
    EXPECT_OK(pgp_key_armored_public(a, &arm));
    struct pgp_pubkey *pk = NULL;
    EXPECT_OK(pgp_pubkey_parse_armored((const char *)arm.data, arm.len, &pk));
    if (pk) {
        uint8_t fp[20];
        pgp_pubkey_fingerprint(pk, fp);
        EXPECT_MEM_EQ(fp, fa, 20);
        EXPECT_MEM_EQ(pk->sub.fpr, a->sub.fpr, 20);
    }
    pgp_pubkey_free(pk);
    tr_buf_free(&arm);
    pgp_key_free(a);
    pgp_key_free(b);
    pgp_key_free(c);
}

static void test_generate(void)
{
    struct pgp_key *k = NULL;
    EXPECT_OK(pgp_key_generate("TEE-Rex", &k));
    if (!k)
        return;
    struct tr_secmem_stats st;
    tr_secmem_stats(&st);
    EXPECT_EQ(st.ossl_secure_heap, 1);
    struct tr_buf arm;
    tr_buf_init(&arm, 1 << 16);
    EXPECT_OK(pgp_key_armored_public(k, &arm));
    struct pgp_pubkey *pk = NULL;
    EXPECT_OK(pgp_pubkey_parse_armored((const char *)arm.data, arm.len, &pk));
    pgp_pubkey_free(pk);
    tr_buf_free(&arm);
    pgp_key_free(k);
    EXPECT_ERR(pgp_key_generate("", &k), TR_ERR_USAGE);
    EXPECT_TRUE(k == NULL);
    EXPECT_ERR(pgp_key_generate(NULL, &k), TR_ERR_NULL_ARG);
}

static void test_tampered(void)
{
    struct pgp_key *k = NULL;
    EXPECT_OK(test_key(0, &k));
    if (!k)
        return;
    struct tr_slice s = pgp_key_public_binary(k);
    struct layout l;
    split(s, &l);
    uint8_t *m = malloc(s.len);
    struct pgp_pubkey *pk = NULL;
    /* The last octet of the binding signature's s. */
    memcpy(m, s.ptr, s.len);
    m[s.len - 1] ^= 1;
    EXPECT_ERR(parse_bin(m, s.len, &pk), TR_ERR_PGP_BAD_SIGNATURE);
    /* The user ID: its certification no longer verifies. */
    memcpy(m, s.ptr, s.len);
    m[l.off[1] + 2] ^= 1;
    EXPECT_ERR(parse_bin(m, s.len, &pk), TR_ERR_PGP_BAD_SIGNATURE);
    /* The subkey's point: the binding no longer verifies. */
    memcpy(m, s.ptr, s.len);
    m[l.off[3] + 2 + 25] ^= 1; /* header 2, body: point from octet 20 */
    EXPECT_ERR(parse_bin(m, s.len, &pk), TR_ERR_PGP_BAD_SIGNATURE);
    /* No subkey at all. */
    EXPECT_ERR(parse_bin(s.ptr, l.off[3], &pk), TR_ERR_PGP_NO_ENCRYPTION_KEY);
    /* A user ID first. */
    EXPECT_ERR(parse_bin(s.ptr + l.off[1], s.len - l.off[1], &pk), TR_ERR_PGP_BAD_KEY);
    /* Unsupported KDF hash in the subkey (SHA-1 = 2). */
    memcpy(m, s.ptr, s.len);
    m[l.off[3] + l.len[3] - 2] = 2;
    EXPECT_ERR(parse_bin(m, s.len, &pk), TR_ERR_PGP_UNSUPPORTED_KDF);
    /* Unsupported primary algorithm (RSA = 1). */
    memcpy(m, s.ptr, s.len);
    m[l.off[0] + 7] = 1;
    EXPECT_ERR(parse_bin(m, s.len, &pk), TR_ERR_PGP_UNSUPPORTED_PUBKEY_ALGO);
    EXPECT_TRUE(pk == NULL);
    /* Over the armored-key cap. */
    char *big = calloc(1, TR_MAX_ARMORED_KEY + 2);
    EXPECT_ERR(pgp_pubkey_parse_armored(big, TR_MAX_ARMORED_KEY + 1, &pk), TR_ERR_TOO_BIG);
    free(big);
    free(m);
    pgp_key_free(k);
}

int main(void)
{
    RUN_TEST(test_shape_and_determinism);
    RUN_TEST(test_generate);
    RUN_TEST(test_tampered);
    return TEST_SUMMARY();
}
