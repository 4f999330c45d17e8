#!/usr/bin/env bash
# Installs the Debian packages this project needs to build and test, and only
# those that are missing: a machine that has them all is left alone, without
# even an `apt-get update`. Run as root, or as a user with sudo.
set -euo pipefail

REQUIRED=(
    build-essential cmake ninja-build pkg-config clang clang-format
    libzmq3-dev librocksdb-dev libprotobuf-c-dev protobuf-c-compiler
    libsecp256k1-dev libssl-dev libmicrohttpd-dev libjansson-dev
    libinih-dev libcmocka-dev git python3 python3-zmq
)
# Installed when the distribution has them: clang's sanitizer and libFuzzer
# runtimes are packaged separately on Debian 12, and not at all elsewhere.
OPTIONAL=(libclang-rt-14-dev)

if ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
    echo "deps.sh: no dpkg/apt-get; install by hand: ${REQUIRED[*]}" >&2
    exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "deps.sh: run as root, or install sudo" >&2
        exit 1
    fi
    SUDO=(sudo)
fi
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)

installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

available() {
    apt-cache show "$1" >/dev/null 2>&1
}

updated=no
update_once() {
    if [ "$updated" = no ]; then
        "${APT[@]}" update -q
        updated=yes
    fi
}

missing=()
for pkg in "${REQUIRED[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
# A fresh machine has empty package lists, and apt-cache knows nothing until
# they are fetched; update first if anything at all is going to be installed.
if [ "${#missing[@]}" -gt 0 ]; then
    update_once
fi
for pkg in "${OPTIONAL[@]}"; do
    if ! installed "$pkg" && available "$pkg"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps.sh: all packages present"
    exit 0
fi
echo "deps.sh: installing ${missing[*]}"
update_once
"${APT[@]}" install -y -q --no-install-recommends "${missing[@]}"
