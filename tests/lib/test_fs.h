/* Scratch directories for tests that touch the file system. test_tmpdir()
 * makes a fresh directory under $TMPDIR (or /tmp when that is unset or
 * empty) and fails the current test if it cannot; test_rm_tree() deletes a
 * directory and everything below it, without following links. */

#ifndef SEQ_TESTS_LIB_TEST_FS_H
#define SEQ_TESTS_LIB_TEST_FS_H

#include <stddef.h>

/* Creates "<tmp>/@prefix-XXXXXX" with mkdtemp() and writes its path, NUL
 * included, to @out (@len bytes). Fails the test (harness_fail) if the path
 * does not fit or mkdtemp() fails. */
void test_tmpdir(const char *prefix, char *out, size_t len);

/* Removes @dir and everything below it, depth first, not following links.
 * Best effort: what cannot be removed is left behind. */
void test_rm_tree(const char *dir);

#endif /* SEQ_TESTS_LIB_TEST_FS_H */
