#!/usr/bin/env bash
# Builds austinp (Austin's native-stack build, which unwinds with libunwind-ptrace) for the austinp rows of
# native-frames.sh, and prints its path: AUSTINP=$(scripts/figures/native/build-austinp.sh) ...
# Usage: build-austinp.sh [AUSTIN_SOURCE_DIR]   (without one: a shallow clone of tag v3.7.0 into a temporary folder)
# Needs autoconf, automake, libunwind-dev and liblzma-dev (Debian; installed here when run as root).
set -euo pipefail
src=${1:-}
if [ -z "$src" ]; then
  src=$(mktemp -d)/austin
  git clone -q --depth 1 --branch v3.7.0 https://github.com/P403n1x87/austin "$src" >&2
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends autoconf automake libunwind-dev liblzma-dev >/dev/null
fi
cd "$src"
# austinp links Debian's static libunwind-ptrace.a, which is not built as position-independent code: hence -no-pie.
{ autoreconf --install && ./configure && make -j"$(nproc)" LDFLAGS=-no-pie; } > build.log 2>&1 ||
  { echo "build-austinp: the build failed, see $src/build.log" >&2; exit 1; }
echo "$src/src/austinp"
