/* Serving block sync requests: a replica answers with the LOWEST blocks of
 * the chain above the asker's known height, in descending height order on
 * the wire, from its store below its committed root and from its tree
 * above, and never more payload than one frame can carry (at least one
 * block). The asking side is exercised end to end by the simulator's
 * partition and crash scenarios. */

#include <string.h>

#include "fake_crypto.h"
#include "harness.h"
#include "hs_core.h"
#include "hs_verify.h"
#include "seq_alloc.h"
#include "seq_err.h"

#define N     4
#define CHAIN 10

struct chain {
    struct seq_hash chain_id;
    struct hs_validator_set validators;
    struct fake_crypto keys[N];
    struct hs_block blocks[CHAIN + 1]; /* [0] is genesis. */
    struct hs_qc qcs[CHAIN + 1];
};

struct sync_io {
    struct hs_io io;
    struct chain *chain;
    unsigned responses;
    hs_node_t to;
    uint32_t n_blocks;
    hs_height_t heights[HS_MAX_FETCH_BLOCKS];
    bool linked; /* Each block the parent of the one before. */
};

static void nop_safety(struct hs_io *io, const struct hs_safety *st)
{
    (void)io;
    (void)st;
}

static void nop_block(struct hs_io *io, const struct hs_block *b)
{
    (void)io;
    (void)b;
}

static void nop_qc(struct hs_io *io, const struct hs_qc *qc, bool high)
{
    (void)io;
    (void)qc;
    (void)high;
}

static void nop_tc(struct hs_io *io, const struct hs_tc *tc)
{
    (void)io;
    (void)tc;
}

static void nop_broadcast(struct hs_io *io, const struct hs_msg *msg)
{
    (void)io;
    (void)msg;
}

static void nop_timer(struct hs_io *io, uint64_t deadline)
{
    (void)io;
    (void)deadline;
}

static void nop_commit(struct hs_io *io,
                       const struct hs_block *b,
                       const struct hs_qc *qc)
{
    (void)io;
    (void)b;
    (void)qc;
}

static void capture_send(struct hs_io *io,
                         hs_node_t to,
                         const struct hs_msg *msg)
{
    struct sync_io *t = io->impl;
    uint32_t i;

    if (msg->type != HS_MSG_BLOCK_RESPONSE) {
        return;
    }
    t->responses++;
    t->to = to;
    t->n_blocks = msg->u.response.n_blocks;
    t->linked = true;
    for (i = 0; i < t->n_blocks; i++) {
        const struct hs_block *b = &msg->u.response.blocks[i];
        t->heights[i] = b->height;
        if (i > 0 &&
            !seq_hash_eq(&msg->u.response.blocks[i - 1].parent_id, &b->id)) {
            t->linked = false;
        }
    }
}

static int load_committed(struct hs_io *io,
                          hs_height_t height,
                          struct hs_block *out)
{
    struct sync_io *t = io->impl;

    if (height == 0 || height > CHAIN) {
        return SEQ_ENOTFOUND;
    }
    return hs_block_copy(out, &t->chain->blocks[height]);
}

/* A chain of CHAIN blocks after genesis, each with @payload_len bytes of
 * payload and a QC from validators 0-2. */
static void chain_build(struct chain *c, size_t payload_len)
{
    struct seq_hash digest;
    hs_height_t h;
    hs_node_t i;

    memset(c, 0, sizeof *c);
    seq_sha256("sync", 4, &c->chain_id);
    fake_validator_set(N, &c->validators);
    for (i = 0; i < N; i++) {
        fake_crypto_init(&c->keys[i], i);
    }
    hs_genesis_block(&c->chain_id, 0, &c->blocks[0]);
    hs_genesis_qc(&c->blocks[0], &c->qcs[0]);
    for (h = 1; h <= CHAIN; h++) {
        struct hs_block *b = &c->blocks[h];
        struct hs_qc *qc = &c->qcs[h];

        b->round = h;
        b->height = h;
        b->parent_id = c->blocks[h - 1].id;
        b->justify = c->qcs[h - 1];
        b->author = (hs_node_t)(h % N);
        b->payload_len = payload_len;
        b->payload = seq_calloc(1, payload_len);
        ASSERT_TRUE(b->payload != NULL);
        b->payload[0] = (uint8_t)h;
        hs_block_seal(b, &c->chain_id);
        qc->round = h;
        qc->height = h;
        qc->block_id = b->id;
        hs_vote_digest(&c->chain_id, 0, h, &b->id, &digest);
        for (i = 0; i < 3; i++) {
            qc->sigs[i].signer = i;
            c->keys[i].base.sign(&c->keys[i].base, &digest, &qc->sigs[i].sig);
        }
        qc->n_sigs = 3;
    }
}

static void chain_free(struct chain *c)
{
    hs_height_t h;

    for (h = 0; h <= CHAIN; h++) {
        hs_block_free(&c->blocks[h]);
    }
}

/* A replica whose committed root is block @root_height and whose tree holds
 * the blocks above it. */
