/* The invariant checker of the simulator. It watches two streams: every
 * message a replica releases (after its sync, before the network takes it)
 * and every commit. From them it checks, after every event, the safety
 * invariants below among honest keys (a key with a twin, or one marked
 * Byzantine, is not honest). The checks are written out here on purpose,
 * with only the crypto interface and the digest functions, and never
 * through hs_verify_qc(): the mutation build of the core breaks its own
 * verification, and the checker must still see the difference.
 *
 **************** NOTES ON THE DESIGN OF THE INVARIANT CHECKER ****************
 *
 * (S1) A vote or timeout for round r leaves an honest replica only when the
 *      safety state it synced has last_voted_round >= r (Jolteon raises
 *      last_voted_round to the round of a timeout, too). Otherwise a crash
 *      right after the send could sign again in r.
 * (S2) No honest key signs votes for two different blocks in one (epoch,
 *      round), nor timeouts with two different high_qc_round for one round.
 *      Kept over everything any replica ever released, across restarts.
 * (S3) Every QC and TC that an honest replica releases (proposal justify and
 *      TC, timeout high QC and TC, fetched blocks' justify) and every commit
 *      QC has at least quorum(n) = n - floor((n - 1) / 3) distinct signers,
 *      each with a valid signature over the right digest. The genesis QC
 *      (round 0, no signatures, genesis id) is valid by definition.
 * (S4) Agreement: honest replicas that commit height h commit the same id.
 * (S5) Committed logs only grow: a replica's commits come in consecutive
 *      heights from the one after its durable committed height at (re)start,
 *      each the child of the block committed just below it.
 *
 * Cost: certificates are remembered by the digest of their full contents in
 * a direct-mapped cache, so a QC relayed by every replica is verified about
 * once. Votes, timeouts and certified blocks live in one hash table keyed by
 * (kind, key, epoch, round[, block]); agreement is an array by height.
 ******************************************************************************/

#include "sim_check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hs_verify.h"
#include "seq_alloc.h"
#include "seq_err.h"
#include "seq_hex.h"

enum sim_check_kind {
    SIM_CHECK_VOTE = 1,    /* id: block voted for. */
    SIM_CHECK_TIMEOUT,     /* value: high_qc_round signed. */
    SIM_CHECK_CERTIFIED,   /* id (part of the key): a block certified. */
    SIM_CHECK_ROUND_COUNT, /* value: distinct blocks certified in round. */
};

struct sim_check_entry {
    uint32_t kind; /* 0: empty slot. */
    hs_node_t node;
    hs_epoch_t epoch;
    hs_round_t round;
    struct seq_hash id;
    uint64_t value;
};

#define SIM_CHECK_TABLE_MIN 1024

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t entry_hash(const struct sim_check_entry *e)
{
    uint64_t h = mix64(((uint64_t)e->kind << 32) ^ e->node);

    h = mix64(h ^ e->epoch);
    h = mix64(h ^ e->round);
    if (e->kind == SIM_CHECK_CERTIFIED) {
        uint64_t prefix;

        memcpy(&prefix, e->id.bytes, sizeof prefix);
        h = mix64(h ^ prefix);
    }
    return h;
}

static bool entry_same_key(const struct sim_check_entry *a,
                           const struct sim_check_entry *b)
{
    if (a->kind != b->kind || a->node != b->node || a->epoch != b->epoch ||
        a->round != b->round) {
        return false;
    }
    if (a->kind == SIM_CHECK_CERTIFIED) {
        return seq_hash_eq(&a->id, &b->id);
    }
    return true;
}

static struct sim_check_entry *table_slot(struct sim_check_entry *table,
                                          size_t cap,
                                          const struct sim_check_entry *key)
{
    size_t i = (size_t)entry_hash(key) & (cap - 1);

    while (table[i].kind != 0 && !entry_same_key(&table[i], key)) {
        i = (i + 1) & (cap - 1);
    }
    return &table[i];
}

