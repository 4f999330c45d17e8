/* Strict base64 (RFC 4648 §4), shared by the validator's HTTP API and
 * libseqclient's JSON: the standard alphabet, a length that is a multiple
 * of 4, '=' only as the last one or two characters, and the unused bits of
 * the last group zero, so that every byte string has exactly one text and
 * every text one byte string. No allocation. */

#ifndef SEQ_COMMON_SEQ_BASE64_H
#define SEQ_COMMON_SEQ_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters of the encoding of @n bytes. */
size_t seq_base64_len(size_t n);

/* Writes seq_base64_len(@n) characters (no NUL) to @out. */
void seq_base64_encode(const uint8_t *in, size_t n, char *out);

/* 0 with the exact decoded length of @in in *out_len (checking the length
 * and padding only), or SEQ_EINVAL. */
int seq_base64_decoded_len(const char *in, size_t len, size_t *out_len);

/* Decodes @len characters into @out (@cap bytes): 0 with *out_len,
 * SEQ_EINVAL (not strict base64; @out may be partly written) or
 * SEQ_ETOOBIG (more than @cap bytes; nothing written). */
int seq_base64_decode(const char *in,
                      size_t len,
                      uint8_t *out,
                      size_t cap,
                      size_t *out_len);

#endif /* SEQ_COMMON_SEQ_BASE64_H */
