/* Key generation: keys from the OS source are valid, distinct and sign
 * verifiable BIP-340 signatures; a source that yields invalid scalars is
 * retried and, if it never yields a valid one, refused; a failing source's
 * error is passed up and no key material is left behind. */

#include <string.h>

#include "harness.h"
#include "hs_crypto.h"
#include "seq_err.h"
#include "seq_random.h"

static unsigned calls;
static unsigned invalid_first; /* How many draws are invalid first. */

/* All-zero (invalid: zero is not a scalar) for the first @invalid_first
 * draws, then a fixed valid key. */
static int scripted(void *buf, size_t len)
{
    memset(buf, calls < invalid_first ? 0x00 : 0x42, len);
    calls++;
    return SEQ_OK;
}

static int broken(void *buf, size_t len)
{
    memset(buf, 0x99, len);
    return SEQ_EIO;
}

TEST(keygen, os_keys_sign_and_verify)
{
    uint8_t a[32], b[32];
    struct hs_pubkey pk;
    struct hs_crypto *signer = NULL;
    struct seq_hash msg;
    struct hs_sig sig;

    ASSERT_OK(hs_crypto_secp_keygen(seq_random_bytes, a));
    ASSERT_OK(hs_crypto_secp_keygen(seq_random_bytes, b));
    ASSERT_NE(memcmp(a, b, 32), 0);
    ASSERT_OK(hs_crypto_secp_pubkey(a, &pk));
    ASSERT_OK(hs_crypto_secp_new(a, &signer));
    seq_sha256("keygen", 6, &msg);
    ASSERT_OK(signer->sign(signer, &msg, &sig));
    ASSERT_OK(signer->verify(signer, &pk, &msg, &sig));
    sig.bytes[5] ^= 1;
    ASSERT_ERR(signer->verify(signer, &pk, &msg, &sig), SEQ_EBADMSG);
    hs_crypto_secp_free(signer);
}

TEST(keygen, invalid_draws_are_retried)
{
    uint8_t key[32];

    calls = 0;
    invalid_first = 3;
    ASSERT_OK(hs_crypto_secp_keygen(scripted, key));
    ASSERT_EQ(calls, 4u);
    ASSERT_EQ(key[0], 0x42);
}

TEST(keygen, a_source_that_never_gives_a_key_is_refused)
{
    uint8_t key[32];
    uint8_t zero[32] = { 0 };

    calls = 0;
    invalid_first = 1000;
    ASSERT_ERR(hs_crypto_secp_keygen(scripted, key), SEQ_EINVAL);
    ASSERT_EQ(calls, 16u);
    ASSERT_MEMEQ(key, zero, 32);
}

TEST(keygen, source_errors_pass_up_and_leave_nothing)
{
    uint8_t key[32];
    uint8_t zero[32] = { 0 };

    ASSERT_ERR(hs_crypto_secp_keygen(broken, key), SEQ_EIO);
    ASSERT_MEMEQ(key, zero, 32);
}

TEST_MAIN()
