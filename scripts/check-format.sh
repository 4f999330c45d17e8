#!/usr/bin/env bash
# Fails if any C file is not formatted as .clang-format says. The files are
# those git tracks plus untracked ones it does not ignore, so generated code
# in build directories is never checked. Fix with: clang-format -i FILE...
set -euo pipefail
cd "$(dirname "$0")/.."

# The style file is written for clang-format 14; other versions disagree on
# details, so prefer that one by name.
CLANG_FORMAT=${CLANG_FORMAT:-}
if [ -z "$CLANG_FORMAT" ]; then
    if command -v clang-format-14 >/dev/null; then
        CLANG_FORMAT=clang-format-14
    else
        CLANG_FORMAT=clang-format
    fi
fi
version=$("$CLANG_FORMAT" --version)
case "$version" in
*"version 14."*) ;;
*) echo "check-format.sh: warning: want clang-format 14, have: $version" >&2 ;;
esac

files=()
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    while IFS= read -r -d '' f; do
        # Tracked but deleted in the work tree: nothing to check.
        [ -f "$f" ] && files+=("$f")
    done < <(git ls-files -z --cached --others --exclude-standard -- '*.c' '*.h')
else
    while IFS= read -r -d '' f; do
        files+=("$f")
    done < <(find . \( -name 'build*' -o -name '.git' \) -prune -o \
        -type f \( -name '*.c' -o -name '*.h' \) -print0)
fi

bad=()
for f in "${files[@]}"; do
    if ! "$CLANG_FORMAT" --dry-run --Werror "$f" >/dev/null 2>&1; then
        bad+=("$f")
    fi
done

if [ "${#bad[@]}" -gt 0 ]; then
    echo "check-format.sh: ${#bad[@]} of ${#files[@]} files need formatting:"
    printf '  %s\n' "${bad[@]}"
    echo "first differences in ${bad[0]}:"
    "$CLANG_FORMAT" --dry-run "${bad[0]}" 2>&1 | head -n 20 || true
    echo "fix: $CLANG_FORMAT -i ${bad[*]}"
    exit 1
fi
echo "check-format.sh: ${#files[@]} files formatted"
