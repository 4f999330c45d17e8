/* OS randomness (seq_random.h): getrandom(2) in a loop, since it may return
 * fewer bytes than asked for or be interrupted by a signal. */

#define _DEFAULT_SOURCE
#include "seq_random.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "seq_err.h"

int seq_random_bytes(void *buf, size_t len)
{
    uint8_t *p = buf;

    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return SEQ_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return SEQ_OK;
}
