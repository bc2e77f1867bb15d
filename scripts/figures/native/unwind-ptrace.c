/*
 * unwind-ptrace PID HZ SECONDS
 *
 * The per-sample work of a libunwind-ptrace native sampler (Austin's `austinp`, py-spy's --native take
 * the same route), reduced to what stops the target, to measure how long a thread stays stopped:
 *
 *   every thread of PID is seized once (PTRACE_SEIZE, no stop) and gets one _UPT_create context;
 *   every 1/HZ s, for each thread: PTRACE_INTERRUPT, waitpid(__WALL) for the stop, unw_init_remote,
 *   unw_step to the end, PTRACE_CONT. Per frame, as austinp 3.7 does (src/py_thread.c): the IP; on a
 *   miss of its frame cache keyed by IP, unw_get_proc_info, then unw_get_proc_name on a miss of its
 *   name cache keyed by the procedure's start. UNWIND_PTRACE_NO_CACHE=1 calls both on every frame.
 *
 * What austinp does differently: it interrupts all threads, samples them one after the other, then
 * resumes them all (one stop covers every thread); it polls unw_init_remote until the registers can be
 * read instead of waiting for the stop; and while the thread is stopped it also reads the Python stack.
 * The last makes austinp's stops longer than ours, so these figures are a lower bound for it.
 *
 * One stop is timed from PTRACE_INTERRUPT to the return of PTRACE_CONT (CLOCK_MONOTONIC). At the end,
 * one line of JSON on stdout. Threads are detached at the end, on SIGINT and on SIGTERM.
 *
 * Build: cc -O2 -o unwind-ptrace unwind-ptrace.c -lunwind-ptrace -lunwind-generic -lunwind
 * (Debian: libunwind-dev).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libunwind-ptrace.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_THREADS 1024
#define MAX_FRAMES 2048 /* austinp's MAX_STACK_SIZE */
#define CACHE_SLOTS 8192 /* power of two; austinp's frame cache holds 2 * MAX_STACK_SIZE */

typedef struct {
  pid_t tid;
  void *upt;
  int live;
} thread_t;

typedef struct {
  unw_word_t key;
  char *value; /* for the frame cache: the name (may be the shared "<unknown>") */
} slot_t;

static volatile sig_atomic_t stopping;
static thread_t threads[MAX_THREADS];
static int nthreads;
static slot_t frame_cache[CACHE_SLOTS], name_cache[CACHE_SLOTS];
static char unknown[] = "<unknown>";
static long proc_name_calls;

static void on_signal(int sig) { (void) sig; stopping = 1; }

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

static slot_t *cache_find(slot_t *cache, unw_word_t key) { /* open addressing, never full in practice */
  size_t i = (size_t) ((key * 0x9E3779B97F4A7C15ULL) >> 51) & (CACHE_SLOTS - 1);
  for (int probe = 0; probe < CACHE_SLOTS; probe++, i = (i + 1) & (CACHE_SLOTS - 1)) {
    if (cache[i].key == key || cache[i].key == 0) return &cache[i];
  }
  return NULL;
}

static int known(pid_t tid) {
  for (int i = 0; i < nthreads; i++) if (threads[i].tid == tid) return 1;
  return 0;
}

/* Seizes the threads of pid not seized yet; threads started later are picked up at the next scan. */
static void seize_new_threads(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *d = opendir(path);
  if (d == NULL) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && nthreads < MAX_THREADS) {
    pid_t tid = (pid_t) atoi(e->d_name);
    if (tid <= 0 || known(tid)) continue;
    if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0) {
      fprintf(stderr, "unwind-ptrace: cannot seize thread %d: %s\n", tid, strerror(errno));
      continue;
    }
    threads[nthreads].tid = tid;
    threads[nthreads].upt = _UPT_create(tid);
    threads[nthreads].live = threads[nthreads].upt != NULL;
    nthreads++;
  }
  closedir(d);
}

/* Waits for the stop PTRACE_INTERRUPT asked for. A signal that arrives first is a signal-delivery stop:
 * it is passed on to the thread and the interrupt's stop still follows. Returns 0 once stopped, -1 if
 * the thread is gone. */
static int wait_for_interrupt_stop(pid_t tid) {
  for (;;) {
    int status;
    if (waitpid(tid, &status, __WALL) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) return -1;
    if (!WIFSTOPPED(status)) continue;
    if ((status >> 16) == PTRACE_EVENT_STOP) return 0;
    if ((status >> 16) == 0 && ptrace(PTRACE_CONT, tid, 0, (void *) (long) WSTOPSIG(status)) != 0) return -1;
  }
}

/* Returns the number of frames, or -1 when the cursor could not be set up. */
static int unwind(unw_addr_space_t as, void *upt, int use_cache) {
  unw_cursor_t cursor;
  unw_word_t pc, offset;
  char buf[1024]; /* austinp's MAXLEN */
  if (unw_init_remote(&cursor, as, upt) != 0) return -1;
  int frames = 0;
  do {
    if (unw_get_reg(&cursor, UNW_REG_IP, &pc) != 0) break;
    frames++;
    slot_t *frame = use_cache ? cache_find(frame_cache, pc) : NULL;
    if (frame != NULL && frame->key == pc) continue;
    char *name = unknown;
    unw_proc_info_t pi;
    if (unw_get_proc_info(&cursor, &pi) == 0) {
      slot_t *named = use_cache ? cache_find(name_cache, pi.start_ip) : NULL;
      if (named != NULL && named->key == pi.start_ip) {
        name = named->value;
      } else {
        proc_name_calls++;
        if (unw_get_proc_name(&cursor, buf, sizeof buf, &offset) == 0) {
          name = use_cache ? strdup(buf) : buf;
          if (named != NULL && pi.start_ip != 0) { named->key = pi.start_ip; named->value = name; }
        }
      }
    }
    if (frame != NULL && pc != 0) { frame->key = pc; frame->value = name; }
  } while (frames < MAX_FRAMES && unw_step(&cursor) > 0);
  return frames;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return (x > y) - (x < y);
}

