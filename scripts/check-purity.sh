#!/usr/bin/env bash
# The pure core stays pure (DESIGN §2, STYLE §2.1): nothing under consensus/
# or mempool/ may read a clock, draw from rand(), print, open a file or a
# socket, start a thread, or include the I/O libraries' headers. The CMake
# target graph already keeps zmq.h and rocksdb/c.h off those include paths;
# this grep (in the spirit of curl's checksrc) also catches the libc calls
# that every target can reach.
#
#   check-purity.sh [ROOT]     check ROOT/consensus and ROOT/mempool
#                              (ROOT defaults to the repository)
#   check-purity.sh --self-test
#                              check that the check bites: each kind of
#                              violation is caught, allowed code is not
#
# Exit status: 0 clean, 1 violations (listed as file:line: text), 2 usage.
# Comment lines and trailing comments are ignored; snprintf() and <stdio.h>
# are allowed, for formatting trace text into buffers.
set -euo pipefail

PURE_DIRS=(consensus mempool)
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

# Calls: the name must not be part of a longer identifier (snprintf is fine)
# nor a member (io->send, ops.open are vtable calls, which are the point).
BANNED_CALLS='rand|srand|random|srandom|rand_r|drand48|getrandom|time|clock|clock_gettime|gettimeofday|sleep|usleep|nanosleep|printf|vprintf|fprintf|vfprintf|puts|fputs|putchar|perror|fopen|fdopen|freopen|open|openat|socket|connect|bind|listen|accept|pthread_create|thrd_create|fork|system|getenv'
CALL_RE="(^|[^A-Za-z0-9_.>])(${BANNED_CALLS})[[:space:]]*\("
BANNED_HEADERS='zmq\.h|czmq\.h|rocksdb/c\.h|pthread\.h|threads\.h|time\.h|sys/time\.h|sys/socket\.h|netinet/[a-z_]+\.h|arpa/inet\.h|sys/random\.h|fcntl\.h|microhttpd\.h|protobuf-c/protobuf-c\.h|[A-Za-z0-9_]+\.pb-c\.h'
INCLUDE_RE="^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"](${BANNED_HEADERS})[>\"]"

# Prints "file:line: text" for each violation in the files under $1.
scan() {
    local root=$1 dir found=0
    for dir in "${PURE_DIRS[@]}"; do
        [ -d "$root/$dir" ] || continue
        # Blank out comments: whole comment lines (starting with /*, * or
        # //), then /* ... */ and // tails on code lines.
        # shellcheck disable=SC2016 # The $0 and $1 below are awk's.
        if find "$root/$dir" -type f \( -name '*.c' -o -name '*.h' \) \
            -print0 | sort -z | xargs -0 -r awk '
            {
                line = $0
                if (line ~ /^[[:space:]]*(\/\*|\*|\/\/)/) { next }
                gsub(/\/\*([^*]|\*+[^*\/])*\*+\//, "", line)
                sub(/\/\/.*$/, "", line)
                sub(/\/\*.*$/, "", line)
                if (line ~ CALL || $0 ~ INC) {
                    printf "%s:%d: %s\n", FILENAME, FNR, $0
                }
            }' CALL="$CALL_RE" INC="$INCLUDE_RE" | grep .; then
            found=1
        fi
    done
    return $found
}

self_test() {
    local tmp status=0 out
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    mkdir -p "$tmp/consensus" "$tmp/mempool"

    # Allowed: snprintf, <stdio.h>, member calls, names that merely contain
    # a banned one, and banned words in comments.
    cat >"$tmp/consensus/clean.c" <<'C'
/* This comment mentions time(NULL) and printf("x"). */
#include <stdio.h>
#include "hs_types.h"
static int f(struct hs_io *io, char *buf)
{
    io->send(io, 1, NULL); /* not rand() */
    io->ops.open(io);
    hs_round_time(3); // clock_gettime(
    return snprintf(buf, 8, "%d", 1) + vsnprintf_like(buf);
}
C
    if ! out=$(scan "$tmp"); then
        echo "self-test: clean code flagged:"
        echo "$out"
        status=1
    fi

    local -a bad=(
        'x = rand();'
        'srand(1);'
        'now = time(NULL);'
        'clock_gettime(CLOCK_MONOTONIC, &ts);'
        'gettimeofday(&tv, NULL);'
        'printf("%d\n", x);'
        'fprintf(stderr, "x");'
        'puts("x");'
        'f = fopen("x", "r");'
        'fd = open("x", 0);'
        's = socket(AF_INET, SOCK_STREAM, 0);'
        '#include <zmq.h>'
        '#include <rocksdb/c.h>'
        '#include <pthread.h>'
        '#include <time.h>'
        '#include <sys/socket.h>'
        '  #  include "zmq.h"'
        'y = 1; x = random ();'
    )
    local i=0 line
    for line in "${bad[@]}"; do
        rm -f "$tmp"/mempool/*.c
        printf 'static void g(void)\n{\n%s\n}\n' "$line" \
            >"$tmp/mempool/bad$i.c"
        set +e
        out=$(bash "$SELF" "$tmp" 2>&1)
        local rv=$?
        set -e
        if [ "$rv" -ne 1 ] || ! grep -q "bad$i.c:3:" <<<"$out"; then
            echo "self-test: not caught (exit $rv): $line"
            status=1
        fi
        i=$((i + 1))
    done
    rm -f "$tmp"/mempool/*.c
    if [ "$status" -eq 0 ]; then
        echo "check-purity.sh: self-test passed (${#bad[@]} violations caught)"
    fi
    return $status
}

case "${1:-}" in
--self-test)
    self_test
    exit $?
    ;;
-*)
    echo "usage: $0 [ROOT] | --self-test" >&2
    exit 2
    ;;
esac

ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
if [ ! -d "$ROOT" ]; then
    echo "check-purity.sh: no such directory: $ROOT" >&2
    exit 2
fi
if ! out=$(scan "$ROOT"); then
    echo "check-purity.sh: I/O, clock, randomness or threads in the pure core:"
    echo "$out"
    exit 1
fi
echo "check-purity.sh: consensus/ and mempool/ are pure"