static int table_grow(struct sim_check *chk)
{
    size_t cap = chk->table_cap * 2;
    struct sim_check_entry *table;
    size_t i;

    table = seq_calloc(cap, sizeof *table);
    if (table == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < chk->table_cap; i++) {
        if (chk->table[i].kind != 0) {
            *table_slot(table, cap, &chk->table[i]) = chk->table[i];
        }
    }
    seq_free(chk->table);
    chk->table = table;
    chk->table_cap = cap;
    return SEQ_OK;
}

/* The entry for @key, or NULL when out of memory. A new entry has kind 0
 * in *@created = true and must be filled in by the caller (kind included). */
static struct sim_check_entry *table_get(struct sim_check *chk,
                                         const struct sim_check_entry *key,
                                         bool *created)
{
    struct sim_check_entry *e;

    if ((chk->table_used + 1) * 2 > chk->table_cap && table_grow(chk) != 0) {
        sim_check_fail(chk, "checker out of memory");
        return NULL;
    }
    e = table_slot(chk->table, chk->table_cap, key);
    *created = e->kind == 0;
    if (*created) {
        *e = *key;
        chk->table_used++;
    }
    return e;
}

static const char *hexid(const struct seq_hash *id, char buf[17])
{
    seq_hex_encode(id->bytes, 8, buf);
    return buf;
}

void sim_check_fail(struct sim_check *chk, const char *fmt, ...)
{
    va_list ap;

    if (chk->failed) {
        return;
    }
    chk->failed = true;
    va_start(ap, fmt);
    vsnprintf(chk->msg, sizeof chk->msg, fmt, ap);
    va_end(ap);
}

int sim_check_init(struct sim_check *chk,
                   const struct seq_hash *chain_id,
                   hs_epoch_t epoch,
                   const struct seq_hash *genesis_id,
                   const struct hs_validator_set *validators,
                   const struct hs_crypto *verifier,
                   uint32_t n_replicas)
{
    uint32_t n = validators->n;
    uint32_t i;

    memset(chk, 0, sizeof *chk);
    chk->chain_id = *chain_id;
    chk->epoch = epoch;
    chk->genesis_id = *genesis_id;
    chk->validators = validators;
    chk->verifier = verifier;
    /* Written out rather than hs_quorum(): see the top of the file. */
    chk->quorum = n - (n - 1) / 3;
    for (i = 0; i < n && i < HS_MAX_VALIDATORS; i++) {
        chk->honest[i] = true;
    }
    chk->n_replicas = n_replicas;

    chk->cache = seq_calloc(SIM_CHECK_CACHE, sizeof *chk->cache);
    if (chk->cache == NULL) {
        goto err;
    }
    chk->table_cap = SIM_CHECK_TABLE_MIN;
    chk->table = seq_calloc(chk->table_cap, sizeof *chk->table);
    if (chk->table == NULL) {
        goto err_after_cache;
    }
    chk->committed_cap = 256;
    chk->committed = seq_calloc(chk->committed_cap, sizeof *chk->committed);
    if (chk->committed == NULL) {
        goto err_after_table;
    }
    chk->has_committed = seq_calloc(chk->committed_cap, 1);
    if (chk->has_committed == NULL) {
        goto err_after_committed;
    }
    chk->next_height = seq_calloc(n_replicas, sizeof *chk->next_height);
    if (chk->next_height == NULL) {
        goto err_after_has_committed;
    }
    for (i = 0; i < n_replicas; i++) {
        chk->next_height[i] = 1;
    }
    return SEQ_OK;

err_after_has_committed:
    seq_free(chk->has_committed);
err_after_committed:
    seq_free(chk->committed);
err_after_table:
    seq_free(chk->table);
err_after_cache:
    seq_free(chk->cache);
err:
    return SEQ_ENOMEM;
}

void sim_check_close(struct sim_check *chk)
{
    seq_free(chk->next_height);
    seq_free(chk->has_committed);
    seq_free(chk->committed);
    seq_free(chk->table);
    seq_free(chk->cache);
}

