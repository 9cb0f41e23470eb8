/* test_map.c - hawk_map_write and HAWKALLOC_MAP: the heap snapshot, its
 * frames on SIGUSR2, that taking it allocates nothing, that its size does
 * not grow with the number of blocks, and the hawk tool's reading of it:
 * the SVG picture `hawk render` draws, the figures it reads back, and one
 * clear line for a snapshot that is truncated, corrupt or of another
 * version.  The tool is build/hawk (HAWK_TOOL to name another). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "hawk.h"
#include "hawkalloc.h"
#include "hawksnap.h"
#include "process.h"
#include "snapshot.h"

#define STRIPS_MAX 64

static char dir[64];

/* A fresh directory for this run's pictures. */
static const char *work_dir(void) {
  if (dir[0] == 0) {
    strcpy(dir, "/tmp/hawkmap-XXXXXX");
    if (mkdtemp(dir) == NULL) strcpy(dir, "/tmp");
  }
  return dir;
}

static const char *in_dir(const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s", work_dir(), name);
  return buf;
}

/* The file's contents (NUL-terminated), or NULL; free() it. */
static char *slurp(const char *path, size_t *len_out) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return NULL;
  }
  char *buf = malloc((size_t)st.st_size + 1);
  size_t len = 0;
  ssize_t n;
  while (buf && len < (size_t)st.st_size && (n = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
    len += (size_t)n;
  close(fd);
  if (buf) buf[len] = 0;
  if (len_out) *len_out = len;
  return buf;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static size_t count_of(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *s = text; (s = strstr(s, needle)) != NULL; s += strlen(needle)) n++;
  return n;
}

/* 1234567 as "(1,234,567 bytes)", as the picture prints exact byte counts. */
static const char *bytes_text(uint64_t v, char *buf) {
  char digits[32], grouped[48];
  int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), k = 0;
  for (int i = 0; i < n; i++) {
    grouped[k++] = digits[i];
    if ((n - i - 1) % 3 == 0 && i < n - 1) grouped[k++] = ',';
  }
  grouped[k] = 0;
  sprintf(buf, "(%s bytes)", grouped);
  return buf;
}

static struct hawk_stats stats_now(void) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  hawk_stats(&s, sizeof s);
  return s;
}

static int have_tool(const char *name) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

/* xmllint --noout and rsvg-convert (make deps installs both: a missing one
 * is a failure, not a check quietly left out). */
static void check_svg_tools(const char *svg, const char *png) {
  char cmd[512];
  REQUIRE(have_tool("xmllint") && have_tool("rsvg-convert"));
  snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", svg);
  CHECK(system(cmd) == 0);
  snprintf(cmd, sizeof cmd, "rsvg-convert -o '%s' '%s'", png, svg);
  CHECK(system(cmd) == 0);
  CHECK(file_exists(png));
}

/* --- the hawk tool ------------------------------------------------------- */

static const char *tool(void) {
  const char *t = getenv("HAWK_TOOL");
  return t ? t : "build/hawk";
}

/* Runs the tool with args (NULL-terminated), stdout into out and stderr
 * into err (NUL-terminated, either may be NULL); returns the wait status. */
