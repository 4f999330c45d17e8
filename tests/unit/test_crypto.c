/* The signature schemes behind struct hs_crypto. hs_crypto_secp must be
 * BIP-340 exactly: it reproduces the known-answer vectors of BIP-340's
 * test-vectors.csv (bitcoin/bips, bip-0340/), signs with aux_rand NULL,
 * which libsecp256k1 documents as "treated the same as an all-zero one", so
 * vector 0 (aux_rand = 00..00) is the one whose signature we can
 * reproduce, and rejects every malformed key and signature with
 * SEQ_EBADMSG instead of crashing. The fake scheme must keep the two
 * properties the simulator relies on: no cross-signer validity and no
 * tampering. */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_crypto.h"
#include "harness.h"
#include "hs_crypto.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hash.h"

/* One row of bip-0340/test-vectors.csv. seckey and aux are NULL where the
 * CSV leaves them empty (verification-only rows). */
struct bip340_vector {
    int index;
    const char *seckey;
    const char *pubkey;
    const char *aux;
    const char *msg;
    const char *sig;
    bool valid;
};

static const struct bip340_vector vectors[] = {
    { 0, "0000000000000000000000000000000000000000000000000000000000000003",
      "F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9",
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0000000000000000000000000000000000000000000000000000000000000000",
      "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215"
      "25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0",
      true },
    { 1, "B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFEF",
      "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
      "0000000000000000000000000000000000000000000000000000000000000001",
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "6896BD60EEAE296DB48A229FF71DFE071BDE413E6D43F917DC8DCF8C78DE3341"
      "8906D11AC976ABCCB20B091292BFF4EA897EFCB639EA871CFA95F6DE339E4B0A",
      true },
    { 2, "C90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B14E5C9",
      "DD308AFEC5777E13121FA72B9CC1B7CC0139715309B086C960E18FD969774EB8",
      "C87AA53824B4D7AE2EB035A2B5BBBCCC080E76CDC6D1692C4B0B62D798E6D906",
      "7E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C",
      "5831AAEED7B44BB74E5EAB94BA9D4294C49BCF2A60728D8B4C200F50DD313C1B"
      "AB745879A5AD954A72C45A91C3A51D3C7ADEA98D82F8481E0E1E03674A6F3FB7",
      true },
    { 3, "0B432B2677937381AEF05BB02A66ECD012773062CF3FA2549E44F58ED2401710",
      "25D1DFF95105F5253C4022F628A996AD3A0D95FBF21D468A1B33F8C160D8F517",
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
      "7EB0509757E246F19449885651611CB965ECC1A187DD51B64FDA1EDC9637D5EC"
      "97582B9CB13DB3933705B32BA982AF5AF25FD78881EBB32771FC5922EFC66EA3",
      true },
    { 4, NULL,
      "D69C3509BB99E412E68B0FE8544E72837DFA30746D8BE2AA65975F29D22DC7B9", NULL,
      "4DF3C3F68FCC83B27E9D42C90431A72499F17875C81A599B566C9889B9696703",
      "00000000000000000000003B78CE563F89A0ED9414F5AA28AD0D96D6795F9C63"
      "76AFB1548AF603B3EB45C9F8207DEE1060CB71C04E80F593060B07D28308D7F4",
      true },
    /* Public key not on the curve. */
    { 5, NULL,
      "EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
      "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
      false },
    /* has_even_y(R) is false. */
    { 6, NULL,
      "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "FFF97BD5755EEEA420453A14355235D382F6472F8568A18B2F057A1460297556"
      "3CC27944640AC607CD107AE10923D9EF7A73C643E166BE5EBEAFA34B1AC553E2",
      false },
    /* Negated message. */
    { 7, NULL,
      "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "1FA62E331EDBC21C394792D2AB1100A7B432B013DF3F6FF4F99FCB33E0E1515F"
      "28890B3EDB6E7189B630448B515CE4F8622A954CFE545735AAEA5134FCCDB2BD",
      false },
    /* Negated s. */
    { 8, NULL,
      "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
      "961764B3AA9B2FFCB6EF947B6887A226E8D7C93E00C5ED0C1834FF0D0C2E6DA6",
      false },
    /* sG - eP is infinite (x(inf) taken as 0). */
    { 9, NULL,
      "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "0000000000000000000000000000000000000000000000000000000000000000"
      "123DDA8328AF9C23A94C1FEECFD123BA4FB73476F0D594DCB65C6425BD186051",
      false },
    /* sG - eP is infinite (x(inf) taken as 1). */
    { 10, NULL,
      "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "0000000000000000000000000000000000000000000000000000000000000001"
      "7615FBAF5AE28864013C099742DEADB4DBA87F11AC6754F93780D5A1837CF197",
      false },
    /* sig[0:32] is not an x coordinate on the curve. */
    { 11, NULL,
      "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "4A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1D"
      "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
      false },
    /* sig[0:32] equals the field size. */
    { 12, NULL,
      "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F"
      "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
      false },
    /* sig[32:64] equals the curve order. */
    { 13, NULL,
      "DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
      false },
    /* Public key exceeds the field size. */
    { 14, NULL,
      "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC30", NULL,
      "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
      "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
      "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
      false },
};

