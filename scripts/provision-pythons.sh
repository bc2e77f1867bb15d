#!/usr/bin/env bash
# Provision Debian-built CPython interpreters for Spyglass's tests WITHOUT installing them
# into the system (see docs/testing.md):
#
#   debian-trixie-3.13   python3.13 from Debian trixie
#   debian-sid-3.14      python3.14 from Debian sid
#   debian-sid-3.15      python3.15 from Debian sid (3.15.2-1 when added)
#
# For each, a private apt configuration (own sources list, state, cache, config parts, all
# under the cache folder) pointing at that one suite on the Debian mirror this machine already
# uses is updated; the interpreter packages and the closure of their library dependencies
# from that same suite (libc6 included) are fetched with `apt-get download` (hash-checked
# against the signed index) and unpacked with `dpkg -x` into
#
#   ${SPYGLASS_CACHE:-$HOME/.cache/spyglass}/pythons/<name>/
#
# Two extras go into a root when its suite has them, for the native-frame tests (issue 11):
#   headers  libpython3.X-dev's C headers (usr/include/python3.X, pyconfig.h), to build a test
#            C extension against; its static libraries are dropped.
#   numpy    python3-numpy and its library closure (BLAS/LAPACK, libgfortran, ...), kept only when
#            the package has a build for that interpreter and `import numpy` passes the self-test;
#            the links Debian's alternatives would make for libblas.so.3/liblapack.so.3 are made.
# Neither is required: the root's properties say headers=/numpy= (the version) or
# headers.unavailable=/numpy.unavailable= (why not), and the interpreter is provisioned anyway.
#
# Each root then holds:
#   spyglass-python             wrapper: exec's the root's own loader on the root's
#                               usr/bin/python3.X with --library-path and PYTHONHOME set;
#                               thanks to exec the wrapper's PID IS the interpreter's PID.
#   spyglass-python.properties  key=value facts for test fixtures (version, suite, binary,
#                               loader, library.path, pythonhome, packages, ...).
#   .spyglass-provisioned       marker; a root is only ever renamed into place with it.
#
# A root exists only when it is complete and passed a self-test (interpreter runs, imports
# threading/time/os/sys/json, and maps no shared library from outside the root). When an
# interpreter cannot be provisioned (registry unreachable, package gone, ...), the script
# prints one line saying why to stderr, writes the reason to pythons/<name>.unavailable and
# still exits 0, so tests can skip that interpreter with that reason. The .unavailable file
# is removed once the interpreter is provisioned.
#
# Idempotent and cheap to re-run: a root whose marker exists and whose wrapper runs is left
# alone without touching the network. A flock on pythons/.lock serialises concurrent runs.
# Nothing under /etc/apt or /var/lib/apt (or any other system state) is read-write touched:
# APT_CONFIG points at a private config that also replaces the system's apt.conf.d (whose
# hooks, e.g. docker-clean's, must not run) and the dpkg status file.
#
# Usage: provision-pythons.sh [--force] [NAME|VERSION ...]
#   --force   re-provision even if a root is already good
#   NAME      debian-trixie-3.13, debian-sid-3.14, debian-sid-3.15, or just 3.13 / 3.14 / 3.15
#             (default: all)
# Environment:
#   SPYGLASS_CACHE          cache folder (default $HOME/.cache/spyglass)
#   SPYGLASS_DEBIAN_MIRROR  Debian mirror URI (default: the one in /etc/apt sources)
#   SPYGLASS_APT_KEYRING    keyring to verify the suites with
#                           (default /usr/share/keyrings/debian-archive-keyring.gpg)
#   SPYGLASS_APT_TIMEOUT    seconds for one apt-get update/download (default 90)
#
# Signatures: bookworm's debian-archive-keyring (2023.3+deb12u2) already carries the trixie
# keys, and trixie and sid are signed by both the bookworm and trixie archive keys, so the
# system keyring verifies both suites. Should a later sid be signed only by keys the system
# keyring lacks, the script bootstraps along a verified chain: it takes the
# debian-archive-keyring package from a suite that the system keyring DID verify (Debian
# adds new archive keys to stable's keyring package in point releases before using them),
# extracts its keyring and retries with that. It never falls back to trusted=yes: if no
# verified keyring can be had, the interpreter is reported unavailable.
# Valid-Until is not enforced (check-valid-until=no): the registry reached from here may be
# a frozen mirror whose sid Release file has expired; signatures are still checked, so the
# worst case is an older, genuinely Debian-signed interpreter.
set -euo pipefail
umask 022
export LC_ALL=C DEBIAN_FRONTEND=noninteractive
: "${HOME:=$(getent passwd "$(id -u)" | cut -d: -f6)}"

