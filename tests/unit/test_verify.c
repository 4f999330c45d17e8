/* Certificate and message verification (hs_verify.c). The acceptance test:
 * QC and TC verification rejects 2f signers, a duplicate signer, an
 * unknown key (a signer index >= n, and a signature by a key outside the
 * set), a wrong epoch, a wrong block id, a malformed or tampered signature,
 * and accepts any order of 2f+1 or more valid ones. Every case runs for
 * n = 4, 7 and 10, with real BIP-340 signatures and with the fake scheme
 * the simulator uses, so the fake cannot drift from the real contract.
 * For n = 4 every ordering of every quorum-sized (or larger) signer list
 * is tried; for larger n, random subsets in random order, seeded by
 * test_seed(). Votes, timeouts and proposals: the valid message passes and
 * each tampered field fails. */

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_crypto.h"
#include "harness.h"
#include "hs_crypto.h"
#include "hs_types.h"
#include "hs_verify.h"
#include "seq_err.h"
#include "seq_hash.h"
#include "seq_rng.h"

#define KEY_SEED 0x5e9u
#define EPOCH    3

/* One world: n validators, their signers, one outsider (index n, whose
 * key is not in the set), and a verifier. */
struct fixture {
    uint32_t n;
    uint32_t q; /* hs_quorum(n) */
    bool real;
    struct hs_validator_set vs;
    struct fake_crypto fake[HS_MAX_VALIDATORS + 1];
    struct hs_crypto *secp[HS_MAX_VALIDATORS + 1];
    const struct hs_crypto *signer[HS_MAX_VALIDATORS + 1];
    struct hs_crypto *secp_verify;
    struct hs_block genesis;
    struct hs_verifier v;
};

struct config {
    uint32_t n;
    bool real;
};

static const struct config configs[] = {
    { 4, false }, { 7, false }, { 10, false },
    { 4, true },  { 7, true },  { 10, true },
};

#define N_CONFIGS (sizeof configs / sizeof configs[0])

/* Fixtures are large (a QC alone is several KB); keep them off the stack. */
static struct fixture fixture_storage;

static struct fixture *fixture_setup(const struct config *cfg)
{
    struct fixture *fx = &fixture_storage;
    uint8_t seckey[32];
    uint32_t i;

    memset(fx, 0, sizeof *fx);
    fx->n = cfg->n;
    fx->q = hs_quorum(cfg->n);
    fx->real = cfg->real;
    if (cfg->real) {
        if (test_secp_validator_set(KEY_SEED, cfg->n, &fx->vs) != 0 ||
            hs_crypto_secp_new(NULL, &fx->secp_verify) != 0) {
            abort();
        }
        for (i = 0; i <= cfg->n; i++) {
            if (test_secp_key(KEY_SEED, i, seckey) != 0 ||
                hs_crypto_secp_new(seckey, &fx->secp[i]) != 0) {
                abort();
            }
            fx->signer[i] = fx->secp[i];
        }
        fx->v.crypto = fx->secp_verify;
    } else {
        fake_validator_set(cfg->n, &fx->vs);
        for (i = 0; i <= cfg->n; i++) {
            fake_crypto_init(&fx->fake[i], i);
            fx->signer[i] = &fx->fake[i].base;
        }
        fx->v.crypto = &fx->fake[0].base;
    }
    seq_sha256("test-chain", 10, &fx->v.chain_id);
    fx->v.epoch = EPOCH;
    fx->v.validators = &fx->vs;
    hs_genesis_block(&fx->v.chain_id, EPOCH, &fx->genesis);
    fx->v.genesis_id = fx->genesis.id;
    return fx;
}

static void fixture_teardown(struct fixture *fx)
{
    uint32_t i;

    for (i = 0; i <= fx->n; i++) {
        hs_crypto_secp_free(fx->secp[i]);
    }
    hs_crypto_secp_free(fx->secp_verify);
    hs_block_free(&fx->genesis);
}

/* Signing cannot fail with a valid key; a failure is a test bug. */
static void sign(const struct fixture *fx,
                 hs_node_t who,
                 const struct seq_hash *digest,
                 struct hs_sig *out)
{
    const struct hs_crypto *c = fx->signer[who];

    if (c->sign(c, digest, out) != 0) {
        abort();
    }
}

/* A QC for (epoch, round, block_id) signed by @signers, in that order. */
static void make_qc_epoch(const struct fixture *fx,
                          hs_epoch_t epoch,
                          hs_round_t round,
                          const struct seq_hash *block_id,
                          const hs_node_t *signers,
                          uint32_t k,
                          struct hs_qc *out)
{
    struct seq_hash digest;
    uint32_t i;