#define N_VECTORS (sizeof vectors / sizeof vectors[0])

/* The secp256k1 group order n: the smallest invalid secret key. */
static const char order_hex[] =
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decode exactly @len bytes; the vectors are trusted, so a bad digit is a
 * typo in this file and aborts. */
static void unhex(const char *hex, uint8_t *out, size_t len)
{
    size_t i;

    if (strlen(hex) != 2 * len) {
        abort();
    }
    for (i = 0; i < len; i++) {
        int hi = hex_nibble(hex[2 * i]);
        int lo = hex_nibble(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            abort();
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
}

/* A verify-only hs_crypto_secp object checking vector @i. */
static int vector_verify(const struct hs_crypto *c, size_t i)
{
    struct hs_pubkey pk;
    struct seq_hash msg;
    struct hs_sig sig;

    unhex(vectors[i].pubkey, pk.bytes, sizeof pk.bytes);
    unhex(vectors[i].msg, msg.bytes, sizeof msg.bytes);
    unhex(vectors[i].sig, sig.bytes, sizeof sig.bytes);
    return c->verify(c, &pk, &msg, &sig);
}

TEST(crypto_secp, bip340_vectors_verify)
{
    struct hs_crypto *c = NULL;
    size_t i;

    ASSERT_OK(hs_crypto_secp_new(NULL, &c));
    for (i = 0; i < N_VECTORS; i++) {
        int rv = vector_verify(c, i);

        if (vectors[i].valid) {
            ASSERT_OK(rv);
        } else {
            ASSERT_ERR(rv, SEQ_EBADMSG);
        }
    }
    /* Again, now that every valid key sits in the cache. */
    for (i = 0; i < N_VECTORS; i++) {
        ASSERT_EQ(vector_verify(c, i) == 0, vectors[i].valid);
    }
    hs_crypto_secp_free(c);
}

/* Every vector with a secret key derives its public key; vector 0, the
 * one with aux_rand all zero, is also reproduced bit for bit, because
 * sign() passes aux_rand NULL and libsecp256k1 treats NULL as 32 zeroes. */
TEST(crypto_secp, bip340_vectors_sign)
{
    uint8_t seckey[32];
    uint8_t aux[32];
    struct hs_crypto *c = NULL;
    struct hs_pubkey pk, want_pk;
    struct seq_hash msg;
    struct hs_sig sig, want_sig;
    static const uint8_t zero[32] = { 0 };
    int reproduced = 0;
    size_t i;

    for (i = 0; i < N_VECTORS; i++) {
        if (vectors[i].seckey == NULL) {
            continue;
        }
        unhex(vectors[i].seckey, seckey, sizeof seckey);
        unhex(vectors[i].pubkey, want_pk.bytes, sizeof want_pk.bytes);
        ASSERT_OK(hs_crypto_secp_pubkey(seckey, &pk));
        ASSERT_MEMEQ(pk.bytes, want_pk.bytes, sizeof pk.bytes);

        unhex(vectors[i].aux, aux, sizeof aux);
        if (memcmp(aux, zero, sizeof aux) != 0) {
            continue;
        }
        unhex(vectors[i].msg, msg.bytes, sizeof msg.bytes);
        unhex(vectors[i].sig, want_sig.bytes, sizeof want_sig.bytes);
        ASSERT_OK(hs_crypto_secp_new(seckey, &c));
        ASSERT_OK(c->sign(c, &msg, &sig));
        ASSERT_MEMEQ(sig.bytes, want_sig.bytes, sizeof sig.bytes);
        ASSERT_OK(c->verify(c, &pk, &msg, &sig));
        hs_crypto_secp_free(c);
        c = NULL;
        reproduced++;
    }
    ASSERT_EQ(reproduced, 1); /* vector 0 */
}

TEST(crypto_secp, sign_is_deterministic_and_verifies)
{
    uint8_t seckey[32];
    struct hs_crypto *c = NULL;
    struct hs_pubkey pk;
    struct seq_hash msg;
    struct hs_sig a, b;

    ASSERT_OK(test_secp_key(test_seed(), 0, seckey));
    ASSERT_OK(hs_crypto_secp_pubkey(seckey, &pk));
    ASSERT_OK(hs_crypto_secp_new(seckey, &c));
    seq_sha256("hello", 5, &msg);
    ASSERT_OK(c->sign(c, &msg, &a));
    ASSERT_OK(c->sign(c, &msg, &b));
    ASSERT_MEMEQ(a.bytes, b.bytes, sizeof a.bytes);
    ASSERT_OK(c->verify(c, &pk, &msg, &a));
    hs_crypto_secp_free(c);
}

/* Any flipped bit of the signature, of the message, or a different key
 * makes verification fail. */
TEST(crypto_secp, rejects_tampering_and_other_keys)
{
    uint8_t sk0[32], sk1[32];
    struct hs_crypto *c = NULL;
    struct hs_pubkey pk0, pk1;
    struct seq_hash msg, msg2;
    struct hs_sig sig, bad;
    size_t bit;

    ASSERT_OK(test_secp_key(test_seed(), 0, sk0));
    ASSERT_OK(test_secp_key(test_seed(), 1, sk1));
    ASSERT_OK(hs_crypto_secp_pubkey(sk0, &pk0));
    ASSERT_OK(hs_crypto_secp_pubkey(sk1, &pk1));
    ASSERT_OK(hs_crypto_secp_new(sk0, &c));
    seq_sha256("vote", 4, &msg);
    ASSERT_OK(c->sign(c, &msg, &sig));
    ASSERT_OK(c->verify(c, &pk0, &msg, &sig));
    ASSERT_ERR(c->verify(c, &pk1, &msg, &sig), SEQ_EBADMSG);

    for (bit = 0; bit < 8 * HS_SIG_LEN; bit++) {
        bad = sig;
        bad.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ASSERT_ERR(c->verify(c, &pk0, &msg, &bad), SEQ_EBADMSG);
    }
    for (bit = 0; bit < 8 * SEQ_HASH_LEN; bit++) {
        msg2 = msg;
        msg2.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ASSERT_ERR(c->verify(c, &pk0, &msg2, &sig), SEQ_EBADMSG);
    }
    hs_crypto_secp_free(c);
}

/* Keys and signatures no honest peer sends: all rejected, none cached. */
TEST(crypto_secp, rejects_malformed_keys_and_sigs)
{
    uint8_t seckey[32];
    struct hs_crypto *c = NULL;
    struct hs_pubkey pk, bad_pk;
    struct seq_hash msg;
    struct hs_sig sig, bad;

    ASSERT_OK(test_secp_key(test_seed(), 2, seckey));
    ASSERT_OK(hs_crypto_secp_pubkey(seckey, &pk));
    ASSERT_OK(hs_crypto_secp_new(seckey, &c));
    seq_sha256("m", 1, &msg);
    ASSERT_OK(c->sign(c, &msg, &sig));

    /* x = 0 is not on the curve (7 is no square mod p); all-ones is above
     * the field size. The second query of a bad key must not find it in
     * the cache either. */
    memset(bad_pk.bytes, 0, sizeof bad_pk.bytes);
    ASSERT_ERR(c->verify(c, &bad_pk, &msg, &sig), SEQ_EBADMSG);
    memset(bad_pk.bytes, 0xff, sizeof bad_pk.bytes);
    ASSERT_ERR(c->verify(c, &bad_pk, &msg, &sig), SEQ_EBADMSG);
    ASSERT_ERR(c->verify(c, &bad_pk, &msg, &sig), SEQ_EBADMSG);
    ASSERT_OK(c->verify(c, &pk, &msg, &sig));

    memset(bad.bytes, 0, sizeof bad.bytes);
    ASSERT_ERR(c->verify(c, &pk, &msg, &bad), SEQ_EBADMSG);
    memset(bad.bytes, 0xff, sizeof bad.bytes);
    ASSERT_ERR(c->verify(c, &pk, &msg, &bad), SEQ_EBADMSG);
    /* A valid r with s = n (the group order). */
    bad = sig;
    unhex(order_hex, bad.bytes + 32, 32);
    ASSERT_ERR(c->verify(c, &pk, &msg, &bad), SEQ_EBADMSG);
    ASSERT_OK(c->verify(c, &pk, &msg, &sig));
    hs_crypto_secp_free(c);
}

TEST(crypto_secp, rejects_invalid_secret_keys)
{
    uint8_t seckey[32];
    struct hs_crypto *c = NULL;
    struct hs_pubkey pk;

    memset(seckey, 0, sizeof seckey);
    ASSERT_ERR(hs_crypto_secp_new(seckey, &c), SEQ_EINVAL);
    ASSERT_ERR(hs_crypto_secp_pubkey(seckey, &pk), SEQ_EINVAL);

    unhex(order_hex, seckey, sizeof seckey);
    ASSERT_ERR(hs_crypto_secp_new(seckey, &c), SEQ_EINVAL);
    ASSERT_ERR(hs_crypto_secp_pubkey(seckey, &pk), SEQ_EINVAL);

    memset(seckey, 0xff, sizeof seckey);
    ASSERT_ERR(hs_crypto_secp_new(seckey, &c), SEQ_EINVAL);
    ASSERT_ERR(hs_crypto_secp_pubkey(seckey, &pk), SEQ_EINVAL);

    /* n - 1 is the largest valid key. */
    unhex(order_hex, seckey, sizeof seckey);
    seckey[31]--;
    ASSERT_OK(hs_crypto_secp_pubkey(seckey, &pk));
    ASSERT_OK(hs_crypto_secp_new(seckey, &c));
    hs_crypto_secp_free(c);
    hs_crypto_secp_free(NULL);
}

TEST(crypto_secp, verify_only_object_cannot_sign)
{
    struct hs_crypto *c = NULL;
    struct seq_hash msg;
    struct hs_sig sig;

    ASSERT_OK(hs_crypto_secp_new(NULL, &c));
    memset(msg.bytes, 7, sizeof msg.bytes);
    ASSERT_ERR(c->sign(c, &msg, &sig), SEQ_EINVAL);
    hs_crypto_secp_free(c);
}

/* More distinct keys than the pubkey cache has slots, verified in two
 * passes: evictions must never turn into wrong answers. */
TEST(crypto_secp, cache_overflow_stays_correct)
{
    enum { N_KEYS = 3 * HS_MAX_VALIDATORS };
    static struct hs_pubkey pks[N_KEYS];
    static struct hs_sig sigs[N_KEYS];
    struct hs_crypto *verifier = NULL;
    struct seq_hash msg;
    uint8_t seckey[32];
    int pass;
    int i;

    seq_sha256("cache", 5, &msg);
    for (i = 0; i < N_KEYS; i++) {
        struct hs_crypto *signer = NULL;

        ASSERT_OK(test_secp_key(test_seed(), (hs_node_t)i, seckey));
        ASSERT_OK(hs_crypto_secp_pubkey(seckey, &pks[i]));
        ASSERT_OK(hs_crypto_secp_new(seckey, &signer));
        ASSERT_OK(signer->sign(signer, &msg, &sigs[i]));
        hs_crypto_secp_free(signer);
    }
    ASSERT_OK(hs_crypto_secp_new(NULL, &verifier));
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < N_KEYS; i++) {
            int other = (i + 1) % N_KEYS;

            ASSERT_OK(verifier->verify(verifier, &pks[i], &msg, &sigs[i]));
            ASSERT_ERR(verifier->verify(verifier, &pks[i], &msg, &sigs[other]),
                       SEQ_EBADMSG);
        }
    }
    hs_crypto_secp_free(verifier);
}

