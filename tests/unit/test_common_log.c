/* The logger (common/seq_log.h): parsing level specs (all or nothing),
 * per-module levels, and the shape of logfmt and JSON lines, captured by
 * pointing stderr at a temporary file. */

#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "seq_err.h"
#include "seq_log.h"

/* Back to a known state: info everywhere, logfmt. */
static void reset(void)
{
    seq_log_setup(SEQ_LOG_INFO, SEQ_LOG_LOGFMT);
    ASSERT_OK(seq_log_parse_levels("info"));
}

/* Runs seq_log() with stderr redirected; returns the text written. */
static const char *capture(enum seq_log_level level,
                           const char *module,
                           const char *kv,
                           const char *msg)
{
    static char text[8192];
    FILE *f = tmpfile();
    int saved;
    size_t n;

    ASSERT_TRUE(f != NULL);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    ASSERT_TRUE(saved >= 0);
    ASSERT_TRUE(dup2(fileno(f), STDERR_FILENO) >= 0);
    seq_log(level, module, kv, "%s", msg);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(f);
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

TEST(common_log, parse_levels)
{
    reset();
    ASSERT_OK(seq_log_parse_levels("consensus=debug,net=warn,error"));
    ASSERT_TRUE(seq_log_enabled("consensus", SEQ_LOG_DEBUG));
    ASSERT_FALSE(seq_log_enabled("net", SEQ_LOG_INFO));
    ASSERT_TRUE(seq_log_enabled("net", SEQ_LOG_WARN));
    ASSERT_FALSE(seq_log_enabled("storage", SEQ_LOG_WARN));
    ASSERT_TRUE(seq_log_enabled("storage", SEQ_LOG_ERROR));
    ASSERT_FALSE(seq_log_enabled(NULL, SEQ_LOG_WARN));
    /* Module names match exactly, not by prefix. */
    ASSERT_FALSE(seq_log_enabled("consensus2", SEQ_LOG_DEBUG));
}

/* A spec replaces the module levels; the default moves only with a bare
 * level. */
TEST(common_log, spec_replaces_modules)
{
    reset();
    ASSERT_OK(seq_log_parse_levels("net=debug,warn"));
    ASSERT_OK(seq_log_parse_levels("mempool=debug"));
    ASSERT_FALSE(seq_log_enabled("net", SEQ_LOG_DEBUG));
    ASSERT_TRUE(seq_log_enabled("mempool", SEQ_LOG_DEBUG));
    ASSERT_FALSE(seq_log_enabled("net", SEQ_LOG_INFO));
    ASSERT_TRUE(seq_log_enabled("net", SEQ_LOG_WARN));
}

TEST(common_log, names_are_forgiving_about_case_and_blanks)
{
    reset();
    ASSERT_OK(seq_log_parse_levels(" net=WARNING , Debug "));
    ASSERT_TRUE(seq_log_enabled("x", SEQ_LOG_DEBUG));
    ASSERT_FALSE(seq_log_enabled("net", SEQ_LOG_INFO));
    ASSERT_TRUE(seq_log_enabled("net", SEQ_LOG_WARN));
    ASSERT_OK(seq_log_parse_levels("net=info,net=error"));
    ASSERT_FALSE(seq_log_enabled("net", SEQ_LOG_WARN));
}

/* Every bad spec is refused and changes nothing. */
TEST(common_log, bad_specs_change_nothing)
{
    static const char *const bad[] = {
        "",      "verbose",  "net=",        "=debug",     "net=loud",   "info,",
        ",info", "a b=info", "net=debug=x", "info,,warn", "n\"et=info", "trace",
    };
    char many[64 * 16];
    size_t i;

    reset();
    ASSERT_OK(seq_log_parse_levels("net=debug"));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_ERR(seq_log_parse_levels(bad[i]), SEQ_EINVAL);
    }
    ASSERT_ERR(seq_log_parse_levels(NULL), SEQ_EINVAL);
    /* More modules than the table holds. */
    many[0] = '\0';
    for (i = 0; i < 40; i++) {
        char item[16];

        snprintf(item, sizeof item, "%sm%zu=info", i == 0 ? "" : ",", i);
        strcat(many, item);
    }
    ASSERT_ERR(seq_log_parse_levels(many), SEQ_EINVAL);
    /* A module name longer than the table's slots. */
    ASSERT_ERR(seq_log_parse_levels(
                   "a_module_name_that_is_much_too_long_to_keep=info"),
               SEQ_EINVAL);
    ASSERT_TRUE(seq_log_enabled("net", SEQ_LOG_DEBUG));
    ASSERT_FALSE(seq_log_enabled("other", SEQ_LOG_DEBUG));
}