void sim_check_set_byzantine(struct sim_check *chk, hs_node_t node)
{
    if (node < HS_MAX_VALIDATORS) {
        chk->honest[node] = false;
    }
}

bool sim_check_is_honest(const struct sim_check *chk, hs_node_t node)
{
    return node < HS_MAX_VALIDATORS && chk->honest[node];
}

/* The cache slot for a certificate's digest, and whether it holds it. */
static bool cache_lookup(struct sim_check *chk,
                         const struct seq_hash *digest,
                         struct seq_hash **slot)
{
    uint64_t prefix;

    memcpy(&prefix, digest->bytes, sizeof prefix);
    *slot = &chk->cache[prefix % SIM_CHECK_CACHE];
    return seq_hash_eq(*slot, digest);
}

static void qc_content_digest(const struct hs_qc *qc, struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;
    uint32_t i;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, "QC", 2);
    seq_sha256_u64(&ctx, qc->epoch);
    seq_sha256_u64(&ctx, qc->round);
    seq_sha256_update(&ctx, qc->block_id.bytes, SEQ_HASH_LEN);
    seq_sha256_u32(&ctx, qc->n_sigs);
    for (i = 0; i < qc->n_sigs; i++) {
        seq_sha256_u32(&ctx, qc->sigs[i].signer);
        seq_sha256_update(&ctx, qc->sigs[i].sig.bytes, HS_SIG_LEN);
    }
    seq_sha256_final(&ctx, out);
}

static void tc_content_digest(const struct hs_tc *tc, struct seq_hash *out)
{
    struct seq_sha256_ctx ctx;
    uint32_t i;

    seq_sha256_init(&ctx);
    seq_sha256_update(&ctx, "TC", 2);
    seq_sha256_u64(&ctx, tc->epoch);
    seq_sha256_u64(&ctx, tc->round);
    seq_sha256_u32(&ctx, tc->n_sigs);
    for (i = 0; i < tc->n_sigs; i++) {
        seq_sha256_u32(&ctx, tc->sigs[i].signer);
        seq_sha256_u64(&ctx, tc->sigs[i].high_qc_round);
        seq_sha256_update(&ctx, tc->sigs[i].sig.bytes, HS_SIG_LEN);
    }
    seq_sha256_final(&ctx, out);
}

/* Counts the distinct signers of a certificate while checking each one.
 * Returns false with @why filled at the first bad signer. */
static bool add_signer(const struct sim_check *chk,
                       hs_node_t signer,
                       const struct seq_hash *digest,
                       const struct hs_sig *sig,
                       uint64_t *seen,
                       uint32_t *distinct,
                       char *why,
                       size_t why_len)
{
    if (signer >= chk->validators->n) {
        snprintf(why, why_len, "signer %u is not a validator", signer);
        return false;
    }
    if (chk->verifier->verify(chk->verifier, &chk->validators->keys[signer],
                              digest, sig) != 0) {
        snprintf(why, why_len, "invalid signature by %u", signer);
        return false;
    }
    if ((*seen & (UINT64_C(1) << signer)) == 0) {
        *seen |= UINT64_C(1) << signer;
        (*distinct)++;
    }
    return true;
}