static int run_tool(const char *const *args, char *out, size_t outcap, char *err, size_t errcap) {
  int po[2], pe[2];
  if (pipe(po) != 0 || pipe(pe) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(po[1], 1);
    dup2(pe[1], 2);
    close(po[0]);
    close(pe[0]);
    char *argv[16];
    int n = 0;
    argv[n++] = (char *)tool();
    for (; args[n - 1] && n < 15; n++) argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    execv(argv[0], argv);
    _exit(127);
  }
  close(po[1]);
  close(pe[1]);
  /* Both pipes are drained in turn; the outputs here are small. */
  size_t lo = 0, le = 0;
  for (int open_o = 1, open_e = 1; open_o || open_e;) {
    char sink[4096];
    if (open_o) {
      char *to = out && lo + 1 < outcap ? out + lo : sink;
      size_t cap = out && lo + 1 < outcap ? outcap - 1 - lo : sizeof sink;
      ssize_t n = read(po[0], to, cap);
      if (n <= 0)
        open_o = 0;
      else if (to != sink)
        lo += (size_t)n;
    } else if (open_e) {
      char *to = err && le + 1 < errcap ? err + le : sink;
      size_t cap = err && le + 1 < errcap ? errcap - 1 - le : sizeof sink;
      ssize_t n = read(pe[0], to, cap);
      if (n <= 0)
        open_e = 0;
      else if (to != sink)
        le += (size_t)n;
    }
  }
  if (out) out[lo] = 0;
  if (err) err[le] = 0;
  close(po[0]);
  close(pe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

/* hawk render --out svg snap: 1 when it exited 0. */
static int render(const char *snap, const char *svg) {
  const char *args[] = {"render", "--out", svg, snap, NULL};
  char err[1024];
  int status = run_tool(args, NULL, 0, err, sizeof err);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    fprintf(stderr, "    hawk render %s: status %d: %s", snap, status, err);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The value of NAME in `hawk render --summary snap` (UINT64_MAX if none). */
struct summary {
  char text[4096];
};
static int summary_of(const char *snap, struct summary *sm) {
  const char *args[] = {"render", "--summary", snap, NULL};
  int status = run_tool(args, sm->text, sizeof sm->text, NULL, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}
static uint64_t value_of(const struct summary *sm, const char *name) {
  size_t n = strlen(name);
  for (const char *l = sm->text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
    if (strncmp(l, name, n) == 0 && l[n] == ' ') return strtoull(l + n + 1, NULL, 10);
  return UINT64_MAX;
}

/* The snapshot's header as the file has it. */
static int header_of(const char *path, struct snap_header *h) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, h, sizeof *h);
  close(fd);
  return n == (ssize_t)sizeof *h && memcmp(h->magic, SNAP_MAGIC, 8) == 0;
}

static off_t size_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A heap with a bit of everything: small blocks (some freed into the thread
 * cache, some back to the heap), medium blocks with holes, large blocks. */
struct varied {
  void *small[3000];
  void *medium[400];
  void *large[3];
};

static void varied_make(struct varied *v) {
  for (int i = 0; i < 3000; i++) v->small[i] = hawk_malloc(16 + (size_t)(i * 37) % 900);
  for (int i = 0; i < 400; i++) v->medium[i] = hawk_malloc(1100 + (size_t)(i * 7919) % 60000);
  v->large[0] = hawk_malloc((size_t)3 << 19);
  v->large[1] = hawk_malloc((size_t)3 << 20);
  v->large[2] = hawk_malloc((size_t)9 << 20);
  for (int i = 0; i < 3000; i += 3) {
    hawk_free(v->small[i]);
    v->small[i] = NULL;
  }
  for (int i = 0; i < 400; i += 4) {
    hawk_free(v->medium[i]);
    v->medium[i] = NULL;
  }
}

static void varied_free(struct varied *v) {
  for (int i = 0; i < 3000; i++) hawk_free(v->small[i]);
  for (int i = 0; i < 400; i++) hawk_free(v->medium[i]);
  for (int i = 0; i < 3; i++) hawk_free(v->large[i]);
}

/* The figures recounted block by block with hawk_walk: an independent
 * computation of what the picture must show. */
struct recount {
  uint64_t in_use, free_bytes, largest_free, cached;
};
static void recount_visit(void *ctx, const struct hawk_block_info *b) {
  struct recount *r = ctx;
  if (b->state == HAWK_BLOCK_FREE) {
    r->free_bytes += b->size;
    if (b->size > r->largest_free) r->largest_free = b->size;
  } else if (b->state == HAWK_BLOCK_LARGE) {
    r->in_use += b->region_size; /* a large block counts its whole mapping */
  } else {
    r->in_use += b->size;
    if (b->state == HAWK_BLOCK_CACHED) r->cached += b->size;
  }
}

TEST(map_of_a_varied_heap) {
  static struct varied v;
  varied_make(&v);
  char snap[128], svg[128], png[128], tmp[160];
  in_dir("varied.snap", snap, sizeof snap);
  in_dir("varied.svg", svg, sizeof svg);
  in_dir("varied.png", png, sizeof png);
  struct hawk_stats before = stats_now();
  errno = 1234;
  REQUIRE(hawk_map_write(snap) == 0);
  CHECK(errno == 1234); /* success leaves errno alone */
  struct hawk_stats after = stats_now();
  struct recount rc = {0, 0, 0, 0}; /* before this test allocates anything more */
  hawk_walk(recount_visit, &rc);
  CHECK(after.mallocs == before.mallocs); /* taking it allocated nothing */
  CHECK(after.frees == before.frees);
  CHECK(after.in_use == before.in_use);
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", snap, (int)getpid());
  CHECK(!file_exists(tmp));
  struct snap_header h;
  CHECK(header_of(snap, &h) && h.version == SNAP_VERSION && h.cause == SNAP_CALL);
  CHECK(h.pid == (int32_t)getpid());
  struct stat st;
  CHECK(stat(snap, &st) == 0 && (st.st_mode & 0777) == 0600);
  REQUIRE(render(snap, svg));

  size_t len = 0;
  char *text = slurp(svg, &len);
  REQUIRE(text != NULL);
  printf("     %s: %zu bytes, %llu arenas, %llu large blocks\n", svg, len,
         (unsigned long long)after.arenas, (unsigned long long)after.large_blocks);
  CHECK(strncmp(text, "<?xml", 5) == 0 || strncmp(text, "<svg", 4) == 0);
  CHECK(strstr(text, "<svg") != NULL);
  CHECK(strstr(text, "</svg>") != NULL);
  size_t arenas = after.arenas < STRIPS_MAX ? after.arenas : STRIPS_MAX;
  size_t larges =
      STRIPS_MAX - arenas < after.large_blocks ? STRIPS_MAX - arenas : after.large_blocks;
  CHECK(after.arenas >= 2);
  CHECK(after.large_blocks >= 3);
  CHECK(count_of(text, "class=\"strip arena\"") == arenas);
  CHECK(count_of(text, "class=\"strip large\"") == larges);
  /* the legend */
  CHECK(strstr(text, "allocated") != NULL);
  CHECK(strstr(text, "free: on a free list") != NULL);
  CHECK(strstr(text, "thread-cached") != NULL);
  CHECK(strstr(text, "own mapping") != NULL);
  /* the figures, exact to the byte, against a recount of the blocks (the
   * mapped bytes and the footprint, which no walk sees, against the
   * statistics) */
  char num[64];
  CHECK(rc.in_use == after.in_use && rc.free_bytes == after.free_bytes);
  CHECK(strstr(text, bytes_text(rc.in_use, num)) != NULL);
  CHECK(strstr(text, bytes_text(rc.free_bytes, num)) != NULL);
  CHECK(strstr(text, bytes_text(rc.largest_free, num)) != NULL);
  CHECK(strstr(text, bytes_text(rc.cached, num)) != NULL);
  CHECK(strstr(text, bytes_text(after.mapped, num)) != NULL);
  CHECK(strstr(text, bytes_text(after.footprint, num)) != NULL);
  CHECK(strstr(text, "external fragmentation") != NULL);
  CHECK(strstr(text, "occupancy") != NULL);
  CHECK(strstr(text, hawk_policy_name()) != NULL);
  CHECK(strstr(text, " UTC") != NULL);
  /* the address space */
  CHECK(strstr(text, "[stack]") != NULL);
  CHECK(strstr(text, "HawkAlloc arenas") != NULL);
  CHECK(strstr(text, "top of user space") != NULL);
  CHECK(strstr(text, "test_map") != NULL); /* the program itself */
  free(text);

  check_svg_tools(svg, png);
  CHECK(hawk_check() == 0);
  varied_free(&v);
  CHECK(hawk_check() == 0);
}

TEST(map_write_errors) {
  errno = 0;
  CHECK(hawk_map_write(NULL) == -1 && errno == EINVAL);
  errno = 0;
  CHECK(hawk_map_write("") == -1 && errno == ENOENT);
  errno = 0;
  CHECK(hawk_map_write("/nonexistent-hawk-dir/x.snap") == -1 && errno == ENOENT);
  /* A directory in the way of the rename: the temporary file goes away. */
  char path[128], tmp[160];
  in_dir("a-directory", path, sizeof path);
  REQUIRE(mkdir(path, 0755) == 0);
  errno = 0;
  CHECK(hawk_map_write(path) == -1 && errno == EISDIR);
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
  CHECK(!file_exists(tmp));
  rmdir(path);
  CHECK(hawk_check() == 0);
}

/* An empty heap (after everything is freed) still makes a sound picture. */
TEST(map_of_a_quiet_heap) {
  hawk_trim();
  char snap[128], svg[128], png[128];
  in_dir("quiet.snap", snap, sizeof snap);
  in_dir("quiet.svg", svg, sizeof svg);
  in_dir("quiet.png", png, sizeof png);
  REQUIRE(hawk_map_write(snap) == 0);
  REQUIRE(render(snap, svg));
  check_svg_tools(svg, png);
}

/* More strips than are drawn, and blocks of one to three pixels in
 * alternating states (the most rectangles a strip can need): the file stays
 * small and says what it left out. */
TEST(map_stays_small) {
  enum { LARGE = 70, MEDIUM = 2400 };
  static void *large[LARGE], *medium[MEDIUM];
  for (int i = 0; i < LARGE; i++) large[i] = hawk_malloc((size_t)1 << 20);
  for (int i = 0; i < MEDIUM; i++) medium[i] = hawk_malloc(4000 + (size_t)(i % 3) * 2000);
  for (int i = 0; i < MEDIUM; i += 2) {
    hawk_free(medium[i]);
    medium[i] = NULL;
  }
  char snap[128], svg[128], png[128];
  in_dir("many.snap", snap, sizeof snap);
  in_dir("many.svg", svg, sizeof svg);
  in_dir("many.png", png, sizeof png);
  struct hawk_stats before = stats_now();
  REQUIRE(hawk_map_write(snap) == 0);
  struct hawk_stats after = stats_now();
  CHECK(after.mallocs == before.mallocs);
  REQUIRE(render(snap, svg));
  size_t len = 0;
  char *text = slurp(svg, &len);
  REQUIRE(text != NULL);
  printf("     %s: %zu bytes for %llu arenas and %llu large blocks\n", svg, len,
         (unsigned long long)after.arenas, (unsigned long long)after.large_blocks);
  CHECK(count_of(text, "class=\"strip ") == STRIPS_MAX);
  CHECK(strstr(text, "more large blocks, not drawn") != NULL);
  /* 64 strips of the worst kind would be about 64 x 60 KB. */
  CHECK(len < (size_t)4 << 20);
  free(text);
  check_svg_tools(svg, png);
  for (int i = 0; i < MEDIUM; i++) hawk_free(medium[i]);
  for (int i = 0; i < LARGE; i++) hawk_free(large[i]);
  CHECK(hawk_check() == 0);
}

/* Threads allocate and free while pictures are written. */
static int churn_stop;

static void *churn(void *arg) {
  (void)arg;
  void *slots[256] = {0};
  unsigned x = (unsigned)(uintptr_t)&slots;
  while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED)) {
    x = x * 1103515245u + 12345u;
    unsigned i = (x >> 8) % 256;
    hawk_free(slots[i]);
    slots[i] = hawk_malloc(16 + (x >> 12) % 5000);
  }
  for (int i = 0; i < 256; i++) hawk_free(slots[i]);
  return NULL;
}

TEST(map_while_threads_allocate) {
  pthread_t t[3];
  __atomic_store_n(&churn_stop, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < 3; i++) REQUIRE(pthread_create(&t[i], NULL, churn, NULL) == 0);
  char snap[128], svg[128];
  in_dir("busy.snap", snap, sizeof snap);
  in_dir("busy.svg", svg, sizeof svg);
  for (int i = 0; i < 5; i++) CHECK(hawk_map_write(snap) == 0);
  __atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  char png[128];
  in_dir("busy.png", png, sizeof png);
  REQUIRE(render(snap, svg));
  check_svg_tools(svg, png);
  CHECK(hawk_check() == 0);
}

/* --- the snapshot read back by the tool -------------------------------- */

/* The walk's sums, by state, as the snapshot's strips must have them. */
struct walk_sums {
  uint64_t bytes[4], free_blocks, largest_free, arenas, larges;
  uintptr_t last_region;
};
static void sums_visit(void *ctx, const struct hawk_block_info *b) {
  struct walk_sums *w = ctx;
  w->bytes[b->state] += b->size;
  if (b->region != w->last_region) {
    w->last_region = b->region;
    if (b->state == HAWK_BLOCK_LARGE)
      w->larges++;
    else
      w->arenas++;
  }
  if (b->state != HAWK_BLOCK_FREE) return;
  w->free_blocks++;
  if (b->size > w->largest_free) w->largest_free = b->size;
}

/* The chunks (ARENA_SIZE bytes each) of the walk's large mappings: the
 * first of each, and the later ones. */
struct large_chunks {
  uint64_t first, later;
};
static void large_chunks_visit(void *ctx, const struct hawk_block_info *b) {
  struct large_chunks *c = ctx;
  if (b->state != HAWK_BLOCK_LARGE) return;
  c->first++;
  c->later += (b->region_size + ARENA_SIZE - 1) / ARENA_SIZE - 1;
}

/* /proc/self/maps read whole, with no allocation; its length. */
static char maps_text[1 << 17];
static size_t maps_now(void) {
  int fd = open("/proc/self/maps", O_RDONLY);
  size_t len = 0;
  ssize_t n;
  while (fd >= 0 && len < sizeof maps_text &&
         (n = read(fd, maps_text + len, sizeof maps_text - len)) > 0)
    len += (size_t)n;
  if (fd >= 0) close(fd);
  return len;
}

/* In a fresh process: the library writes, the tool reads back, and every
 * figure equals hawk_stats and every sum a hawk_walk taken at the same
 * moment; the registry's chunks are the arenas' and the large mappings'
 * (each chunk of them), and /proc/self/maps is there whole, though it
 * takes more than one read (a mapping cut into 128 by its protections). */
TEST(snapshot_round_trip) {
  if (!is_fresh("snapshot_round_trip")) {
    CHECK(run_fresh("snapshot_round_trip") == 0);
    return;
  }
  static struct varied v;
  varied_make(&v);
  size_t pg = (size_t)sysconf(_SC_PAGESIZE);
  char *cut = mmap(NULL, 128 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(cut != MAP_FAILED);
  for (int i = 0; i < 128; i += 2) REQUIRE(mprotect(cut + (size_t)i * pg, pg, PROT_READ) == 0);
  char snap[128];
  in_dir("round.snap", snap, sizeof snap);
  REQUIRE(hawk_map_write(snap) == 0);
  size_t maps_len = maps_now();
  struct hawk_stats s = stats_now();
  struct walk_sums w;
  memset(&w, 0, sizeof w);
  hawk_walk(sums_visit, &w);
  struct large_chunks lc = {0, 0};
  hawk_walk(large_chunks_visit, &lc);
  struct summary sm; /* from here on the test itself allocates */
  REQUIRE(summary_of(snap, &sm));
  CHECK(value_of(&sm, "version") == SNAP_VERSION);
  CHECK(value_of(&sm, "pid") == (uint64_t)getpid());
  CHECK(value_of(&sm, "cause") == SNAP_CALL && value_of(&sm, "from_signal") == 0);
  CHECK(strstr(sm.text, "\npolicy segregated\n") || strstr(sm.text, hawk_policy_name()));
  CHECK(strstr(sm.text, "test_map") != NULL); /* the program */
  CHECK(value_of(&sm, "in_use") == s.in_use);
  CHECK(value_of(&sm, "mapped") == s.mapped);
  CHECK(value_of(&sm, "footprint") == s.footprint);
  CHECK(value_of(&sm, "thread_cached") == s.thread_cached);
  CHECK(value_of(&sm, "arenas") == s.arenas);
  CHECK(value_of(&sm, "cached_arenas") == s.cached_arenas);
  CHECK(value_of(&sm, "large_blocks") == s.large_blocks);
  CHECK(value_of(&sm, "heaps") == s.heaps);
  CHECK(value_of(&sm, "free_bytes") == s.free_bytes);
  CHECK(value_of(&sm, "free_blocks") == s.free_blocks);
  CHECK(value_of(&sm, "largest_free") == s.largest_free);
  CHECK(value_of(&sm, "strips") == w.arenas + w.larges);
  CHECK(value_of(&sm, "walk_free_bytes") == w.bytes[HAWK_BLOCK_FREE]);
  CHECK(value_of(&sm, "walk_allocated_bytes") == w.bytes[HAWK_BLOCK_ALLOCATED]);
  CHECK(value_of(&sm, "walk_cached_bytes") == w.bytes[HAWK_BLOCK_CACHED]);
  CHECK(value_of(&sm, "walk_large_bytes") == w.bytes[HAWK_BLOCK_LARGE]);
  CHECK(value_of(&sm, "walk_free_blocks") == w.free_blocks);
  CHECK(value_of(&sm, "walk_largest_free") == w.largest_free);
  CHECK(w.arenas >= 2 && w.larges >= 3 && w.bytes[HAWK_BLOCK_CACHED] > 0);
  CHECK(value_of(&sm, "maps_bytes") > 100 && value_of(&sm, "leaves") >= 1);
  CHECK(maps_len > 4096 && value_of(&sm, "maps_bytes") == maps_len);
  CHECK(value_of(&sm, "chunks_1") == s.arenas + s.cached_arenas);
  CHECK(value_of(&sm, "chunks_2") == lc.first && lc.first == s.large_blocks);
  CHECK(value_of(&sm, "chunks_3") == lc.later && lc.later >= 2); /* 9 MiB: 3 chunks */
  printf("     arenas %llu (%llu cached), large blocks %llu (%llu later chunks), maps %zu bytes\n",
         (unsigned long long)s.arenas, (unsigned long long)s.cached_arenas,
         (unsigned long long)lc.first, (unsigned long long)lc.later, maps_len);
  munmap(cut, 128 * pg);
  varied_free(&v);
}

/* The size of a snapshot does not grow with the number of blocks: 10
 * blocks, then a million small ones (every other one freed, the most
 * pieces a strip can need) in a fresh process.  A strip has at most about
 * a thousand pieces (one a pixel, a few more where blocks of three pixels
 * or more stand alone): at most 2,048 of 32 bytes and two records for each
 * strip, plus slack for /proc/self/maps growing.  One record per block
 * would be 8 MB or more. */
TEST(snapshot_size_does_not_grow_with_blocks) {
  if (!is_fresh("snapshot_size_does_not_grow_with_blocks")) {
    CHECK(run_fresh("snapshot_size_does_not_grow_with_blocks") == 0);
    return;
  }
  enum { FEW = 10, MANY = 1000000 };
  static void *few[FEW];
  for (int i = 0; i < FEW; i++) few[i] = hawk_malloc(32);
  char a[128], b[128];
  in_dir("few.snap", a, sizeof a);
  in_dir("many-blocks.snap", b, sizeof b);
  REQUIRE(hawk_map_write(a) == 0);
  void **many = hawk_malloc(MANY * sizeof *many);
  REQUIRE(many != NULL);
  for (int i = 0; i < MANY; i++) many[i] = hawk_malloc(16 + (size_t)(i % 3) * 8);
  for (int i = 0; i < MANY; i += 2) {
    hawk_free(many[i]);
    many[i] = NULL;
  }
  REQUIRE(hawk_map_write(b) == 0);
  struct hawk_stats s = stats_now();
  struct summary sm;
  REQUIRE(summary_of(b, &sm));
  uint64_t strips = value_of(&sm, "strips"), pieces = value_of(&sm, "pieces");
  off_t size_a = size_of(a), size_b = size_of(b);
  printf("     %d blocks: %lld bytes; %d blocks in %llu strips: %lld bytes, %llu pieces\n", FEW,
         (long long)size_a, MANY, (unsigned long long)strips, (long long)size_b,
         (unsigned long long)pieces);
  CHECK(strips == s.arenas + s.large_blocks && s.arenas >= 4);
  uint64_t drawn = strips < SNAP_STRIPS_DRAWN ? strips : SNAP_STRIPS_DRAWN;
  CHECK(pieces <= drawn * 2048);
  CHECK(size_a > 0 && size_b > 0);
  CHECK((uint64_t)size_b <= (uint64_t)size_a + drawn * 2048 * 32 + strips * 128 + (64 << 10));
  for (int i = 0; i < MANY; i++) hawk_free(many[i]);
  hawk_free(many);
  for (int i = 0; i < FEW; i++) hawk_free(few[i]);
}

/* Whether x, a strip's x in tenths of a pixel, is the nearest to the byte
 * at off of a strip whose SNAP_STRIP_PX tenths stand for span bytes (the
 * strip's end for a byte past it). */
static int nearest_tenth(uint64_t x, uint64_t off, uint64_t span) {
  if (off >= span) return x == SNAP_STRIP_PX;
  uint64_t drawn = x * span, at = off * SNAP_STRIP_PX;
  return 2 * (drawn > at ? drawn - at : at - drawn) <= span;
}

struct walk_blocks {
  size_t n;
  struct {
    uint64_t address, size;
  } b[8192];
};
static void blocks_visit(void *ctx, const struct hawk_block_info *b) {
  struct walk_blocks *w = ctx;
  if (w->n < sizeof w->b / sizeof w->b[0]) {
    w->b[w->n].address = b->address;
    w->b[w->n].size = b->size;
  }
  w->n++;
}

/* Where a block is drawn: a piece of its own (a block three pixels wide or
 * more, 12 KiB of an arena) spans the tenths of a pixel nearest to its
 * first byte and to the byte past it, and is a block the walk reports, at
 * its address and of its size.  Read from the snapshot's records. */
TEST(snapshot_pieces_stand_where_their_blocks_lie) {
  enum { N = 48 };
  static void *blk[N];
  for (int i = 0; i < N; i++) REQUIRE((blk[i] = hawk_malloc(13000 + (size_t)i * 1111)) != NULL);
  for (int i = 0; i < N; i += 3) {
    hawk_free(blk[i]);
    blk[i] = NULL;
  }
  char snap[128];
  in_dir("pieces.snap", snap, sizeof snap);
  REQUIRE(hawk_map_write(snap) == 0);
  static struct walk_blocks w;
  w.n = 0;
  hawk_walk(blocks_visit, &w);
  REQUIRE(w.n <= sizeof w.b / sizeof w.b[0]);
  size_t len = 0;
  char *f = slurp(snap, &len);
  REQUIRE(f != NULL && len >= sizeof(struct snap_header));
  struct snap_header h;
  memcpy(&h, f, sizeof h);
  struct snap_strip strip = {0};
  size_t alone = 0, headers = 0, placed = 0, found = 0;
  for (size_t at = h.header_size; at + sizeof(struct snap_record) <= len;) {
    struct snap_record r;
    memcpy(&r, f + at, sizeof r);
    at += sizeof r;
    if (r.type == SNAP_END || at + r.len > len) break;
    if (r.type == SNAP_STRIP && r.len >= sizeof strip) memcpy(&strip, f + at, sizeof strip);
    if (r.type == SNAP_PIECE && r.len >= sizeof(struct snap_piece)) {
      struct snap_piece pc;
      memcpy(&pc, f + at, sizeof pc);
      if (pc.alone) {
        alone++;
        uint64_t off = pc.address - strip.region;
        placed += nearest_tenth(pc.x0, off, strip.span) &&
                  nearest_tenth(pc.x1, off + pc.size, strip.span);
        if (pc.state == SNAP_ST_HEADER) {
          headers++;
        } else {
          for (size_t k = 0; k < w.n; k++)
            if (w.b[k].address == pc.address && w.b[k].size == pc.size) {
              found++;
              break;
            }
        }
      }
    }
    at += r.len;
  }
  printf("     %zu pieces of their own, %zu of them headers\n", alone, headers);
  CHECK(alone >= N / 2);
  CHECK(placed == alone);
  CHECK(found == alone - headers);
  free(f);
  for (int i = 0; i < N; i++) hawk_free(blk[i]);
  CHECK(hawk_check() == 0);
}

/* hawk render on a bad file: exit status 2 and exactly one line on
 * stderr, "hawk: render: FILE: what is wrong".  1 when so. */
static int rejected(const char *path, const char *want) {
  char out[256], svg[160];
  snprintf(svg, sizeof svg, "%s.svg", path);
  const char *args[] = {"render", "--out", svg, path, NULL};
  char err[2048];
  int status = run_tool(args, out, sizeof out, err, sizeof err);
  char *nl = strchr(err, '\n');
  int one_line = nl && nl[1] == 0 && strncmp(err, "hawk: render: ", 14) == 0;
  int ok = WIFEXITED(status) && WEXITSTATUS(status) == 2 && one_line &&
           (!want || strstr(err, want) != NULL);
  if (!ok) fprintf(stderr, "    %s: status %d, stderr [%s]\n", path, status, err);
  return ok;
}

static int write_file(const char *path, const void *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return 0;
  int ok = write(fd, data, len) == (ssize_t)len;
  close(fd);
  return ok;
}

/* A hand-made snapshot: a header, the records given, an end record. */
static size_t craft(unsigned char *buf, uint32_t version, const uint32_t *types,
                    const uint32_t *lens, int n) {
  struct snap_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, SNAP_MAGIC, 8);
  h.version = version;
  h.header_size = sizeof h;
  memcpy(buf, &h, sizeof h);
  size_t at = sizeof h;
  for (int i = 0; i <= n; i++) {
    struct snap_record r = {i < n ? types[i] : SNAP_END, i < n ? lens[i] : 0};
    memcpy(buf + at, &r, sizeof r);
    at += sizeof r;
    memset(buf + at, 0, r.len);
    at += r.len;
  }
  return at;
}

TEST(render_rejects_a_bad_snapshot_with_one_line) {
  static struct varied v;
  varied_make(&v);
  char good[128], bad[160];
  in_dir("good.snap", good, sizeof good);
  in_dir("bad.snap", bad, sizeof bad);
  REQUIRE(hawk_map_write(good) == 0);
  varied_free(&v);
  size_t len = 0;
  unsigned char *d = (unsigned char *)slurp(good, &len);
  REQUIRE(d != NULL && len > 200);
  /* Cut anywhere: at every byte of the header and the first records, then
   * every 61st byte, and just before the end record's last byte. */
  int cuts = 0, cut_ok = 0;
  for (size_t n = 0; n < len; n += n < 200 ? 1 : 61) {
    cuts++;
    cut_ok += write_file(bad, d, n) && rejected(bad, NULL);
  }
  cuts += 2;
  cut_ok += write_file(bad, d, len - 1) && rejected(bad, "truncated");
  cut_ok += write_file(bad, d, len - 8) && rejected(bad, "no end record");
  CHECK(cut_ok == cuts);
  /* Not a snapshot, another version, a header size past the end. */
  unsigned char *m = malloc(len);
  REQUIRE(m != NULL);
  memcpy(m, d, len);
  m[0] = 'X';
  CHECK(write_file(bad, m, len) && rejected(bad, "not a HawkAlloc heap snapshot"));
  memcpy(m, d, len);
  struct snap_header h;
  memcpy(&h, m, sizeof h);
  h.version = SNAP_VERSION + 1;
  memcpy(m, &h, sizeof h);
  CHECK(write_file(bad, m, len) && rejected(bad, "version 3"));
  h.version = 0x01000000; /* version 1 in the other byte order */
  memcpy(m, &h, sizeof h);
  CHECK(write_file(bad, m, len) && rejected(bad, "version"));
  h.version = SNAP_VERSION;
  h.header_size = 0xffffffffu;
  memcpy(m, &h, sizeof h);
  CHECK(write_file(bad, m, len) && rejected(bad, "header size"));
  /* The first record claims 2 GiB. */
  memcpy(m, d, len);
  uint32_t huge = 0x7fffffffu;
  memcpy(m + sizeof h + 4, &huge, 4);
  CHECK(write_file(bad, m, len) && rejected(bad, "truncated"));
  free(m);
  free(d);
  /* Records that make no sense. */
  unsigned char buf[1024];
  const uint32_t fig = SNAP_FIGURES, fsz = sizeof(struct snap_figures);
  struct {
    uint32_t types[4], lens[4];
    int n;
    const char *why;
  } cases[] = {
      {{SNAP_POLICY}, {3}, 1, "no figures record"},
      {{fig, SNAP_PIECE}, {fsz, sizeof(struct snap_piece)}, 2, "piece outside a strip"},
      {{fig, SNAP_STRIP_END}, {fsz, sizeof(struct snap_strip_end)}, 2, "without its start"},
      {{fig, SNAP_FIGURES}, {fsz, 8}, 2, "is 8 bytes, not"},
      {{fig, SNAP_STRIP}, {fsz, sizeof(struct snap_strip)}, 2, "strip of size 0"},
      {{fig, SNAP_CHUNKS}, {fsz, sizeof(struct snap_chunks)}, 2, "chunks of no kind"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    size_t n = craft(buf, SNAP_VERSION, cases[i].types, cases[i].lens, cases[i].n);
    CHECK(write_file(bad, buf, n) && rejected(bad, cases[i].why));
  }
  /* A strip that is never ended, a piece past its strip. */
  struct snap_strip st = {.region = 1 << 22, .region_size = 1 << 22, .span = 1 << 22};
  struct snap_piece pc = {.x0 = 0, .x1 = SNAP_STRIP_PX + 1, .state = SNAP_ST_FREE};
  const uint32_t t3[] = {SNAP_FIGURES, SNAP_STRIP, SNAP_PIECE};
  const uint32_t l3[] = {fsz, sizeof st, sizeof pc};
  size_t n = craft(buf, SNAP_VERSION, t3, l3, 2);
  memcpy(buf + sizeof h + 8 + fsz + 8, &st, sizeof st);
  CHECK(write_file(bad, buf, n) && rejected(bad, "has no end"));
  n = craft(buf, SNAP_VERSION, t3, l3, 3);
  memcpy(buf + sizeof h + 8 + fsz + 8, &st, sizeof st);
  memcpy(buf + sizeof h + 8 + fsz + 8 + sizeof st + 8, &pc, sizeof pc);
  CHECK(write_file(bad, buf, n) && rejected(bad, "out of its strip"));
  /* And a good hand-made one is drawn. */
  const uint32_t t1[] = {SNAP_FIGURES};
  n = craft(buf, SNAP_VERSION, t1, &fsz, 1);
  CHECK(write_file(bad, buf, n) && render(bad, good));
}

/* Random bytes changed in a good snapshot (seeded): the tool draws it or
 * rejects it with one line and status 2, and never dies of a signal. */
TEST(render_survives_corrupt_snapshots) {
  char good[128], bad[160], svg[170];
  in_dir("fuzz-good.snap", good, sizeof good);
  in_dir("fuzz.snap", bad, sizeof bad);
  snprintf(svg, sizeof svg, "%s.svg", bad);
  static struct varied v;
  varied_make(&v);
  REQUIRE(hawk_map_write(good) == 0);
  varied_free(&v);
  size_t len = 0;
  unsigned char *d = (unsigned char *)slurp(good, &len);
  REQUIRE(d != NULL && len > 64);
  unsigned char *m = malloc(len);
  REQUIRE(m != NULL);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  int drawn = 0, refused = 0, other = 0;
  for (int round = 0; round < 150; round++) {
    memcpy(m, d, len);
    int flips = 1 + round % 8;
    for (int k = 0; k < flips; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      /* Half the changes land in the first 2 KiB: header, figures, the
       * first strip's records. */
      size_t at = (size_t)(x >> 20) % (k % 2 ? len : (len < 2048 ? len : 2048));
      m[at] = (unsigned char)(x >> 8);
    }
    REQUIRE(write_file(bad, m, len));
    const char *args[] = {"render", "--out", svg, bad, NULL};
    char err[2048];
    int status = run_tool(args, NULL, 0, err, sizeof err);
    char *nl = strchr(err, '\n');
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && err[0] == 0)
      drawn++;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && nl && nl[1] == 0)
      refused++;
    else {
      other++;
      fprintf(stderr, "    round %d: status %d, stderr [%s]\n", round, status, err);
    }
  }
  printf("     150 corrupt snapshots: %d drawn, %d refused with one line\n", drawn, refused);
  CHECK(other == 0);
  CHECK(refused > 0);
  free(m);
  free(d);
}

