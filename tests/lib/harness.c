/* The test runner behind harness.h. Tests register themselves into a list
 * before main(); harness_run() walks it, running each test under setjmp so
 * that a failed assertion can abandon the test (longjmp) and the run go on.
 * The text of a failure is collected while the test runs and printed after
 * its "FAIL" line, followed by the seed that replays it.
 *
 * A test that crashes instead of failing (an assert() in the code under
 * test, a segfault) cannot reach that point, so a signal handler prints the
 * test's name and replay seed first and then hands the signal on to whoever
 * had it before (the default action, or a sanitizer's report). */

#define _POSIX_C_SOURCE 200809L

#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seq_err.h"

#define DEFAULT_SEED 1
#define NAME_LEN     256

static const int crash_signals[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };

static struct harness_test *tests;
static struct harness_test **tests_tail = &tests;
static jmp_buf test_jump;
static volatile sig_atomic_t in_test;
static uint64_t test_seed_now; /* What a failure of this test reports. */
static char test_name[NAME_LEN];
static char failure[8192];
static char crash_note[NAME_LEN + 64];
static size_t crash_note_len;
static struct sigaction
    saved_actions[sizeof crash_signals / sizeof crash_signals[0]];

void harness_register(struct harness_test *test)
{
    test->next = NULL;
    *tests_tail = test;
    tests_tail = &test->next;
}

/* Decimal, or hexadecimal after "0x"; nothing else, and no overflow. */
static int parse_u64(const char *text, uint64_t *out)
{
    int hex = text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    char *end;

    if (hex) {
        text += 2;
    }
    if (hex ? !isxdigit((unsigned char)text[0])
            : !isdigit((unsigned char)text[0])) {
        return -1;
    }
    errno = 0;
    *out = strtoull(text, &end, hex ? 16 : 10);
    return errno != 0 || *end != '\0' ? -1 : 0;
}

uint64_t test_seed(void)
{
    const char *text = getenv("SEQ_TEST_SEED");
    uint64_t seed;

    if (text == NULL || parse_u64(text, &seed) != 0) {
        return DEFAULT_SEED; /* harness_run() refuses malformed seeds. */
    }
    return seed;
}

/* A decimal count in 1..UINT_MAX from @name, or 0 if unset or malformed. */
static unsigned env_count(const char *name)
{
    const char *text = getenv(name);
    uint64_t n;

    if (text == NULL || !isdigit((unsigned char)text[0]) ||
        parse_u64(text, &n) != 0 || n == 0 || n > UINT_MAX) {
        return 0;
    }
    return (unsigned)n;
}

/* SEQ_SIM_SEEDS_PERCENT scales the tests' own defaults, so that a slow build
 * (ASan) can run half of every sweep without knowing their sizes. */
unsigned test_sim_seeds(unsigned default_n)
{
    unsigned n = env_count("SEQ_SIM_SEEDS");
    unsigned percent = env_count("SEQ_SIM_SEEDS_PERCENT");
    unsigned long long scaled;

    if (n != 0) {
        return n;
    }
    if (percent == 0) {
        return default_n;
    }
    scaled = (unsigned long long)default_n * percent / 100;
    return scaled == 0 ? 1 : scaled > UINT_MAX ? UINT_MAX : (unsigned)scaled;
}

/* The note is formatted here, outside the signal handler, which may only
 * write(2) it. */
void test_set_seed(uint64_t seed)
{
    int n;

    test_seed_now = seed;
    n = snprintf(crash_note, sizeof crash_note,
                 "CRASH %s\nreplay: SEQ_TEST_SEED=%" PRIu64 "\n", test_name,
                 seed);
    crash_note_len = n < 0 ? 0 : strlen(crash_note);
}

static void on_crash(int sig)
{
    size_t i;

    if (in_test) {
        ssize_t written = write(STDERR_FILENO, crash_note, crash_note_len);

        (void)written; /* Nothing better to do if stderr is gone. */
    }
    for (i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++) {
        if (crash_signals[i] == sig) {
            sigaction(sig, &saved_actions[i], NULL);
        }
    }
    /* A fault returns to the faulting instruction and faults again, now
     * under the previous action; abort() must be raised again. */
    if (sig == SIGABRT) {
        raise(sig);
    }
}

