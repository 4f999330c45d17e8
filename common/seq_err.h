/* Error codes shared by every module. 0 is success; failures are negative
 * and stable (they appear in logs and metrics), so never renumber one. One
 * X-macro yields both the enum and the strings. */

#ifndef SEQ_COMMON_SEQ_ERR_H
#define SEQ_COMMON_SEQ_ERR_H

#define SEQ_ERR_MAP(X)                                           \
    X(ENOMEM, -1, "out of memory")                               \
    X(EINVAL, -2, "invalid argument")                            \
    X(EIO, -3, "storage or network I/O failed")                  \
    X(ECORRUPT, -4, "persisted data failed validation")          \
    X(ENOTFOUND, -5, "no such key or block")                     \
    X(EBADMSG, -6, "malformed message or invalid signature")     \
    X(ESTALE, -7, "message belongs to an older view")            \
    X(ECLOSED, -8, "object is closing")                          \
    X(EUNSAFE, -9, "refused by the safety rules")                \
    X(EAGAIN, -10, "not ready yet; retry when the data arrives") \
    X(EFULL, -11, "capacity exhausted")                          \
    X(EEXIST, -12, "already present")                            \
    X(ETOOBIG, -13, "too large")                                 \
    X(ETIMEOUT, -14, "timed out")

enum seq_err {
    SEQ_OK = 0,
#define SEQ_ERR_ENUM(name, code, text) SEQ_##name = (code),
    SEQ_ERR_MAP(SEQ_ERR_ENUM)
#undef SEQ_ERR_ENUM
};

#define SEQ_ERRMSG_LEN 256

/* Static, human-readable text for any value returned by this project;
 * "unknown error" for anything else. */
const char *seq_strerror(int err);

/* The symbolic name ("EBADMSG") of a code, for logs and metrics labels. */
const char *seq_errname(int err);

#endif /* SEQ_COMMON_SEQ_ERR_H */