    memset(out, 0, sizeof *out);
    out->epoch = epoch;
    out->round = round;
    out->height = round + 1;
    out->block_id = *block_id;
    out->n_sigs = k;
    hs_vote_digest(&fx->v.chain_id, epoch, round, block_id, &digest);
    for (i = 0; i < k; i++) {
        out->sigs[i].signer = signers[i];
        sign(fx, signers[i], &digest, &out->sigs[i].sig);
    }
}

static void make_qc(const struct fixture *fx,
                    hs_round_t round,
                    const struct seq_hash *block_id,
                    const hs_node_t *signers,
                    uint32_t k,
                    struct hs_qc *out)
{
    make_qc_epoch(fx, EPOCH, round, block_id, signers, k, out);
}

/* A TC for @round; signer i signed high_qc_round hqc[i]. */
static void make_tc_epoch(const struct fixture *fx,
                          hs_epoch_t epoch,
                          hs_round_t round,
                          const hs_node_t *signers,
                          const hs_round_t *hqc,
                          uint32_t k,
                          struct hs_tc *out)
{
    struct seq_hash digest;
    uint32_t i;

    memset(out, 0, sizeof *out);
    out->epoch = epoch;
    out->round = round;
    out->n_sigs = k;
    for (i = 0; i < k; i++) {
        hs_timeout_digest(&fx->v.chain_id, epoch, round, hqc[i], &digest);
        out->sigs[i].signer = signers[i];
        out->sigs[i].high_qc_round = hqc[i];
        sign(fx, signers[i], &digest, &out->sigs[i].sig);
    }
}

static void make_tc(const struct fixture *fx,
                    hs_round_t round,
                    const hs_node_t *signers,
                    const hs_round_t *hqc,
                    uint32_t k,
                    struct hs_tc *out)
{
    make_tc_epoch(fx, EPOCH, round, signers, hqc, k, out);
}

static const hs_node_t first_ids[HS_MAX_VALIDATORS + 1] = {
    0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
    34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50,
    51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64,
};

/* Varied high QC rounds below @round, as honest timeouts carry them. */
static void hqc_rounds(hs_round_t round, uint32_t k, hs_round_t *out)
{
    uint32_t i;

    for (i = 0; i < k; i++) {
        out[i] = (round - 1) - (i % round);
    }
}

static void block_id_of(const char *label, struct seq_hash *out)
{
    seq_sha256(label, strlen(label), out);
}

/* ---------------------------------------------------------------- QC -- */

/* Ordered signer lists are tried by decoding every k-digit base-n number
 * and keeping those with distinct digits: all k-permutations of n. */
static bool decode_perm(uint64_t code, uint32_t n, uint32_t k, hs_node_t *out)
{
    uint64_t seen = 0;
    uint32_t i;

    for (i = 0; i < k; i++) {
        hs_node_t d = (hs_node_t)(code % n);

        code /= n;
        if ((seen & ((uint64_t)1 << d)) != 0) {
            return false;
        }
        seen |= (uint64_t)1 << d;
        out[i] = d;
    }
    return true;
}

/* A random subset of @k distinct members, in random order. */
static void random_signers(struct seq_rng *rng,
                           uint32_t n,
                           uint32_t k,
                           hs_node_t *out)
{
    hs_node_t all[HS_MAX_VALIDATORS];
    uint32_t i;

    for (i = 0; i < n; i++) {
        all[i] = i;
    }
    for (i = 0; i < k; i++) {
        uint32_t j = i + (uint32_t)seq_rng_below(rng, n - i);
        hs_node_t t = all[i];

        all[i] = all[j];
        all[j] = t;
        out[i] = all[i];
    }
}

/* n = 4: every ordering of every list of >= 3 distinct signers passes,
 * and every ordering of 2 (= 2f) fails. Larger n: random ones. */