/* --- a snapshot made by hand, its picture worked out here ---------------- */

/* A snapshot built record by record in memory. */
struct hand {
  unsigned char buf[16384];
  size_t len;
};

static void hand_header(struct hand *b, uint32_t extra, int64_t time) {
  struct snap_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, SNAP_MAGIC, 8);
  h.version = SNAP_VERSION;
  h.header_size = (uint32_t)sizeof h + extra;
  h.cause = SNAP_CALL;
  h.pid = 4242;
  h.time = time;
  memcpy(b->buf, &h, sizeof h);
  memset(b->buf + sizeof h, 0xa5, extra); /* what a later version's header adds */
  b->len = sizeof h + extra;
}

static void hand_record(struct hand *b, uint32_t type, const void *p, uint32_t n) {
  struct snap_record r = {type, n};
  REQUIRE(b->len + sizeof r + n <= sizeof b->buf);
  memcpy(b->buf + b->len, &r, sizeof r);
  if (n) memcpy(b->buf + b->len + sizeof r, p, n);
  b->len += sizeof r + n;
}

static void hand_text(struct hand *b, uint32_t type, const char *s) {
  hand_record(b, type, s, (uint32_t)strlen(s));
}

/* A heap of one arena, drawn from records whose every figure is chosen
 * here: header_extra bytes of a later version's header after the header. */
