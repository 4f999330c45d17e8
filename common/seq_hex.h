/* Lower-case hexadecimal encoding and strict decoding. */

#ifndef SEQ_COMMON_SEQ_HEX_H
#define SEQ_COMMON_SEQ_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2 * @len characters and a NUL to @out (size >= 2 * len + 1). */
void seq_hex_encode(const uint8_t *data, size_t len, char *out);

/* Decodes exactly @out_len bytes from @hex, which must be 2 * out_len hex
 * digits (either case) and nothing else. Returns 0 or SEQ_EINVAL; on error
 * @out may be partly written. */
int seq_hex_decode(const char *hex, uint8_t *out, size_t out_len);

#endif /* SEQ_COMMON_SEQ_HEX_H */