TEST(verify_qc, accepts_any_order_of_a_quorum)
{
    struct hs_qc qc;
    struct seq_hash id;
    hs_node_t signers[HS_MAX_VALIDATORS];
    size_t c;

    block_id_of("block", &id);
    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);
        struct seq_rng rng;
        uint32_t k;
        int trial;

        seq_rng_seed(&rng, test_seed() + c);
        if (fx->n == 4) {
            for (k = fx->q - 1; k <= fx->n; k++) {
                uint64_t code, total = 1, orderings = 1;
                uint32_t i, tried = 0;

                for (i = 0; i < k; i++) {
                    total *= fx->n;
                    orderings *= fx->n - i;
                }
                for (code = 0; code < total; code++) {
                    if (!decode_perm(code, fx->n, k, signers)) {
                        continue;
                    }
                    tried++;
                    make_qc(fx, 7, &id, signers, k, &qc);
                    ASSERT_EQ(hs_verify_qc(&fx->v, &qc),
                              k >= fx->q ? 0 : SEQ_EBADMSG);
                }
                /* 4!/(4-k)!: 12, 24 and 24 orderings of 2, 3, 4 signers. */
                ASSERT_EQ(tried, orderings);
            }
        } else {
            for (trial = 0; trial < 40; trial++) {
                k = fx->q + (uint32_t)seq_rng_below(&rng, fx->n - fx->q + 1);
                random_signers(&rng, fx->n, k, signers);
                make_qc(fx, 7, &id, signers, k, &qc);
                ASSERT_OK(hs_verify_qc(&fx->v, &qc));
                qc.n_sigs = fx->q - 1;
                ASSERT_ERR(hs_verify_qc(&fx->v, &qc), SEQ_EBADMSG);
            }
        }
        fixture_teardown(fx);
    }
}

TEST(verify_qc, rejects_2f_signers)
{
    struct hs_qc qc;
    struct seq_hash id;
    size_t c;

    block_id_of("block", &id);
    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);

        make_qc(fx, 5, &id, first_ids, fx->q - 1, &qc);
        ASSERT_ERR(hs_verify_qc(&fx->v, &qc), SEQ_EBADMSG);
        /* The last 2f members instead of the first. */
        make_qc(fx, 5, &id, first_ids + (fx->n - fx->q + 1), fx->q - 1, &qc);
        ASSERT_ERR(hs_verify_qc(&fx->v, &qc), SEQ_EBADMSG);
        make_qc(fx, 5, &id, first_ids, 0, &qc);
        ASSERT_ERR(hs_verify_qc(&fx->v, &qc), SEQ_EBADMSG);
        make_qc(fx, 5, &id, first_ids, fx->q, &qc);
        ASSERT_OK(hs_verify_qc(&fx->v, &qc));
        make_qc(fx, 5, &id, first_ids, fx->n, &qc);
        ASSERT_OK(hs_verify_qc(&fx->v, &qc));
        fixture_teardown(fx);
    }
}

/* A repeated signer never counts twice, and is refused outright even when
 * the distinct signers alone would make a quorum. */
TEST(verify_qc, rejects_duplicate_signer)
{
    struct hs_qc qc;
    struct seq_hash id;
    size_t c;

    block_id_of("block", &id);
    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);
        uint32_t last;

        /* 2f distinct plus a copy of one of them: q entries. */
        make_qc(fx, 5, &id, first_ids, fx->q, &qc);
        last = fx->q - 1;
        qc.sigs[last] = qc.sigs[0];
        ASSERT_ERR(hs_verify_qc(&fx->v, &qc), SEQ_EBADMSG);
        /* Same, with the copy first. */
        make_qc(fx, 5, &id, first_ids, fx->q, &qc);
        qc.sigs[0] = qc.sigs[last];
        ASSERT_ERR(hs_verify_qc(&fx->v, &qc), SEQ_EBADMSG);
        /* A full quorum plus a duplicate. */
        make_qc(fx, 5, &id, first_ids, fx->q, &qc);
        qc.sigs[fx->q] = qc.sigs[1];
        qc.n_sigs = fx->q + 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &qc), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

