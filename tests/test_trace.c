/* test_trace.c - HAWKALLOC_TRACE records every call of every thread in the
 * documented format (docs/trace-format.md). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "harness.h"
#include "hawkalloc.h"

struct rec {
  uint64_t seq;
  uint32_t thread;
  uint8_t op;
  uint8_t reserved[3];
  uint64_t result, size, aux;
  int32_t heap; /* version 2: 0 the default heap, else the created heap's id */
  uint32_t reserved2;
};

static char self_path[4096];

/* --- a decoder of version 3, written from docs/trace-format.md ------------ */

/* Reads a varint at *p (before end) into *v; 0, or -1 when it runs past end
 * or is longer than 10 bytes. */
static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
  uint64_t x = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*p >= end) return -1;
    unsigned char c = *(*p)++;
    if (shift == 63 && c > 1) return -1;
    x |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* A pointer delta's varint value back to the delta. */
static uint64_t ptr_decode(uint64_t u) {
  uint64_t x = u >> 1 ^ (0 - (u & 1));
  uint64_t hi = (uint64_t)((int64_t)(x << 4) >> 4);
  return hi << 4 | (x ^ hi) >> 60;
}

/* Decodes the records of the trace in buf (header included) into out (room
 * for cap records); the number of records, or -1 (with a line on stderr)
 * when the file is not a well-formed version 3 trace.  chunks: the number
 * of chunks, if not NULL. */
static long decode_v3(const unsigned char *buf, size_t len, struct rec *out, size_t cap,
                      size_t *chunks) {
  uint32_t version, hsize, rsize;
  if (len < 32 || memcmp(buf, "HAWKTRC", 8) != 0) return -1;
  memcpy(&version, buf + 8, 4);
  memcpy(&hsize, buf + 12, 4);
  memcpy(&rsize, buf + 16, 4);
  if (version != 3 || hsize != 32 || rsize != 0) {
    fprintf(stderr, "    header: version %u, header %u, record %u\n", version, hsize, rsize);
    return -1;
  }
  size_t n = 0, off = 32, nchunks = 0;
  while (off < len) {
    uint32_t bytes, count, thread, skip, zero;
    uint64_t seq;
    if (len - off < 32 || memcmp(buf + off, "HTC3", 4) != 0) {
      fprintf(stderr, "    no chunk header at byte %zu\n", off);
      return -1;
    }
    memcpy(&bytes, buf + off + 4, 4);
    memcpy(&count, buf + off + 8, 4);
    memcpy(&thread, buf + off + 12, 4);
    memcpy(&skip, buf + off + 16, 4);
    memcpy(&zero, buf + off + 20, 4);
    memcpy(&seq, buf + off + 24, 8);
    const unsigned char *p = buf + off + 32, *end = p + bytes;
    if (bytes > len - off - 32 || count == 0 || thread == 0 || skip >= count || zero != 0) {
      fprintf(stderr, "    bad chunk at byte %zu\n", off);
      return -1;
    }
    uint64_t prev = 0;
    for (uint32_t i = 0; i < count; i++) {
      if (p >= end || n >= cap) return -1;
      unsigned flags = *p++;
      uint64_t v = 1;
      struct rec r = {.thread = thread, .op = (uint8_t)(flags & 7)};
      if ((flags & 0x08) && get_varint(&p, end, &v) != 0) return -1;
      r.seq = seq += v;
      v = 0;
      if ((flags & 0x10) && get_varint(&p, end, &v) != 0) return -1;
      r.result = prev += ptr_decode(v);
      if ((flags & 0x20) && get_varint(&p, end, &r.size) != 0) return -1;
      if ((flags & 0x40) && get_varint(&p, end, &r.aux) != 0) return -1;
      if ((flags & 0x40) && r.op == 4) r.aux = ptr_decode(r.aux) + r.result;
      v = 0;
      if ((flags & 0x80) && get_varint(&p, end, &v) != 0) return -1;
      r.heap = (int32_t)((uint32_t)(v >> 1) ^ (0 - (uint32_t)(v & 1)));
      if (i >= skip) out[n++] = r; /* the first skip records are in an earlier chunk */
    }
    if (p != end) {
      fprintf(stderr, "    chunk at byte %zu: %u records end before its %u bytes\n", off, count,
              bytes);
      return -1;
    }
    off += 32 + (size_t)bytes;
    nchunks++;
  }
  if (chunks) *chunks = nchunks;
  return (long)n;
}

/* The records of the trace file at path, decoded (malloc'd); NULL when the
 * file is not a well-formed version 3 trace. */
static struct rec *read_trace(const char *path, size_t *n, size_t *chunks);

/* The traced workload, run in a child started with HAWKALLOC_TRACE. */
static void *thread_work(void *arg) {
  (void)arg;
  for (int i = 0; i < 100; i++) hawk_free(hawk_malloc(64));
  return NULL;
}

