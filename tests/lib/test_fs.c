/* Scratch directories for tests (see test_fs.h). */

#define _XOPEN_SOURCE 700 /* mkdtemp, nftw. */

#include "test_fs.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"

void test_tmpdir(const char *prefix, char *out, size_t len)
{
    const char *tmp = getenv("TMPDIR");
    int n;

    if (tmp == NULL || tmp[0] == '\0') {
        tmp = "/tmp";
    }
    n = snprintf(out, len, "%s/%s-XXXXXX", tmp, prefix);
    ASSERT_TRUE(n > 0 && (size_t)n < len);
    ASSERT_TRUE(mkdtemp(out) != NULL);
}

static int rm_entry(const char *path,
                    const struct stat *st,
                    int type,
                    struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

void test_rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
