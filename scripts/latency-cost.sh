#!/bin/sh
# The cost of `spyglass latency` to the target (docs/performance.md): a C loop calls an empty noinline function
# and prints, every 0.5 s, the nanoseconds per call; the same function is probed for 5 s in the middle of a 30 s run (started at 5 s; the JVM takes seconds to start on a loaded machine).
# Per probed call (entry trap + return trap) = ns/call while probed - ns/call unprobed, on CPU (the traps run in
# the target's own thread, as system time): the wall figure also holds the time a loaded machine gives to others.
# A second copy of the loop (another process, never the target) runs beside it: on the per-CPU route (the
# default) the breakpoint is in every process that maps the probed file, so its rate while probed is the cost to a
# bystander; on the per-thread route (--per-thread) it should not change.
# Usage: scripts/latency-cost.sh [--per-thread]   (as root, from the repository; needs gcc)
set -e
dir=$(mktemp -d)
cat > "$dir/loop.c" <<'C'
#include <stdio.h>
#include <time.h>
__attribute__((noinline)) int spy_tick(int x) { __asm__ volatile(""); return x + 1; }
static double clock_(clockid_t c) { struct timespec t; clock_gettime(c, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static double now(void) { return clock_(CLOCK_MONOTONIC); }
static double cpu(void) { return clock_(CLOCK_THREAD_CPUTIME_ID); }
int main(void) {
    double end = now() + 30; int x = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (now() < end) {
        double t0 = now(), c0 = cpu(); long n = 0;
        while (now() - t0 < 0.5) { for (int i = 0; i < 1000; i++) x = spy_tick(x); n += 1000; }
        printf("%.3f %.1f ns/call wall, %.1f ns/call on CPU (user + kernel)\n", t0, (now() - t0) * 1e9 / n,
               (cpu() - c0) * 1e9 / n);
    }
    return x == 42;
}
C
gcc -O1 -o "$dir/loop" "$dir/loop.c"
"$dir/loop" > "$dir/rates.txt" & P=$!
"$dir/loop" > "$dir/other.txt" & B=$!
sleep 5
./spyglass latency -p $P --function spy_tick --max-rate 1000000000 -d 5s "$@"
wait $P $B
echo "target $P:"
cat "$dir/rates.txt"
echo "other process $B (not the target):"
cat "$dir/other.txt"
rm -rf "$dir"