void harness_fail(const char *file, int line, const char *fmt, ...)
{
    size_t n;
    va_list ap;

    snprintf(failure, sizeof failure, "  %s:%d: ", file, line);
    n = strlen(failure);
    va_start(ap, fmt);
    vsnprintf(failure + n, sizeof failure - n, fmt, ap);
    va_end(ap);
    n = strlen(failure);
    if (n + 1 < sizeof failure && (n == 0 || failure[n - 1] != '\n')) {
        failure[n] = '\n';
        failure[n + 1] = '\0';
    }
    if (!in_test) {
        fputs(failure, stderr);
        abort();
    }
    longjmp(test_jump, 1);
}

struct harness_int harness_int_s(long long v)
{
    struct harness_int r = { v, (unsigned long long)v, 0 };

    return r;
}

struct harness_int harness_int_u(unsigned long long v)
{
    struct harness_int r = { (long long)v, v, 1 };

    return r;
}

/* Compares the values, whatever the signedness of their types. */
static int int_cmp(struct harness_int a, struct harness_int b)
{
    int a_neg = !a.is_unsigned && a.s < 0;
    int b_neg = !b.is_unsigned && b.s < 0;

    if (a_neg != b_neg) {
        return a_neg ? -1 : 1;
    }
    if (a_neg) {
        return (a.s > b.s) - (a.s < b.s);
    }
    return (a.u > b.u) - (a.u < b.u);
}

/* The value as its type has it, then the other reading and hex. */
static void int_text(struct harness_int v, char *out, size_t size)
{
    if (v.is_unsigned) {
        snprintf(out, size, "%llu (signed %lld, 0x%llx)", v.u, v.s, v.u);
    } else {
        snprintf(out, size, "%lld (unsigned %llu, 0x%llx)", v.s, v.u, v.u);
    }
}

void harness_cmp(const char *file,
                 int line,
                 enum harness_op op,
                 const char *a_text,
                 const char *b_text,
                 struct harness_int a,
                 struct harness_int b)
{
    static const char *const names[] = {
        "", "EQ", "NE", "LT", "LE", "GT", "GE"
    };
    int c = int_cmp(a, b);
    int ok = (op == HARNESS_EQ && c == 0) || (op == HARNESS_NE && c != 0) ||
             (op == HARNESS_LT && c < 0) || (op == HARNESS_LE && c <= 0) ||
             (op == HARNESS_GT && c > 0) || (op == HARNESS_GE && c >= 0);

    if (!ok) {
        char a_val[80];
        char b_val[80];

        int_text(a, a_val, sizeof a_val);
        int_text(b, b_val, sizeof b_val);
        harness_fail(file, line,
                     "ASSERT_%s(%s, %s) failed\n    %s = %s\n    %s = %s",
                     names[op], a_text, b_text, a_text, a_val, b_text, b_val);
    }
}

void harness_streq(const char *file,
                   int line,
                   const char *a_text,
                   const char *b_text,
                   const char *a,
                   const char *b)
{
    if (a == b || (a != NULL && b != NULL && strcmp(a, b) == 0)) {
        return;
    }
    harness_fail(file, line,
                 "ASSERT_STREQ(%s, %s) failed\n    %s = \"%s\"\n"
                 "    %s = \"%s\"",
                 a_text, b_text, a_text, a != NULL ? a : "(null)", b_text,
                 b != NULL ? b : "(null)");
}

/* Up to 16 bytes from @at as hex, for a mismatch report. */
static void hex_window(const void *p, size_t len, size_t at, char *out)
{
    const unsigned char *bytes = p;
    size_t i;

    out[0] = '\0';
    for (i = at; i < len && i < at + 16; i++) {
        sprintf(out + 3 * (i - at), "%02x ", bytes[i]);
    }
}

