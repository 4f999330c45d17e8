/* Strict base64 (seq_base64.h). */

#include "seq_base64.h"

#include <stdbool.h>

#include "seq_err.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t seq_base64_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

void seq_base64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i;

    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v =
            (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;

        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

        *out++ = b64_alphabet[v >> 18];
        *out++ = b64_alphabet[(v >> 12) & 63];
        *out++ = b64_alphabet[(v >> 6) & 63];
        *out++ = '=';
    }
}

/* The value of one alphabet character, or -1. */
static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

int seq_base64_decoded_len(const char *in, size_t len, size_t *out_len)
{
    size_t pad = 0;

    if (len % 4 != 0) {
        return SEQ_EINVAL;
    }
    if (len > 0 && in[len - 1] == '=') {
        pad = in[len - 2] == '=' ? 2 : 1;
    }
    *out_len = len / 4 * 3 - pad;
    return SEQ_OK;
}

int seq_base64_decode(const char *in,
                      size_t len,
                      uint8_t *out,
                      size_t cap,
                      size_t *out_len)
{
    size_t n, i, o = 0;

    if (seq_base64_decoded_len(in, len, &n) != 0) {
        return SEQ_EINVAL;
    }
    if (n > cap) {
        return SEQ_ETOOBIG;
    }
    for (i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int v[4];
        unsigned k, chars = 4;
        uint32_t word;

        if (last && in[i + 3] == '=') {
            chars = in[i + 2] == '=' ? 2 : 3;
        }
        for (k = 0; k < 4; k++) {
            v[k] = k < chars ? b64_value(in[i + k]) : 0;
            if (v[k] < 0) {
                return SEQ_EINVAL; /* Outside the alphabet, or a '='
                                    * before the end. */
            }
        }
        word = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
               (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Padding must cover unused bits that are zero: "QQ==" and not
         * "QR==" for "A". */
        if ((chars == 2 && (word & 0xffff) != 0) ||
            (chars == 3 && (word & 0xff) != 0)) {
            return SEQ_EINVAL;
        }
        out[o++] = (uint8_t)(word >> 16);
        if (chars > 2) {
            out[o++] = (uint8_t)(word >> 8);
        }
        if (chars > 3) {
            out[o++] = (uint8_t)word;
        }
    }
    *out_len = o;
    return SEQ_OK;
}