static int traced_child(void) {
  void *a = hawk_malloc(100);
  void *b = hawk_calloc(3, 40);
  a = hawk_realloc(a, 5000);
  void *c = NULL;
  if (hawk_posix_memalign(&c, 256, 300) != 0) return 1;
  hawk_free(b);
  hawk_free(a);
  hawk_free(c);
  void *big = hawk_malloc(2 << 20); /* a large block too */
  hawk_free(big);
  pthread_t t;
  pthread_create(&t, NULL, thread_work, NULL);
  pthread_join(t, NULL);
  /* Enough calls to fill a buffer more than once. */
  for (int i = 0; i < 40000; i++) hawk_free(hawk_malloc((size_t)(i % 500 + 1)));
  return 0;
}

/* Runs this program as the traced child; returns its exit status. */
static int run_traced(const char *trace_path, const char *extra_env) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    char env1[4200];
    snprintf(env1, sizeof env1, "HAWKALLOC_TRACE=%s", trace_path);
    char *envp[] = {env1, (char *)extra_env, NULL};
    char *argv[] = {self_path, "--traced-child", NULL};
    execve(self_path, argv, envp);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static unsigned char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat st;
  fstat(fd, &st);
  unsigned char *buf = malloc((size_t)st.st_size + 1);
  *len = (size_t)read(fd, buf, (size_t)st.st_size);
  close(fd);
  return buf;
}

static struct rec *read_trace(const char *path, size_t *n, size_t *chunks) {
  size_t len = 0;
  unsigned char *buf = read_file(path, &len);
  if (buf == NULL) return NULL;
  /* Every record takes a byte at least. */
  struct rec *r = malloc((len + 1) * sizeof *r);
  long got = decode_v3(buf, len, r, len + 1, chunks);
  free(buf);
  if (got < 0) {
    free(r);
    return NULL;
  }
  *n = (size_t)got;
  return r;
}

TEST(trace_file_has_header_and_every_call) {
  char path[] = "/tmp/hawk-trace-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  REQUIRE(run_traced(path, NULL) == 0);
  size_t len = 0;
  unsigned char *buf = read_file(path, &len);
  REQUIRE(buf != NULL && len >= 32);
  CHECK(memcmp(buf, "HAWKTRC", 8) == 0);
  uint32_t version, hsize, rsize;
  memcpy(&version, buf + 8, 4);
  memcpy(&hsize, buf + 12, 4);
  memcpy(&rsize, buf + 16, 4);
  CHECK(version == 3 && hsize == 32 && rsize == 0); /* version 3: records of any length */
  free(buf);
  size_t n = 0, chunks = 0;
  struct rec *r = read_trace(path, &n, &chunks);
  REQUIRE(r != NULL);
  CHECK(chunks >= 3); /* the main thread's buffer filled at least once, the other's written */
  /* Count ops; find the first few calls of the main thread in order. */
  size_t ops[6] = {0};
  uint32_t threads[2] = {0, 0};
  uint64_t alloc_100 = 0;
  int saw_big = 0, saw_aligned = 0, saw_calloc = 0, saw_realloc = 0;
  for (size_t i = 0; i < n; i++) {
    if (r[i].op >= 1 && r[i].op <= 5) ops[r[i].op]++;
    if (r[i].op == 1 && r[i].size == 100 && !alloc_100) alloc_100 = r[i].result;
    if (r[i].op == 1 && r[i].size == (2u << 20)) saw_big = 1;
    if (r[i].op == 5 && r[i].aux == 256 && r[i].size == 300 && r[i].result % 256 == 0)
      saw_aligned = 1;
    if (r[i].op == 3 && r[i].size == 120) saw_calloc = 1;
    if (r[i].op == 4 && r[i].aux == alloc_100 && r[i].size == 5000) saw_realloc = 1;
    if (r[i].thread != threads[0] && threads[0] == 0)
      threads[0] = r[i].thread;
    else if (r[i].thread != threads[0])
      threads[1] = r[i].thread;
  }
  CHECK(saw_big && saw_aligned && saw_calloc && saw_realloc);
  CHECK(ops[1] >= 40100 + 2); /* the program's mallocs (libc may add a few) */
  CHECK(ops[2] >= 40100 + 4);
  CHECK(threads[0] != 0 && threads[1] != 0); /* two threads recorded */
  /* Within a thread, seq strictly increases in file order. */
  int ordered = 1;
  for (uint32_t t = 0; t < 2; t++) {
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++) {
      if (r[i].thread != threads[t]) continue;
      if (r[i].seq <= last && last != 0) ordered = 0;
      last = r[i].seq;
    }
  }
  CHECK(ordered);
  /* While one thread records, seq just counts: 1, 2, 3...  Once a second
   * thread records, every seq comes from a clock shifted left by 8, above
   * every count before it (docs/trace-format.md). */
  uint32_t counted_thread = 0;
  size_t counted = 0;
  for (size_t i = 0; i < n; i++)
    if (r[i].seq >= 1 && r[i].seq <= 3) {
      counted++;
      if (counted_thread == 0) counted_thread = r[i].thread;
      if (r[i].thread != counted_thread) counted_thread = UINT32_MAX;
    }
  CHECK(counted == 3 && counted_thread != 0 && counted_thread != UINT32_MAX);
  uint32_t other = threads[0] == counted_thread ? threads[1] : threads[0];
  int above = 1;
  for (size_t i = 0; i < n; i++)
    if (r[i].thread == other && r[i].seq < ((uint64_t)n << 8)) above = 0;
  CHECK(above);
  /* A clock's seq carries its thread's counter in the low 8 bits: the
   * other thread's records (all of them after the clock started) step it
   * by one, but where its thread's previous seq was above the clock (rare)
   * or, for the first record, from any value. */
  size_t steps = 0, others = 0;
  uint64_t last_seq = 0;
  for (size_t i = 0; i < n; i++) {
    if (r[i].thread != other) continue;
    if (others++ > 0 && ((last_seq + 1) & 0xff) == (r[i].seq & 0xff)) steps++;
    last_seq = r[i].seq;
  }
  if (steps * 10 < others * 9) fprintf(stderr, "    %zu of %zu counter steps\n", steps, others);
  CHECK(others >= 100 && steps * 10 >= others * 9);
  free(r);
  unlink(path);
}