static void hand_arena(struct hand *b, uint32_t header_extra) {
  const uint64_t arena = (uint64_t)0x7f1234000000, mib = 1 << 20;
  /* 2024-02-29 11:52:03 UTC: days and seconds counted by hand, 19,782 days
   * from 1970 (54 years, 13 of them leap: 1972 ... 2020) to 2024-01-01,
   * then 31 + 28 days of 2024 */
  int64_t days = 54 * 365 + 13 + 31 + 28;
  hand_header(b, header_extra, days * 86400 + 11 * 3600 + 52 * 60 + 3);
  hand_text(b, SNAP_PROGRAM, "/opt/lab/a<b&c>.out");
  hand_text(b, SNAP_POLICY, "best-fit");
  struct snap_figures f = {.in_use = 1234567,
                           .mapped = 3000000,
                           .footprint = 2500000,
                           .arenas = 1,
                           .heaps = 1,
                           .free_bytes = 3000,
                           .free_blocks = 3,
                           .largest_free = 1000};
  hand_record(b, SNAP_FIGURES, &f, sizeof f);
  struct snap_strip st = {.region = arena, .region_size = 4 * mib, .span = 4 * mib, .heap = 0};
  hand_record(b, SNAP_STRIP, &st, sizeof st);
  /* a free block alone: 400 KiB at the arena's byte 64, pixels 0 to 100 */
  struct snap_piece alone = {.x0 = 0,
                             .x1 = 1000,
                             .state = SNAP_ST_FREE,
                             .alone = 1,
                             .address = arena + 64,
                             .size = 400 << 10};
  hand_record(b, SNAP_PIECE, &alone, sizeof alone);
  /* columns of allocated blocks up to the strip's last pixel */
  struct snap_piece last = {.x0 = 10000, .x1 = SNAP_STRIP_PX, .state = SNAP_ST_ALLOC};
  hand_record(b, SNAP_PIECE, &last, sizeof last);
  struct snap_strip_end e = {.free_blocks = 3, .largest_free = 400 << 10};
  e.bytes[SNAP_ST_ALLOC] = mib;
  e.bytes[SNAP_ST_CACHED] = mib;
  e.bytes[SNAP_ST_FREE] = 2 * mib;
  hand_record(b, SNAP_STRIP_END, &e, sizeof e);
  /* two empty arenas in the library's cache (chunks of kind 1), and a
   * large block's first chunk (kind 2), which is no cached arena */
  struct snap_chunks cached = {.address = arena + 8 * mib, .count = 2, .kind = 1};
  hand_record(b, SNAP_CHUNKS, &cached, sizeof cached);
  struct snap_chunks large = {.address = arena + 64 * mib, .count = 1, .kind = 2};
  hand_record(b, SNAP_CHUNKS, &large, sizeof large);
  hand_text(b, SNAP_MAPS,
            "7ffc12300000-7ffc12321000 rw-p 00000000 00:00 0                          [stack]\n");
  hand_record(b, SNAP_END, NULL, 0);
}

