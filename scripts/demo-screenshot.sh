#!/usr/bin/env bash
# Records the demo of README.md and docs/cli.md and takes the screenshot docs/flamegraph.png of its flame graph with headless
# chromium (scripts/install-test-deps.sh installs it).
#
#   scripts/demo-screenshot.sh [output.png]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
png=${1:-$here/docs/flamegraph.png}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$here"
./spyglass record -o "$work/demo.html" -- python3 examples/python/demo.py
chromium=${SPYGLASS_CHROMIUM:-$(command -v chromium || command -v chromium-browser)}
mkdir -p "$(dirname "$png")"
"$chromium" --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --user-data-dir="$work/profile" --hide-scrollbars --window-size=1400,440 \
  --screenshot="$png" "file://$work/demo.html" 2>/dev/null
echo "screenshot: $png"