/* Fail each allocation in turn until the call succeeds: every failure is
 * SEQ_ENOMEM and leaks nothing (ASan builds check the latter). */
TEST(crypto_secp, allocation_failures)
{
    uint8_t seckey[32];
    struct hs_crypto *c = NULL;
    struct hs_pubkey pk;
    unsigned long nth;
    int rv = SEQ_ENOMEM;

    ASSERT_OK(test_secp_key(test_seed(), 3, seckey));
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        ASSERT_LE(nth, 10);
        seq_alloc_fail_at(nth, 0);
        rv = hs_crypto_secp_new(seckey, &c);
        seq_alloc_fail_at(0, 0);
    }
    ASSERT_OK(rv);
    ASSERT_GT(nth, 2);
    hs_crypto_secp_free(c);

    rv = SEQ_ENOMEM;
    for (nth = 1; rv == SEQ_ENOMEM; nth++) {
        ASSERT_LE(nth, 10);
        seq_alloc_fail_at(nth, 0);
        rv = hs_crypto_secp_pubkey(seckey, &pk);
        seq_alloc_fail_at(0, 0);
    }
    ASSERT_OK(rv);
}

/* Test keys are a pure function of (seed, id) and differ across ids. */
TEST(crypto_secp, test_keys_are_deterministic)
{
    static struct hs_validator_set a, b;
    uint8_t sk[32];
    struct hs_pubkey pk;

    ASSERT_OK(test_secp_validator_set(7, 10, &a));
    ASSERT_OK(test_secp_validator_set(7, 10, &b));
    ASSERT_MEMEQ(&a, &b, sizeof a);
    ASSERT_EQ(a.n, 10);
    ASSERT_NE(memcmp(a.keys[0].bytes, a.keys[1].bytes, HS_PUBKEY_LEN), 0);
    ASSERT_OK(test_secp_key(7, 4, sk));
    ASSERT_OK(hs_crypto_secp_pubkey(sk, &pk));
    ASSERT_MEMEQ(pk.bytes, a.keys[4].bytes, HS_PUBKEY_LEN);
    ASSERT_OK(test_secp_validator_set(8, 10, &b));
    ASSERT_NE(memcmp(a.keys[0].bytes, b.keys[0].bytes, HS_PUBKEY_LEN), 0);
    ASSERT_ERR(test_secp_validator_set(7, HS_MAX_VALIDATORS + 1, &b),
               SEQ_EINVAL);
}

