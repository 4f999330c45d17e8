/* The in-tree test harness. A test file defines tests with TEST(suite, name)
 * (each registers itself before main runs, as in raft's runner.h), checks
 * with ASSERT_*, and ends with TEST_MAIN() (no semicolon). The binary runs
 * every test whose "suite.name" contains argv[1] (all if there is none),
 * prints "ok suite.name" or "FAIL suite.name" and the details, and ends with
 * the line "N passed, N failed"; it exits non-zero if any test failed.
 *
 * A failed assertion prints the file, the line, the expression and both
 * values (libuv's task.h), then abandons the test with longjmp: anything the
 * test allocated is leaked, which is fine, since it has already failed. Every
 * failure prints "replay: SEQ_TEST_SEED=<n>", the seed the test last gave to
 * test_set_seed() or else test_seed(); that environment variable replays it.
 *
 * Integer assertions compare values, not C conversions: ASSERT_LT(-1, 0u)
 * holds, and a uint64_t above INT64_MAX compares above any negative int. Their
 * arguments are evaluated once. Pointers are not integers here: use
 * ASSERT_TRUE(p != NULL). */

#ifndef SEQ_TESTS_LIB_HARNESS_H
#define SEQ_TESTS_LIB_HARNESS_H

#include <stddef.h>
#include <stdint.h>

struct harness_test {
    const char *suite;
    const char *name;
    void (*fn)(void);
    struct harness_test *next;
};

/* Adds @test to the list run by harness_run(); keeps @test. TEST() calls it
 * from a constructor, so tests run in the order they are defined. */
void harness_register(struct harness_test *test);

/* Runs the registered tests, as described above. Returns the exit status.
 * Refuses to run (status 2) if SEQ_TEST_SEED, SEQ_SIM_SEEDS or
 * SEQ_SIM_SEEDS_PERCENT is malformed. A test that crashes (abort(), a failed
 * assert(), a fault) prints "CRASH suite.name" and its replay line on stderr
 * before the signal takes its usual course. */
int harness_run(int argc, char **argv);

/* Fails the current test with a printf-style message and abandons it. Other
 * test code (the simulator's invariant checks) calls it too. Outside a test,
 * it prints the message and aborts. */
_Noreturn void harness_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* SEQ_TEST_SEED if set (decimal, or hex with 0x), else 1. */
uint64_t test_seed(void);

/* SEQ_SIM_SEEDS if set (decimal, at least 1), else @default_n; if
 * SEQ_SIM_SEEDS_PERCENT is set instead, that percentage of @default_n (at
 * least 1), which is how CI runs a smaller sweep under ASan. */
unsigned test_sim_seeds(unsigned default_n);

/* The seed a failure of the current test reports. Reset to test_seed() at
 * the start of every test. A loop over seeds calls it at each iteration. */
void test_set_seed(uint64_t seed);

#define TEST(suite, name)                                                  \
    static void harness_fn_##suite##_##name(void);                         \
    static struct harness_test harness_test_##suite##_##name = {           \
        #suite, #name, harness_fn_##suite##_##name, NULL                   \
    };                                                                     \
    __attribute__((constructor)) static void harness_reg_##suite##_##name( \
        void)                                                              \
    {                                                                      \
        harness_register(&harness_test_##suite##_##name);                  \
    }                                                                      \
    static void harness_fn_##suite##_##name(void)

#define TEST_MAIN()                     \
    int main(int argc, char **argv)     \
    {                                   \
        return harness_run(argc, argv); \
    }

/* An integer operand: its value as a signed and as an unsigned number, and
 * which of the two is the true value. _Generic picks by the operand's type. */
struct harness_int {
    long long s;
    unsigned long long u;
    int is_unsigned;
};

struct harness_int harness_int_s(long long v);
struct harness_int harness_int_u(unsigned long long v);

#define HARNESS_INT(x)                           \
    _Generic((x), _Bool                          \
             : harness_int_u, unsigned char      \
             : harness_int_u, unsigned short     \
             : harness_int_u, unsigned int       \
             : harness_int_u, unsigned long      \
             : harness_int_u, unsigned long long \
             : harness_int_u, default            \
             : harness_int_s)(x)

enum harness_op {
    HARNESS_EQ = 1,
    HARNESS_NE,
    HARNESS_LT,
    HARNESS_LE,
    HARNESS_GT,
    HARNESS_GE,
};

void harness_cmp(const char *file,
                 int line,
                 enum harness_op op,
                 const char *a_text,
                 const char *b_text,
                 struct harness_int a,
                 struct harness_int b);
void harness_streq(const char *file,
                   int line,
                   const char *a_text,
                   const char *b_text,
                   const char *a,
                   const char *b);
void harness_memeq(const char *file,
                   int line,
                   const char *a_text,
                   const char *b_text,
                   const void *a,
                   const void *b,
                   size_t len);
void harness_err(const char *file,
                 int line,
                 const char *rv_text,
                 const char *want_text,
                 long long rv,
                 long long want);

#define ASSERT_TRUE(x)                                               \
    do {                                                             \
        if (!(x)) {                                                  \
            harness_fail(__FILE__, __LINE__, "ASSERT_TRUE(%s)", #x); \
        }                                                            \
    } while (0)
#define ASSERT_FALSE(x)                                               \
    do {                                                              \
        if (x) {                                                      \
            harness_fail(__FILE__, __LINE__, "ASSERT_FALSE(%s)", #x); \
        }                                                             \
    } while (0)

#define HARNESS_CMP(op, a, b)                                     \
    harness_cmp(__FILE__, __LINE__, (op), #a, #b, HARNESS_INT(a), \
                HARNESS_INT(b))
#define ASSERT_EQ(a, b) HARNESS_CMP(HARNESS_EQ, a, b)
#define ASSERT_NE(a, b) HARNESS_CMP(HARNESS_NE, a, b)
#define ASSERT_LT(a, b) HARNESS_CMP(HARNESS_LT, a, b)
#define ASSERT_LE(a, b) HARNESS_CMP(HARNESS_LE, a, b)
#define ASSERT_GT(a, b) HARNESS_CMP(HARNESS_GT, a, b)
#define ASSERT_GE(a, b) HARNESS_CMP(HARNESS_GE, a, b)

#define ASSERT_STREQ(a, b) harness_streq(__FILE__, __LINE__, #a, #b, (a), (b))
#define ASSERT_MEMEQ(a, b, len) \
    harness_memeq(__FILE__, __LINE__, #a, #b, (a), (b), (len))

/* @rv is 0 (SEQ_OK); else prints it with seq_strerror(). */
#define ASSERT_OK(rv) harness_err(__FILE__, __LINE__, #rv, NULL, (rv), 0)
/* @rv is exactly @code (a SEQ_E* value). */
#define ASSERT_ERR(rv, code) \
    harness_err(__FILE__, __LINE__, #rv, #code, (rv), (code))

#endif /* SEQ_TESTS_LIB_HARNESS_H */