TEST(render_draws_a_hand_made_snapshot_as_its_records_say) {
  static struct hand b;
  char snap[128], svg[128], png[128];
  in_dir("hand.snap", snap, sizeof snap);
  in_dir("hand.svg", svg, sizeof svg);
  in_dir("hand.png", png, sizeof png);
  hand_arena(&b, 0);
  REQUIRE(write_file(snap, b.buf, b.len));
  REQUIRE(render(snap, svg));
  char *text = slurp(svg, NULL);
  REQUIRE(text != NULL);
  /* the time, in UTC, of a day of February of a leap year */
  CHECK(strstr(text, "2024-02-29 11:52:03 UTC") != NULL);
  /* the program's name, escaped for XML */
  CHECK(strstr(text, "a&lt;b&amp;c&gt;.out") != NULL);
  CHECK(strstr(text, "a<b") == NULL);
  /* the percentages to the nearest tenth: (3000 - 1000) / 3000 is 66.67%,
   * 1,234,567 / 3,000,000 is 41.15% */
  CHECK(strstr(text, ">66.7%<") != NULL);
  CHECK(strstr(text, ">41.2%<") != NULL);
  /* the strip: 4 MiB drawn across its 1024 pixels, outlined so */
  CHECK(strstr(text, "width=\"1024\" height=\"22\" class=\"bg\"") != NULL);
  CHECK(strstr(text, "width=\"1024\" height=\"22\" class=\"e\"") != NULL);
  /* its label: used = (1 MiB allocated + 1 MiB cached) / 4 MiB */
  CHECK(strstr(text, ">50% used · 3 free · largest 400 KiB<") != NULL);
  /* the block alone: its tooltip names its state, size and address (the
   * block's, as hawk_walk gives it) */
  CHECK(strstr(text, "<title>free block, 400 KiB, at 0x7f1234000040</title>") != NULL);
  /* the columns up to the last pixel: pixels 1000 to 1024, allocated */
  CHECK(strstr(text, "<rect x=\"1000\" width=\"24\" height=\"22\" class=\"a\"/>") != NULL);
  /* view 2: the two cached arenas (8 MiB), the stack from the maps */
  CHECK(strstr(text, ">cached arenas<") != NULL);
  CHECK(strstr(text, ">8 MiB · 2 arenas<") != NULL);
  CHECK(strstr(text, "[stack]") != NULL);
  check_svg_tools(svg, png);
  /* A later version's longer header is passed over by its header_size:
   * the same picture. */
  char snap2[128], svg2[128];
  in_dir("hand-longer.snap", snap2, sizeof snap2);
  in_dir("hand-longer.svg", svg2, sizeof svg2);
  hand_arena(&b, 24);
  REQUIRE(write_file(snap2, b.buf, b.len));
  REQUIRE(render(snap2, svg2));
  char *text2 = slurp(svg2, NULL);
  CHECK(text2 && strcmp(text, text2) == 0);
  free(text2);
  free(text);
}