TEST(trace_of_a_parent_is_not_overwritten_by_a_child) {
  /* A file whose header names a live process (this one) is left alone. */
  char path[] = "/tmp/hawk-trace-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  unsigned char h[32] = "HAWKTRC";
  uint32_t pid = (uint32_t)getpid();
  memcpy(h + 20, &pid, 4);
  REQUIRE(write(fd, h, sizeof h) == (ssize_t)sizeof h);
  close(fd);
  REQUIRE(run_traced(path, NULL) == 0);
  size_t len = 0;
  unsigned char *buf = read_file(path, &len);
  CHECK(len == 32);
  free(buf);
  unlink(path);
}

TEST(an_old_trace_is_replaced_and_a_link_is_kept) {
  /* An earlier run's trace (a regular file) gives way to a new file. */
  char path[] = "/tmp/hawk-trace-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, "an older trace, of a process long gone", 38) == 38);
  close(fd);
  /* A second name for the old file shows whether it was truncated or
   * replaced. */
  char old_path[64];
  snprintf(old_path, sizeof old_path, "%s.old", path);
  REQUIRE(link(path, old_path) == 0);
  REQUIRE(run_traced(path, NULL) == 0);
  size_t len = 0;
  unsigned char *buf = read_file(path, &len);
  CHECK(buf && len > 32 && memcmp(buf, "HAWKTRC", 8) == 0);
  free(buf);
  buf = read_file(old_path, &len);
  CHECK(buf && len == 38 && memcmp(buf, "an older trace", 14) == 0);
  free(buf);
  unlink(old_path);
  /* A symbolic link as the trace path stays a link: the trace goes into
   * its target. */
  char link_path[64];
  snprintf(link_path, sizeof link_path, "%s.link", path);
  REQUIRE(symlink(path, link_path) == 0);
  REQUIRE(run_traced(link_path, NULL) == 0);
  struct stat st;
  CHECK(lstat(link_path, &st) == 0 && S_ISLNK(st.st_mode));
  buf = read_file(path, &len);
  CHECK(buf && len > 32 && memcmp(buf, "HAWKTRC", 8) == 0);
  free(buf);
  unlink(link_path);
  unlink(path);
}

TEST(no_trace_file_without_the_variable) {
  char path[] = "/tmp/hawk-notrace-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  unlink(path);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    char *argv[] = {self_path, "--traced-child", NULL};
    char *envp[] = {NULL};
    execve(self_path, argv, envp);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(access(path, F_OK) != 0);
}

/* The exact child: a known sequence of calls, whose results go to fd 3 as
 * raw pointers (no stdio: nothing else may allocate between them). */
static int exact_child(void) {
  uint64_t got[8];
  void *p = hawk_malloc(100), *q;
  got[0] = (uintptr_t)p;
  hawk_free(p);
  got[1] = (uintptr_t)(q = hawk_aligned_alloc(64, 100));
  hawk_free(q);
  got[2] = (uintptr_t)(q = hawk_memalign(100, 50));
  hawk_free(q);
  got[3] = (uintptr_t)(q = hawk_valloc(10));
  hawk_free(q);
  got[4] = (uintptr_t)(q = hawk_pvalloc(10));
  hawk_free(q);
  if (hawk_posix_memalign(&q, 256, 300) != 0) return 1;
  got[5] = (uintptr_t)q;
  hawk_free(q);
  got[6] = (uintptr_t)(p = hawk_malloc(150));
  got[7] = (uintptr_t)(q = hawk_realloc(p, 5000));
  hawk_free(q);
  return write(3, got, sizeof got) == (ssize_t)sizeof got ? 0 : 1;
}