TEST(crypto_fake, sign_verify_and_tampering)
{
    struct fake_crypto a, b;
    struct seq_hash msg, msg2;
    struct hs_sig sig, bad;
    size_t bit;

    fake_crypto_init(&a, 0);
    fake_crypto_init(&b, 1);
    ASSERT_NE(memcmp(a.pk.bytes, b.pk.bytes, HS_PUBKEY_LEN), 0);
    seq_sha256("vote", 4, &msg);
    ASSERT_OK(a.base.sign(&a.base, &msg, &sig));
    /* Any object verifies any key: its own key plays no part. */
    ASSERT_OK(a.base.verify(&a.base, &a.pk, &msg, &sig));
    ASSERT_OK(b.base.verify(&b.base, &a.pk, &msg, &sig));
    ASSERT_ERR(a.base.verify(&a.base, &b.pk, &msg, &sig), SEQ_EBADMSG);

    for (bit = 0; bit < 8 * HS_SIG_LEN; bit++) {
        bad = sig;
        bad.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ASSERT_ERR(a.base.verify(&a.base, &a.pk, &msg, &bad), SEQ_EBADMSG);
    }
    for (bit = 0; bit < 8 * SEQ_HASH_LEN; bit++) {
        msg2 = msg;
        msg2.bytes[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ASSERT_ERR(a.base.verify(&a.base, &a.pk, &msg2, &sig), SEQ_EBADMSG);
    }
}

/* No signature by one validator verifies as another's, for every pair in
 * the largest set. */
TEST(crypto_fake, no_cross_signer_validity)
{
    static struct fake_crypto fc[HS_MAX_VALIDATORS];
    static struct hs_validator_set vs;
    struct seq_hash msg;
    struct hs_sig sig;
    hs_node_t i, j;

    fake_validator_set(HS_MAX_VALIDATORS, &vs);
    seq_sha256("m", 1, &msg);
    for (i = 0; i < HS_MAX_VALIDATORS; i++) {
        fake_crypto_init(&fc[i], i);
        ASSERT_MEMEQ(fc[i].pk.bytes, vs.keys[i].bytes, HS_PUBKEY_LEN);
    }
    for (i = 0; i < HS_MAX_VALIDATORS; i++) {
        ASSERT_OK(fc[i].base.sign(&fc[i].base, &msg, &sig));
        for (j = 0; j < HS_MAX_VALIDATORS; j++) {
            int rv = fc[0].base.verify(&fc[0].base, &vs.keys[j], &msg, &sig);

            ASSERT_EQ(rv, i == j ? 0 : SEQ_EBADMSG);
        }
    }
}

/* The two schemes never accept each other's signatures. */
TEST(crypto_fake, real_and_fake_do_not_mix)
{
    uint8_t seckey[32];
    struct hs_crypto *real = NULL;
    struct fake_crypto fake;
    struct hs_pubkey real_pk;
    struct seq_hash msg;
    struct hs_sig real_sig, fake_sig;

    ASSERT_OK(test_secp_key(test_seed(), 0, seckey));
    ASSERT_OK(hs_crypto_secp_pubkey(seckey, &real_pk));
    ASSERT_OK(hs_crypto_secp_new(seckey, &real));
    fake_crypto_init(&fake, 0);
    seq_sha256("x", 1, &msg);
    ASSERT_OK(real->sign(real, &msg, &real_sig));
    ASSERT_OK(fake.base.sign(&fake.base, &msg, &fake_sig));

    ASSERT_ERR(fake.base.verify(&fake.base, &real_pk, &msg, &real_sig),
               SEQ_EBADMSG);
    ASSERT_ERR(fake.base.verify(&fake.base, &fake.pk, &msg, &real_sig),
               SEQ_EBADMSG);
    ASSERT_ERR(real->verify(real, &fake.pk, &msg, &fake_sig), SEQ_EBADMSG);
    ASSERT_ERR(real->verify(real, &real_pk, &msg, &fake_sig), SEQ_EBADMSG);
    hs_crypto_secp_free(real);
}

TEST_MAIN()