# name suite version
TARGETS=(
  "debian-trixie-3.13 trixie 3.13"
  "debian-sid-3.14 sid 3.14"
  "debian-sid-3.15 sid 3.15"
)

CACHE=${SPYGLASS_CACHE:-$HOME/.cache/spyglass}
PYDIR=$CACHE/pythons
APTDIR=$PYDIR/.apt
APT_TIMEOUT=${SPYGLASS_APT_TIMEOUT:-90}
KEYRING=${SPYGLASS_APT_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
MARKER=.spyglass-provisioned
# Raised when a root gains content: a working root of an older layout is re-provisioned once
# (and kept when that fails). 2: headers and numpy.
LAYOUT=2
WRAPPER=spyglass-python
PROPS=spyglass-python.properties

log() { echo "provision-pythons: $*" >&2; }

FORCE=0
WANT=()
for arg in "$@"; do
  case $arg in
    --force) FORCE=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) log "unknown option: $arg"; exit 2 ;;
    *) WANT+=("$arg") ;;
  esac
done

mkdir -p "$PYDIR"
exec 9>"$PYDIR/.lock"
if ! flock -w 1800 9; then log "could not lock $PYDIR/.lock within 30 minutes"; exit 1; fi

TMPS=()
# The private apt state (indexes: ~300 MB) is only needed while provisioning; drop it.
cleanup() { local d; for d in "${TMPS[@]}" "$APTDIR"; do [ -n "$d" ] && rm -rf -- "$d"; done; }
trap cleanup EXIT

wanted() { # name version
  [ ${#WANT[@]} -eq 0 ] && return 0
  local w; for w in "${WANT[@]}"; do [ "$w" = "$1" ] || [ "$w" = "$2" ] && return 0; done
  return 1
}

unavailable() { # name reason
  log "$1 unavailable: $2"
  printf '%s\n' "$2" > "$PYDIR/$1.unavailable"
}

# --- the machine --------------------------------------------------------------------------
ARCH=$(dpkg --print-architecture 2>/dev/null || echo unknown)
case $ARCH in
  amd64) TRIPLET=x86_64-linux-gnu;  LOADER_REL=lib64/ld-linux-x86-64.so.2 ;;
  arm64) TRIPLET=aarch64-linux-gnu; LOADER_REL=lib/ld-linux-aarch64.so.1 ;;
  *)     TRIPLET=; LOADER_REL= ;;
esac

# The Debian mirror this machine's apt already uses (first active "deb" URI ending in /debian).
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      { en = 1; deb = 0; uris = ""
        for (i = 1; i <= NF; i++) { l = $i; low = tolower(l)
          if (l ~ /^[ \t]*#/) continue
          if (low ~ /^enabled:[ \t]*no/) en = 0
          if (low ~ /^types:/ && l ~ /[ \t]deb([ \t]|$)/) deb = 1
          if (low ~ /^uris:/) { sub(/^[^:]*:[ \t]*/, "", l); uris = uris " " l } }
        if (en && deb) { n = split(uris, u, /[ \t]+/)
          for (j = 1; j <= n; j++) if (u[j] ~ /^https?:\/\/[^ ]*\/debian\/?$/) print u[j] } }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) {
           if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; continue }
           if ($i ~ /^https?:\/\/[^ ]*\/debian\/?$/) print $i; break } }' "$f"
  done
}
MIRROR=${SPYGLASS_DEBIAN_MIRROR:-$(find_mirror 2>/dev/null | head -n1)}
MIRROR=${MIRROR%/}