TEST(verify_qc, rejects_unknown_signer)
{
    struct hs_qc qc, bad;
    struct seq_hash id, digest;
    size_t c;

    block_id_of("block", &id);
    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);
        static const hs_node_t huge[] = { HS_MAX_VALIDATORS, 1000, UINT32_MAX };
        size_t h;

        make_qc(fx, 5, &id, first_ids, fx->q, &qc);
        ASSERT_OK(hs_verify_qc(&fx->v, &qc));

        /* Index n: one past the set. The outsider signs as itself. */
        bad = qc;
        hs_vote_digest(&fx->v.chain_id, EPOCH, 5, &id, &digest);
        bad.sigs[1].signer = fx->n;
        sign(fx, fx->n, &digest, &bad.sigs[1].sig);
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        /* The same, added to an otherwise complete quorum. */
        bad = qc;
        bad.sigs[fx->q].signer = fx->n;
        sign(fx, fx->n, &digest, &bad.sigs[fx->q].sig);
        bad.n_sigs = fx->q + 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        for (h = 0; h < sizeof huge / sizeof huge[0]; h++) {
            bad = qc;
            bad.sigs[0].signer = huge[h];
            ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        }

        /* The outsider's key signs in a member's name: in place of a
         * member's own signature, and for a member that did not sign. */
        bad = qc;
        sign(fx, fx->n, &digest, &bad.sigs[fx->q - 1].sig);
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        if (fx->q < fx->n) {
            bad = qc;
            bad.sigs[fx->q].signer = fx->q;
            sign(fx, fx->n, &digest, &bad.sigs[fx->q].sig);
            bad.n_sigs = fx->q + 1;
            ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        }
        /* The set's unused slot past n holds an all-zero key. The fake
         * scheme can sign for that key, so this forgery is checked by the
         * index bound alone (a real zero key does not even parse). */
        bad = qc;
        bad.sigs[0].signer = fx->n;
        if (!fx->real) {
            struct fake_crypto zero;

            fake_crypto_init(&zero, 0);
            memset(zero.pk.bytes, 0, HS_PUBKEY_LEN);
            ASSERT_OK(zero.base.sign(&zero.base, &digest, &bad.sigs[0].sig));
            ASSERT_OK(fx->v.crypto->verify(fx->v.crypto, &fx->vs.keys[fx->n],
                                           &digest, &bad.sigs[0].sig));
        }
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        /* Two members' signatures swapped between their slots. */
        bad = qc;
        bad.sigs[0].sig = qc.sigs[1].sig;
        bad.sigs[1].sig = qc.sigs[0].sig;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

TEST(verify_qc, rejects_wrong_epoch_round_block_or_chain)
{
    struct hs_qc qc, bad;
    struct seq_hash id;
    size_t c;

    block_id_of("block", &id);
    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);
        struct hs_verifier other;

        make_qc(fx, 5, &id, first_ids, fx->q, &qc);
        bad = qc;
        bad.epoch = EPOCH + 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_ESTALE);
        bad.epoch = EPOCH - 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_ESTALE);
        /* Properly signed in another epoch: still stale here. */
        make_qc_epoch(fx, EPOCH + 1, 5, &id, first_ids, fx->q, &bad);
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_ESTALE);
        /* Signed for another epoch, labelled with ours. */
        bad.epoch = EPOCH;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);

        bad = qc;
        bad.block_id.bytes[0] ^= 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        bad = qc;
        bad.block_id.bytes[31] ^= 0x80;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        bad = qc;
        bad.round = 6;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        /* The height is not signed: it is checked against the block. */
        bad = qc;
        bad.height += 10;
        ASSERT_OK(hs_verify_qc(&fx->v, &bad));

        other = fx->v;
        other.chain_id.bytes[5] ^= 1;
        ASSERT_ERR(hs_verify_qc(&other, &qc), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

TEST(verify_qc, rejects_malformed_or_tampered_signature)
{
    static const size_t positions[] = { 0, 1, 31, 32, 33, 63 };
    struct hs_qc qc, bad;
    struct seq_hash id;
    size_t c, p;
    uint32_t s;

    block_id_of("block", &id);
    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);

        make_qc(fx, 9, &id, first_ids, fx->q, &qc);
        for (s = 0; s < fx->q; s++) {
            for (p = 0; p < sizeof positions / sizeof positions[0]; p++) {
                bad = qc;
                bad.sigs[s].sig.bytes[positions[p]] ^= 0x01;
                ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
            }
        }
        bad = qc;
        memset(bad.sigs[1].sig.bytes, 0, HS_SIG_LEN);
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        memset(bad.sigs[1].sig.bytes, 0xff, HS_SIG_LEN);
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        /* One bad signature spoils a QC that has a quorum without it. */
        make_qc(fx, 9, &id, first_ids, fx->n, &bad);
        bad.sigs[fx->n - 1].sig.bytes[10] ^= 0x40;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        /* Counts past the array are refused, not read. */
        bad = qc;
        bad.n_sigs = HS_MAX_VALIDATORS + 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        bad.n_sigs = UINT32_MAX;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

/* Round 0 is the genesis QC in its exact form, and nothing else. */
TEST(verify_qc, genesis_only_in_exact_form)
{
    struct hs_qc qc, bad;
    struct seq_hash other_id;
    size_t c;

    block_id_of("not genesis", &other_id);
    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);

        hs_genesis_qc(&fx->genesis, &qc);
        ASSERT_OK(hs_verify_qc(&fx->v, &qc));

        bad = qc;
        bad.block_id.bytes[3] ^= 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        bad = qc;
        bad.height = 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        bad = qc;
        bad.epoch = EPOCH + 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_ESTALE);
        /* Genesis id with signatures: one, or a whole valid quorum. */
        make_qc(fx, 0, &fx->genesis.id, first_ids, 1, &bad);
        bad.height = 0;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        make_qc(fx, 0, &fx->genesis.id, first_ids, fx->q, &bad);
        bad.height = 0;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        /* A signed round-0 QC for another block. */
        make_qc(fx, 0, &other_id, first_ids, fx->q, &bad);
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        /* Genesis id, no signatures, but round 1. */
        bad = qc;
        bad.round = 1;
        ASSERT_ERR(hs_verify_qc(&fx->v, &bad), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

/* ---------------------------------------------------------------- TC -- */

TEST(verify_tc, accepts_any_order_of_a_quorum)
{
    struct hs_tc tc;
    hs_node_t signers[HS_MAX_VALIDATORS];
    hs_round_t hqc[HS_MAX_VALIDATORS];
    size_t c;

    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);
        struct seq_rng rng;
        uint32_t k;
        int trial;

        seq_rng_seed(&rng, test_seed() + 100 + c);
        if (fx->n == 4) {
            for (k = fx->q - 1; k <= fx->n; k++) {
                uint64_t code, total = 1;
                uint32_t i;

                for (i = 0; i < k; i++) {
                    total *= fx->n;
                }
                for (code = 0; code < total; code++) {
                    if (!decode_perm(code, fx->n, k, signers)) {
                        continue;
                    }
                    for (i = 0; i < k; i++) {
                        hqc[i] = signers[i] % 3 + 4; /* per signer */
                    }
                    make_tc(fx, 8, signers, hqc, k, &tc);
                    ASSERT_EQ(hs_verify_tc(&fx->v, &tc),
                              k >= fx->q ? 0 : SEQ_EBADMSG);
                }
            }
        } else {
            for (trial = 0; trial < 40; trial++) {
                uint32_t i;

                k = fx->q + (uint32_t)seq_rng_below(&rng, fx->n - fx->q + 1);
                random_signers(&rng, fx->n, k, signers);
                for (i = 0; i < k; i++) {
                    hqc[i] = seq_rng_below(&rng, 8);
                }
                make_tc(fx, 8, signers, hqc, k, &tc);
                ASSERT_OK(hs_verify_tc(&fx->v, &tc));
                tc.n_sigs = fx->q - 1;
                ASSERT_ERR(hs_verify_tc(&fx->v, &tc), SEQ_EBADMSG);
            }
        }
        fixture_teardown(fx);
    }
}

