// The floor of a brief ptrace stop on this machine, with no JVM: what issue 11's stop (interrupt to release)
// costs when the sampler is a few lines of C. Per tick: PTRACE_SEIZE, PTRACE_INTERRUPT, wait for the stop
// (waitpid WNOHANG in a loop), PTRACE_GETREGS, one 16 KiB process_vm_readv of the stack from rsp, NSMALL more reads
// of 512 bytes (standing in for a Python read made while the thread is held), PTRACE_DETACH.
//
// Usage: stop-floor TID HZ SECONDS MODE
//   MODE 0: the sampler stays on a CPU the thread is not on; 1: it moves onto the thread's CPU before each stop
//   and yields while it waits (no interrupt crosses CPUs: the stop request nor the wake-up).
// Env NSMALL (default 8). Prints p50/p90/p99 of the stop and the p50 of each part, in µs.
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static long now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* The CPU the thread last ran on: field 39 of /proc/TID/stat. */
static int cpu_of(int tid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    int field = 2;
    for (char *q = strrchr(buf, ')') + 2; *q; q++) {
        if (*q == ' ' && ++field == 39) return atoi(q + 1);
    }
    return -1;
}

static void pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    sched_setaffinity(0, sizeof s, &s);
}

static int cmp(const void *a, const void *b) {
    long x = *(const long *) a, y = *(const long *) b;
    return x < y ? -1 : x > y;
}

static double p(long *v, int n, double q) {
    return v[(int) (q * (n - 1))] / 1000.0;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: stop-floor TID HZ SECONDS MODE\n");
        return 2;
    }
    int tid = atoi(argv[1]), hz = atoi(argv[2]), secs = atoi(argv[3]), mode = atoi(argv[4]);
    int nsmall = getenv("NSMALL") ? atoi(getenv("NSMALL")) : 8;
    int n = hz * secs, k = 0;
    long *stop = malloc(sizeof(long) * n), *part[5];
    for (int q = 0; q < 5; q++) part[q] = malloc(sizeof(long) * n);
    static char stack[16384], small[512];
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int i = 0; i < n; i++) {
        next.tv_nsec += 1000000000L / hz;
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, 0);
        int cpu = cpu_of(tid);
        if (cpu < 0) break; // the thread ended
        pin(mode == 1 ? cpu : (cpu == 0 ? 1 : 0));
        if (ptrace(PTRACE_SEIZE, tid, 0, 0)) { perror("PTRACE_SEIZE"); return 1; }
        long t0 = now();
        ptrace(PTRACE_INTERRUPT, tid, 0, 0);
        int status;
        while (waitpid(tid, &status, WNOHANG | __WALL) == 0) {
            if (mode == 1) sched_yield(); // the thread needs this CPU to reach its stop
        }
        long t1 = now();
        struct user_regs_struct regs;
        ptrace(PTRACE_GETREGS, tid, 0, &regs);
        long t2 = now();
        struct iovec local = {stack, sizeof stack}, remote = {(void *) regs.rsp, sizeof stack};
        process_vm_readv(tid, &local, 1, &remote, 1, 0);
        long t3 = now();
        for (int j = 0; j < nsmall; j++) {
            struct iovec l = {small, sizeof small}, r = {(void *) (regs.rsp + j * 512L), sizeof small};
            process_vm_readv(tid, &l, 1, &r, 1, 0);
        }
        long t4 = now();
        ptrace(PTRACE_DETACH, tid, 0, 0);
        long t5 = now();
        stop[k] = t5 - t0;
        part[0][k] = t1 - t0; part[1][k] = t2 - t1; part[2][k] = t3 - t2; part[3][k] = t4 - t3; part[4][k] = t5 - t4;
        k++;
    }
    if (k == 0) return 1;
    qsort(stop, k, sizeof(long), cmp);
    for (int q = 0; q < 5; q++) qsort(part[q], k, sizeof(long), cmp);
    printf("mode %d, %d stops: stop p50 %.1f p90 %.1f p99 %.1f us; parts p50: to stop %.1f, getregs %.1f,"
           " stack 16 KiB %.1f, %d reads of 512 B %.1f, detach %.1f us\n", mode, k, p(stop, k, .5), p(stop, k, .9),
           p(stop, k, .99), p(part[0], k, .5), p(part[1], k, .5), p(part[2], k, .5), nsmall, p(part[3], k, .5),
           p(part[4], k, .5));
    return 0;
}