# --- private apt, one configuration per suite -----------------------------------------------
aptc() { # suite apt-command args... : run an apt command against the suite's private config
  local suite=$1; shift
  APT_CONFIG="$APTDIR/$suite/apt.conf" timeout --kill-after=10 "$APT_TIMEOUT" "$@" </dev/null
}

write_apt_config() { # suite keyring
  local d=$APTDIR/$1
  mkdir -p "$d/etc/apt.conf.d" "$d/etc/preferences.d" "$d/etc/sources.list.d" \
    "$d/etc/trusted.gpg.d" "$d/etc/auth.conf.d" "$d/state/lists/partial" \
    "$d/cache/archives/partial" "$d/log"
  : > "$d/state/status"
  echo "deb [arch=$ARCH check-valid-until=no signed-by=$2] $MIRROR $1 main" > "$d/etc/sources.list"
  # Read via APT_CONFIG, i.e. BEFORE apt would read /etc/apt/apt.conf.d: so Dir::Etc::parts
  # set here replaces the system's config parts (a -o on the command line would come too late).
  cat > "$d/apt.conf" <<EOF
Dir::Etc "$d/etc/";
Dir::Etc::main "/dev/null";
Dir::Etc::parts "$d/etc/apt.conf.d/";
Dir::Etc::sourcelist "$d/etc/sources.list";
Dir::Etc::sourceparts "-";
Dir::State "$d/state/";
Dir::State::status "$d/state/status";
Dir::Cache "$d/cache/";
Dir::Log "$d/log/";
APT::Architecture "$ARCH";
APT::Architectures { "$ARCH"; };
APT::Get::Assume-Yes "true";
Acquire::Languages "none";
Acquire::Retries "2";
Acquire::http::Timeout "30";
Acquire::https::Timeout "30";
// The cache usually lives under a home only root can enter; apt would fall back to root
// for downloads anyway (with a warning).
APT::Sandbox::User "root";
EOF
}

declare -A SUITE_STATE=()   # suite -> ok | <reason>
declare -A SUITE_SIGFAIL=() # suite -> 1 when the failure was a signature problem

MIRROR_DOWN=   # set once an update timed out: the other suites (same mirror) are not tried

update_suite() { # suite keyring -> sets SUITE_STATE[suite]
  local suite=$1 out rc=0
  if [ -n "$MIRROR_DOWN" ]; then
    SUITE_STATE[$suite]="Debian package registry unreachable ($MIRROR $suite): $MIRROR_DOWN"; return 1
  fi
  write_apt_config "$suite" "$2"
  out=$(aptc "$suite" apt-get -q update 2>&1) || rc=$?
  if [ $rc -eq 0 ] && ! grep -qE '^(E|W): (Failed|Some index|The repository|GPG error|An error)' <<<"$out" \
     && compgen -G "$APTDIR/$suite/state/lists/*_dists_${suite}_main_binary-${ARCH}_Packages*" >/dev/null; then
    SUITE_STATE[$suite]=ok; unset "SUITE_SIGFAIL[$suite]"; return 0
  fi
  local why
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    why="apt-get update timed out after ${APT_TIMEOUT}s"; MIRROR_DOWN=$why
  else
    why=$(grep -E '^(E|W): ' <<<"$out" | grep -v 'Some index files' | head -n1)
    [ -n "$why" ] || why=$(grep -A1 -E '^Err:' <<<"$out" | tail -n1)
    why=$(tr -s ' \t' ' ' <<<"$why" | sed 's/^ //' | cut -c1-300)
    [ -n "$why" ] || why="apt-get update failed (exit $rc)"
  fi
  if grep -qiE 'NO_PUBKEY|EXPKEYSIG|BADSIG|is not signed|signatures? (couldn.t|could not) be verified|GPG error' <<<"$out"; then
    SUITE_SIGFAIL[$suite]=1
    SUITE_STATE[$suite]="cannot verify Debian $suite with $2: $why"
  else
    SUITE_STATE[$suite]="Debian package registry unreachable ($MIRROR $suite): $why"
  fi
  return 1
}