TEST(verify_tc, rejects_the_qc_list_and_wrong_high_qc_rounds)
{
    struct hs_tc tc, bad;
    struct seq_hash digest;
    hs_round_t hqc[HS_MAX_VALIDATORS + 1];
    size_t c;

    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);
        uint32_t s;

        hqc_rounds(10, fx->n + 1, hqc);
        make_tc(fx, 10, first_ids, hqc, fx->q, &tc);
        ASSERT_OK(hs_verify_tc(&fx->v, &tc));
        make_tc(fx, 10, first_ids, hqc, fx->n, &bad);
        ASSERT_OK(hs_verify_tc(&fx->v, &bad));

        /* 2f signers. */
        make_tc(fx, 10, first_ids, hqc, fx->q - 1, &bad);
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        /* A duplicate, instead of and on top of a quorum. */
        bad = tc;
        bad.sigs[fx->q - 1] = bad.sigs[0];
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        bad = tc;
        bad.sigs[fx->q] = bad.sigs[0];
        bad.n_sigs = fx->q + 1;
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        /* Unknown signers: index n, a huge index, the outsider's key. */
        bad = tc;
        hs_timeout_digest(&fx->v.chain_id, EPOCH, 10, hqc[0], &digest);
        bad.sigs[0].signer = fx->n;
        sign(fx, fx->n, &digest, &bad.sigs[0].sig);
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        bad.sigs[0].signer = UINT32_MAX;
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        bad.sigs[0].signer = 0; /* member 0's slot, the outsider's sig */
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        /* Epoch. */
        bad = tc;
        bad.epoch = EPOCH + 1;
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_ESTALE);
        make_tc_epoch(fx, EPOCH - 1, 10, first_ids, hqc, fx->q, &bad);
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_ESTALE);
        bad.epoch = EPOCH;
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        /* Round: another one, and round 0 (even when signed so). */
        bad = tc;
        bad.round = 11;
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        hqc[0] = hqc[1] = hqc[2] = 0;
        make_tc(fx, 0, first_ids, hqc, fx->q, &bad);
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        hqc_rounds(10, fx->n + 1, hqc);
        /* Each signer's claimed high_qc_round is what it signed. */
        for (s = 0; s < fx->q; s++) {
            bad = tc;
            bad.sigs[s].high_qc_round = hqc[s] == 0 ? 1 : hqc[s] - 1;
            ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        }
        /* A high QC round at or above the TC's round, even if signed. */
        hqc[1] = 10;
        make_tc(fx, 10, first_ids, hqc, fx->q, &bad);
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        hqc[1] = UINT64_MAX;
        make_tc(fx, 10, first_ids, hqc, fx->q, &bad);
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        hqc_rounds(10, fx->n + 1, hqc);
        /* Tampered or malformed signatures. */
        for (s = 0; s < fx->q; s++) {
            bad = tc;
            bad.sigs[s].sig.bytes[s % HS_SIG_LEN] ^= 0x10;
            ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        }
        bad = tc;
        memset(bad.sigs[0].sig.bytes, 0xff, HS_SIG_LEN);
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        bad = tc;
        bad.n_sigs = HS_MAX_VALIDATORS + 1;
        ASSERT_ERR(hs_verify_tc(&fx->v, &bad), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

/* -------------------------------------------------------------- vote -- */

TEST(verify_vote, accepts_valid_rejects_each_tampered_field)
{
    struct hs_vote vote, bad;
    struct seq_hash digest;
    size_t c;

    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);
        hs_node_t voter;

        for (voter = 0; voter < fx->n; voter++) {
            memset(&vote, 0, sizeof vote);
            vote.epoch = EPOCH;
            vote.round = 12;
            vote.height = 9;
            block_id_of("voted", &vote.block_id);
            vote.voter = voter;
            hs_vote_digest(&fx->v.chain_id, EPOCH, 12, &vote.block_id, &digest);
            sign(fx, voter, &digest, &vote.sig);
            ASSERT_OK(hs_verify_vote(&fx->v, &vote));
        }

        bad = vote;
        bad.epoch = EPOCH + 1;
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_ESTALE);
        bad = vote;
        bad.round = 13;
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_EBADMSG);
        bad = vote;
        bad.block_id.bytes[17] ^= 4;
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_EBADMSG);
        bad = vote;
        bad.voter = 0;
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_EBADMSG);
        bad = vote;
        bad.voter = fx->n;
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_EBADMSG);
        bad.voter = UINT32_MAX;
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_EBADMSG);
        bad = vote;
        bad.sig.bytes[40] ^= 2;
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_EBADMSG);
        /* The outsider's vote in its own name and in a member's. */
        bad = vote;
        sign(fx, fx->n, &digest, &bad.sig);
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_EBADMSG);
        bad.voter = fx->n;
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_EBADMSG);
        /* The height is not signed. */
        bad = vote;
        bad.height = 1000;
        ASSERT_OK(hs_verify_vote(&fx->v, &bad));
        /* Nobody votes in round 0, the genesis round. */
        bad = vote;
        bad.round = 0;
        hs_vote_digest(&fx->v.chain_id, EPOCH, 0, &bad.block_id, &digest);
        sign(fx, bad.voter, &digest, &bad.sig);
        ASSERT_ERR(hs_verify_vote(&fx->v, &bad), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

/* ----------------------------------------------------------- timeout -- */

static void make_timeout(const struct fixture *fx,
                         hs_node_t author,
                         hs_round_t round,
                         hs_round_t high_qc_round,
                         const struct hs_qc *high_qc,
                         struct hs_timeout *out)
{
    struct seq_hash digest;

    memset(out, 0, sizeof *out);
    out->epoch = EPOCH;
    out->round = round;
    out->author = author;
    out->high_qc_round = high_qc_round;
    out->high_qc = *high_qc;
    hs_timeout_digest(&fx->v.chain_id, EPOCH, round, high_qc_round, &digest);
    sign(fx, author, &digest, &out->sig);
}

TEST(verify_timeout, accepts_valid_rejects_each_tampered_field)
{
    static struct hs_timeout t, bad;
    struct hs_qc qc5, genesis_qc;
    struct seq_hash id, digest;
    hs_round_t hqc[HS_MAX_VALIDATORS];
    size_t c;

    block_id_of("qc5", &id);
    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);
        hs_node_t author = fx->n - 1;

        make_qc(fx, 5, &id, first_ids, fx->q, &qc5);
        hs_genesis_qc(&fx->genesis, &genesis_qc);

        make_timeout(fx, author, 7, 5, &qc5, &t);
        ASSERT_OK(hs_verify_timeout(&fx->v, &t));
        /* A high QC newer than the round signed is fine (it only helps
         * catch-up); so is the genesis QC with round 0 signed. */
        make_timeout(fx, author, 7, 4, &qc5, &bad);
        ASSERT_OK(hs_verify_timeout(&fx->v, &bad));
        make_timeout(fx, author, 1, 0, &genesis_qc, &bad);
        ASSERT_OK(hs_verify_timeout(&fx->v, &bad));
        /* With a valid TC for round 6 riding along. */
        hqc_rounds(6, fx->n, hqc);
        bad = t;
        make_tc(fx, 6, first_ids, hqc, fx->q, &bad.tc);
        bad.has_tc = true;
        ASSERT_OK(hs_verify_timeout(&fx->v, &bad));
        /* ... and an invalid one. */
        bad.tc.sigs[0].sig.bytes[0] ^= 1;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        bad.has_tc = false;
        ASSERT_OK(hs_verify_timeout(&fx->v, &bad));

        bad = t;
        bad.epoch = EPOCH + 1;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_ESTALE);
        bad = t;
        bad.round = 8;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        bad = t;
        bad.author = 0;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        bad = t;
        bad.author = fx->n;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        bad.author = UINT32_MAX;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        bad = t;
        bad.high_qc_round = 4;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        bad = t;
        bad.sig.bytes[63] ^= 0x80;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        /* The outsider's signature, in a member's name. */
        bad = t;
        hs_timeout_digest(&fx->v.chain_id, EPOCH, 7, 5, &digest);
        sign(fx, fx->n, &digest, &bad.sig);
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        /* The high QC is older than the round the author signed. */
        make_timeout(fx, author, 7, 5, &genesis_qc, &bad);
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        /* A signed high_qc_round at or above the timeout's round. */
        make_timeout(fx, author, 5, 5, &qc5, &bad);
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        /* The carried high QC must itself be valid. */
        bad = t;
        bad.high_qc.n_sigs = fx->q - 1;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        bad = t;
        bad.high_qc.sigs[1].sig.bytes[5] ^= 1;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        bad = t;
        bad.high_qc.epoch = EPOCH + 1;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        bad = t;
        bad.high_qc.block_id.bytes[0] ^= 1;
        ASSERT_ERR(hs_verify_timeout(&fx->v, &bad), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

/* ---------------------------------------------------------- proposal -- */

static uint8_t payload_buf[] = "tx1;tx2;tx3";
static uint8_t payload_tampered[] = "tx1;tx2;tx4";

/* Sign the block id as its author. */
static void proposal_resign(const struct fixture *fx, struct hs_proposal *p)
{
    struct seq_hash digest;

    hs_proposal_digest(&fx->v.chain_id, p->block.epoch, p->block.round,
                       &p->block.id, &digest);
    sign(fx, p->block.author, &digest, &p->sig);
}

/* Re-seal after changing a field, and re-sign: only the shape is wrong. */
static void proposal_reseal(const struct fixture *fx, struct hs_proposal *p)
{
    hs_block_seal(&p->block, &fx->v.chain_id);
    proposal_resign(fx, p);
}

/* Block at @round extending @justify, sealed and signed by @author. The
 * payload is borrowed, not owned: never hs_block_free these. */
static void make_proposal(const struct fixture *fx,
                          hs_node_t author,
                          hs_round_t round,
                          const struct hs_qc *justify,
                          uint8_t *payload,
                          size_t payload_len,
                          struct hs_proposal *out)
{
    struct hs_block *b = &out->block;

    memset(out, 0, sizeof *out);
    b->epoch = EPOCH;
    b->round = round;
    b->height = justify->height + 1;
    b->parent_id = justify->block_id;
    b->author = author;
    b->justify = *justify;
    b->payload = payload;
    b->payload_len = payload_len;
    hs_block_seal(b, &fx->v.chain_id);
    proposal_resign(fx, out);
}

/* The proposal the tampering tests start from: round 5, on a QC of round
 * 4, by member 1, with a payload. */
static void valid_proposal(const struct fixture *fx, struct hs_proposal *out)
{
    struct hs_qc qc4;
    struct seq_hash id4;

    block_id_of("block at round 4", &id4);
    make_qc(fx, 4, &id4, first_ids, fx->q, &qc4);
    make_proposal(fx, 1, 5, &qc4, payload_buf, sizeof payload_buf, out);
}

TEST(verify_proposal, accepts_valid_rejects_tampered_header)
{
    static struct hs_proposal p, bad;
    struct hs_qc genesis_qc;
    size_t c;

    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);

        /* Round 1 on genesis; round 5 on genesis with no payload. */
        hs_genesis_qc(&fx->genesis, &genesis_qc);
        make_proposal(fx, 1, 1, &genesis_qc, payload_buf, sizeof payload_buf,
                      &bad);
        ASSERT_OK(hs_verify_proposal(&fx->v, &bad));
        make_proposal(fx, 1, 5, &genesis_qc, NULL, 0, &bad);
        ASSERT_OK(hs_verify_proposal(&fx->v, &bad));
        valid_proposal(fx, &p);
        ASSERT_OK(hs_verify_proposal(&fx->v, &p));

        /* Header fields changed after signing: id mismatch. */
        bad = p;
        bad.block.epoch = EPOCH + 1;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_ESTALE);
        bad = p;
        bad.block.round = 6;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.author = 2;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.author = fx->n;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.ns_root.bytes[0] = 1;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.justify.round = 3;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.id.bytes[8] ^= 1;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        /* Height and parent move together with the justify QC; each alone
         * breaks the shape, both together the id. */
        bad = p;
        bad.block.height++;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.parent_id.bytes[0] ^= 1;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.height++;
        bad.block.justify.height++;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

