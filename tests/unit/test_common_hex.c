/* Hex encoding (common/seq_hex.h): lower case out, strict in. The decoder
 * takes exactly 2 * len hex digits of either case and rejects everything
 * else, including prefixes, blanks and trailing characters. */

#include <string.h>

#include "harness.h"
#include "seq_err.h"
#include "seq_hex.h"

TEST(common_hex, encode_is_lower_case)
{
    static const uint8_t data[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
    char out[2 * sizeof data + 1];

    memset(out, 'x', sizeof out);
    seq_hex_encode(data, sizeof data, out);
    ASSERT_STREQ(out, "00017f80abff");
}

TEST(common_hex, encode_empty)
{
    char out[1] = { 'x' };

    seq_hex_encode(NULL, 0, out);
    ASSERT_STREQ(out, "");
}

TEST(common_hex, round_trip_every_byte)
{
    uint8_t data[256];
    uint8_t back[256];
    char text[2 * 256 + 1];
    size_t i;

    for (i = 0; i < sizeof data; i++) {
        data[i] = (uint8_t)i;
    }
    seq_hex_encode(data, sizeof data, text);
    ASSERT_EQ(strlen(text), 512);
    ASSERT_OK(seq_hex_decode(text, back, sizeof back));
    ASSERT_MEMEQ(data, back, sizeof data);
}

TEST(common_hex, decode_accepts_either_case)
{
    uint8_t out[4];
    static const uint8_t want[4] = { 0xde, 0xad, 0xbe, 0xef };

    ASSERT_OK(seq_hex_decode("DEADbeef", out, sizeof out));
    ASSERT_MEMEQ(out, want, sizeof want);
    ASSERT_OK(seq_hex_decode("deadBEEF", out, sizeof out));
    ASSERT_MEMEQ(out, want, sizeof want);
}

TEST(common_hex, decode_empty)
{
    uint8_t out[1];

    ASSERT_OK(seq_hex_decode("", out, 0));
    ASSERT_ERR(seq_hex_decode("", out, 1), SEQ_EINVAL);
    ASSERT_ERR(seq_hex_decode("00", out, 0), SEQ_EINVAL);
}

TEST(common_hex, decode_rejects_wrong_length)
{
    uint8_t out[4];

    ASSERT_ERR(seq_hex_decode("0011223", out, 4), SEQ_EINVAL);
    ASSERT_ERR(seq_hex_decode("001122", out, 4), SEQ_EINVAL);
    ASSERT_ERR(seq_hex_decode("001122334", out, 4), SEQ_EINVAL);
    ASSERT_ERR(seq_hex_decode("0011223344", out, 4), SEQ_EINVAL);
    ASSERT_ERR(seq_hex_decode("0", out, 1), SEQ_EINVAL);
}

TEST(common_hex, decode_rejects_non_digits)
{
    static const char *const bad[] = {
        "0x001122", "001122g3", " 0011223", "0011223 ",   "00112233\n",
        "+0011223", "-0011223", "00 11 22", "0011\20033", "zz112233",
    };
    uint8_t out[4];
    size_t i;

    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_ERR(seq_hex_decode(bad[i], out, strlen(bad[i]) / 2), SEQ_EINVAL);
    }
    ASSERT_ERR(seq_hex_decode("0x001122", out, 4), SEQ_EINVAL);
    ASSERT_ERR(seq_hex_decode(NULL, out, 4), SEQ_EINVAL);
}

/* A NUL in the middle ends the string: the decoder must not read on. */
TEST(common_hex, decode_stops_at_nul)
{
    static const char text[] =
        "00\0"
        "1122";
    uint8_t out[3];

    ASSERT_ERR(seq_hex_decode(text, out, 3), SEQ_EINVAL);
}

TEST_MAIN()