# Get the newer debian-archive-keyring from a suite that verified with the current keyring.
bootstrap_keyring() {
  local s dir deb k t
  for t in "${TARGETS[@]}"; do   # make sure every suite had its chance with the current keyring
    read -r _ s _ <<<"$t"
    [ -n "${SUITE_STATE[$s]:-}" ] || update_suite "$s" "$KEYRING" || true
  done
  for s in "${!SUITE_STATE[@]}"; do
    [ "${SUITE_STATE[$s]}" = ok ] || continue
    dir=$APTDIR/keyring-from-$s
    rm -rf "$dir"; mkdir -p "$dir/deb" "$dir/root"
    (cd "$dir/deb" && aptc "$s" apt-get -q download debian-archive-keyring) >/dev/null 2>&1 || continue
    deb=$(ls "$dir"/deb/*.deb 2>/dev/null | head -n1); [ -n "$deb" ] || continue
    dpkg -x "$deb" "$dir/root" || continue
    for k in debian-archive-keyring.pgp debian-archive-keyring.gpg; do
      if [ -s "$dir/root/usr/share/keyrings/$k" ]; then
        log "using keyring from $(dpkg-deb --showformat='${Package} ${Version}' -W "$deb") ($s, verified with $KEYRING)"
        KEYRING=$dir/root/usr/share/keyrings/$k; return 0
      fi
    done
  done
  return 1
}

# Names of the Depends/Pre-Depends of the given packages (first alternative of each group;
# a virtual package is replaced by its first provider).
direct_deps() { # suite pkgs...
  local suite=$1; shift
  aptc "$suite" apt-cache depends --important "$@" | awk '
    /^[^ ]/ { ingroup = 0; wantprov = 0; next }
    /^ [ |](Pre)?Depends: / {
      alt = (substr($0, 2, 1) == "|"); t = $2; sub(/:.*/, "", t)
      if (!ingroup) { if (t ~ /^</) wantprov = 1; else { print t; wantprov = 0 } } else wantprov = 0
      ingroup = alt; next }
    /^    / { if (wantprov) { t = $1; sub(/:.*/, "", t); print t; wantprov = 0 } }'
}

# Packages worth unpacking: the interpreter and shared libraries (lib*, zlib1g). Data and tool packages
# (tzdata, media-types, netbase, readline-common, gcc-N-base, debconf, ...) are not needed to
# run `import threading, time, os, sys, json`.
keep_pkg() { # pkg version
  case $1 in
    python"$2"-minimal|libpython"$2"-minimal|libpython"$2"-stdlib) return 0 ;;
    libc-bin|libc-l10n|libc-dev-bin|libpam-*|libpython3-*|libpython*-dev) return 1 ;;
    lib*|zlib*) return 0 ;;
    *) return 1 ;;
  esac
}

