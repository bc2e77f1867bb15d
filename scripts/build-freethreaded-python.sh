#!/usr/bin/env bash
# Builds a free-threaded CPython (configure --disable-gil) for Spyglass's tests, WITHOUT installing
# anything into the system, into
#
#   ${SPYGLASS_CACHE:-$HOME/.cache/spyglass}/pythons/built-<X.Y>t/
#
# laid out like the roots of scripts/provision-pythons.sh (usr/bin/python<X.Y>t, spyglass-python
# wrapper, spyglass-python.properties, .spyglass-provisioned marker), so the test fixture
# (PythonInterpreters) picks it up as "built-<version>t".
#
# Debian ships no free-threaded interpreter package (checked 2026-11 in sid and experimental:
# no python3.1x-nogil / python3.1xt). The source is Debian's source package python<X.Y> of sid
# (apt-get source --download-only through a private apt configuration like provision-pythons.sh's;
# no system state is touched). Where the mirror serves binary packages only (the pool's
# .dsc/.orig.tar.xz answer 404), the interpreter is reported unavailable with that reason.
#
# Minimal build: no tests, no PGO/LTO, `make -j2`. Headers it uses if present (zlib, libffi, ...)
# are not required: a module whose library is missing is just not built.
# When the build cannot be done, the reason goes to pythons/built-<X.Y>t.unavailable (read by the
# test fixture) and the script exits 0. Idempotent: a root whose marker exists and whose wrapper
# runs a free-threaded interpreter of the wanted version is left alone.
#
# Usage: build-freethreaded-python.sh [--force] [--version X.Y]
set -euo pipefail
umask 022
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"

VER=3.14
FORCE=0
while [ $# -gt 0 ]; do
  case $1 in
    --force) FORCE=1 ;;
    --version) VER=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-freethreaded-python: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

CACHE=${SPYGLASS_CACHE:-$HOME/.cache/spyglass}
PYDIR=$CACHE/pythons
NAME=built-${VER}t
ROOT=$PYDIR/$NAME
MARKER=.spyglass-provisioned
WRAPPER=spyglass-python
PROPS=spyglass-python.properties
JOBS=${SPYGLASS_BUILD_JOBS:-2}

log() { echo "build-freethreaded-python: $*" >&2; }
unavailable() { log "$NAME unavailable: $1"; printf '%s\n' "$1" > "$PYDIR/$NAME.unavailable"; exit 0; }

mkdir -p "$PYDIR"
exec 9>"$PYDIR/.lock-$NAME"
flock -w 3600 9 || { log "could not lock $PYDIR/.lock-$NAME"; exit 1; }

root_ok() {
  [ -f "$ROOT/$MARKER" ] && [ -x "$ROOT/$WRAPPER" ] || return 1
  local out
  out=$(timeout 30 "$ROOT/$WRAPPER" -c 'import sys, sysconfig; print(sys.version.split()[0], sysconfig.get_config_var("Py_GIL_DISABLED"))' </dev/null 2>/dev/null) || return 1
  [[ $out == "$VER".*" 1" ]]
}

if [ $FORCE -eq 0 ] && root_ok; then
  rm -f "$PYDIR/$NAME.unavailable"
  log "$NAME: ready ($(grep -m1 '^version=' "$ROOT/$PROPS" | cut -d= -f2)) at $ROOT"
  exit 0
fi
for tool in gcc make tar; do command -v $tool >/dev/null || unavailable "no $tool on this machine"; done

WORK=$PYDIR/.build-$NAME.$$
trap 'rm -rf -- "$WORK"' EXIT
rm -rf "$WORK"; mkdir -p "$WORK/src"
ORIGIN=

