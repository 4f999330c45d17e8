/* What the files of libseqclient share and a rollup never sees: the
 * bounds both namespace-block codecs apply, the one libsecp256k1 context,
 * and the JSON readers that the genesis and the namespace-block decoders
 * both apply to untrusted text. */

#ifndef SEQ_CLIENT_SEQC_INT_H
#define SEQ_CLIENT_SEQC_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <secp256k1.h>

#include "seq_client.h"

/* NsProof.kind for a presence proof; 1..4 are seq_nstree_absence_kind. */
#define SEQC_KIND_PRESENCE 0u
#define SEQC_SIG_LEN       64

/* The bounds every encoder checks and every decoder guarantees
 * (seqc_nsblock.c, C2). */
bool seqc_nsblock_ok(const struct seqc_nsblock *b);

/* Whether an absence proof of @kind uses its predecessor, its successor. */
bool seqc_uses_pred(enum seq_nstree_absence_kind kind);
bool seqc_uses_succ(enum seq_nstree_absence_kind kind);

/* Gives @b an array of @n zeroed entries (none for 0): SEQ_EBADMSG above
 * SEQC_MAX_ENTRIES, SEQ_ENOMEM. */
int seqc_entries_alloc(struct seqc_nsblock *b, size_t n);

/* The verification context, created on first use (thread-safe) in static
 * memory; it never fails and is never freed. Only for calls that involve
 * no secret key (parsing keys, verifying signatures). */
const secp256k1_context *seqc_secp(void);

/* 0 if @pubkey is a valid BIP-340 x-only public key, else SEQ_EINVAL. */
int seqc_pubkey_check(const uint8_t pubkey[32]);

/* A u64 from a JSON integer >= 0 or a string of decimal digits (no sign,
 * no leading zero, no overflow). 0 or SEQ_EINVAL. */
int seqc_json_u64(const json_t *value, uint64_t *out);

/* Writes "@where: <fmt>" to @errmsg (SEQ_ERRMSG_LEN bytes; NULL is
 * fine). */
void seqc_errmsg(char *errmsg, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* SEQ_CLIENT_SEQC_INT_H */
