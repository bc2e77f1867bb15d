#!/usr/bin/env bash
# Installs the independent decoders and the browser that the exporter tests check Spyglass's files with.
# Nothing goes into the repository; everything lands in a cache folder:
#
#   ${SPYGLASS_TOOLS:-$HOME/.cache/spyglass-tools}/node/node_modules/
#       speedscope   (its dist/release/file-format-schema.json validates our speedscope files, and its
#                     web app imports our collapsed and pprof files in the browser tests)
#       ajv          (the JSON-schema validator run with node)
#       @firefox-devtools/profiler-cli  (the Firefox Profiler's own CLI: its bundled importer and call-tree code
#                     load our .gecko.json files in the tests)
#   chromium          Debian's package, for the headless-browser tests of the HTML flame graph
#   go                Debian's golang-go, whose `go tool pprof` reads our pprof files as users do
#   austin-python/    PyPI's austin-python (pip --target, no dependencies: only its pure-Python MOJO reader is
#                     used), whose MojoStreamReader reads our .mojo files as austin-tui and austin2speedscope do
#
# When something cannot be installed (no network, not root, no node), the script prints one line saying
# why, writes the reason to <cache>/<tool>.unavailable and exits 0: the tests needing it skip with that reason.
set -uo pipefail

tools=${SPYGLASS_TOOLS:-$HOME/.cache/spyglass-tools}
mkdir -p "$tools"

unavailable() { # tool reason
  echo "install-test-deps: $1 unavailable: $2" >&2
  printf '%s\n' "$2" > "$tools/$1.unavailable"
}

# --- npm packages ---------------------------------------------------------------------------------
node_dir="$tools/node"
want_speedscope=1.25.0
want_ajv=8.20.0
want_profiler_cli=0.10.0
have_version() { # package version
  [ -f "$node_dir/node_modules/$1/package.json" ] &&
    grep -q "\"version\": *\"$2\"" "$node_dir/node_modules/$1/package.json"
}
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  unavailable node "node and npm are not on PATH (Debian: apt-get install nodejs npm)"
elif have_version speedscope "$want_speedscope" && have_version ajv "$want_ajv" &&
    have_version @firefox-devtools/profiler-cli "$want_profiler_cli"; then
  rm -f "$tools/node.unavailable"
else
  mkdir -p "$node_dir"
  [ -f "$node_dir/package.json" ] || echo '{"name":"spyglass-test-tools","private":true}' > "$node_dir/package.json"
  if (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error \
        "speedscope@$want_speedscope" "ajv@$want_ajv" "@firefox-devtools/profiler-cli@$want_profiler_cli" \
        >"$tools/npm.log" 2>&1); then
    rm -f "$tools/node.unavailable"
  else
    unavailable node "npm install of speedscope@$want_speedscope, ajv@$want_ajv and @firefox-devtools/profiler-cli@$want_profiler_cli failed (see $tools/npm.log)"
  fi
fi

# --- chromium -------------------------------------------------------------------------------------
find_chromium() {
  local c
  for c in "${SPYGLASS_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}
if find_chromium >/dev/null; then
  rm -f "$tools/chromium.unavailable"
else
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); fi
  fi
  if [ "$(id -u)" -ne 0 ] && [ ${#sudo_cmd[@]} -eq 0 ]; then
    unavailable chromium "chromium is not installed and installing it needs root (apt-get install chromium)"
  elif ! command -v apt-get >/dev/null 2>&1; then
    unavailable chromium "chromium is not installed and this system has no apt-get"
  else
    export DEBIAN_FRONTEND=noninteractive
    if { "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends chromium >"$tools/apt.log" 2>&1 ||
         { "${sudo_cmd[@]}" apt-get update -q >>"$tools/apt.log" 2>&1 &&
           "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends chromium >>"$tools/apt.log" 2>&1; }; } &&
       find_chromium >/dev/null; then
      rm -f "$tools/chromium.unavailable"
    else
      unavailable chromium "apt-get install chromium failed (see $tools/apt.log)"
    fi
  fi
fi
# --- go (for `go tool pprof`) ---------------------------------------------------------------------
have_go_pprof() { command -v go >/dev/null 2>&1 && go tool -n pprof >/dev/null 2>&1; }
if have_go_pprof; then
  rm -f "$tools/go.unavailable"
else
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo_cmd=(sudo -n); fi
  fi
  if [ "$(id -u)" -ne 0 ] && [ ${#sudo_cmd[@]} -eq 0 ]; then
    unavailable go "go (for go tool pprof) is not installed and installing it needs root (apt-get install golang-go)"
  elif ! command -v apt-get >/dev/null 2>&1; then
    unavailable go "go (for go tool pprof) is not installed and this system has no apt-get"
  else
    export DEBIAN_FRONTEND=noninteractive
    if { "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends golang-go >"$tools/apt-go.log" 2>&1 ||
         { "${sudo_cmd[@]}" apt-get update -q >>"$tools/apt-go.log" 2>&1 &&
           "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends golang-go >>"$tools/apt-go.log" 2>&1; }; } &&
       have_go_pprof; then
      rm -f "$tools/go.unavailable"
    else
      unavailable go "apt-get install golang-go failed or gave no go tool pprof (see $tools/apt-go.log)"
    fi
  fi
fi

# --- austin-python (its MOJO reader) --------------------------------------------------------------
want_austin_python=2.4.0
austin_dir="$tools/austin-python"
find_python310() { # a CPython 3.10+ with pip: austin-python's minimum
  local c
  for c in python3 /root/.pyenv/versions/*/bin/python3; do
    command -v "$c" >/dev/null 2>&1 &&
      "$c" -c 'import sys, pip; sys.exit(sys.version_info < (3, 10))' >/dev/null 2>&1 && { echo "$c"; return 0; }
  done
  return 1
}
if [ -f "$austin_dir/austin/format/mojo.py" ] &&
   grep -qs "^Version: $want_austin_python\$" "$austin_dir"/austin_python-*.dist-info/METADATA; then
  rm -f "$tools/austin-python.unavailable"
elif ! py=$(find_python310); then
  unavailable austin-python "no CPython 3.10+ with pip to install austin-python with"
else
  rm -rf "$austin_dir"
  if "$py" -m pip install --quiet --no-deps --retries 1 --timeout 20 --target "$austin_dir" \
       "austin-python==$want_austin_python" >"$tools/pip-austin-python.log" 2>&1 &&
     [ -f "$austin_dir/austin/format/mojo.py" ]; then
    rm -f "$tools/austin-python.unavailable"
  else
    rm -rf "$austin_dir"
    unavailable austin-python "pip install austin-python==$want_austin_python failed: PyPI not reachable? (see $tools/pip-austin-python.log)"
  fi
fi
exit 0
