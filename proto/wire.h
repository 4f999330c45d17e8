/* The consensus wire format: converts the core's structs (hs_types.h) to and
 * from bytes, for the network (frames) and for storage (RocksDB values).
 * The schema is proto/consensus.proto; protobuf-c types never leave
 * wire.c, so the core and its callers see only struct hs_*.
 *
 * Every byte a decoder reads is controlled by a peer (or by a disk that may
 * have been corrupted), so decoding checks the shape of everything: exact
 * hash, signature and key lengths, validator indices below
 * HS_MAX_VALIDATORS, certificate sizes, payload and fetch bounds, required
 * submessages, the frame version and type, and the total size. A decoder
 * never asserts on its input, never crashes and never leaks; it answers
 * SEQ_EBADMSG and leaves its output zeroed. Decoding does NOT check
 * signatures, quorum sizes, signer distinctness or hash links: the core does
 * that (hs_verify.c) with the validator set in hand.
 *
 * A frame is one protobuf `Frame { uint32 version = 1; oneof msg { ... } }`
 * (consensus.proto): the type of a frame is the number of the oneof member
 * that is set, so type and body are read in one pass without copying the
 * body. A later stage adds message types (mempool batches, seals) as new
 * oneof members; older nodes drop those frames as an unknown type.
 *
 * Decoding memory is bounded by the frame: protobuf-c unpacks into a
 * per-call arena that may hold at most a small multiple of the frame's
 * length (see wire.c, NOTES (W3)), so a hostile frame of many tiny
 * elements cannot make us allocate gigabytes.
 *
 * Thread-safety: every call is independent; no shared state. */

#ifndef SEQ_PROTO_WIRE_H
#define SEQ_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "hs_types.h"

/* The version every frame carries. Decoders accept exactly this version. */
#define WIRE_VERSION 1

/* The largest frame we send or accept, in bytes: 32 MiB. It must hold the
 * largest message the core builds, a proposal with a HS_MAX_PAYLOAD (16 MiB)
 * block plus two full certificates (< 16 KiB), and it bounds what one peer
 * can make us buffer and decode (the decode arena is at most a few times the
 * frame). 32 MiB is twice the largest block, so a block response can always
 * carry at least one block of any size, and catch-up of typical blocks
 * moves up to HS_MAX_FETCH_BLOCKS per round trip. The driver should also set
 * ZMQ_MAXMSGSIZE to this value so that ZeroMQ drops a larger message before
 * buffering it. */
#define WIRE_MAX_FRAME (32u * 1024 * 1024)

/* An upper bound on the bytes a block adds to a frame besides its payload:
 * header fields, a full justify QC (64 signatures), the framing of the
 * block inside a response, and the frame's own header. A responder that
 * keeps sum(payload_len + WIRE_BLOCK_OVERHEAD) <= WIRE_MAX_FRAME over the
 * blocks it packs can always encode the response. (HS_MAX_FETCH_BLOCKS
 * blocks of HS_MAX_PAYLOAD do not fit any frame; the responder sends fewer
 * and the asker asks again.) */
#define WIRE_BLOCK_OVERHEAD (8u * 1024)

/* Encode @msg as one frame. On success *out is a buffer of *out_len bytes,
 * returned owned: free it with seq_free(). @msg is borrowed.
 * Returns 0; SEQ_EINVAL when @msg is outside the bounds a decoder accepts
 * (unknown type, more than HS_MAX_VALIDATORS signatures, a signer, author or
 * voter >= HS_MAX_VALIDATORS, payload over HS_MAX_PAYLOAD or NULL with a
 * nonzero length, a request count or response size outside
 * 1..HS_MAX_FETCH_BLOCKS, or a frame over WIRE_MAX_FRAME); SEQ_ENOMEM.
 * On failure *out and *out_len are untouched. Whatever encodes decodes
 * (with block ids zeroed). Encoding is deterministic: equal messages give
 * equal bytes. Fields under a false has_* flag are not encoded. */
