/* test_map.c - hawk_map_write: the SVG picture of the heap, its frames on
 * SIGUSR2, and that drawing it allocates nothing. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "harness.h"
#include "hawk.h"
#include "hawkalloc.h"
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
  char svg[128], png[128], tmp[160];
  in_dir("varied.svg", svg, sizeof svg);
  in_dir("varied.png", png, sizeof png);
  struct hawk_stats before = stats_now();
  errno = 1234;
  REQUIRE(hawk_map_write(svg) == 0);
  CHECK(errno == 1234); /* success leaves errno alone */
  struct hawk_stats after = stats_now();
  struct recount rc = {0, 0, 0, 0}; /* before this test allocates anything more */
  hawk_walk(recount_visit, &rc);
  CHECK(after.mallocs == before.mallocs); /* drawing allocated nothing */
  CHECK(after.frees == before.frees);
  CHECK(after.in_use == before.in_use);
  snprintf(tmp, sizeof tmp, "%s.%d.tmp", svg, (int)getpid());
  CHECK(!file_exists(tmp));

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
  CHECK(strstr(text, "utilization") != NULL);
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
  CHECK(hawk_map_write("/nonexistent-hawk-dir/x.svg") == -1 && errno == ENOENT);
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
  char svg[128], png[128];
  in_dir("quiet.svg", svg, sizeof svg);
  in_dir("quiet.png", png, sizeof png);
  REQUIRE(hawk_map_write(svg) == 0);
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
  char svg[128], png[128];
  in_dir("many.svg", svg, sizeof svg);
  in_dir("many.png", png, sizeof png);
  struct hawk_stats before = stats_now();
  REQUIRE(hawk_map_write(svg) == 0);
  struct hawk_stats after = stats_now();
  CHECK(after.mallocs == before.mallocs);
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
  char svg[128];
  in_dir("busy.svg", svg, sizeof svg);
  for (int i = 0; i < 5; i++) CHECK(hawk_map_write(svg) == 0);
  __atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  char png[128];
  in_dir("busy.png", png, sizeof png);
  check_svg_tools(svg, png);
  CHECK(hawk_check() == 0);
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
  snprintf(base, sizeof base, "%.*s", (int)(strlen(map) - 4), map); /* without ".svg" */
  map_install_signal();
  map_install_signal(); /* twice is harmless */
  static struct varied v;
  varied_make(&v);

  struct hawk_stats before = stats_now();
  raise(SIGUSR2); /* handled before raise returns */
  snprintf(frame, sizeof frame, "%s-0001.svg", base);
  CHECK(file_exists(frame));
  struct hawk_stats after = stats_now();
  CHECK(after.mallocs == before.mallocs);

  void *more = hawk_malloc(200000);
  raise(SIGUSR2);
  snprintf(frame, sizeof frame, "%s-0002.svg", base);
  CHECK(file_exists(frame));
  char *text = slurp(frame, NULL);
  CHECK(text && strstr(text, "SIGUSR2 frame 2") != NULL);
  CHECK(text && count_of(text, "class=\"strip large\"") >= 3);
  CHECK(text && strstr(text, "[stack]") != NULL);
  free(text);

  /* This thread holds a heap lock, as if the signal had come in the middle
   * of a malloc: the frame waits for the retry timer. */
  pthread_mutex_lock(&hawk_heaps[0].lock);
  raise(SIGUSR2);
  snprintf(frame, sizeof frame, "%s-0003.svg", base);
  CHECK(!file_exists(frame));
  pthread_mutex_unlock(&hawk_heaps[0].lock);
  CHECK(wait_for_file(frame, 2000));
  text = slurp(frame, NULL);
  CHECK(text && strstr(text, "SIGUSR2 frame 3") != NULL);
  free(text);

  /* Signals to the process while threads allocate: each frame comes (at
   * once, or put off by a held lock until the retry timer), numbered in
   * turn.  The next signal is sent once the frame is there, so none is
   * merged with another: exactly frames 4 to 8, and no ninth. */
  pthread_t t[2];
  __atomic_store_n(&churn_stop, 0, __ATOMIC_RELAXED);
  for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&t[i], NULL, churn, NULL) == 0);
  for (int i = 4; i <= 8; i++) {
    kill(getpid(), SIGUSR2);
    snprintf(frame, sizeof frame, "%s-%04d.svg", base, i);
    CHECK(wait_for_file(frame, 5000)); /* a bound on a wait, not a timing */
  }
  __atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  int frames = 0;
  for (int i = 1; i <= 20; i++) {
    snprintf(frame, sizeof frame, "%s-%04d.svg", base, i);
    if (file_exists(frame)) frames = i;
  }
  CHECK(frames == 8);

  /* A forked child numbers its own frames, with its pid in the name. */
  fflush(NULL);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    raise(SIGUSR2);
    snprintf(frame, sizeof frame, "%s-%d-0001.svg", base, (int)getpid());
    _exit(file_exists(frame) ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  snprintf(frame, sizeof frame, "%s-%04d.svg", base, frames + 1);
  CHECK(!file_exists(frame)); /* the parent's numbering is untouched */
  hawk_free(more);
  varied_free(&v);
  CHECK(hawk_check() == 0);
  map_on_exit();
  CHECK(file_exists(map));
}

TEST(sigusr2_frames) {
  if (getenv("HAWK_TEST_MAP_CHILD") != NULL) return; /* this is the child */
  char map[128], env[160], frame[160], png[160];
  in_dir("frames.svg", map, sizeof map);
  snprintf(env, sizeof env, "HAWKALLOC_MAP=%s", map);
  /* The child gets this environment (sanitizer options, the policy) plus
   * HAWKALLOC_MAP, read once at start-up. */
  size_t n = 0;
  while (environ[n]) n++;
  char **envp = calloc(n + 3, sizeof *envp);
  REQUIRE(envp != NULL);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "HAWKALLOC_MAP=", 14) != 0) envp[k++] = environ[i];
  envp[k++] = env;
  envp[k++] = "HAWK_TEST_MAP_CHILD=1";
  fflush(NULL);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1); /* its "ok" lines; failures still reach stderr */
    char *argv[] = {"test_map", "sigusr2_frames_child", NULL};
    execve("/proc/self/exe", argv, envp);
    _exit(127);
  }
  free(envp);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(file_exists(map));
  for (int i = 1; i <= 4; i++) {
    snprintf(frame, sizeof frame, "%s/frames-%04d.svg", work_dir(), i);
    CHECK(file_exists(frame));
  }
  snprintf(frame, sizeof frame, "%s/frames-0002.svg", work_dir());
  snprintf(png, sizeof png, "%s/frames-0002.png", work_dir());
  check_svg_tools(frame, png);
  check_svg_tools(map, png);
}

/* Last: the pictures are removed unless HAWK_KEEP_MAPS is set. */
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