TEST(verify_proposal, rejects_tampered_payload_or_signature)
{
    static struct hs_proposal p, bad;
    struct seq_hash digest;
    size_t c;

    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);

        valid_proposal(fx, &p);
        ASSERT_OK(hs_verify_proposal(&fx->v, &p));

        /* Payload: other bytes, fewer bytes, none, or a bogus hash. */
        bad = p;
        bad.block.payload = payload_tampered;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.payload_len--;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.payload = NULL;
        bad.block.payload_len = 0;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.payload = NULL;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.payload_hash.bytes[31] ^= 1;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        /* payload_hash and id both recomputed for the new payload, but
         * the signature is over the old id. */
        bad = p;
        bad.block.payload = payload_tampered;
        hs_block_seal(&bad.block, &fx->v.chain_id);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);

        /* Signature: tampered, by another member, by the outsider. */
        bad = p;
        bad.sig.bytes[0] ^= 1;
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        hs_proposal_digest(&fx->v.chain_id, EPOCH, 5, &p.block.id, &digest);
        bad = p;
        sign(fx, 0, &digest, &bad.sig);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        sign(fx, fx->n, &digest, &bad.sig);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        /* A vote signature over the same id does not pass as a proposal
         * signature: the domain tags differ. */
        hs_vote_digest(&fx->v.chain_id, EPOCH, 5, &p.block.id, &digest);
        sign(fx, p.block.author, &digest, &bad.sig);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

