/* Hexadecimal for ids in logs, JSON and the command line. Encoding is always
 * lower case so that one id has one spelling; decoding accepts either case but
 * nothing else: no prefix, no whitespace, no odd length, no trailing bytes.
 * Ids typed by operators and sent by clients are compared as bytes, so a
 * lenient parser would only hide mistakes. */

#include "seq_hex.h"

#include <assert.h>

#include "seq_err.h"

static const char hex_digits[] = "0123456789abcdef";

void seq_hex_encode(const uint8_t *data, size_t len, char *out)
{
    size_t i;

    assert(data != NULL || len == 0);
    for (i = 0; i < len; i++) {
        out[2 * i] = hex_digits[data[i] >> 4];
        out[2 * i + 1] = hex_digits[data[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

/* The value of one hex digit, or -1. */
static int digit_value(char c)
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

int seq_hex_decode(const char *hex, uint8_t *out, size_t out_len)
{
    size_t i;

    if (hex == NULL) {
        return SEQ_EINVAL;
    }
    /* Each pair is checked before the next is read, so a short string stops
     * at its NUL and is never read past. */
    for (i = 0; i < out_len; i++) {
        int hi = digit_value(hex[2 * i]);
        int lo;

        if (hi < 0) {
            return SEQ_EINVAL;
        }
        lo = digit_value(hex[2 * i + 1]);
        if (lo < 0) {
            return SEQ_EINVAL;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (hex[2 * out_len] != '\0') {
        return SEQ_EINVAL;
    }
    return SEQ_OK;
}
