# Which JIT compilers the CLI's JVM runs with, for one command line (POSIX sh; sourced by ./spyglass and by the
# installed command, which carries a copy). Prints -XX:TieredStopAtLevel=1 (the quick compiler, C1, alone) or
# nothing (C1 then C2).
#
# Why: short commands end before C2 pays off (C1 alone halves dump's CPU). A recording at 1 ms or slower does not
# need C2 either: at 1 kHz on a 30-frame target its steady CPU was the same or lower with C1 alone (1.85 - 2.07 s
# against 1.93 - 2.22 s per 30 s), it skips C2's compiling in the first seconds, and its resident memory stays at
# 60 MB instead of 75 - 80 (C2's compiler arenas and code): docs/performance.md "Footprint". Faster than 1 ms, the
# look's own cost dominates and C2's code takes 15 - 25% more samples per second at the highest rate, so it stays.
spyglass_quick_compiler() {
  case "${1:-}" in
    dump | help | -h | --help | -V | --version | "")
      echo "-XX:TieredStopAtLevel=1"
      return
      ;;
    record | top) shift ;;
    *) return ;;
  esac
  sqc_interval=1ms # the default of record and top
  while [ $# -gt 0 ]; do
    case "$1" in
      --) break ;; # the launched command's own arguments follow
      -i | --interval) sqc_interval="${2:-}"; shift ;;
      --interval=*) sqc_interval="${1#--interval=}" ;;
      -i*) sqc_interval="${1#-i}" ;;
    esac
    shift
  done
  # In microseconds, as the CLI reads it (a bare number is microseconds); anything unreadable keeps C2, and the
  # CLI itself then says what is wrong with the value.
  echo "$sqc_interval" | awk '{
    if (match($0, /^[0-9]+(\.[0-9]+)?/) == 0) exit
    n = substr($0, 1, RLENGTH); u = substr($0, RLENGTH + 1)
    f = (u == "" || u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : (u == "m") ? 60000000 : -1
    if (f > 0 && n * f >= 1000) print "-XX:TieredStopAtLevel=1"
  }'
}
