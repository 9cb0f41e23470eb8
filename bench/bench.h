/* bench.h - shared helpers of the benchmark programs in bench/.
 *
 * Every program uses only the standard malloc API (malloc, free, calloc,
 * realloc), so it runs under any allocator with LD_PRELOAD.  Each one takes
 *
 *     PROGRAM [THREADS [N]]
 *
 * where N is its size/iteration knob (the total operation count, split
 * between the threads, unless the program says otherwise), writes a pattern
 * into what it allocates and checks it before freeing (a mismatch aborts
 * with "verify failed"), and prints one line on stdout:
 *
 *     NAME threads=T ops=OPS check=HEX secs=S malloc=LIBRARY
 *
 * ops is the number of allocator calls it made in the timed part, check a
 * checksum of data read back, secs its own timing of the work, and malloc
 * the object file that the program's `malloc` symbol resolved to (the
 * runner uses it to confirm that LD_PRELOAD took effect).
 */
#ifndef HAWK_BENCH_H
#define HAWK_BENCH_H

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_MAX_THREADS 256

static inline uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* A uniform value in [lo, hi]. */
static inline size_t rnd_range(uint64_t *s, size_t lo, size_t hi) {
  return lo + (size_t)(splitmix64(s) % (uint64_t)(hi - lo + 1));
}

/* A size in [lo, hi], uniform in its logarithm (small sizes are common). */
static inline size_t rnd_log(uint64_t *s, size_t lo, size_t hi) {
  size_t span_bits = 0, v;
  while (((size_t)1 << span_bits) < hi / lo) span_bits++;
  do {
    size_t b = (size_t)(splitmix64(s) % (span_bits + 1));
    size_t base = lo << b;
    v = base + (size_t)(splitmix64(s) % base);
  } while (v > hi);
  return v;
}

static inline double now_secs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void die(const char *what) {
  fprintf(stderr, "bench: %s\n", what);
  fflush(stderr);
  abort();
}

static inline void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) die("malloc returned NULL");
  return p;
}

/* The pattern byte of block `tag` at offset `i`. */
static inline unsigned char pat(uint64_t tag, size_t i) {
  return (unsigned char)(tag * 0x9d + i * 7 + (tag >> 8));
}

#define PAGE 4096

/* Writes the pattern of `tag` into the first and last 16 bytes of p[0..n)
 * and into one byte of every page in between, so that the block's memory is
 * really touched (and counted in the RSS) without the benchmark becoming a
 * memset benchmark. */
static inline void fill(void *p, size_t n, uint64_t tag) {
  unsigned char *c = p;
  size_t head = n < 16 ? n : 16, i;
  for (i = 0; i < head; i++) c[i] = pat(tag, i);
  for (i = n > 16 ? n - 16 : head; i < n; i++) c[i] = pat(tag, i);
  for (i = PAGE; i + 16 < n; i += PAGE) c[i] = pat(tag, i);
}

/* Checks what fill() wrote (only the first `n` bytes, so a block that
 * realloc shrank or grew can be checked over its preserved prefix with the
 * original n); returns a checksum of the bytes read. */
static inline uint64_t check(const void *p, size_t n, uint64_t tag) {
  const unsigned char *c = p;
  size_t head = n < 16 ? n : 16, i;
  uint64_t sum = 0;
  for (i = 0; i < head; i++)
    if (c[i] != pat(tag, i)) die("verify failed: block head overwritten");
  for (i = n > 16 ? n - 16 : head; i < n; i++)
    if (c[i] != pat(tag, i)) die("verify failed: block tail overwritten");
  for (i = PAGE; i + 16 < n; i += PAGE)
    if (c[i] != pat(tag, i)) die("verify failed: block page byte overwritten");
  if (n) sum = c[0] + ((uint64_t)c[n - 1] << 8);
  return sum;
}

/* Parses argv: THREADS (default 1) and N (default `def_n`). */
static inline void bench_args(int argc, char **argv, int *threads, long *n, long def_n) {
  *threads = 1;
  *n = def_n;
  if (argc > 1) *threads = atoi(argv[1]);
  if (argc > 2) *n = atol(argv[2]);
  if (*threads < 1 || *threads > BENCH_MAX_THREADS || *n < 1) {
    fprintf(stderr, "usage: %s [THREADS 1..%d [N >= 1]]\n", argv[0], BENCH_MAX_THREADS);
    exit(2);
  }
}

/* Runs fn(arg_i) on `threads` threads, where arg_i = base + i * stride, and
 * waits for them.  One thread: runs fn on the calling thread. */
static inline void run_threads(int threads, void *(*fn)(void *), void *base, size_t stride) {
  pthread_t tid[BENCH_MAX_THREADS];
  int i, rc;
  if (threads == 1) {
    fn(base);
    return;
  }
  for (i = 0; i < threads; i++) {
    rc = pthread_create(&tid[i], NULL, fn, (char *)base + (size_t)i * stride);
    if (rc) {
      errno = rc;
      perror("pthread_create");
      exit(1);
    }
  }
  for (i = 0; i < threads; i++) pthread_join(tid[i], NULL);
}

/* The file that the process's `malloc` comes from. */
static inline const char *malloc_origin(void) {
  Dl_info info;
  void *sym = dlsym(RTLD_DEFAULT, "malloc");
  if (sym && dladdr(sym, &info) && info.dli_fname) return info.dli_fname;
  return "unknown";
}

static inline void report(const char *name, int threads, uint64_t ops, uint64_t sum, double secs) {
  printf("%s threads=%d ops=%llu check=%016llx secs=%.4f malloc=%s\n", name, threads,
         (unsigned long long)ops, (unsigned long long)sum, secs, malloc_origin());
  fflush(stdout);
}

/* The worker of the single-pool benchmarks: each thread runs ops
 * operations from its own seed and leaves a checksum. */
struct bench_worker {
  long ops;
  uint64_t seed, sum;
  char pad[64];
};

/* main() of those benchmarks: threads split def_n operations (both from the
 * command line), then the report line. */
static inline int bench_main(int argc, char **argv, const char *name, long def_n,
                             uint64_t seed_base, void *(*work)(void *)) {
  int threads, i;
  long n;
  uint64_t ops = 0, sum = 0;
  struct bench_worker w[BENCH_MAX_THREADS];
  bench_args(argc, argv, &threads, &n, def_n);
  for (i = 0; i < threads; i++) {
    w[i].ops = n / threads;
    w[i].seed = seed_base + (uint64_t)i;
  }
  double t0 = now_secs();
  run_threads(threads, work, w, sizeof w[0]);
  for (i = 0; i < threads; i++) ops += (uint64_t)w[i].ops, sum += w[i].sum;
  report(name, threads, ops, sum, now_secs() - t0);
  return 0;
}

#endif