/* (S3) for one QC. True if valid; else @why says what is wrong. */
static bool qc_valid(struct sim_check *chk,
                     const struct hs_qc *qc,
                     char *why,
                     size_t why_len)
{
    struct seq_hash content, digest, *slot;
    uint64_t seen = 0;
    uint32_t distinct = 0;
    uint32_t i;

    if (qc->round == 0) {
        if (qc->n_sigs == 0 && seq_hash_eq(&qc->block_id, &chk->genesis_id)) {
            return true;
        }
        snprintf(why, why_len, "round-0 QC that is not the genesis QC");
        return false;
    }
    if (qc->epoch != chk->epoch) {
        snprintf(why, why_len, "epoch %llu, expected %llu",
                 (unsigned long long)qc->epoch, (unsigned long long)chk->epoch);
        return false;
    }
    if (qc->n_sigs > HS_MAX_VALIDATORS) {
        snprintf(why, why_len, "%u signatures", qc->n_sigs);
        return false;
    }
    qc_content_digest(qc, &content);
    if (cache_lookup(chk, &content, &slot)) {
        return true;
    }
    hs_vote_digest(&chk->chain_id, qc->epoch, qc->round, &qc->block_id,
                   &digest);
    for (i = 0; i < qc->n_sigs; i++) {
        if (!add_signer(chk, qc->sigs[i].signer, &digest, &qc->sigs[i].sig,
                        &seen, &distinct, why, why_len)) {
            return false;
        }
    }
    if (distinct < chk->quorum) {
        snprintf(why, why_len, "%u distinct signers, quorum is %u", distinct,
                 chk->quorum);
        return false;
    }
    *slot = content;
    return true;
}

/* (S3) for one TC. */
static bool tc_valid(struct sim_check *chk,
                     const struct hs_tc *tc,
                     char *why,
                     size_t why_len)
{
    struct seq_hash content, digest, *slot;
    uint64_t seen = 0;
    uint32_t distinct = 0;
    uint32_t i;

    if (tc->epoch != chk->epoch) {
        snprintf(why, why_len, "epoch %llu, expected %llu",
                 (unsigned long long)tc->epoch, (unsigned long long)chk->epoch);
        return false;
    }
    if (tc->n_sigs > HS_MAX_VALIDATORS) {
        snprintf(why, why_len, "%u signatures", tc->n_sigs);
        return false;
    }
    tc_content_digest(tc, &content);
    if (cache_lookup(chk, &content, &slot)) {
        return true;
    }
    for (i = 0; i < tc->n_sigs; i++) {
        hs_timeout_digest(&chk->chain_id, tc->epoch, tc->round,
                          tc->sigs[i].high_qc_round, &digest);
        if (!add_signer(chk, tc->sigs[i].signer, &digest, &tc->sigs[i].sig,
                        &seen, &distinct, why, why_len)) {
            return false;
        }
    }
    if (distinct < chk->quorum) {
        snprintf(why, why_len, "%u distinct signers, quorum is %u", distinct,
                 chk->quorum);
        return false;
    }
    *slot = content;
    return true;
}

/* Count a valid QC's block among the blocks certified in its round. */
static void note_certified(struct sim_check *chk, const struct hs_qc *qc)
{
    struct sim_check_entry key = { 0 };
    struct sim_check_entry *e;
    bool created;

    if (qc->round == 0) {
        return;
    }
    key.kind = SIM_CHECK_CERTIFIED;
    key.epoch = qc->epoch;
    key.round = qc->round;
    key.id = qc->block_id;
    e = table_get(chk, &key, &created);
    if (e == NULL || !created) {
        return;
    }
    memset(&key.id, 0, sizeof key.id);
    key.kind = SIM_CHECK_ROUND_COUNT;
    e = table_get(chk, &key, &created);
    if (e == NULL) {
        return;
    }
    e->value++;
    if (e->value > chk->max_qcs_per_round) {
        chk->max_qcs_per_round = (uint32_t)e->value;
    }
}

/* (S3) for a QC in a message from @replica; Byzantine senders are only
 * counted, never blamed. */
static bool check_qc(struct sim_check *chk,
                     uint32_t replica,
                     bool honest,
                     const char *where,
                     const struct hs_qc *qc)
{
    char why[128], idbuf[17];

    if (!qc_valid(chk, qc, why, sizeof why)) {
        if (honest) {
            sim_check_fail(chk,
                           "S3 certificate: replica %u released %s with a QC "
                           "for round %llu block %s: %s",
                           replica, where, (unsigned long long)qc->round,
                           hexid(&qc->block_id, idbuf), why);
            return false;
        }
        return true;
    }
    note_certified(chk, qc);
    return !chk->failed;
}