/* Runs this program again as MODE (--exact-child, --heap-child,
 * --many-child) with HAWKALLOC_TRACE naming a new file made from the
 * template path (filled in); the child writes size bytes of results to
 * descriptor 3, read into got.  0 when it exited 0 and gave them all. */
static int run_traced_child_into(char *path, const char *mode, void *got, size_t size) {
  int fd = mkstemp(path);
  if (fd < 0) return -1;
  close(fd);
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 3);
    char env1[4200];
    snprintf(env1, sizeof env1, "HAWKALLOC_TRACE=%s", path);
    char *envp[] = {env1, NULL};
    char *argv[] = {self_path, (char *)mode, NULL};
    execve(self_path, argv, envp);
    _exit(127);
  }
  close(pipefd[1]);
  size_t have = 0;
  while (have < size) {
    ssize_t k = read(pipefd[0], (char *)got + have, size - have);
    if (k <= 0) break;
    have += (size_t)k;
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 && have == size ? 0 : -1;
}

/* run_traced_child_into for the 8 words of the exact and heap children. */
static int run_traced_child(char *path, const char *mode, uint64_t got[8]) {
  return run_traced_child_into(path, mode, got, 8 * sizeof got[0]);
}

/* Every record of a known sequence, field by field: the pointer each free
 * names, and the aligned calls with the alignment in force (memalign's 100
 * rounded up to 128; valloc and pvalloc a page, pvalloc's size rounded to
 * one). */
TEST(trace_records_every_call_exactly) {
  char path[] = "/tmp/hawk-trace-XXXXXX";
  uint64_t got[8] = {0};
  REQUIRE(run_traced_child(path, "--exact-child", got) == 0);
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  const struct rec want[] = {
      {.op = 1, .result = got[0], .size = 100},
      {.op = 2, .result = got[0]},
      {.op = 5, .result = got[1], .size = 100, .aux = 64},
      {.op = 2, .result = got[1]},
      {.op = 5, .result = got[2], .size = 50, .aux = 128},
      {.op = 2, .result = got[2]},
      {.op = 5, .result = got[3], .size = 10, .aux = page},
      {.op = 2, .result = got[3]},
      {.op = 5, .result = got[4], .size = page, .aux = page},
      {.op = 2, .result = got[4]},
      {.op = 5, .result = got[5], .size = 300, .aux = 256},
      {.op = 2, .result = got[5]},
      {.op = 1, .result = got[6], .size = 150},
      {.op = 4, .result = got[7], .size = 5000, .aux = got[6]},
      {.op = 2, .result = got[7]},
  };
  size_t n = 0, k = 0;
  struct rec *r = read_trace(path, &n, NULL);
  REQUIRE(r != NULL);
  /* The sequence appears in order (the C library may add calls around it). */
  for (size_t i = 0; i < n && k < sizeof want / sizeof *want; i++)
    if (r[i].op == want[k].op && r[i].result == want[k].result && r[i].size == want[k].size &&
        r[i].aux == want[k].aux)
      k++;
  if (k < sizeof want / sizeof *want)
    fprintf(stderr, "    record %zu of the sequence (op %u) not found\n", k, want[k].op);
  CHECK(k == sizeof want / sizeof *want);
  for (size_t i = 0; i < 8; i++) CHECK(got[i] != 0);
  free(r);
  unlink(path);
}

/* Runs this program again as MODE (with ARG, or none) in a child traced
 * into path, its stderr to /dev/null when quiet; its wait status. */
static int self_traced(const char *path, const char *mode, const char *arg, int quiet) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    if (quiet) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 2);
    }
    char env1[4200];
    snprintf(env1, sizeof env1, "HAWKALLOC_TRACE=%s", path);
    char *envp[] = {env1, NULL};
    char *argv[] = {self_path, (char *)mode, (char *)arg, NULL};
    execve(self_path, argv, envp);
    _exit(127);
  }
  int status = -1;
  if (pid > 0) waitpid(pid, &status, 0);
  return status;
}

/* Traced with HAWKALLOC_TRACE: one malloc of a size nothing else asks for,
 * then hawk_trace_flush; the record must be in the file while the program
 * still runs (the buffer holds 1,637 records: without the flush, nothing
 * but the header is written before exit).  Reads with read(2) into a
 * static buffer.  Exit 0 when found, 3 when not. */
static int flush_child(const char *path) {
  void *p = hawk_malloc(4093);
  hawk_trace_flush();
  static unsigned char buf[1 << 17];
  static struct rec recs[1 << 14];
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 2;
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  int found = 0;
  long got = n > 0 ? decode_v3(buf, (size_t)n, recs, sizeof recs / sizeof *recs, NULL) : -1;
  for (long i = 0; i < got; i++)
    if (recs[i].op == 1 && recs[i].size == 4093 && recs[i].result == (uintptr_t)p) found = 1;
  hawk_free(p);
  return found ? 0 : 3;
}

