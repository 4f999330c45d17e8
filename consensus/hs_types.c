/* Block ids, the genesis block, quorum arithmetic, and deep copies of the
 * core's messages. The header encoding hashed into a block id is fixed and
 * hand-written (not protobuf, whose encoding is not canonical): a domain
 * tag, then every field big-endian in a fixed order. */

#include "hs_types.h"

#include <string.h>

#include "seq_alloc.h"
#include "seq_err.h"

uint32_t hs_faults(uint32_t n)
{
    return n == 0 ? 0 : (n - 1) / 3;
}

uint32_t hs_quorum(uint32_t n)
{
    return n - hs_faults(n);
}

hs_round_t hs_tc_high_qc_round(const struct hs_tc *tc)
{
    hs_round_t max = 0;
    uint32_t i;

    for (i = 0; i < tc->n_sigs && i < HS_MAX_VALIDATORS; i++) {
        if (tc->sigs[i].high_qc_round > max) {
            max = tc->sigs[i].high_qc_round;
        }
    }
    return max;
}

void hs_block_id(const struct hs_block *block,
                 const struct seq_hash *chain_id,
                 struct seq_hash *out)
{
    struct seq_header h;

    hs_block_header(block, &h);
    seq_header_id(&h, chain_id, out);
}

void hs_block_header(const struct hs_block *block, struct seq_header *out)
{
    out->epoch = block->epoch;
    out->round = block->round;
    out->height = block->height;
    out->parent_id = block->parent_id;
    out->justify_round = block->justify.round;
    out->author = block->author;
    out->payload_hash = block->payload_hash;
    out->ns_root = block->ns_root;
}

void hs_block_seal(struct hs_block *block, const struct seq_hash *chain_id)
{
    seq_sha256(block->payload, block->payload_len, &block->payload_hash);
    hs_block_id(block, chain_id, &block->id);
}

void hs_genesis_block(const struct seq_hash *chain_id,
                      hs_epoch_t epoch,
                      struct hs_block *out)
{
    memset(out, 0, sizeof *out);
    out->epoch = epoch;
    hs_block_seal(out, chain_id);
}

void hs_genesis_qc(const struct hs_block *genesis, struct hs_qc *out)
{
    memset(out, 0, sizeof *out);
    out->epoch = genesis->epoch;
    out->block_id = genesis->id;
}

int hs_block_copy(struct hs_block *dst, const struct hs_block *src)
{
    uint8_t *payload = NULL;

    if (src->payload_len > 0) {
        payload = seq_malloc(src->payload_len);
        if (payload == NULL) {
            memset(dst, 0, sizeof *dst);
            return SEQ_ENOMEM;
        }
        memcpy(payload, src->payload, src->payload_len);
    }
    *dst = *src;
    dst->payload = payload;
    return SEQ_OK;
}

void hs_block_free(struct hs_block *block)
{
    if (block == NULL) {
        return;
    }
    seq_free(block->payload);
    block->payload = NULL;
    block->payload_len = 0;
}

static int response_copy(struct hs_block_response *dst,
                         const struct hs_block_response *src)
{
    uint32_t i;
    int rv;

    dst->n_blocks = 0;
    dst->blocks = NULL;
    if (src->n_blocks == 0) {
        return SEQ_OK;
    }
    dst->blocks = seq_calloc(src->n_blocks, sizeof *dst->blocks);
    if (dst->blocks == NULL) {
        return SEQ_ENOMEM;
    }
    for (i = 0; i < src->n_blocks; i++) {
        rv = hs_block_copy(&dst->blocks[i], &src->blocks[i]);
        if (rv != 0) {
            goto err_after_blocks;
        }
    }
    dst->n_blocks = src->n_blocks;
    return SEQ_OK;

err_after_blocks:
    while (i-- > 0) {
        hs_block_free(&dst->blocks[i]);
    }
    seq_free(dst->blocks);
    dst->blocks = NULL;
    return rv;
}

int hs_msg_copy(struct hs_msg *dst, const struct hs_msg *src)
{
    int rv = SEQ_OK;

    switch (src->type) {
    case HS_MSG_PROPOSAL:
        dst->type = src->type;
        dst->u.proposal = src->u.proposal;
        rv = hs_block_copy(&dst->u.proposal.block, &src->u.proposal.block);
        break;
    case HS_MSG_BLOCK_RESPONSE:
        dst->type = src->type;
        rv = response_copy(&dst->u.response, &src->u.response);
        break;
    case HS_MSG_VOTE:
    case HS_MSG_TIMEOUT:
    case HS_MSG_BLOCK_REQUEST:
        *dst = *src;
        break;
    default:
        return SEQ_EINVAL;
    }
    if (rv != 0) {
        memset(dst, 0, sizeof *dst);
    }
    return rv;
}

void hs_msg_free(struct hs_msg *msg)
{
    uint32_t i;

    if (msg == NULL) {
        return;
    }
    switch (msg->type) {
    case HS_MSG_PROPOSAL:
        hs_block_free(&msg->u.proposal.block);
        break;
    case HS_MSG_BLOCK_RESPONSE:
        for (i = 0; i < msg->u.response.n_blocks; i++) {
            hs_block_free(&msg->u.response.blocks[i]);
        }
        seq_free(msg->u.response.blocks);
        msg->u.response.blocks = NULL;
        msg->u.response.n_blocks = 0;
        break;
    default:
        break;
    }
}

const char *hs_msg_type_name(enum hs_msg_type type)
{
    switch (type) {
    case HS_MSG_PROPOSAL:
        return "proposal";
    case HS_MSG_VOTE:
        return "vote";
    case HS_MSG_TIMEOUT:
        return "timeout";
    case HS_MSG_BLOCK_REQUEST:
        return "block_request";
    case HS_MSG_BLOCK_RESPONSE:
        return "block_response";
    }
    return "unknown";
}