/* View 2 from a hand-made copy of /proc/self/maps: a program mapped in
 * three pieces, its .bss, the brk heap, an anonymous mapping that holds
 * the one arena (cut around it), a library in two pieces, the stack and the
 * vdso.  Every region's place, extent and size, and two gaps, worked out by
 * hand from the addresses below. */
TEST(render_lays_out_the_address_space_as_the_maps_say) {
  static struct hand b;
  char snap[128], svg[128];
  in_dir("space.snap", snap, sizeof snap);
  in_dir("space.svg", svg, sizeof svg);
  hand_header(&b, 0, 0);
  hand_text(&b, SNAP_PROGRAM, "/usr/bin/toy");
  hand_text(&b, SNAP_POLICY, "segregated");
  struct snap_figures f = {.arenas = 1, .heaps = 1};
  hand_record(&b, SNAP_FIGURES, &f, sizeof f);
  struct snap_strip st = {.region = 0x7f1234000000, .region_size = 4 << 20, .span = 4 << 20};
  struct snap_strip_end e = {.bytes = {4 << 20}, .free_blocks = 1, .largest_free = 4 << 20};
  hand_record(&b, SNAP_STRIP, &st, sizeof st);
  hand_record(&b, SNAP_STRIP_END, &e, sizeof e);
  hand_text(&b, SNAP_MAPS,
            "555555554000-555555556000 r--p 00000000 08:01 100 /usr/bin/toy\n"
            "555555556000-555555558000 r-xp 00002000 08:01 100 /usr/bin/toy\n"
            "555555558000-555555559000 rw-p 00004000 08:01 100 /usr/bin/toy\n"
            "555555559000-55555555a000 rw-p 00000000 00:00 0\n"
            "555555600000-555555621000 rw-p 00000000 00:00 0 [heap]\n"
            "7f1233f00000-7f1234500000 rw-p 00000000 00:00 0\n"
            "7f1240000000-7f1240001000 r--p 00000000 08:01 200 /usr/lib/libtoy.so.1\n"
            "7f1240001000-7f1240003000 r-xp 00001000 08:01 200 /usr/lib/libtoy.so.1\n"
            "7ffc12300000-7ffc12321000 rw-p 00000000 00:00 0 [stack]\n"
            "7ffc12400000-7ffc12402000 r-xp 00000000 00:00 0 [vdso]\n");
  hand_record(&b, SNAP_END, NULL, 0);
  REQUIRE(write_file(snap, b.buf, b.len));
  REQUIRE(render(snap, svg));
  char *text = slurp(svg, NULL);
  REQUIRE(text != NULL);
  CHECK(strstr(text, "row by row: 9 regions") != NULL);
  /* each region's tooltip, in address order */
  static const char *const regions[] = {
      /* the program's three mappings as one region: 0x5000 bytes */
      "program: toy (/usr/bin/toy), 0x555555554000-0x555555559000, 20 KiB<",
      /* the anonymous page right after it: its .bss */
      "anonymous mmap: toy .bss (/usr/bin/toy), 0x555555559000-0x55555555a000, 4 KiB<",
      "brk heap: [heap] (brk) ([heap]), 0x555555600000-0x555555621000, 132 KiB<",
      /* the anonymous mapping less the arena: a MiB each side */
      "anonymous mmap: anonymous, 0x7f1233f00000-0x7f1234000000, 1 MiB<",
      "HawkAlloc arenas: HawkAlloc arenas, 0x7f1234000000-0x7f1234400000, 4 MiB<",
      "anonymous mmap: anonymous, 0x7f1234400000-0x7f1234500000, 1 MiB<",
      "shared library: libtoy.so.1 (/usr/lib/libtoy.so.1), 0x7f1240000000-0x7f1240003000, "
      "12 KiB<",
      "stack: [stack] ([stack]), 0x7ffc12300000-0x7ffc12321000, 132 KiB<",
      "kernel (vdso): [vdso] ([vdso]), 0x7ffc12400000-0x7ffc12402000, 8 KiB<",
      ">top of user space<"};
  const char *at = text;
  for (size_t i = 0; i < sizeof regions / sizeof *regions; i++) {
    const char *r = strstr(at, regions[i]);
    if (!r) fprintf(stderr, "    region %zu missing or out of order: %s\n", i, regions[i]);
    CHECK(r != NULL);
    if (r) at = r;
  }
  CHECK(strstr(text, ">4 MiB · 1 arena<") != NULL);
  /* the gaps cut out of the axis: 0x55555555a000 to 0x555555600000 is
   * 0xa6000 bytes, 664 KiB; the stack's end to the vdso 0xdf000, 892 KiB */
  CHECK(strstr(text, ">664 KiB</text>\n<text") != NULL);
  CHECK(strstr(text, ">892 KiB</text>\n<text") != NULL);
  free(text);
}

/* 65 arenas: the first 64 are drawn, the last one counted. */
TEST(render_draws_sixty_four_strips_and_counts_the_others) {
  static struct hand b;
  char snap[128], svg[128];
  in_dir("many.snap", snap, sizeof snap);
  in_dir("many.svg", svg, sizeof svg);
  hand_header(&b, 0, 0);
  struct snap_figures f = {.arenas = 65, .heaps = 1};
  hand_record(&b, SNAP_FIGURES, &f, sizeof f);
  for (uint64_t i = 0; i < 65; i++) {
    struct snap_strip st = {
        .region = ((uint64_t)0x7f0000000000) + (i << 22), .region_size = 4 << 20, .span = 4 << 20};
    struct snap_strip_end e = {.bytes = {4 << 20}, .free_blocks = 1, .largest_free = 4 << 20};
    hand_record(&b, SNAP_STRIP, &st, sizeof st);
    hand_record(&b, SNAP_STRIP_END, &e, sizeof e);
  }
  hand_record(&b, SNAP_END, NULL, 0);
  REQUIRE(write_file(snap, b.buf, b.len));
  REQUIRE(render(snap, svg));
  char *text = slurp(svg, NULL);
  REQUIRE(text != NULL);
  CHECK(count_of(text, "class=\"strip arena\"") == STRIPS_MAX);
  CHECK(strstr(text, "… 1 more arenas, not drawn (64 strips at most)") != NULL);
  CHECK(strstr(text, ">65 arenas and 0 large blocks") != NULL);
  free(text);
}