static bool check_tc(struct sim_check *chk,
                     uint32_t replica,
                     bool honest,
                     const char *where,
                     const struct hs_tc *tc)
{
    char why[128];

    if (!tc_valid(chk, tc, why, sizeof why) && honest) {
        sim_check_fail(chk,
                       "S3 certificate: replica %u released %s with a TC for "
                       "round %llu: %s",
                       replica, where, (unsigned long long)tc->round, why);
        return false;
    }
    return true;
}

/* (S1) The synced state covers @round. */
static bool check_synced(struct sim_check *chk,
                         uint32_t replica,
                         const char *what,
                         hs_round_t round,
                         const struct hs_safety *synced)
{
    if (synced == NULL || synced->last_voted_round < round) {
        sim_check_fail(chk,
                       "S1 persist before send: replica %u released a %s for "
                       "round %llu but its synced last_voted_round is %llu%s",
                       replica, what, (unsigned long long)round,
                       synced == NULL
                           ? 0ULL
                           : (unsigned long long)synced->last_voted_round,
                       synced == NULL ? " (nothing synced)" : "");
        return false;
    }
    return true;
}

/* (S2) for a vote. */
static bool check_vote(struct sim_check *chk,
                       uint32_t replica,
                       const struct hs_vote *vote)
{
    struct sim_check_entry key = { 0 };
    struct sim_check_entry *e;
    char a[17], b[17];
    bool created;

    key.kind = SIM_CHECK_VOTE;
    key.node = vote->voter;
    key.epoch = vote->epoch;
    key.round = vote->round;
    key.id = vote->block_id;
    e = table_get(chk, &key, &created);
    if (e == NULL) {
        return false;
    }
    if (!created && !seq_hash_eq(&e->id, &vote->block_id)) {
        sim_check_fail(chk,
                       "S2 double vote: key %u voted for %s and %s in epoch "
                       "%llu round %llu (second one released by replica %u)",
                       vote->voter, hexid(&e->id, a), hexid(&vote->block_id, b),
                       (unsigned long long)vote->epoch,
                       (unsigned long long)vote->round, replica);
        return false;
    }
    return true;
}

/* (S2) for a timeout. */
static bool check_timeout(struct sim_check *chk,
                          uint32_t replica,
                          const struct hs_timeout *t)
{
    struct sim_check_entry key = { 0 };
    struct sim_check_entry *e;
    bool created;

    key.kind = SIM_CHECK_TIMEOUT;
    key.node = t->author;
    key.epoch = t->epoch;
    key.round = t->round;
    key.value = t->high_qc_round;
    e = table_get(chk, &key, &created);
    if (e == NULL) {
        return false;
    }
    if (!created && e->value != t->high_qc_round) {
        sim_check_fail(chk,
                       "S2 double timeout: key %u signed timeouts for epoch "
                       "%llu round %llu with high_qc_round %llu and %llu "
                       "(second one released by replica %u)",
                       t->author, (unsigned long long)t->epoch,
                       (unsigned long long)t->round,
                       (unsigned long long)e->value,
                       (unsigned long long)t->high_qc_round, replica);
        return false;
    }
    return true;
}

static bool check_signed(struct sim_check *chk,
                         uint32_t replica,
                         hs_node_t node,
                         const struct hs_safety *synced,
                         const struct hs_msg *msg)
{
    const char *what = msg->type == HS_MSG_VOTE ? "vote" : "timeout";
    hs_node_t signer =
        msg->type == HS_MSG_VOTE ? msg->u.vote.voter : msg->u.timeout.author;
    hs_round_t round =
        msg->type == HS_MSG_VOTE ? msg->u.vote.round : msg->u.timeout.round;

    if (signer != node) {
        sim_check_fail(chk,
                       "S2 signer: replica %u (key %u) released a %s "
                       "signed by key %u",
                       replica, node, what, signer);
        return false;
    }
    if (!check_synced(chk, replica, what, round, synced)) {
        return false;
    }
    if (msg->type == HS_MSG_VOTE) {
        return check_vote(chk, replica, &msg->u.vote);
    }
    return check_timeout(chk, replica, &msg->u.timeout);
}