int wire_encode_msg(const struct hs_msg *msg, uint8_t **out, size_t *out_len);

/* Decode one frame of @len bytes at @buf (borrowed; NULL only when @len is
 * 0) into *out. On success *out holds a message whose owned parts (block
 * payloads, a response's block array) the caller releases with
 * hs_msg_free(). Block ids are left zeroed: the receiver computes them with
 * hs_block_id() and its chain id. Returns 0; SEQ_EBADMSG for a malformed,
 * oversized, wrong-version or unknown-type frame or any field out of
 * bounds; SEQ_ENOMEM. On failure *out is zeroed and holds nothing to free. */
int wire_decode_msg(const uint8_t *buf, size_t len, struct hs_msg *out);

/* Storage values (RocksDB). Each is a bare protobuf message (Block, QC,
 * SafetyState in consensus.proto), not a frame: the column family says what
 * the value is. The same ownership, bounds and return codes as the frame
 * calls above: encoders return *out owned (seq_free()) or SEQ_EINVAL /
 * SEQ_ENOMEM; decoders fill *out or return SEQ_EBADMSG / SEQ_ENOMEM with
 * *out zeroed. A block's id is not stored in the value (it is the key) and
 * decodes as zero; a decoded block's payload is owned (hs_block_free()). An
 * hs_qc and an hs_safety own nothing. */
int wire_encode_block(const struct hs_block *b, uint8_t **out, size_t *out_len);
int wire_decode_block(const uint8_t *buf, size_t len, struct hs_block *out);
int wire_encode_qc(const struct hs_qc *qc, uint8_t **out, size_t *out_len);
int wire_decode_qc(const uint8_t *buf, size_t len, struct hs_qc *out);
int wire_encode_safety(const struct hs_safety *s,
                       uint8_t **out,
                       size_t *out_len);
int wire_decode_safety(const uint8_t *buf, size_t len, struct hs_safety *out);

/* ---- Rollup frames (dissemination, DESIGN §4) ----------------------------
 * Frame members 16-31 carry the mempool's traffic. The bodies are opaque
 * byte strings here (batches in mp_batch.h's encoding, 32-byte ids); the
 * mempool decodes and checks batches. */

enum wire_frame_type {
    WIRE_FRAME_BATCHES = 16,        /* A sealed batch, broadcast. */
    WIRE_FRAME_BATCH_REQUEST = 17,  /* Ids of batches wanted. */
    WIRE_FRAME_BATCH_RESPONSE = 18, /* Batches answering a request. */
};

#define WIRE_MAX_BATCHES   256
#define WIRE_MAX_BATCH_IDS 4096

/* The member number of the frame at @buf (2..31), read from its top-level
 * keys without decoding the body: a routing hint only, the full decode
 * still checks everything. SEQ_EBADMSG if no member is found. */
int wire_frame_type(const uint8_t *buf, size_t len);

struct wire_blob {
    const uint8_t *buf;
    size_t len;
};

/* A decoded rollup frame: @items point into memory the struct owns
 * (wire_rollup_free). */
struct wire_rollup {
    enum wire_frame_type type;
    size_t n;
    struct wire_blob *items;
};

/* Encode @n items (1..WIRE_MAX_BATCHES batches, or 1..WIRE_MAX_BATCH_IDS
 * ids of exactly SEQ_HASH_LEN bytes) as a frame of @type. *out owned
 * (seq_free). SEQ_EINVAL outside those bounds or over WIRE_MAX_FRAME. */
int wire_encode_rollup(enum wire_frame_type type,
                       const struct wire_blob *items,
                       size_t n,
                       uint8_t **out,
                       size_t *out_len);
/* SEQ_EBADMSG for a malformed frame, another type, a count or id length
 * out of bounds; SEQ_ENOMEM. On success *out owns its items. */
int wire_decode_rollup(const uint8_t *buf, size_t len, struct wire_rollup *out);
void wire_rollup_free(struct wire_rollup *r); /* NULL is fine. */

#endif /* SEQ_PROTO_WIRE_H */
