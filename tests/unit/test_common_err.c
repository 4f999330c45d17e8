/* The error table (common/seq_err.h): codes are negative, distinct and
 * stable, and every one has a name and a text. The numbers are pinned here
 * because they appear in logs, metrics and client responses: a test that
 * fails because a number moved is doing its job. */

#include <string.h>

#include "harness.h"
#include "seq_err.h"

TEST(common_err, codes_are_stable)
{
    ASSERT_EQ(SEQ_OK, 0);
    ASSERT_EQ(SEQ_ENOMEM, -1);
    ASSERT_EQ(SEQ_EINVAL, -2);
    ASSERT_EQ(SEQ_EIO, -3);
    ASSERT_EQ(SEQ_ECORRUPT, -4);
    ASSERT_EQ(SEQ_ENOTFOUND, -5);
    ASSERT_EQ(SEQ_EBADMSG, -6);
    ASSERT_EQ(SEQ_ESTALE, -7);
    ASSERT_EQ(SEQ_ECLOSED, -8);
    ASSERT_EQ(SEQ_EUNSAFE, -9);
    ASSERT_EQ(SEQ_EAGAIN, -10);
    ASSERT_EQ(SEQ_EFULL, -11);
    ASSERT_EQ(SEQ_EEXIST, -12);
    ASSERT_EQ(SEQ_ETOOBIG, -13);
    ASSERT_EQ(SEQ_ETIMEOUT, -14);
}

/* Every code in the map: negative, unique, and named after its enum
 * constant, with a text of its own. */
TEST(common_err, every_code_has_name_and_text)
{
    static const struct {
        int code;
        const char *name;
    } map[] = {
#define ENTRY(name, code, text) { SEQ_##name, #name },
        SEQ_ERR_MAP(ENTRY)
#undef ENTRY
    };
    size_t n = sizeof map / sizeof map[0];
    size_t i;
    size_t j;

    ASSERT_EQ(n, 14);
    for (i = 0; i < n; i++) {
        ASSERT_LT(map[i].code, 0);
        ASSERT_STREQ(seq_errname(map[i].code), map[i].name);
        ASSERT_TRUE(strcmp(seq_strerror(map[i].code), "unknown error") != 0);
        ASSERT_GT(strlen(seq_strerror(map[i].code)), 0);
        for (j = i + 1; j < n; j++) {
            ASSERT_NE(map[i].code, map[j].code);
            ASSERT_TRUE(strcmp(seq_strerror(map[i].code),
                               seq_strerror(map[j].code)) != 0);
        }
    }
}

TEST(common_err, success_and_unknown)
{
    ASSERT_STREQ(seq_strerror(SEQ_OK), "success");
    ASSERT_STREQ(seq_errname(SEQ_OK), "OK");
    ASSERT_STREQ(seq_strerror(1), "unknown error");
    ASSERT_STREQ(seq_strerror(-15), "unknown error");
    ASSERT_STREQ(seq_strerror(-1000000), "unknown error");
    ASSERT_STREQ(seq_errname(-15), "EUNKNOWN");
    ASSERT_STREQ(seq_errname(42), "EUNKNOWN");
}

TEST(common_err, sample_texts)
{
    ASSERT_STREQ(seq_strerror(SEQ_ENOMEM), "out of memory");
    ASSERT_STREQ(seq_strerror(SEQ_EBADMSG),
                 "malformed message or invalid signature");
    ASSERT_STREQ(seq_errname(SEQ_EUNSAFE), "EUNSAFE");
}

TEST_MAIN()