TEST(trace_flush_writes_the_buffered_records_at_once) {
  char path[] = "/tmp/hawk-trace-flush-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  unlink(path);
  int status = self_traced(path, "--flush-child", path, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  unlink(path);
}

/* The heap child: a created heap's life, its calls traced with its id; the
 * pointers go to fd 3 (no stdio between the calls). */
static int heap_child(void) {
  uint64_t got[8];
  struct hawk_heap_options o = HAWK_HEAP_OPTIONS_INIT;
  o.limit = 1 << 20;
  struct hawk_heap *h = hawk_heap_create(&o);
  if (h == NULL || hawk_heap_id(h) != 16) return 1;
  got[0] = (uintptr_t)h;
  got[1] = (uintptr_t)hawk_heap_malloc(h, 100);
  got[2] = (uintptr_t)hawk_heap_calloc(h, 4, 50);
  got[3] = (uintptr_t)hawk_heap_aligned_alloc(h, 256, 300);
  hawk_free((void *)(uintptr_t)got[2]); /* a created heap's block given to free */
  got[4] = (uintptr_t)hawk_heap_realloc(h, (void *)(uintptr_t)got[1], 5000);
  got[5] = (uintptr_t)hawk_malloc(77);                              /* the default heap's */
  got[6] = (uintptr_t)hawk_realloc((void *)(uintptr_t)got[3], 400); /* stays in h */
  got[7] = (uintptr_t)hawk_heap_malloc(h, 2 << 20);                 /* past the limit: NULL */
  hawk_heap_destroy(h); /* two blocks still live in it */
  hawk_free((void *)(uintptr_t)got[5]);
  return write(3, got, sizeof got) == (ssize_t)sizeof got ? 0 : 1;
}

/* A created heap's calls are traced (format version 2 and on): create (op 6) and
 * destroy (op 7) with the heap's id, its blocks' records with the id, the
 * default heap's with 0. */
TEST(trace_records_a_created_heaps_calls_with_its_id) {
  char path[] = "/tmp/hawk-trace-heap-XXXXXX";
  uint64_t got[8] = {0};
  REQUIRE(run_traced_child(path, "--heap-child", got) == 0);
  const struct rec want[] = {
      {.op = 6, .result = got[0], .size = 1 << 20, .heap = 16},
      {.op = 1, .result = got[1], .size = 100, .heap = 16},
      {.op = 3, .result = got[2], .size = 200, .heap = 16},
      {.op = 5, .result = got[3], .size = 300, .aux = 256, .heap = 16},
      {.op = 2, .result = got[2], .heap = 16},
      {.op = 4, .result = got[4], .size = 5000, .aux = got[1], .heap = 16},
      {.op = 1, .result = got[5], .size = 77, .heap = 0},
      {.op = 4, .result = got[6], .size = 400, .aux = got[3], .heap = 16},
      {.op = 1, .result = 0, .size = 2 << 20, .heap = 16},
      {.op = 7, .result = got[0], .heap = 16},
      {.op = 2, .result = got[5], .heap = 0},
  };
  size_t n = 0, k = 0, heap_records = 0;
  struct rec *r = read_trace(path, &n, NULL);
  REQUIRE(r != NULL);
  for (size_t i = 0; i < n; i++) {
    if (r[i].heap != 0) heap_records++;
    if (k < sizeof want / sizeof *want && r[i].op == want[k].op && r[i].result == want[k].result &&
        r[i].size == want[k].size && r[i].aux == want[k].aux && r[i].heap == want[k].heap)
      k++;
  }
  if (k < sizeof want / sizeof *want)
    fprintf(stderr, "    record %zu of the sequence (op %u) not found\n", k, want[k].op);
  CHECK(k == sizeof want / sizeof *want);
  CHECK(heap_records == 9); /* the heap's nine records and nothing else */
  free(r);
  unlink(path);
}

/* The jumping child: MANY_CALLS mallocs, one thread, each result in got
 * (static: nothing allocates it); 64 blocks live in a ring, each freed when
 * its slot is reused.  Every 97th call asks for a large block (mapped on its
 * own, far from the small ones: the pointers jump up and back down), every
 * 101st for more than can be had (the result is 0).  Enough records for
 * several buffers, so chunk boundaries fall inside the runs.  got goes to
 * fd 3. */
#define MANY_CALLS 60000
static uint64_t many_got[MANY_CALLS];

static size_t many_size(int i) {
  if (i % 101 == 0) return (size_t)1 << 60;
  if (i % 97 == 0) return ((size_t)3 << 20) + (size_t)i;
  return (size_t)(i * 7 % 1000 + 1);
}

static int many_child(void) {
  void *ring[64] = {0};
  for (int i = 0; i < MANY_CALLS; i++) {
    hawk_free(ring[i % 64]);
    ring[i % 64] = hawk_malloc(many_size(i));
    many_got[i] = (uintptr_t)ring[i % 64];
  }
  for (int i = 0; i < 64; i++) hawk_free(ring[i]);
  return write(3, many_got, sizeof many_got) == (ssize_t)sizeof many_got ? 0 : 1;
}

/* Version 3 chunks (docs/trace-format.md): each buffer written is a chunk
 * read on its own.  A one-thread program's records over several chunks,
 * field by field: seq counts 1, 2, 3... across the chunks' boundaries (each
 * chunk's base), the pointers and sizes exact across large jumps both ways,
 * to 0 and back. */
TEST(trace_chunks_decode_exactly_across_buffer_boundaries) {
  char path[] = "/tmp/hawk-trace-many-XXXXXX";
  uint64_t *got = malloc(sizeof many_got);
  REQUIRE(got != NULL);
  REQUIRE(run_traced_child_into(path, "--many-child", got, sizeof many_got) == 0);
  size_t n = 0, chunks = 0;
  struct rec *r = read_trace(path, &n, &chunks);
  REQUIRE(r != NULL);
  CHECK(chunks >= 4);
  /* One thread: seq is the record's number, whatever chunk it is in. */
  size_t counted = 0;
  for (size_t i = 0; i < n; i++) counted += r[i].seq == i + 1 && r[i].thread == r[0].thread;
  CHECK(counted == n);
  /* The program's calls in order (the C library may add a few around
   * them): free of the ring's old block (a non-NULL one), then the malloc. */
  size_t k = 0, calls = 0, jumps_up = 0, jumps_down = 0;
  uint64_t last = 0;
  for (int i = 0; i < MANY_CALLS; i++) {
    uint64_t old = i >= 64 ? got[i - 64] : 0;
    if (old) {
      while (k < n && !(r[k].op == 2 && r[k].result == old && r[k].size == 0 && r[k].aux == 0 &&
                        r[k].heap == 0))
        k++;
      if (k++ < n) calls++;
    }
    while (k < n && !(r[k].op == 1 && r[k].result == got[i] && r[k].size == many_size(i) &&
                      r[k].aux == 0 && r[k].heap == 0))
      k++;
    if (k++ < n) calls++;
    if (got[i] > last + (1u << 30)) jumps_up++;
    if (got[i] + (1u << 30) < last) jumps_down++;
    last = got[i];
  }
  size_t want = 0;
  for (int i = 0; i < MANY_CALLS; i++) want += 1 + (i >= 64 && got[i - 64] != 0);
  if (calls != want) fprintf(stderr, "    %zu of the %zu calls found in order\n", calls, want);
  CHECK(calls == want);
  CHECK(jumps_up > 100 && jumps_down > 100); /* the pointers did jump, both ways */
  free(r);
  free(got);
  unlink(path);
}

/* The flush race: a thread allocates without a pause while another calls
 * hawk_trace_flush over and over, which writes out every thread's buffer,
 * the busy one's too. */
#define RACE_CALLS 300000
static int race_done;

static void *race_work(void *arg) {
  (void)arg;
  for (int i = 0; i < RACE_CALLS; i++) hawk_free(hawk_malloc((size_t)(i % 4000 + 1)));
  __atomic_store_n(&race_done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static int race_child(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, race_work, NULL) != 0) return 1;
  while (!__atomic_load_n(&race_done, __ATOMIC_ACQUIRE)) hawk_trace_flush();
  pthread_join(t, NULL);
  return 0;
}

/* A buffer written out by another thread while its own thread records
 * (hawk_trace_flush, or the flush at exit) loses no record and repeats
 * none, and every chunk still decodes: the worker's mallocs are exactly
 * its calls, in order. */
TEST(trace_flush_of_a_busy_threads_buffer_loses_and_repeats_nothing) {
  char path[] = "/tmp/hawk-trace-race-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  int status = self_traced(path, "--race-child", NULL, 0);
  REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  size_t n = 0, chunks = 0;
  struct rec *r = read_trace(path, &n, &chunks);
  REQUIRE(r != NULL);
  /* The worker: the thread of the first malloc of 4000 bytes. */
  uint32_t worker = 0;
  for (size_t i = 0; i < n && !worker; i++)
    if (r[i].op == 1 && r[i].size == 4000) worker = r[i].thread;
  REQUIRE(worker != 0);
  size_t k = 0, i = 0, wrong = 0;
  while (i < n && !(r[i].thread == worker && r[i].op == 1 && r[i].size == 1)) i++;
  for (; i < n; i++) {
    if (r[i].thread != worker || r[i].op != 1) continue;
    if (k >= RACE_CALLS || r[i].size != (uint64_t)(k % 4000 + 1)) wrong++;
    k++;
  }
  if (k != RACE_CALLS || wrong)
    fprintf(stderr, "    %zu mallocs of the worker (want %d), %zu out of place, %zu chunks\n", k,
            RACE_CALLS, wrong, chunks);
  CHECK(k == RACE_CALLS && wrong == 0);
  free(r);
  unlink(path);
}

/* argv: --errno-child PATH.  Closes the trace's descriptor and removes its
 * file, so that writing the next chunk fails (the path no longer names the
 * trace: one line, tracing stops), then flushes with errno set: the failed
 * write leaves errno as it was.  Exit 0 when it did, 3 when not, 2 when the
 * trace's descriptor was not found. */
static int errno_child(const char *path) {
  void *p = hawk_malloc(100); /* a record waiting in this thread's buffer */
  struct stat want, st;
  if (stat(path, &want) != 0) return 2;
  int fd = -1;
  for (int i = 0; i < 1024 && fd < 0; i++)
    if (fstat(i, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) fd = i;
  if (fd < 0) return 2;
  close(fd);
  unlink(path);
  errno = 4242;
  hawk_trace_flush();
  int kept = errno == 4242;
  hawk_free(p);
  return kept ? 0 : 3;
}

TEST(a_trace_chunk_that_cannot_be_written_leaves_errno) {
  char path[] = "/tmp/hawk-trace-errno-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  unlink(path);
  int status = self_traced(path, "--errno-child", path, 1); /* its one line to /dev/null */
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fprintf(stderr, "    status %d\n", status);
  unlink(path);
}

/* argv: --cancel-child.  A thread with a cancellation pending (deferred, the
 * default) calls hawk_malloc and hawk_free 100,000 times, through many
 * trace chunks: malloc is no cancellation point (POSIX), so the thread must
 * run to its end and return 1, and the others go on tracing.  At 13dee5f the
 * chunk's write(2), a cancellation point, ended the thread inside malloc with
 * the trace's lock held: its own exit then waited for that lock (its join
 * timed out) and the main thread's next chunk waited for ever.  The alarm
 * bounds that hang; exit 0 when the thread returned 1, 3 when it was
 * cancelled, 4 when the join waited 10 s. */
static void *cancel_work(void *arg) {
  (void)arg;
  pthread_cancel(pthread_self());
  for (int i = 0; i < 100000; i++) hawk_free(hawk_malloc((size_t)(i % 300 + 1)));
  return (void *)1;
}

static int cancel_child(void) {
  alarm(30);
  pthread_t t;
  if (pthread_create(&t, NULL, cancel_work, NULL) != 0) return 2;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  void *got = NULL;
  if (pthread_timedjoin_np(t, &got, &until) != 0) return 4;
  for (int i = 0; i < 100000; i++) hawk_free(hawk_malloc((size_t)(i % 300 + 1)));
  return got == (void *)1 ? 0 : 3;
}

TEST(a_thread_with_a_cancellation_pending_is_not_cancelled_inside_malloc) {
  char path[] = "/tmp/hawk-trace-cancel-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  unlink(path);
  int status = self_traced(path, "--cancel-child", NULL, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fprintf(stderr, "    status %d\n", status);
  unlink(path);
}

/* argv: --handler-child.  Traced into a FIFO nobody reads: the main loop
 * calls hawk_malloc and hawk_free until a chunk's write(2) blocks on the
 * full FIFO, with the trace's lock held; a second later SIGALRM's handler
 * calls hawk_malloc (misuse: malloc is not async-signal-safe), whose record
 * finds the chunk still full and waits for the trace's lock, held by its
 * own thread below it.  One line and abort, with a second thread alive
 * too (the error-checking mutex knows its holder).  Until 2026-12-07 the
 * trace's lock was a plain glibc mutex and the handler slept on it for
 * ever. */
static void malloc_in_handler(int sig) {
  (void)sig;
  hawk_free(hawk_malloc(100));
}

static void *idle_thread(void *arg) {
  for (;;) pause();
  return arg;
}

static int handler_child(void) {
  /* A second thread, with SIGALRM blocked (the alarm is the main thread's):
   * the take is told from the lock's holder, not from a count of threads. */
  sigset_t alrm;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  pthread_t idle;
  if (pthread_sigmask(SIG_BLOCK, &alrm, NULL) != 0 ||
      pthread_create(&idle, NULL, idle_thread, NULL) != 0 ||
      pthread_sigmask(SIG_UNBLOCK, &alrm, NULL) != 0)
    return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = malloc_in_handler;
  if (sigaction(SIGALRM, &sa, NULL) != 0) return 2;
  alarm(1);
  for (;;) hawk_free(hawk_malloc(100));
}

TEST(a_signal_handler_that_mallocs_inside_a_trace_write_is_reported) {
  char fifo[] = "/tmp/hawk-trace-handler-XXXXXX";
  int fd = mkstemp(fifo);
  REQUIRE(fd >= 0);
  close(fd);
  unlink(fifo);
  REQUIRE(mkfifo(fifo, 0600) == 0);
  int reader = open(fifo, O_RDONLY | O_NONBLOCK); /* there, never read */
  int err[2];
  REQUIRE(reader >= 0 && pipe(err) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    close(reader);
    close(err[0]);
    dup2(err[1], 2);
    char env1[4200];
    snprintf(env1, sizeof env1, "HAWKALLOC_TRACE=%s", fifo);
    char *envp[] = {env1, NULL};
    char *argv[] = {self_path, "--handler-child", NULL};
    execve(self_path, argv, envp);
    _exit(127);
  }
  close(err[1]);
  int status = 0, waited = 0;
  while (waitpid(pid, &status, WNOHANG) == 0 && waited++ < 100) usleep(100000);
  if (waited > 100) { /* the old hang: 10 s */
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  char line[512] = "";
  ssize_t n = read(err[0], line, sizeof line - 1);
  line[n > 0 ? n : 0] = 0;
  close(err[0]);
  close(reader);
  unlink(fifo);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
  CHECK(strstr(line, "hawkalloc: called from a signal handler") != NULL);
  CHECK(strstr(line, "its own thread holds") != NULL);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
    fprintf(stderr, "    status %d after %d tenths of a second, stderr: %s\n", status, waited,
            line);
}

/* argv: --destroy-child twice|unmapped.  Traced: destroys a created heap a
 * second time, or a pointer to a page with no access, which is no heap.
 * Each is reported on one line before the trace hears of the call: no
 * destroy record for what is not a live heap, and nothing read through the
 * pointer (the heap's id, for the record) before it is known to be one.  A
 * handler of SIGABRT writes out what the trace holds (hawk_trace_flush) and
 * exits 3, so that the file shows every record made before the report.
 * Exit 0 when nothing was reported, 2 when the setup failed. */
static void flush_at_abort(int sig) {
  (void)sig;
  hawk_trace_flush();
  _exit(3);
}

static int destroy_child(const char *what) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = flush_at_abort;
  if (sigaction(SIGABRT, &sa, NULL) != 0) return 2;
  if (strcmp(what, "twice") == 0) {
    struct hawk_heap *h = hawk_heap_create(NULL);
    if (h == NULL) return 2;
    hawk_heap_destroy(h);
    hawk_heap_destroy(h);
  } else {
    void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return 2;
    hawk_heap_destroy(page);
  }
  return 0;
}

TEST(a_destroy_of_what_is_no_live_heap_is_reported_before_it_is_traced) {
  static const struct {
    const char *what, *problem;
    size_t destroys; /* the destroy records the trace must hold */
  } cases[] = {{"twice", "not a heap (destroyed already)", 1},
               {"unmapped", "not a heap (never created)", 0}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    char path[] = "/tmp/hawk-trace-destroy-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    int err[2];
    REQUIRE(pipe(err) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      close(err[0]);
      dup2(err[1], 2);
      char env1[4200];
      snprintf(env1, sizeof env1, "HAWKALLOC_TRACE=%s", path);
      char *envp[] = {env1, NULL};
      char *argv[] = {self_path, "--destroy-child", (char *)cases[c].what, NULL};
      execve(self_path, argv, envp);
      _exit(127);
    }
    close(err[1]);
    char line[1024];
    int status = child_output(err[0], pid, line, sizeof line);
    size_t len = strlen(line);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3); /* the report's abort */
    CHECK(strncmp(line, "hawkalloc: hawk_heap_destroy(0x", 31) == 0);
    CHECK(strstr(line, cases[c].problem) != NULL);
    CHECK(len > 0 && strchr(line, '\n') == line + len - 1); /* one line */
    size_t n = 0, destroys = 0;
    struct rec *r = read_trace(path, &n, NULL);
    CHECK(r != NULL);
    for (size_t i = 0; r && i < n; i++) destroys += r[i].op == 7;
    CHECK(destroys == cases[c].destroys);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 3 || destroys != cases[c].destroys)
      fprintf(stderr, "    %s: status %d, %zu destroy records, stderr: %s%s", cases[c].what, status,
              destroys, line, len && line[len - 1] == '\n' ? "" : "\n");
    free(r);
    unlink(path);
  }
}

static int harness_main(int argc, char **argv);

int main(int argc, char **argv) {
  if (argc > 2 && strcmp(argv[1], "--errno-child") == 0) return errno_child(argv[2]);
  if (argc > 1 && strcmp(argv[1], "--traced-child") == 0) return traced_child();
  if (argc > 1 && strcmp(argv[1], "--cancel-child") == 0) return cancel_child();
  if (argc > 1 && strcmp(argv[1], "--handler-child") == 0) return handler_child();
  if (argc > 1 && strcmp(argv[1], "--exact-child") == 0) return exact_child();
  if (argc > 1 && strcmp(argv[1], "--heap-child") == 0) return heap_child();
  if (argc > 1 && strcmp(argv[1], "--many-child") == 0) return many_child();
  if (argc > 1 && strcmp(argv[1], "--race-child") == 0) return race_child();
  if (argc > 2 && strcmp(argv[1], "--destroy-child") == 0) return destroy_child(argv[2]);
  if (argc > 2 && strcmp(argv[1], "--flush-child") == 0) return flush_child(argv[2]);
  ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
  if (n <= 0) return 1;
  self_path[n] = 0;
  return harness_main(argc, argv);
}

#define main harness_main
TEST_MAIN()