static struct hs_core *replica(struct chain *c,
                               struct sync_io *t,
                               hs_height_t root_height)
{
    const struct hs_block *above[CHAIN];
    struct hs_recovery rec;
    struct hs_config config;
    struct hs_core *core = NULL;
    hs_height_t h;
    size_t n = 0;

    memset(t, 0, sizeof *t);
    t->chain = c;
    t->io.impl = t;
    t->io.persist_safety = nop_safety;
    t->io.persist_block = nop_block;
    t->io.persist_qc = nop_qc;
    t->io.persist_tc = nop_tc;
    t->io.send = capture_send;
    t->io.broadcast = nop_broadcast;
    t->io.set_timer = nop_timer;
    t->io.commit = nop_commit;
    t->io.load_committed = load_committed;
    for (h = root_height + 1; h <= CHAIN; h++) {
        above[n++] = &c->blocks[h];
    }
    memset(&rec, 0, sizeof rec);
    rec.root = &c->blocks[root_height];
    rec.root_qc = &c->qcs[root_height];
    rec.blocks = above;
    rec.n_blocks = n;
    rec.high_qc = &c->qcs[CHAIN];
    memset(&config, 0, sizeof config);
    config.chain_id = c->chain_id;
    config.self = 0;
    config.validators = &c->validators;
    ASSERT_OK(hs_core_new(&config, &rec, &t->io, &c->keys[0].base, &core));
    return core;
}

static int ask(struct hs_core *core,
               const struct chain *c,
               hs_height_t target,
               hs_height_t known,
               uint32_t count)
{
    struct hs_msg msg;

    memset(&msg, 0, sizeof msg);
    msg.type = HS_MSG_BLOCK_REQUEST;
    msg.u.request.block_id = c->blocks[target].id;
    msg.u.request.known_height = known;
    msg.u.request.count = count;
    return hs_core_on_message(core, 0, 2, &msg);
}

TEST(core_sync, lowest_blocks_first_in_descending_order)
{
    static struct chain c;
    struct sync_io t;
    struct hs_core *core;
    uint32_t i;

    chain_build(&c, 16);
    core = replica(&c, &t, 6); /* 1-6 in the store, 7-10 in the tree. */

    ASSERT_OK(ask(core, &c, CHAIN, 0, 64));
    ASSERT_EQ(t.responses, 1u);
    ASSERT_EQ(t.to, 2u);
    ASSERT_EQ(t.n_blocks, CHAIN);
    ASSERT_TRUE(t.linked);
    for (i = 0; i < t.n_blocks; i++) {
        ASSERT_EQ(t.heights[i], CHAIN - i);
    }

    /* Asked for 3 above height 2: the lowest three, 3-5. */
    ASSERT_OK(ask(core, &c, CHAIN, 2, 3));
    ASSERT_EQ(t.n_blocks, 3u);
    ASSERT_EQ(t.heights[0], 5u);
    ASSERT_EQ(t.heights[2], 3u);
    ASSERT_TRUE(t.linked);

    /* Only the tree part of the path: 8, then 9 for a target of 9. */
    ASSERT_OK(ask(core, &c, 9, 7, 64));
    ASSERT_EQ(t.n_blocks, 2u);
    ASSERT_EQ(t.heights[0], 9u);
    ASSERT_EQ(t.heights[1], 8u);

    /* The asker already has everything on the way: nothing to send. */
    ASSERT_ERR(ask(core, &c, 9, 9, 64), SEQ_ENOTFOUND);
    ASSERT_EQ(t.responses, 3u);

    /* Malformed counts are refused, not served. */
    ASSERT_ERR(ask(core, &c, CHAIN, 0, 0), SEQ_EBADMSG);
    ASSERT_ERR(ask(core, &c, CHAIN, 0, HS_MAX_FETCH_BLOCKS + 1), SEQ_EBADMSG);
    ASSERT_EQ(hs_core_stats(core)->msgs_bad, 2u);
    hs_core_free(core);
    chain_free(&c);
}

TEST(core_sync, response_payload_fits_one_frame)
{
    static struct chain c;
    struct sync_io t;
    struct hs_core *core;

    /* 6 MiB each: two fit in HS_MAX_RESPONSE_PAYLOAD (16 MiB), three do
     * not. */
    chain_build(&c, 6u * 1024 * 1024);
    core = replica(&c, &t, 6);
    ASSERT_OK(ask(core, &c, CHAIN, 0, 64));
    ASSERT_EQ(t.n_blocks, 2u);
    ASSERT_EQ(t.heights[0], 2u);
    ASSERT_EQ(t.heights[1], 1u);
    ASSERT_TRUE(t.linked);
    /* From the tree side too. */
    ASSERT_OK(ask(core, &c, CHAIN, 6, 64));
    ASSERT_EQ(t.n_blocks, 2u);
    ASSERT_EQ(t.heights[0], 8u);
    ASSERT_EQ(t.heights[1], 7u);
    hs_core_free(core);
    chain_free(&c);
}

TEST(core_sync, one_block_always_goes_even_if_huge)
{
    static struct chain c;
    struct sync_io t;
    struct hs_core *core;

    chain_build(&c, HS_MAX_RESPONSE_PAYLOAD);
    core = replica(&c, &t, CHAIN);
    ASSERT_OK(ask(core, &c, CHAIN, 0, 64));
    ASSERT_EQ(t.n_blocks, 1u);
    ASSERT_EQ(t.heights[0], 1u);
    hs_core_free(core);
    chain_free(&c);
}

TEST_MAIN()
