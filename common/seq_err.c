/* The error table. seq_err.h lists every code once in SEQ_ERR_MAP; this file
 * expands the same list into the text and the symbolic name of each code, so
 * a new code cannot be added to the enum and forgotten here. */

#include "seq_err.h"

const char *seq_strerror(int err)
{
    switch (err) {
    case SEQ_OK:
        return "success";
#define SEQ_ERR_TEXT(name, code, text) \
    case (code):                       \
        return (text);
        SEQ_ERR_MAP(SEQ_ERR_TEXT)
#undef SEQ_ERR_TEXT
    default:
        return "unknown error";
    }
}

const char *seq_errname(int err)
{
    switch (err) {
    case SEQ_OK:
        return "OK";
#define SEQ_ERR_NAME(name, code, text) \
    case (code):                       \
        return #name;
        SEQ_ERR_MAP(SEQ_ERR_NAME)
#undef SEQ_ERR_NAME
    default:
        return "EUNKNOWN";
    }
}