TEST(common_log, setup_sets_default)
{
    reset();
    seq_log_setup(SEQ_LOG_ERROR, SEQ_LOG_LOGFMT);
    ASSERT_FALSE(seq_log_enabled("x", SEQ_LOG_WARN));
    seq_log_setup(SEQ_LOG_DEBUG, SEQ_LOG_LOGFMT);
    ASSERT_TRUE(seq_log_enabled("x", SEQ_LOG_DEBUG));
    reset();
}

TEST(common_log, logfmt_line)
{
    const char *line;

    reset();
    line = capture(SEQ_LOG_WARN, "net", "peer=2 addr=\"a b\"",
                   "say \"hi\"\nback\\slash");
    ASSERT_TRUE(strncmp(line, "ts=", 3) == 0);
    ASSERT_TRUE(strchr(line, 'Z') != NULL);
    ASSERT_TRUE(strstr(line,
                       " level=warn module=net msg=\"say \\\"hi\\\"\\nback"
                       "\\\\slash\" peer=2 addr=\"a b\"\n") != NULL);
    ASSERT_EQ(strchr(line, '\n') - line + 1, (long)strlen(line));
}

TEST(common_log, json_line)
{
    const char *line;

    reset();
    seq_log_setup(SEQ_LOG_INFO, SEQ_LOG_JSON);
    line = capture(SEQ_LOG_ERROR, "storage",
                   "height=42 neg=-7 ok=true name=\"x \\\"y\\\"\" id=0012",
                   "tab\there");
    ASSERT_TRUE(strncmp(line, "{\"ts\":\"", 7) == 0);
    ASSERT_TRUE(strstr(line,
                       "\",\"level\":\"error\",\"module\":\"storage\","
                       "\"msg\":\"tab\\there\",\"height\":42,\"neg\":-7,"
                       "\"ok\":true,\"name\":\"x \\\"y\\\"\","
                       "\"id\":\"0012\"}\n") != NULL);

    /* Not logfmt: kept whole rather than producing invalid JSON. */
    line = capture(SEQ_LOG_INFO, "net", "broken=\"open", "m");
    ASSERT_TRUE(strstr(line, ",\"msg\":\"m\",\"kv\":\"broken=\\\"open\"}\n") !=
                NULL);
    reset();
}

TEST(common_log, control_bytes_are_escaped)
{
    const char *line;

    reset();
    line = capture(SEQ_LOG_INFO, "net", NULL, "a\x01z");
    ASSERT_TRUE(strstr(line, "msg=\"a\\x01z\"\n") != NULL);
    seq_log_setup(SEQ_LOG_INFO, SEQ_LOG_JSON);
    line = capture(SEQ_LOG_INFO, "net", NULL, "a\x01z");
    ASSERT_TRUE(strstr(line, "\"msg\":\"a\\u0001z\"}\n") != NULL);
    reset();
}

TEST(common_log, disabled_levels_print_nothing)
{
    reset();
    ASSERT_OK(seq_log_parse_levels("net=error"));
    ASSERT_STREQ(capture(SEQ_LOG_WARN, "net", NULL, "quiet"), "");
    ASSERT_STREQ(capture(SEQ_LOG_DEBUG, "other", NULL, "quiet"), "");
    ASSERT_TRUE(strlen(capture(SEQ_LOG_INFO, "other", NULL, "loud")) > 0);
    reset();
}

/* A message that cannot fit is cut with "...", and the line still ends
 * properly: a closed string, the closing brace, one newline. */
TEST(common_log, long_message_is_cut_cleanly)
{
    static char msg[3000];
    static char kv[6000];
    const char *line;
    size_t len;

    memset(msg, '\x02', sizeof msg - 1); /* Each byte escapes to 6 in JSON. */
    memset(kv, 'k', sizeof kv - 1);
    kv[0] = 'a';
    kv[1] = '=';
    reset();
    seq_log_setup(SEQ_LOG_INFO, SEQ_LOG_JSON);
    line = capture(SEQ_LOG_INFO, "net", kv, msg);
    len = strlen(line);
    ASSERT_LE(len, 4096);
    ASSERT_TRUE(strcmp(line + len - 6, "...\"}\n") == 0);
    ASSERT_TRUE(strstr(line, "\"a\":") == NULL);

    seq_log_setup(SEQ_LOG_INFO, SEQ_LOG_LOGFMT);
    line = capture(SEQ_LOG_INFO, "net", kv, msg);
    len = strlen(line);
    ASSERT_LE(len, 4096);
    ASSERT_TRUE(strcmp(line + len - 5, "...\"\n") == 0);
    reset();
}

TEST_MAIN()