static int cmp_int(const void *a, const void *b) { return *(const int *) a - *(const int *) b; }

static double pct_us(int64_t *sorted, long n, double p) {
  if (n == 0) return 0;
  long i = (long) (p * (double) (n - 1) + 0.5);
  return (double) sorted[i] / 1000.0;
}

static void detach_all(void) {
  for (int i = 0; i < nthreads; i++) {
    if (!threads[i].live) continue;
    pid_t tid = threads[i].tid;
    /* PTRACE_DETACH needs a stopped tracee. */
    if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == 0 && wait_for_interrupt_stop(tid) == 0) {
      ptrace(PTRACE_DETACH, tid, 0, 0);
    }
    _UPT_destroy(threads[i].upt);
    threads[i].live = 0;
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: unwind-ptrace PID HZ SECONDS\n");
    return 2;
  }
  pid_t pid = (pid_t) atoi(argv[1]);
  double hz = atof(argv[2]), seconds = atof(argv[3]);
  if (pid <= 0 || hz <= 0 || seconds <= 0) {
    fprintf(stderr, "unwind-ptrace: PID, HZ and SECONDS must be positive\n");
    return 2;
  }
  int use_cache = getenv("UNWIND_PTRACE_NO_CACHE") == NULL || strcmp(getenv("UNWIND_PTRACE_NO_CACHE"), "1") != 0;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal; /* no SA_RESTART: the sleep returns and the loop ends */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  unw_addr_space_t as = unw_create_addr_space(&_UPT_accessors, 0);
  seize_new_threads(pid);
  if (nthreads == 0) {
    fprintf(stderr, "unwind-ptrace: no thread of %d could be seized\n", pid);
    return 1;
  }

  long cap = (long) (hz * seconds * 1.1 + 16) * 4, samples = 0, missed = 0, failed = 0;
  int64_t *stops = malloc(sizeof(int64_t) * (size_t) cap);
  int *depths = malloc(sizeof(int) * (size_t) cap);
  int64_t period = (int64_t) (1e9 / hz), start = now_ns(), end = start + (int64_t) (seconds * 1e9);
  int64_t next = start, next_scan = start + 1000000000;

  while (!stopping && next < end) {
    int live = 0;
    for (int i = 0; i < nthreads && !stopping; i++) {
      thread_t *t = &threads[i];
      if (!t->live) continue;
      int64_t t0 = now_ns();
      if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) != 0 || wait_for_interrupt_stop(t->tid) != 0) {
        t->live = 0; /* the thread ended */
        _UPT_destroy(t->upt);
        continue;
      }
      int frames = unwind(as, t->upt, use_cache);
      ptrace(PTRACE_CONT, t->tid, 0, 0);
      int64_t t1 = now_ns();
      live++;
      if (frames < 0) { failed++; continue; }
      if (samples == cap) {
        cap *= 2;
        stops = realloc(stops, sizeof(int64_t) * (size_t) cap);
        depths = realloc(depths, sizeof(int) * (size_t) cap);
      }
      stops[samples] = t1 - t0;
      depths[samples] = frames;
      samples++;
    }
    int64_t t = now_ns();
    if (t >= next_scan) { seize_new_threads(pid); next_scan = t + 1000000000; }
    if (live == 0 && nthreads > 0) {
      int any = 0;
      for (int i = 0; i < nthreads; i++) any |= threads[i].live;
      if (!any) break; /* the target ended */
    }
    next += period;
    if (next < t) { /* behind: skip the ticks that are already past, as a fixed-rate sampler would */
      missed += (t - next) / period + 1;
      next += ((t - next) / period + 1) * period;
    }
    struct timespec ts = { .tv_sec = next / 1000000000, .tv_nsec = next % 1000000000 };
    while (!stopping && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
  }
  double wall = (double) (now_ns() - start) / 1e9;
  detach_all();
  unw_destroy_addr_space(as);

  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  qsort(stops, (size_t) samples, sizeof(int64_t), cmp_i64);
  qsort(depths, (size_t) samples, sizeof(int), cmp_int);
  printf("{\"samples\": %ld, \"threads\": %d, \"hz\": %g, \"wall_s\": %.2f, \"missed_ticks\": %ld, \"failed_unwinds\": %ld, "
         "\"stop_p50_us\": %.1f, \"stop_p99_us\": %.1f, \"stop_max_us\": %.1f, \"frames_median\": %d, "
         "\"proc_name_calls\": %ld, \"cached\": %s, \"sampler_cpu_s\": %.2f}\n",
         samples, nthreads, hz, wall, missed, failed, pct_us(stops, samples, 0.50), pct_us(stops, samples, 0.99),
         samples ? (double) stops[samples - 1] / 1000.0 : 0.0, samples ? depths[samples / 2] : 0, proc_name_calls,
         use_cache ? "true" : "false", cpu);
  return 0;
}