/* --- SIGUSR2 frames: run in a child started with HAWKALLOC_MAP set ------- */

static int wait_for_file(const char *path, int ms) {
  for (int i = 0; i < ms; i++) {
    if (file_exists(path)) return 1;
    struct timespec one = {0, 1000000};
    nanosleep(&one, NULL);
  }
  return file_exists(path);
}

/* The child's half (HAWKALLOC_MAP is set only in the child): frames on
 * raise, a frame put off while this thread holds a heap lock, frames while
 * threads allocate, and the exit picture. */
TEST(sigusr2_frames_child) {
  const char *map = getenv("HAWKALLOC_MAP");
  if (getenv("HAWK_TEST_MAP_CHILD") == NULL || map == NULL) return; /* only in the child */
  char frame[256], base[200];
  snprintf(base, sizeof base, "%.*s", (int)(strlen(map) - 5), map); /* without ".snap" */
  map_install_signal();
  map_install_signal(); /* twice is harmless */
  static struct varied v;
  varied_make(&v);

  struct hawk_stats before = stats_now();
  raise(SIGUSR2); /* handled before raise returns */
  snprintf(frame, sizeof frame, "%s-0001.snap", base);
  CHECK(file_exists(frame));
  struct hawk_stats after = stats_now();
  CHECK(after.mallocs == before.mallocs);
  /* Its figures, from the walk made in the handler: the large mappings
   * found in the registry, each of whole chunks (the 9 MiB block's three),
   * are counted in the bytes in use. */
  struct walk_sums ws;
  memset(&ws, 0, sizeof ws);
  hawk_walk(sums_visit, &ws);
  struct large_chunks lc = {0, 0};
  hawk_walk(large_chunks_visit, &lc);
  uint64_t large_bytes = (lc.first + lc.later) * ARENA_SIZE;
  struct summary sm; /* from here on the test allocates */
  REQUIRE(summary_of(frame, &sm));
  CHECK(value_of(&sm, "large_blocks") == lc.first && lc.later >= 2);
  CHECK(value_of(&sm, "walk_large_bytes") == large_bytes);
  CHECK(value_of(&sm, "in_use") ==
        ws.bytes[HAWK_BLOCK_ALLOCATED] + ws.bytes[HAWK_BLOCK_CACHED] + large_bytes);

  void *more = hawk_malloc(200000);
  raise(SIGUSR2);
  snprintf(frame, sizeof frame, "%s-0002.snap", base);
  CHECK(file_exists(frame));
  struct snap_header h;
  CHECK(header_of(frame, &h) && h.cause == SNAP_SIGNAL && h.frame == 2);
  CHECK(h.flags & SNAP_FROM_SIGNAL); /* its strips are drawn by the parent */

  /* This thread holds a heap lock, as if the signal had come in the middle
   * of a malloc: the frame waits for the retry timer. */
  lock_take(&hawk_heaps[0].lock);
  raise(SIGUSR2);
  snprintf(frame, sizeof frame, "%s-0003.snap", base);
  CHECK(!file_exists(frame));
  lock_give(&hawk_heaps[0].lock);
  CHECK(wait_for_file(frame, 2000));
  CHECK(header_of(frame, &h) && h.cause == SNAP_SIGNAL && h.frame == 3);

  /* Signals while threads allocate, to the process and to an allocating
   * thread itself (which may hold a heap lock when it comes): each frame
   * comes (at once, or put off by a held lock until the retry timer),
   * numbered in turn.  The next signal is sent once the frame is there, so
   * none is merged with another: exactly frames 4 to 12, and no 13th. */
  pthread_t t[2];
  __atomic_store_n(&churn_stop, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&t[i], NULL, churn, NULL) == 0);
  for (int i = 4; i <= 12; i++) {
    if (i % 2)
      pthread_kill(t[i / 2 % 2], SIGUSR2);
    else
      kill(getpid(), SIGUSR2);
    snprintf(frame, sizeof frame, "%s-%04d.snap", base, i);
    /* A bound on a wait, not a timing: sanitizer builds on a busy machine
     * are slow. */
    CHECK(wait_for_file(frame, 30000));
  }
  __atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  int frames = 0;
  for (int i = 1; i <= 20; i++) {
    snprintf(frame, sizeof frame, "%s-%04d.snap", base, i);
    if (file_exists(frame)) frames = i;
  }
  CHECK(frames == 12);

  /* A forked child numbers its own frames, with its pid in the name. */
  fflush(NULL);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    raise(SIGUSR2);
    snprintf(frame, sizeof frame, "%s-%d-0001.snap", base, (int)getpid());
    _exit(file_exists(frame) ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  snprintf(frame, sizeof frame, "%s-%04d.snap", base, frames + 1);
  CHECK(!file_exists(frame)); /* the parent's numbering is untouched */
  hawk_free(more);
  varied_free(&v);
  CHECK(hawk_check() == 0);
  map_on_exit();
  CHECK(file_exists(map));
}

/* Runs this program's case NAME in a fresh child whose environment is this
 * one's (sanitizer options, the policy) plus HAWKALLOC_MAP=map, read once
 * at start-up, and HAWK_TEST_MAP_CHILD=1; its exit status.  A handler that
 * waited for a lock the interrupted thread holds would hang the child: a
 * bound on the wait (generous; the child takes a few seconds), then it is
 * killed and the status says so. */
static int run_map_child(const char *name, const char *map) {
  char env[160];
  snprintf(env, sizeof env, "HAWKALLOC_MAP=%s", map);
  size_t n = 0;
  while (environ[n]) n++;
  char **envp = calloc(n + 3, sizeof *envp);
  if (envp == NULL) return -1;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "HAWKALLOC_MAP=", 14) != 0) envp[k++] = environ[i];
  envp[k++] = env;
  envp[k++] = "HAWK_TEST_MAP_CHILD=1";
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    free(envp);
    return -1;
  }
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1); /* its "ok" lines; failures still reach stderr */
    char *argv[] = {"test_map", (char *)name, NULL};
    execve("/proc/self/exe", argv, envp);
    _exit(127);
  }
  free(envp);
  int status = 0, waited = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (++waited > 60 * 100) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      fprintf(stderr, "    the child hung (SIGUSR2 handler waiting for a lock?)\n");
      break;
    }
    struct timespec ten = {0, 10000000};
    nanosleep(&ten, NULL);
  }
  return status;
}

TEST(sigusr2_frames) {
  if (getenv("HAWK_TEST_MAP_CHILD") != NULL) return; /* this is the child */
  char map[128], frame[160], png[160];
  in_dir("frames.snap", map, sizeof map);
  int status = run_map_child("sigusr2_frames_child", map);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(file_exists(map));
  struct stat st;
  for (int i = 1; i <= 4; i++) {
    snprintf(frame, sizeof frame, "%s/frames-%04d.snap", work_dir(), i);
    CHECK(stat(frame, &st) == 0 && (st.st_mode & 0777) == 0600);
  }
  /* Frame 2, taken in the handler, drawn: three large blocks and more. */
  char snap[160];
  snprintf(snap, sizeof snap, "%s/frames-0002.snap", work_dir());
  snprintf(frame, sizeof frame, "%s/frames-0002.svg", work_dir());
  snprintf(png, sizeof png, "%s/frames-0002.png", work_dir());
  REQUIRE(render(snap, frame));
  char *text = slurp(frame, NULL);
  CHECK(text && strstr(text, "SIGUSR2 frame 2") != NULL);
  CHECK(text && count_of(text, "class=\"strip large\"") >= 3);
  CHECK(text && strstr(text, "[stack]") != NULL);
  free(text);
  check_svg_tools(frame, png);
  snprintf(frame, sizeof frame, "%s/frames.svg", work_dir());
  REQUIRE(render(map, frame));
  check_svg_tools(frame, png);
}

/* A frame that cannot be written (its directory is not there yet: one
 * line says so) leaves no gap in the numbers: the next frame written, once
 * the directory is made, is frame 1, and there is no frame 2. */
