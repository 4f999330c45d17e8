/* Scratch directories for tests that touch the file system. test_tmpdir()
 * makes a fresh directory under $TMPDIR (or /tmp when that is unset or
 * empty) and fails the current test if it cannot; test_rm_tree() deletes a
 * directory and everything below it, without following links. */

#ifndef SEQ_TESTS_LIB_TEST_FS_H
#define SEQ_TESTS_LIB_TEST_FS_H

#include <stddef.h>
#include <string.h>
#include <sys/types.h>

#include "harness.h"

/* Creates "<tmp>/@prefix-XXXXXX" with mkdtemp() and writes its path, NUL
 * included, to @out (@len bytes). Fails the test (harness_fail) if the path
 * does not fit or mkdtemp() fails. */
void test_tmpdir(const char *prefix, char *out, size_t len);

/* Removes @dir and everything below it, depth first, not following links.
 * Best effort: what cannot be removed is left behind. */
void test_rm_tree(const char *dir);

/* The file's bytes (up to 1 MiB - 1), NUL-terminated; free() them. *len
 * (may be NULL) gets the length. Fails the test if the file cannot be
 * read. */
char *test_read_file(const char *path, size_t *len);

/* Entries in @dir, "." and ".." not counted. */
unsigned test_count_entries(const char *dir);

/* The permission bits of @path (st_mode & 07777). */
mode_t test_file_mode(const char *path);

#define ASSERT_CONTAINS(haystack, needle)                                  \
    do {                                                                   \
        if (strstr((haystack), (needle)) == NULL) {                        \
            harness_fail(__FILE__, __LINE__, "\"%s\" does not contain %s", \
                         (haystack), (needle));                            \
        }                                                                  \
    } while (0)

#endif /* SEQ_TESTS_LIB_TEST_FS_H */