void harness_memeq(const char *file,
                   int line,
                   const char *a_text,
                   const char *b_text,
                   const void *a,
                   const void *b,
                   size_t len)
{
    char a_hex[3 * 16 + 1];
    char b_hex[3 * 16 + 1];
    size_t at = 0;

    if (len == 0 || a == b || memcmp(a, b, len) == 0) {
        return;
    }
    while (((const unsigned char *)a)[at] == ((const unsigned char *)b)[at]) {
        at++;
    }
    at = at < 8 ? 0 : at - 8;
    hex_window(a, len, at, a_hex);
    hex_window(b, len, at, b_hex);
    harness_fail(file, line,
                 "ASSERT_MEMEQ(%s, %s, %zu) failed, from byte %zu:\n"
                 "    %s = %s\n    %s = %s",
                 a_text, b_text, len, at, a_text, a_hex, b_text, b_hex);
}

void harness_err(const char *file,
                 int line,
                 const char *rv_text,
                 const char *want_text,
                 long long rv,
                 long long want)
{
    int code = rv >= INT_MIN && rv <= INT_MAX ? (int)rv : INT_MIN;
    int want_code = want >= INT_MIN && want <= INT_MAX ? (int)want : INT_MIN;

    if (rv == want) {
        return;
    }
    if (want_text == NULL) {
        harness_fail(file, line, "ASSERT_OK(%s) failed: %lld %s (%s)", rv_text,
                     rv, seq_errname(code), seq_strerror(code));
    }
    harness_fail(file, line,
                 "ASSERT_ERR(%s, %s) failed: got %lld %s (%s), want %lld %s",
                 rv_text, want_text, rv, seq_errname(code), seq_strerror(code),
                 want, seq_errname(want_code));
}

static int check_env(void)
{
    const char *seed = getenv("SEQ_TEST_SEED");
    const char *seeds = getenv("SEQ_SIM_SEEDS");
    const char *percent = getenv("SEQ_SIM_SEEDS_PERCENT");
    uint64_t v;

    if (seed != NULL && parse_u64(seed, &v) != 0) {
        fprintf(stderr, "SEQ_TEST_SEED=%s: want decimal or 0x hex\n", seed);
        return -1;
    }
    if (seeds != NULL && env_count("SEQ_SIM_SEEDS") == 0) {
        fprintf(stderr, "SEQ_SIM_SEEDS=%s: want a decimal count >= 1\n", seeds);
        return -1;
    }
    if (percent != NULL && env_count("SEQ_SIM_SEEDS_PERCENT") == 0) {
        fprintf(stderr, "SEQ_SIM_SEEDS_PERCENT=%s: want a decimal >= 1\n",
                percent);
        return -1;
    }
    return 0;
}

int harness_run(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    static unsigned passed;
    static unsigned failed;
    static struct harness_test *t;
    struct sigaction sa;
    size_t i;

    if (check_env() != 0) {
        return 2;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_crash;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof crash_signals / sizeof crash_signals[0]; i++) {
        sigaction(crash_signals[i], &sa, &saved_actions[i]);
    }
    for (t = tests; t != NULL; t = t->next) {
        snprintf(test_name, sizeof test_name, "%s.%s", t->suite, t->name);
        if (filter != NULL && strstr(test_name, filter) == NULL) {
            continue;
        }
        test_set_seed(test_seed());
        failure[0] = '\0';
        fflush(stdout);
        in_test = 1;
        if (setjmp(test_jump) == 0) {
            t->fn();
            in_test = 0;
            printf("ok %s\n", test_name);
            passed++;
        } else {
            in_test = 0;
            printf("FAIL %s\n%sreplay: SEQ_TEST_SEED=%" PRIu64 "\n", test_name,
                   failure, test_seed_now);
            failed++;
        }
        fflush(stdout);
    }
    if (filter != NULL && passed + failed == 0) {
        printf("no test matches \"%s\"\n", filter);
    }
    printf("%u passed, %u failed\n", passed, failed);
    fflush(stdout);
    return failed == 0 ? 0 : 1;
}