bool sim_check_outgoing(struct sim_check *chk,
                        uint32_t replica,
                        hs_node_t node,
                        const struct hs_safety *synced,
                        const struct hs_msg *msg)
{
    bool honest = sim_check_is_honest(chk, node);
    uint32_t i;

    if (chk->failed) {
        return false;
    }
    switch (msg->type) {
    case HS_MSG_PROPOSAL:
        if (!check_qc(chk, replica, honest, "a proposal",
                      &msg->u.proposal.block.justify)) {
            return false;
        }
        if (msg->u.proposal.has_tc &&
            !check_tc(chk, replica, honest, "a proposal",
                      &msg->u.proposal.tc)) {
            return false;
        }
        break;
    case HS_MSG_VOTE:
        if (honest && !check_signed(chk, replica, node, synced, msg)) {
            return false;
        }
        break;
    case HS_MSG_TIMEOUT:
        if (honest && !check_signed(chk, replica, node, synced, msg)) {
            return false;
        }
        if (!check_qc(chk, replica, honest, "a timeout",
                      &msg->u.timeout.high_qc)) {
            return false;
        }
        if (msg->u.timeout.has_tc &&
            !check_tc(chk, replica, honest, "a timeout", &msg->u.timeout.tc)) {
            return false;
        }
        break;
    case HS_MSG_BLOCK_RESPONSE:
        for (i = 0; i < msg->u.response.n_blocks; i++) {
            if (!check_qc(chk, replica, honest, "a block response",
                          &msg->u.response.blocks[i].justify)) {
                return false;
            }
        }
        break;
    case HS_MSG_BLOCK_REQUEST:
        break;
    }
    return !chk->failed;
}

void sim_check_started(struct sim_check *chk,
                       uint32_t replica,
                       hs_height_t height)
{
    chk->next_height[replica] = height + 1;
}

static int committed_reserve(struct sim_check *chk, hs_height_t height)
{
    size_t cap = chk->committed_cap;
    struct seq_hash *ids;
    uint8_t *has;

    if (height < cap) {
        return SEQ_OK;
    }
    while (cap <= height) {
        cap *= 2;
    }
    ids = seq_realloc(chk->committed, cap * sizeof *ids);
    if (ids == NULL) {
        return SEQ_ENOMEM;
    }
    chk->committed = ids;
    has = seq_realloc(chk->has_committed, cap);
    if (has == NULL) {
        return SEQ_ENOMEM;
    }
    memset(has + chk->committed_cap, 0, cap - chk->committed_cap);
    chk->has_committed = has;
    chk->committed_cap = cap;
    return SEQ_OK;
}

/* (S5) @block is the next height for @replica and extends what is below. */
static bool check_grows(struct sim_check *chk,
                        uint32_t replica,
                        const struct hs_block *block)
{
    hs_height_t h = block->height;
    const struct seq_hash *below = NULL;
    char a[17], b[17], c[17];

    if (h != chk->next_height[replica]) {
        sim_check_fail(chk,
                       "S5 log growth: replica %u committed height %llu, "
                       "expected %llu",
                       replica, (unsigned long long)h,
                       (unsigned long long)chk->next_height[replica]);
        return false;
    }
    if (h == 1) {
        below = &chk->genesis_id;
    } else if (h - 1 < chk->committed_cap && chk->has_committed[h - 1]) {
        below = &chk->committed[h - 1];
    }
    if (below != NULL && !seq_hash_eq(below, &block->parent_id)) {
        sim_check_fail(chk,
                       "S5 log growth: replica %u committed %s at height "
                       "%llu whose parent %s is not the block %s committed "
                       "below it",
                       replica, hexid(&block->id, a), (unsigned long long)h,
                       hexid(&block->parent_id, b), hexid(below, c));
        return false;
    }
    return true;
}

