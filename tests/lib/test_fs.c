/* Scratch directories for tests (see test_fs.h). */

#define _XOPEN_SOURCE 700 /* mkdtemp, nftw. */

#include "test_fs.h"

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 20);
    size_t n;

    ASSERT_TRUE(f != NULL);
    ASSERT_TRUE(buf != NULL);
    n = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL) {
        *len = n;
    }
    return buf;
}

unsigned test_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned n = 0;

    ASSERT_TRUE(d != NULL);
    for (e = readdir(d); e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

mode_t test_file_mode(const char *path)
{
    struct stat st;

    ASSERT_EQ(stat(path, &st), 0);
    return st.st_mode & 07777;
}
