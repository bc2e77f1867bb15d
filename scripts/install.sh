#!/usr/bin/env bash
# Installs the Spyglass CLI as a command that needs no JDK, no Maven and no source tree (issue 16), or removes it.
# Run through the launcher, which finds a JDK 22+ (JAVA_HOME) and builds the CLI jar first:
#
#   ./spyglass install [--prefix DIR]      # DIR: /usr/local as root, else ~/.local
#   ./spyglass uninstall [--prefix DIR]    # or: spyglass uninstall, or rm -rf DIR/lib/spyglass DIR/bin/spyglass
#
# It puts in DIR/lib/spyglass a runtime image made by jlink with only the JDK modules the CLI jar needs (jdeps),
# the CLI jar, and (JDK 25+) an AOT start-up cache trained with that runtime; and DIR/bin/spyglass, a small sh
# script that runs them.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
action=install
prefix=""
if [ "$(id -u)" = 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
while [ $# -gt 0 ]; do
  case "$1" in
    --uninstall) action=uninstall ;;
    --prefix) [ $# -ge 2 ] || { echo "spyglass install: --prefix needs a directory" >&2; exit 2; }; prefix=$2; shift ;;
    --prefix=*) prefix=${1#--prefix=} ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "spyglass install: unknown argument '$1' (usage: install [--prefix DIR])" >&2; exit 2 ;;
  esac
  shift
done
case "$prefix" in *"'"*) echo "spyglass install: a prefix with a quote in it is not supported" >&2; exit 2 ;; esac
[ "$action" = uninstall ] || mkdir -p "$prefix"
[ -d "$prefix" ] && prefix=$(cd "$prefix" && pwd)
lib="$prefix/lib/spyglass"
bin="$prefix/bin/spyglass"
marker="Spyglass CLI, installed by ./spyglass install" # in both files: only ours are ever removed

uninstall() {
  if [ -f "$lib/INSTALLED" ] && grep -qF "$marker" "$lib/INSTALLED"; then rm -rf "$lib"; fi
  if [ -f "$bin" ] && grep -qF "$marker" "$bin"; then rm -f "$bin"; fi
}
if [ "$action" = uninstall ]; then
  [ -e "$lib" ] || [ -e "$bin" ] || { echo "spyglass: nothing installed in $prefix" >&2; exit 0; }
  uninstall
  if [ -e "$lib" ] || [ -e "$bin" ]; then
    echo "spyglass: $lib or $bin was not made by ./spyglass install; left as it is" >&2; exit 1
  fi
  echo "spyglass: removed $bin and $lib" >&2
  exit 0
fi

: "${JAVA_HOME:?run this through ./spyglass install, which finds the JDK}"
jar="$here/examples/target/spyglass-cli.jar"
[ -f "$jar" ] || { echo "spyglass: no CLI jar at $jar (./spyglass build makes it)" >&2; exit 1; }
[ -e "$lib" ] && ! grep -qsF "$marker" "$lib/INSTALLED" &&
  { echo "spyglass: $lib exists and was not made by ./spyglass install; not touching it" >&2; exit 1; }
start=$SECONDS

echo "spyglass: finding the JDK modules the CLI uses (jdeps) ..." >&2
release=$("$JAVA_HOME/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
modules=$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --multi-release "$release" --print-module-deps "$jar")

uninstall
mkdir -p "$lib" "$prefix/bin"
echo "$marker" >"$lib/INSTALLED"
echo "spyglass: making a runtime image with $modules (jlink, ~30 s) ..." >&2
"$JAVA_HOME/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
  --output "$lib/runtime"
cp "$jar" "$lib/spyglass-cli.jar"
java="$lib/runtime/bin/java"
# -Xms8m: with the default first heap (1/64 of RAM: 368 MB on a 23 GB machine) a 1 kHz recording's resident
# memory grew ~1.7 MB/s for minutes while the young generation was first filled; from 8 MB it stays flat
# (81 MB over 2 minutes; docs/performance.md "Footprint"). The heap still grows when a command needs more.
flags=(--enable-native-access=ALL-UNNAMED -XX:+UseSerialGC -Xms8m)

# The AOT cache (JDK 25+) must be made by the very runtime and jar path that use it: trained here, in place,
# by one run of dump against a short-lived python3 (else of --help), as the launcher does in the source tree.
aot=""
if [ "$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')" -ge 25 ]; then
  echo "spyglass: making the start-up cache (a few seconds) ..." >&2
  training=(--help) pid=""
  if py=$(command -v python3); then
    "$py" -c 'import time; time.sleep(120)' </dev/null >/dev/null 2>&1 &
    pid=$!
    sleep 0.3
    training=(dump -p "$pid")
  fi
  timeout --kill-after=5 120 "$java" "${flags[@]}" -XX:AOTCacheOutput="$lib/spyglass-cli.aot" -Xlog:aot=off \
    -Xlog:cds=off -jar "$lib/spyglass-cli.jar" "${training[@]}" </dev/null >/dev/null 2>&1 || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null
  rm -f "$lib/spyglass-cli.aot.config"
  if [ -s "$lib/spyglass-cli.aot" ]; then
    aot='-XX:AOTCache="$lib/spyglass-cli.aot" -Xlog:aot=off -Xlog:cds=off'
  else
    echo "spyglass: no start-up cache (its training run failed); the command works, starting slower" >&2
  fi
fi

# The command: sh, so it needs nothing but the image. The quick compiler alone for short commands and for
# recordings at 1 ms or slower: the launcher's choice, from the same file (scripts/compiler-choice.sh).
cp "$here/scripts/compiler-choice.sh" "$lib/compiler-choice.sh"
cat >"$bin" <<SCRIPT
#!/bin/sh
# $marker into $prefix (uninstall: spyglass uninstall).
lib='$lib'
case "\${1:-}" in
  uninstall)
    PATH="\$PATH:/usr/bin:/bin" # (rm, whatever PATH the command was found on)
    rm -rf "\$lib" && rm -f '$bin' && echo "spyglass: removed $bin and \$lib" >&2
    exit \$?
    ;;
esac
. "\$lib/compiler-choice.sh"
quick=\$(spyglass_quick_compiler "\$@")
exec "\$lib/runtime/bin/java" ${flags[*]} $aot \$quick \${SPYGLASS_JAVA_OPTS:-} -jar "\$lib/spyglass-cli.jar" "\$@"
SCRIPT
chmod 755 "$bin"

size=$(du -sh "$lib" | cut -f1)
echo "spyglass: installed $bin ($size in $lib, $((SECONDS - start)) s)" >&2
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "spyglass: $prefix/bin is not on PATH; add it, e.g. export PATH=\"$prefix/bin:\$PATH\"" >&2 ;;
esac