bool sim_check_commit(struct sim_check *chk,
                      uint32_t replica,
                      hs_node_t node,
                      const struct hs_block *block,
                      const struct hs_qc *qc)
{
    hs_height_t h = block->height;
    struct seq_hash id;
    char a[17], b[17];

    if (chk->failed) {
        return false;
    }
    if (!sim_check_is_honest(chk, node)) {
        return true;
    }
    hs_block_id(block, &chk->chain_id, &id);
    if (!seq_hash_eq(&id, &block->id)) {
        sim_check_fail(chk,
                       "S4 agreement: replica %u committed block %s "
                       "whose header hashes to %s",
                       replica, hexid(&block->id, a), hexid(&id, b));
        return false;
    }
    if (!seq_hash_eq(&qc->block_id, &block->id)) {
        sim_check_fail(chk,
                       "S3 certificate: replica %u committed %s with a "
                       "QC for %s",
                       replica, hexid(&block->id, a), hexid(&qc->block_id, b));
        return false;
    }
    if (!check_qc(chk, replica, true, "a commit", qc) ||
        !check_grows(chk, replica, block)) {
        return false;
    }
    if (committed_reserve(chk, h) != 0) {
        sim_check_fail(chk, "checker out of memory");
        return false;
    }
    if (chk->has_committed[h] && !seq_hash_eq(&chk->committed[h], &id)) {
        sim_check_fail(chk,
                       "S4 agreement: replica %u committed %s at height "
                       "%llu, another honest replica committed %s",
                       replica, hexid(&id, a), (unsigned long long)h,
                       hexid(&chk->committed[h], b));
        return false;
    }
    chk->committed[h] = id;
    chk->has_committed[h] = 1;
    if (h > chk->max_height) {
        chk->max_height = h;
    }
    chk->next_height[replica] = h + 1;
    return true;
}

bool sim_check_commit_cert(struct sim_check *chk,
                           uint32_t replica,
                           hs_node_t node,
                           const struct hs_block *b0,
                           const struct hs_block *child,
                           const struct hs_qc *child_qc)
{
    struct seq_hash id0, id1;
    char a[17], b[17];

    if (chk->failed) {
        return false;
    }
    if (!sim_check_is_honest(chk, node)) {
        return true;
    }
    hs_block_id(b0, &chk->chain_id, &id0);
    hs_block_id(child, &chk->chain_id, &id1);
    if (!seq_hash_eq(&child->parent_id, &id0) ||
        child->round != b0->round + 1 || child->justify.round != b0->round ||
        child->height != b0->height + 1 ||
        !seq_hash_eq(&child_qc->block_id, &id1) ||
        child_qc->round != child->round) {
        sim_check_fail(chk,
                       "S6 commit proof: replica %u justified the commit of "
                       "%s (round %llu) by child %s (round %llu) that is not "
                       "its certified 2-chain",
                       replica, hexid(&id0, a), (unsigned long long)b0->round,
                       hexid(&id1, b), (unsigned long long)child->round);
        return false;
    }
    if (!check_qc(chk, replica, true, "a commit proof", child_qc)) {
        return false;
    }
    if (b0->height >= chk->committed_cap || !chk->has_committed[b0->height] ||
        !seq_hash_eq(&chk->committed[b0->height], &id0)) {
        sim_check_fail(chk,
                       "S6 commit proof: replica %u proved height %llu "
                       "committed by a block it did not commit",
                       replica, (unsigned long long)b0->height);
        return false;
    }
    return true;
}

bool sim_check_committed_id(const struct sim_check *chk,
                            hs_height_t height,
                            struct seq_hash *out)
{
    if (height >= chk->committed_cap || !chk->has_committed[height]) {
        return false;
    }
    *out = chk->committed[height];
    return true;
}