/* Sealed and signed correctly, yet not shaped like a block: it must
 * extend the block its justify QC certifies, one level up, in a later
 * round. */
TEST(verify_proposal, rejects_bad_shape_even_when_signed)
{
    static struct hs_proposal p, bad;
    size_t c;

    for (c = 0; c < N_CONFIGS; c++) {
        struct fixture *fx = fixture_setup(&configs[c]);

        valid_proposal(fx, &p);
        ASSERT_OK(hs_verify_proposal(&fx->v, &p));

        bad = p;
        bad.block.parent_id.bytes[1] ^= 1;
        proposal_reseal(fx, &bad);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.height += 1;
        proposal_reseal(fx, &bad);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.height = bad.block.justify.height;
        proposal_reseal(fx, &bad);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.round = 4;
        proposal_reseal(fx, &bad);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        bad = p;
        bad.block.round = 3;
        proposal_reseal(fx, &bad);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        /* height + 1 must not wrap around. */
        bad = p;
        bad.block.justify.height = UINT64_MAX;
        bad.block.height = 0;
        proposal_reseal(fx, &bad);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        /* Signed by the author but the author is no member. */
        bad = p;
        bad.block.author = fx->n;
        proposal_reseal(fx, &bad);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        /* Far out of range: refused before any key is looked up. */
        bad.block.author = UINT32_MAX;
        hs_block_seal(&bad.block, &fx->v.chain_id);
        ASSERT_ERR(hs_verify_proposal(&fx->v, &bad), SEQ_EBADMSG);
        fixture_teardown(fx);
    }
}

TEST_MAIN()