TEST(a_frame_that_fails_leaves_no_gap_child) {
  const char *map = getenv("HAWKALLOC_MAP");
  if (getenv("HAWK_TEST_MAP_CHILD") == NULL || map == NULL) return; /* only in the child */
  char sub[200], frame[256];
  snprintf(sub, sizeof sub, "%s", map);
  *strrchr(sub, '/') = 0;
  map_install_signal();
  raise(SIGUSR2); /* handled before raise returns: no directory */
  REQUIRE(mkdir(sub, 0700) == 0);
  raise(SIGUSR2);
  snprintf(frame, sizeof frame, "%.*s-0001.snap", (int)(strlen(map) - 5), map);
  CHECK(file_exists(frame));
  snprintf(frame, sizeof frame, "%.*s-0002.snap", (int)(strlen(map) - 5), map);
  CHECK(!file_exists(frame));
}

TEST(a_frame_that_fails_leaves_no_gap) {
  if (getenv("HAWK_TEST_MAP_CHILD") != NULL) return; /* this is the child */
  char map[160];
  snprintf(map, sizeof map, "%s/made-later/gap.snap", work_dir());
  printf("    (a line saying frame 1 cannot be written is expected next)\n");
  fflush(stdout);
  int status = run_map_child("a_frame_that_fails_leaves_no_gap_child", map);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A thread whose cancellation is pending (pthread_cancel, deferred) that
 * takes a SIGUSR2 frame: the snapshot's open, write, close and naps were
 * the C library's, cancellation points, so the thread was cancelled inside
 * the handler with the snapshot marked busy: every later frame said the
 * heap stayed locked and none was written.  The thread now comes back from
 * its handler; the next frame is written too. */
static void *cancelled_taker(void *arg) {
  (void)arg;
  void *volatile p = hawk_malloc(100);
  hawk_free(p);
  pthread_cancel(pthread_self());
  pthread_kill(pthread_self(), SIGUSR2); /* handled before it returns */
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
  return (void *)1;
}

TEST(cancelled_snapshot_child) {
  const char *map = getenv("HAWKALLOC_MAP");
  if (getenv("HAWK_TEST_MAP_CHILD") == NULL || map == NULL) return; /* only in the child */
  char frame[256], base[200];
  snprintf(base, sizeof base, "%.*s", (int)(strlen(map) - 5), map); /* without ".snap" */
  map_install_signal();
  pthread_t t;
  void *result = NULL;
  REQUIRE(pthread_create(&t, NULL, cancelled_taker, NULL) == 0);
  REQUIRE(pthread_join(t, &result) == 0);
  CHECK(result == (void *)1); /* not PTHREAD_CANCELED */
  snprintf(frame, sizeof frame, "%s-0001.snap", base);
  CHECK(file_exists(frame));
  raise(SIGUSR2);
  snprintf(frame, sizeof frame, "%s-0002.snap", base);
  CHECK(file_exists(frame));
}

TEST(a_thread_with_a_cancellation_pending_takes_a_whole_snapshot) {
  if (getenv("HAWK_TEST_MAP_CHILD") != NULL) return; /* this is the child */
  char map[128];
  in_dir("cancelled.snap", map, sizeof map);
  int status = run_map_child("cancelled_snapshot_child", map);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(file_exists(map)); /* the snapshot at exit */
}

/* A created heap in the snapshots (format version 2): its arena and its
 * large mapping are strips with its id, drawn as "heap 16 (created)"; its
 * chunks are in CHUNKS (kinds 6, 7 and 8: arena, large mapping, the
 * descriptors' table); a SIGUSR2 frame has its strips too.  In a fresh
 * process, whose first created heap is heap 16. */
TEST(snapshot_of_a_created_heap) {
  if (!is_fresh("snapshot_of_a_created_heap")) {
    char env[200], out[8192];
    snprintf(env, sizeof env, "HAWKALLOC_MAP=%s/created.snap", work_dir());
    char *e[] = {env, NULL};
    int status = run_fresh_env("snapshot_of_a_created_heap", e, out, sizeof out);
    CHECK(status == 0);
    if (status != 0) fprintf(stderr, "    %s", out);
    return;
  }
  const char *map = getenv("HAWKALLOC_MAP");
  REQUIRE(map != NULL);
  struct hawk_heap *h = hawk_heap_create(NULL);
  REQUIRE(h != NULL && hawk_heap_id(h) == 16);
  for (int i = 0; i < 100; i++) REQUIRE(hawk_heap_malloc(h, 1000) != NULL);
  REQUIRE(hawk_heap_malloc(h, 2 << 20) != NULL); /* its own mapping: one chunk */
  char snap[256], svg[256], frame[256];
  snprintf(snap, sizeof snap, "%.*s-call.snap", (int)(strlen(map) - 5), map);
  snprintf(svg, sizeof svg, "%.*s-call.svg", (int)(strlen(map) - 5), map);
  REQUIRE(hawk_map_write(snap) == 0);
  struct summary sm;
  REQUIRE(summary_of(snap, &sm));
  CHECK(value_of(&sm, "version") == 2);
  CHECK(value_of(&sm, "created_strips") == 2);
  CHECK(value_of(&sm, "chunks_6") == 1);
  CHECK(value_of(&sm, "chunks_7") == 1);
  CHECK(value_of(&sm, "chunks_8") == 1);
  REQUIRE(render(snap, svg));
  char *text = slurp(svg, NULL);
  CHECK(text && count_of(text, "heap 16 (created)") == 2);
  CHECK(text && count_of(text, "large · heap 16 (created)") == 1);
  free(text);
  /* The frame taken in the SIGUSR2 handler walks the created heap too. */
  map_install_signal();
  raise(SIGUSR2);
  snprintf(frame, sizeof frame, "%.*s-0001.snap", (int)(strlen(map) - 5), map);
  REQUIRE(file_exists(frame));
  REQUIRE(summary_of(frame, &sm));
  CHECK(value_of(&sm, "from_signal") == 1);
  CHECK(value_of(&sm, "created_strips") == 2);
  hawk_heap_destroy(h);
}

/* Last: the pictures are removed unless HAWK_KEEP_MAPS is set. */
/* A thread writing a snapshot into a FIFO that nobody reads is blocked in
 * write(2) while it holds the snapshot's buffer; another thread forks.  The
 * child, where the writer does not exist, must still take its own snapshot
 * (it used to wait 10 s for the writer and fail with EBUSY). */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

static void *write_into_fifo(void *path) {
  hawk_map_write(path);
  return NULL;
}

TEST(fork_while_another_thread_writes_a_snapshot) {
  char fifo[] = "/tmp/hawk-snap-fifo-XXXXXX", file[64];
  int tmp = mkstemp(fifo);
  REQUIRE(tmp >= 0);
  close(tmp);
  unlink(fifo);
  REQUIRE(mkfifo(fifo, 0600) == 0);
  snprintf(file, sizeof file, "%s.snap", fifo);
  int rd = open(fifo, O_RDONLY | O_NONBLOCK);
  REQUIRE(rd >= 0);
  fcntl(rd, F_SETPIPE_SZ, 4096);
  /* Enough lines in /proc/self/maps that the snapshot overflows the pipe:
   * every other page of a mapping made unreadable. */
  char *pages = mmap(NULL, 256 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(pages != MAP_FAILED);
  for (int i = 0; i < 256; i += 2) mprotect(pages + i * 4096, 4096, PROT_NONE);
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, write_into_fifo, fifo) == 0);
  int queued = 0;
  for (int i = 0; i < 2000 && queued < 4096; i++) { /* until the pipe is full */
    usleep(5000);
    ioctl(rd, FIONREAD, &queued);
  }
  CHECK(queued >= 4096);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(60);
    _exit(hawk_map_write(file) == 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char sink[4096];
  fcntl(rd, F_SETFL, 0);
  while (read(rd, sink, sizeof sink) > 0) {
  } /* the writer finishes and closes */
  pthread_join(t, NULL);
  close(rd);
  munmap(pages, 256 * 4096);
  unlink(fifo);
  unlink(file);
}

TEST(zz_cleanup) {
  if (dir[0] == 0 || strcmp(dir, "/tmp") == 0) return;
  if (getenv("HAWK_KEEP_MAPS")) {
    printf("     pictures kept in %s\n", dir);
    return;
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK(system(cmd) == 0);
}

TEST_MAIN()
