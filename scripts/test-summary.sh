#!/usr/bin/env bash
# The closing summary of `./spyglass test` (docs/testing.md#the-summary):
#   - each distinct skip reason once, with its count and the skipped tests' names (compactly);
#   - per module, whether its tests ran: Maven stops at the first failing module, so the modules after it
#     say "not run (core failed)" instead of silently missing from the counts;
#   - N passed, N failed, N skipped.
# Usage: scripts/test-summary.sh MAVEN_LOG MODULE_DIR...   (modules in build order; MAVEN_LOG may be absent)
# Reads MODULE_DIR/target/test-outcomes.txt (written by test-support's TestOutcomeLog).
set -u
log=$1
shift
modules=("$@")

outcomes=()
for m in "${modules[@]}"; do
  [ -f "$m/target/test-outcomes.txt" ] && outcomes+=("$m/target/test-outcomes.txt")
done

if [ "${#outcomes[@]}" -gt 0 ]; then
  # "SKIPPED <test> -- <reason>": group by reason, most frequent first; at most 6 names per reason.
  cat "${outcomes[@]}" | awk '
    /^SKIPPED / {
      line = substr($0, 9)
      i = index(line, " -- ")
      if (i > 0) { name = substr(line, 1, i - 1); reason = substr(line, i + 4) } else { name = line; reason = "(no reason given)" }
      sub(/^Assumption failed: /, "", reason)
      # The test name carries the interpreter label already: reasons that differ only by the label are one
      # cause ("pyenv-3.6.15: ... from 3.13 on"), shown with <python> in its place.
      key = reason
      gsub(/(pyenv|debian(-[a-z]+)?|built)-[0-9]+\.[0-9]+(\.[0-9]+)?t?/, "<python>", key)
      if (!(key in count)) { order[++n] = key; shown[key] = reason }
      else if (shown[key] != reason) { shown[key] = key }
      reason = key
      count[reason]++
      if (count[reason] <= 6) { names[reason] = names[reason] (count[reason] > 1 ? ", " : "") name }
      total++
    }
    END {
      if (total == 0) { exit }
      printf "spyglass: %d skipped tests, %d distinct reasons:\n", total, n
      # most frequent first, then first seen
      for (k = 1; k <= n; k++) { idx[k] = k }
      for (a = 2; a <= n; a++) { for (b = a; b > 1 && count[order[idx[b]]] > count[order[idx[b-1]]]; b--) { t = idx[b]; idx[b] = idx[b-1]; idx[b-1] = t } }
      for (k = 1; k <= n; k++) {
        r = order[idx[k]]
        printf "  %dx %s\n      %s%s\n", count[r], shown[r], names[r], (count[r] > 6 ? sprintf(" (+%d more)", count[r] - 6) : "")
      }
    }'
  echo "details of every test: */target/test-outcomes.txt"
fi

# Which modules' tests ran. Maven's reactor summary ("Spyglass core ....... FAILURE [ 1.2 s]", by each
# module's <name>, else its artifactId) is the authority; without it, a module without outcomes after a
# failing one did not run.
summary_lines=()
if [ -f "$log" ]; then
  while IFS= read -r line; do
    if [[ "$line" =~ ^\[INFO\]\ (.+)\ \.+\ (SUCCESS|FAILURE|SKIPPED)(\ |$) ]]; then
      summary_lines+=("${BASH_REMATCH[2]} ${BASH_REMATCH[1]}")
    fi
  done < <(sed 's/\x1b\[[0-9;]*m//g' "$log")
fi
# The reactor state of module directory $1: SUCCESS, FAILURE, SKIPPED or empty.
reactor_state() {
  local name artifact entry shown
  name=$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$1/pom.xml" 2>/dev/null | head -1)
  artifact="spyglass-$(basename "$1")"
  for entry in "${summary_lines[@]+"${summary_lines[@]}"}"; do
    shown=${entry#* }
    if [[ ( -n "$name" && ( "$shown" == "$name" || "$shown" == "$name "* ) ) || "$shown" == "$artifact" || "$shown" == "$artifact "* ]]; then
      echo "${entry%% *}"
      return
    fi
  done
}
failed_module=""
report=()
for m in "${modules[@]}"; do
  name=$(basename "$m")
  f="$m/target/test-outcomes.txt"
  s=$(reactor_state "$m")
  if [ -f "$f" ] && grep -q '^FAILED' "$f"; then s=FAILURE; fi
  if [ -z "$s" ] && [ ! -f "$f" ] && [ "${#summary_lines[@]}" -gt 0 ]; then
    report+=("$name: not in this build")
  elif [ -n "$failed_module" ] && { [ "$s" = SKIPPED ] || { [ -z "$s" ] && [ ! -f "$f" ]; }; }; then
    report+=("$name: not run ($failed_module failed)")
  elif [ "$s" = FAILURE ]; then
    report+=("$name: FAILED")
    [ -z "$failed_module" ] && failed_module=$name
  elif [ -f "$f" ] || [ "$s" = SUCCESS ]; then
    report+=("$name: ran")
  else
    report+=("$name: not run")
  fi
done
if [ -n "$failed_module" ]; then
  echo "spyglass: modules: $(IFS=';'; echo "${report[*]}" | sed 's/;/, /g')"
fi

if [ "${#outcomes[@]}" -gt 0 ]; then
  echo "spyglass: $(cat "${outcomes[@]}" | grep -c '^PASSED') passed," \
    "$(cat "${outcomes[@]}" | grep -c '^FAILED') failed," \
    "$(cat "${outcomes[@]}" | grep -c '^SKIPPED') skipped"
fi