closure() { # suite version extra-seeds... -> package names, one a line
  local suite=$1 ver=$2 p; shift 2
  local -A seen=()
  local todo=("python$ver-minimal" "libpython$ver-minimal" "libpython$ver-stdlib" "$@") next
  while [ ${#todo[@]} -gt 0 ]; do
    next=()
    for p in "${todo[@]}"; do seen[$p]=1; done
    while read -r p; do
      [ -n "$p" ] && [ -z "${seen[$p]:-}" ] && keep_pkg "$p" "$ver" || continue
      seen[$p]=1; next+=("$p")
    done < <(direct_deps "$suite" "${todo[@]}" | sort -u)
    todo=("${next[@]}")
  done
  printf '%s\n' "${!seen[@]}" | sort
}

# --- roots --------------------------------------------------------------------------------
# Self-test run inside the interpreter: imports, a thread, and no library mapped from outside
# the root (the loader would fall back to the system's libraries for anything missing).
# Prints the interpreter's own facts as properties lines.
# With a second argument "numpy", numpy must import (from the root) and sort.
SELFTEST=$(cat <<'PY'
import sys, os, threading, time, json
root = os.path.realpath(sys.argv[1])
t = threading.Thread(target=time.sleep, args=(0.01,)); t.start(); t.join()
json.loads(json.dumps({"ok": True}))
if "numpy" in sys.argv[2:]:
    import numpy
    if not os.path.realpath(numpy.__file__).startswith(root + "/"):
        sys.exit("numpy imported from outside its root: " + numpy.__file__)
    if list(numpy.argsort(numpy.array([3.0, 1.0, 2.0]))) != [1, 2, 0]:
        sys.exit("numpy.argsort gave a wrong order")
bad = set()
with open("/proc/self/maps") as f:
    for line in f:
        parts = line.split(None, 5)
        if len(parts) == 6:
            p = parts[5].strip()
            if p.startswith("/") and (".so" in os.path.basename(p) or "/bin/python" in p):
                if not os.path.realpath(p).startswith(root + "/"):
                    bad.add(p)
if bad:
    sys.exit("maps files from outside its root: " + ", ".join(sorted(bad)))
esc = lambda s: s.replace("\\", "\\\\").replace("\n", " ")
print("version=" + esc(sys.version.split()[0]))
print("version.full=" + esc(sys.version))
print("hexversion=0x%08x" % sys.hexversion)
print("implementation=" + sys.implementation.name)
print("sys.prefix=" + esc(sys.prefix))
if "numpy" in sys.argv[2:]:
    print("numpy=" + numpy.__version__)
PY
)

root_ok() { # root version
  local root=$1 ver=$2 out
  [ -f "$root/$MARKER" ] && [ -x "$root/$WRAPPER" ] && [ -f "$root/$PROPS" ] || return 1
  grep -qxF "root=$root" "$root/$PROPS" || return 1
  out=$(timeout 30 "$root/$WRAPPER" -c 'import sys; print(sys.version)' </dev/null 2>/dev/null) || return 1
  [[ $out == "$ver".* ]]
}

root_current() { # root version: works and has this script's layout
  root_ok "$1" "$2" && grep -qxF "layout=$LAYOUT" "$1/$PROPS"
}

# Whether the suite has a package (any version).
has_pkg() { # suite pkg
  aptc "$1" apt-cache show --no-all-versions "$2" >/dev/null 2>&1
}

write_wrapper() { # dir suite version
  cat > "$1/$WRAPPER" <<EOF
#!/bin/sh
# Generated by scripts/provision-pythons.sh: Debian $2's python$3, run by the loader and
# libraries unpacked beside it (nothing installed into the system). exec keeps this
# script's PID for the interpreter, so a sampler can attach to the PID it launched.
ROOT=\$(dirname -- "\$(readlink -f -- "\$0")") || exit 127
PYTHONHOME="\$ROOT/usr"
export PYTHONHOME
exec "\$ROOT/$LOADER_REL" --library-path "\$ROOT/lib/$TRIPLET:\$ROOT/usr/lib/$TRIPLET" "\$ROOT/usr/bin/python$3" "\$@"
EOF
  chmod 755 "$1/$WRAPPER"
}

provision() { # name suite version
  local name=$1 suite=$2 ver=$3 root=$PYDIR/$1
  local tmp=$PYDIR/.tmp-$1.$$ pkgs deb d facts out f
  local extras=() numpy_state= headers_state= numpy_arg=
  TMPS+=("$tmp")
  rm -rf "$tmp"; mkdir -p "$tmp/debs" "$tmp/root"

  if [ -z "${SUITE_STATE[$suite]:-}" ]; then
    update_suite "$suite" "$KEYRING" || true
    if [ -n "${SUITE_SIGFAIL[$suite]:-}" ] && bootstrap_keyring; then
      update_suite "$suite" "$KEYRING" || true
    fi
  fi
  [ "${SUITE_STATE[$suite]}" = ok ] || { REASON=${SUITE_STATE[$suite]}; return 1; }

  if ! aptc "$suite" apt-cache show --no-all-versions "python$ver-minimal" >/dev/null 2>&1; then
    REASON="Debian $suite ($MIRROR) has no package python$ver-minimal"; return 1
  fi
  # numpy's library closure comes from the same suite as the interpreter's: one consistent libc6.
  if has_pkg "$suite" python3-numpy; then extras+=(python3-numpy); else numpy_state="Debian $suite has no python3-numpy"; fi
  mapfile -t pkgs < <(closure "$suite" "$ver" "${extras[@]}")
  # Headers only: libpython3.X-dev's dependencies (libexpat1-dev, ...) are for linking, not needed.
  if has_pkg "$suite" "libpython$ver-dev"; then pkgs+=("libpython$ver-dev")
  else headers_state="Debian $suite has no libpython$ver-dev"; fi
  if ! out=$(cd "$tmp/debs" && aptc "$suite" apt-get -q download "${pkgs[@]}" 2>&1); then
    REASON="apt-get download from Debian $suite failed: $(grep -E '^(E|W|Err):' <<<"$out" | head -n1 | cut -c1-300)"
    return 1
  fi
  for deb in "$tmp"/debs/*.deb; do
    dpkg -x "$deb" "$tmp/root" || { REASON="dpkg -x $(basename "$deb") failed"; return 1; }
  done
  # Newer libc6 ships only /usr/lib*, as on a merged-/usr system; give the root the same
  # top-level links so lib64/ld-linux-*.so.* and lib/<triplet> exist in every root.
  for d in lib lib64; do
    if [ ! -e "$tmp/root/$d" ] && [ -d "$tmp/root/usr/$d" ]; then ln -s "usr/$d" "$tmp/root/$d"; fi
  done
  [ -x "$tmp/root/usr/bin/python$ver" ] || { REASON="python$ver-minimal has no usr/bin/python$ver"; return 1; }
  find "$tmp/root/usr/lib" -name 'libpython*.a' -delete
  if [ -z "$headers_state" ]; then
    if [ -f "$tmp/root/usr/include/python$ver/Python.h" ]; then headers_state=ok
    else headers_state="libpython$ver-dev has no usr/include/python$ver/Python.h"; fi
  fi
  # What update-alternatives would do on install: libblas.so.3 and liblapack.so.3 (and cblas)
  # live in blas/ and lapack/ subfolders, linked from the library folder by the postinst.
  for d in blas lapack; do
    for f in "$tmp/root/usr/lib/$TRIPLET/$d"/lib*.so.*; do
      [ -e "$f" ] && [ ! -e "$tmp/root/usr/lib/$TRIPLET/${f##*/}" ] && ln -s "$d/${f##*/}" "$tmp/root/usr/lib/$TRIPLET/${f##*/}"
    done
  done
  if [ -z "$numpy_state" ]; then
    # numpy ships one _multiarray_umath per supported interpreter (cpython-313-..., cpython-314-...).
    if compgen -G "$tmp/root/usr/lib/python3/dist-packages/numpy/*core/_multiarray_umath.cpython-${ver//./}-*.so" >/dev/null; then
      numpy_arg=numpy
    else
      numpy_state="python3-numpy $(dpkg-deb --showformat='${Version}' -W "$tmp"/debs/python3-numpy_*.deb) of Debian $suite has no build for python$ver"
    fi
  fi
  [ -e "$tmp/root/$LOADER_REL" ] || { REASON="no loader $LOADER_REL in the unpacked libc6"; return 1; }

  write_wrapper "$tmp/root" "$suite" "$ver"
  if [ -n "$numpy_arg" ] && ! timeout 120 "$tmp/root/$WRAPPER" -c "$SELFTEST" "$tmp/root" numpy </dev/null >/dev/null 2>"$tmp/selftest.err"; then
    numpy_state="import numpy failed in Debian $suite python$ver: $(tail -n1 "$tmp/selftest.err" | cut -c1-300)"
    numpy_arg=
  fi
  if [ -z "$numpy_arg" ]; then rm -rf "$tmp/root/usr/lib/python3/dist-packages/numpy"*; fi
  if ! facts=$(timeout 120 "$tmp/root/$WRAPPER" -c "$SELFTEST" "$tmp/root" $numpy_arg </dev/null 2>"$tmp/selftest.err"); then
    REASON="self-test of Debian $suite python$ver failed: $(tail -n1 "$tmp/selftest.err" | cut -c1-300)"; return 1
  fi
  facts=${facts//"$(readlink -f "$tmp/root")"/$root}

  {
    echo "# Written by scripts/provision-pythons.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ). Do not edit."
    echo "name=$name"
    echo "distribution=debian"
    echo "suite=$suite"
    echo "mirror=$MIRROR"
    echo "architecture=$ARCH"
    echo "$facts"
    echo "root=$root"
    echo "wrapper=$root/$WRAPPER"
    echo "binary=$root/usr/bin/python$ver"
    echo "loader=$root/$LOADER_REL"
    echo "loader.real=$root/$(cd "$tmp/root" && realpath --relative-to=. "$LOADER_REL")"
    echo "library.path=$root/lib/$TRIPLET:$root/usr/lib/$TRIPLET"
    echo "pythonhome=$root/usr"
    echo "layout=$LAYOUT"
    if [ "$headers_state" = ok ]; then echo "headers=$root/usr/include/python$ver"
    else echo "headers.unavailable=$headers_state"; fi
    [ -n "$numpy_arg" ] || echo "numpy.unavailable=$numpy_state"
    echo "debian.package=python$ver-minimal"
    echo "debian.version=$(dpkg-deb --showformat='${Version}' -W "$tmp"/debs/"python${ver}-minimal"_*.deb)"
    printf 'packages='
    for deb in "$tmp"/debs/*.deb; do dpkg-deb --showformat='${Package}=${Version}\n' -W "$deb"; done | paste -sd,
  } > "$tmp/root/$PROPS"
  cp "$tmp/root/$PROPS" "$tmp/root/$MARKER"

  # Into place: the root appears complete, marker included, or not at all.
  if [ -e "$root" ]; then mv -T "$root" "$tmp/old"; fi
  mv -T "$tmp/root" "$root"
  rm -rf "$tmp"
  root_ok "$root" "$ver" || { rm -rf "$root"; REASON="python$ver does not run from its final place $root"; return 1; }
}

# --- main ---------------------------------------------------------------------------------
missing=
for tool in apt-get apt-cache dpkg dpkg-deb flock timeout; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done

for t in "${TARGETS[@]}"; do
  read -r name suite ver <<<"$t"
  wanted "$name" "$ver" || continue
  root=$PYDIR/$name
  if [ $FORCE -eq 0 ] && root_current "$root" "$ver"; then
    rm -f "$PYDIR/$name.unavailable"
    log "$name: ready ($(grep -m1 '^version=' "$root/$PROPS" | cut -d= -f2)) at $root"
    continue
  fi
  if [ -n "$missing" ]; then unavailable "$name" "not a Debian-like machine: missing$missing"; continue; fi
  if [ -z "$TRIPLET" ]; then unavailable "$name" "unsupported architecture $ARCH"; continue; fi
  if [ -z "$MIRROR" ]; then unavailable "$name" "no Debian mirror found in /etc/apt sources (set SPYGLASS_DEBIAN_MIRROR)"; continue; fi
  start=$SECONDS
  REASON=
  if provision "$name" "$suite" "$ver"; then
    rm -f "$PYDIR/$name.unavailable"
    log "$name: provisioned ($(grep -m1 '^version=' "$root/$PROPS" | cut -d= -f2)) at $root in $((SECONDS - start))s"
  else
    rm -rf "$PYDIR/.tmp-$name.$$"
    if root_ok "$root" "$ver"; then   # --force on a good root: keep it
      log "$name: re-provisioning failed (${REASON:-?}); keeping the existing root"
    else
      rm -rf "$root"   # a root exists only when it works
      unavailable "$name" "${REASON:-provisioning failed}"
    fi
  fi
done
exit 0