# --- the source ---------------------------------------------------------------------------------
MIRROR=${SPYGLASS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
A=$WORK/apt
mkdir -p "$A/etc/apt.conf.d" "$A/etc/preferences.d" "$A/state/lists/partial" "$A/cache/archives/partial" "$A/log"
: > "$A/state/status"
echo "deb-src [check-valid-until=no signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR sid main" > "$A/etc/sources.list"
cat > "$A/apt.conf" <<EOF
Dir::Etc "$A/etc/";
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$A/etc/apt.conf.d/";
Dir::Etc::sourcelist "$A/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::State "$A/state/";
Dir::State::status "$A/state/status";
Dir::Cache "$A/cache/";
Dir::Log "$A/log/";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOF
export APT_CONFIG=$A/apt.conf
timeout 120 apt-get -q update >/dev/null 2>&1 || unavailable "apt-get update of Debian sid sources ($MIRROR) failed"
mkdir -p "$WORK/deb"
if ! out=$(cd "$WORK/deb" && timeout 300 apt-get -q source --download-only "python$VER" 2>&1); then
  unavailable "Debian source package python$VER cannot be downloaded from $MIRROR ($(grep -m1 -E '^E:' <<<"$out" | cut -c1-200)); no free-threaded interpreter can be built here"
fi
dsc=$(ls "$WORK"/deb/*.dsc | head -n1)
dpkg-source --no-check -x "$dsc" "$WORK/deb/x" >/dev/null
cp -a "$WORK/deb/x/." "$WORK/src/"; ORIGIN="debian $(basename "$dsc")"

# --- configure, build, install --------------------------------------------------------------------
start=$SECONDS
TMPROOT=$PYDIR/.tmp-$NAME.$$
trap 'rm -rf -- "$WORK" "$TMPROOT"' EXIT
rm -rf "$TMPROOT"; mkdir -p "$TMPROOT"
(
  cd "$WORK/src"
  # --prefix is the final place; CPython finds its stdlib relative to the executable anyway.
  ./configure --disable-gil --prefix="$ROOT/usr" --without-ensurepip --without-system-libmpdec \
    --without-static-libpython >"$WORK/configure.log" 2>&1
  make -j"$JOBS" >"$WORK/make.log" 2>&1
  make install DESTDIR="$TMPROOT/d" >"$WORK/install.log" 2>&1
) || unavailable "build failed: $(tail -n 3 "$WORK"/*.log 2>/dev/null | tr '\n' ' ' | cut -c1-300)"
mv -T "$TMPROOT/d$ROOT/usr" "$TMPROOT/usr"
rm -rf "$TMPROOT/d"
elapsed=$((SECONDS - start))
[ -x "$TMPROOT/usr/bin/python${VER}t" ] || unavailable "the build installed no usr/bin/python${VER}t"

cat > "$TMPROOT/$WRAPPER" <<EOF
#!/bin/sh
# Generated by scripts/build-freethreaded-python.sh: a free-threaded CPython built from source.
# exec keeps this script's PID for the interpreter.
ROOT=\$(dirname -- "\$(readlink -f -- "\$0")") || exit 127
exec "\$ROOT/usr/bin/python${VER}t" "\$@"
EOF
chmod 755 "$TMPROOT/$WRAPPER"
facts=$("$TMPROOT/$WRAPPER" -c '
import sys, sysconfig, threading
t = threading.Thread(target=sum, args=((),)); t.start(); t.join()
print("version=" + sys.version.split()[0])
print("hexversion=0x%08x" % sys.hexversion)
print("gil_disabled=%s" % sysconfig.get_config_var("Py_GIL_DISABLED"))
print("gil_enabled_at_runtime=%s" % sys._is_gil_enabled())
') || unavailable "the built interpreter does not run"
{
  echo "# Written by scripts/build-freethreaded-python.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Do not edit."
  echo "name=$NAME"
  echo "$facts"
  echo "source=$ORIGIN"
  echo "configure=--disable-gil --without-ensurepip --without-system-libmpdec --without-static-libpython"
  echo "build.seconds=$elapsed"
  echo "build.jobs=$JOBS"
  echo "root=$ROOT"
  echo "wrapper=$ROOT/$WRAPPER"
  echo "binary=$ROOT/usr/bin/python${VER}t"
} > "$TMPROOT/$PROPS"
cp "$TMPROOT/$PROPS" "$TMPROOT/$MARKER"
[ -e "$ROOT" ] && rm -rf "$ROOT"
mv -T "$TMPROOT" "$ROOT"
root_ok || { rm -rf "$ROOT"; unavailable "python${VER}t does not run from its final place $ROOT"; }
rm -f "$PYDIR/$NAME.unavailable"
log "$NAME: built ($(grep -m1 '^version=' "$ROOT/$PROPS" | cut -d= -f2)) in ${elapsed}s at $ROOT"
