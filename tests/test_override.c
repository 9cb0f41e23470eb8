/* test_override.c - the standard names are HawkAlloc's (section G of
 * TESTING.md, cases 26-28).
 *
 * This program is linked with libhawkalloc.a, so malloc and friends, and the
 * calls libc makes to them internally, are HawkAlloc's.  Cases that could
 * abort when that is not so run in a child process.  Only meaningful with the
 * override: with -DHAWK_NO_OVERRIDE no case is registered.
 */
#include "harness.h"
#include "hawkalloc.h"

#ifndef HAWK_NO_OVERRIDE

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <regex.h>
#include <search.h>
#include <stdint.h>
#include <sys/socket.h>

/* glibc's private entry points, which HawkAlloc replaces as well. */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void *__libc_valloc(size_t size);
extern void *__libc_pvalloc(size_t size);
extern int __libc_mallopt(int param, int value);

/* ---- helpers ------------------------------------------------------------ */

/* A case whose body runs in a child (harness.h's run_in_child: -1 if it
 * died, say of an abort on a pointer HawkAlloc did not know). */
#define CHILD_TEST(name)                                                                           \
  static void body_##name(void *unused);                                                           \
  TEST(name) { CHECK(run_in_child(body_##name, NULL) == 0); }                                      \
  static void body_##name(void *unused __attribute__((unused)))

/* A block handed out by libc must be HawkAlloc's: malloc_usable_size and
 * hawk_usable_size agree on it (hawk_usable_size aborts on a foreign one). */
static void check_libc_block(void *p, size_t min, const char *what) {
  if (!p) {
    fprintf(stderr, "    %s gave NULL\n", what);
    test_failures_in_case++;
    return;
  }
  size_t u = malloc_usable_size(p), hu = hawk_usable_size(p);
  if (u < min || hu != u) {
    fprintf(stderr, "    %s: malloc_usable_size %zu, hawk_usable_size %zu, need %zu\n", what, u, hu,
            min);
    test_failures_in_case++;
  }
}

static uint64_t mallocs_now(void) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  hawk_stats(&s, sizeof s);
  return s.mallocs;
}

/* The address of a function, as an object pointer for dladdr. */
static void *fn_addr(void (*fn)(void)) {
  void *p;
  memcpy(&p, &fn, sizeof p);
  return p;
}
#define FN(f) fn_addr((void (*)(void))(f))

/* Looks a symbol up and returns it as a function pointer of the given type. */
#define DLSYM_FN(var, handle, name)                                                                \
  do {                                                                                             \
    void *sym_ = dlsym((handle), (name));                                                          \
    memcpy(&(var), &sym_, sizeof sym_);                                                            \
  } while (0)

/* build/libhawkalloc.so, found from this binary, build/tests/test_override. */
static int library_path(char *out, size_t size) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return 0;
  exe[n] = 0;
  for (int up = 0; up < 2; up++) {
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = 0;
  }
  return snprintf(out, size, "%s/libhawkalloc.so", exe) < (int)size;
}

static void *open_library(void) {
  char path[PATH_MAX];
  if (!library_path(path, sizeof path)) return NULL;
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) fprintf(stderr, "    dlopen(%s): %s\n", path, dlerror());
  return h;
}

/* ---- G26: memory allocated inside libc, freed by the program ------------- */

CHILD_TEST(libc_strdup_strndup) {
  uint64_t before = mallocs_now();
  char *s = strdup("hawkalloc owns this string");
  check_libc_block(s, 27, "strdup");
  CHECK(mallocs_now() > before);
  char *t = strndup("0123456789abcdef", 10);
  check_libc_block(t, 11, "strndup");
  if (s && t) CHECK(strcmp(t, "0123456789") == 0);
  free(s);
  free(t);
  CHECK(hawk_check() == 0);
}

CHILD_TEST(libc_getline_getdelim) {
  static char text[40000];
  size_t len = 0;
  len += (size_t)sprintf(text + len, "short line\n");
  memset(text + len, 'x', 30000); /* a long line makes getline grow its buffer */
  len += 30000;
  text[len++] = '\n';
  len += (size_t)sprintf(text + len, "a,b,c\n");
  FILE *f = fmemopen(text, len, "r");
  REQUIRE(f);
  char *line = NULL;
  size_t cap = 0;
  CHECK(getline(&line, &cap, f) == 11);
  check_libc_block(line, cap, "getline");
  CHECK(getline(&line, &cap, f) == 30001);
  check_libc_block(line, cap, "getline (grown)");
  if (line) CHECK(line[0] == 'x' && line[29999] == 'x');
  CHECK(getdelim(&line, &cap, ',', f) == 2);
  check_libc_block(line, cap, "getdelim");
  fclose(f);
  free(line);
  char *fresh = NULL;
  size_t fresh_cap = 0;
  f = fmemopen(text, len, "r");
  REQUIRE(f);
  CHECK(getdelim(&fresh, &fresh_cap, ',', f) > 0);
  check_libc_block(fresh, fresh_cap, "getdelim (fresh)");
  fclose(f);
  free(fresh);
  CHECK(hawk_check() == 0);
}

CHILD_TEST(libc_asprintf) {
  char *s = NULL;
  int n = asprintf(&s, "%s|%d|%08x|%.*s", "hawk", 42, 0xbeefu, 3, "alloc");
  REQUIRE(n > 0);
  CHECK(strcmp(s, "hawk|42|0000beef|all") == 0);
  check_libc_block(s, (size_t)n + 1, "asprintf");
  free(s);
  char *big = NULL;
  n = asprintf(&big, "%20000d", 7);
  REQUIRE(n == 20000);
  CHECK(big[19999] == '7' && big[0] == ' ');
  check_libc_block(big, 20001, "asprintf (20000 chars)");
  free(big);
  CHECK(hawk_check() == 0);
}

CHILD_TEST(libc_open_memstream) {
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&buf, &size);
  REQUIRE(f);
  for (int i = 0; i < 10000; i++) fprintf(f, "line %05d\n", i);
  CHECK(fclose(f) == 0);
  CHECK(size == 10000 * 11);
  check_libc_block(buf, size + 1, "open_memstream");
  if (buf) CHECK(strncmp(buf + 11 * 9999, "line 09999\n", 11) == 0);
  free(buf);
  CHECK(hawk_check() == 0);
}

CHILD_TEST(libc_realpath_getcwd) {
  char *cwd = getcwd(NULL, 0);
  check_libc_block(cwd, 2, "getcwd(NULL, 0)");
  char *real = realpath(".", NULL);
  check_libc_block(real, 2, "realpath");
  if (cwd && real) {
    CHECK(strcmp(cwd, real) == 0);
    CHECK(malloc_usable_size(real) >= strlen(real) + 1);
  }
  char *exe = realpath("/proc/self/exe", NULL);
  check_libc_block(exe, 2, "realpath(/proc/self/exe)");
  if (exe) CHECK(strstr(exe, "test_override") != NULL);
  free(cwd);
  free(real);
  free(exe);
  CHECK(hawk_check() == 0);
}

CHILD_TEST(libc_scandir) {
  struct dirent **list = NULL;
  int n = scandir("/", &list, NULL, alphasort);
  REQUIRE(n > 0);
  check_libc_block(list, (size_t)n * sizeof *list, "scandir list");
  for (int i = 0; i < n; i++) {
    check_libc_block(list[i], strlen(list[i]->d_name) + 1, "scandir entry");
    free(list[i]);
  }
  free(list);
  CHECK(hawk_check() == 0);
}

CHILD_TEST(libc_getaddrinfo) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  uint64_t before = mallocs_now();
  REQUIRE(getaddrinfo("127.0.0.1", "80", &hints, &res) == 0); /* works offline */
  CHECK(mallocs_now() > before);
  check_libc_block(res, sizeof *res, "getaddrinfo(127.0.0.1)");
  freeaddrinfo(res);
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  res = NULL;
  if (getaddrinfo("localhost", "http", &hints, &res) == 0) { /* only if resolvable */
    int count = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) count++;
    CHECK(count > 0);
    check_libc_block(res, sizeof *res, "getaddrinfo(localhost)");
    freeaddrinfo(res);
  }
  CHECK(hawk_check() == 0);
}

static int compare_strings(const void *a, const void *b) { return strcmp(a, b); }

CHILD_TEST(libc_regex_glob_tsearch) {
  regex_t re;
  REQUIRE(regcomp(&re, "^(hawk|eagle)+[0-9]{2,}$", REG_EXTENDED) == 0);
  CHECK(regexec(&re, "hawkeagle2024", 0, NULL, 0) == 0);
  CHECK(regexec(&re, "sparrow1", 0, NULL, 0) == REG_NOMATCH);
  regfree(&re);
  glob_t g;
  memset(&g, 0, sizeof g);
  REQUIRE(glob("/*", 0, NULL, &g) == 0);
  CHECK(g.gl_pathc > 0);
  check_libc_block(g.gl_pathv, g.gl_pathc * sizeof *g.gl_pathv, "glob gl_pathv");
  globfree(&g);
  void *root = NULL;
  for (int i = 0; i < 500; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i * 7919 % 1000);
    char *dup = strdup(key);
    REQUIRE(dup);
    char **slot = tsearch(dup, &root, compare_strings);
    REQUIRE(slot);
    if (*slot != dup) free(dup);
  }
  tdestroy(root, free); /* libc calls our free on each key */
  CHECK(hawk_check() == 0);
}

CHILD_TEST(libc_stdio_buffers) {
  uint64_t before = mallocs_now();
  FILE *f = fopen("/proc/self/maps", "r");
  REQUIRE(f);
  char line[512];
  int lines = 0;
  while (fgets(line, sizeof line, f)) lines++;
  CHECK(lines > 0);
  CHECK(fclose(f) == 0);
  CHECK(mallocs_now() > before);
  f = tmpfile();
  REQUIRE(f);
  CHECK(setvbuf(f, NULL, _IOFBF, 1 << 16) == 0);
  for (int i = 0; i < 5000; i++) fprintf(f, "%d\n", i);
  CHECK(fclose(f) == 0);
  CHECK(hawk_check() == 0);
}

/* ---- G27: every name is exported and is HawkAlloc's ---------------------- */

static const char *const standard_names[] = {"malloc",
                                             "free",
                                             "calloc",
                                             "realloc",
                                             "reallocarray",
                                             "posix_memalign",
                                             "aligned_alloc",
                                             "memalign",
                                             "valloc",
                                             "pvalloc",
                                             "malloc_usable_size",
                                             "malloc_trim",
                                             "malloc_stats",
                                             "__libc_malloc",
                                             "__libc_free",
                                             "__libc_calloc",
                                             "__libc_realloc",
                                             "__libc_memalign"};

static const char *const hawk_names[] = {
    "hawk_malloc",        "hawk_free",        "hawk_calloc",       "hawk_realloc",
    "hawk_aligned_alloc", "hawk_usable_size", "hawk_reallocarray", "hawk_posix_memalign",
    "hawk_memalign",      "hawk_valloc",      "hawk_pvalloc",      "hawk_check",
    "hawk_stats",         "hawk_stats_print", "hawk_policy_name",  "hawk_trim"};

/* glibc's introspection and tuning calls and their twins (glibc.c). */
static const char *const glibc_names[] = {
    "mallinfo",       "mallinfo2",     "malloc_info",    "mallopt",          "__libc_mallinfo",
    "__libc_mallopt", "hawk_mallinfo", "hawk_mallinfo2", "hawk_malloc_info", "hawk_mallopt"};

/* Each name resolves in libhawkalloc.so itself, not in libc behind it. */
static void check_exported(void *h, const char *const *names, size_t count) {
  for (size_t i = 0; i < count; i++) {
    void *sym = dlsym(h, names[i]);
    Dl_info info;
    memset(&info, 0, sizeof info);
    if (!sym || !dladdr(sym, &info) || !info.dli_fname ||
        !strstr(info.dli_fname, "libhawkalloc.so")) {
      fprintf(stderr, "    %s: not exported by libhawkalloc.so (found in %s)\n", names[i],
              sym && info.dli_fname ? info.dli_fname : "nothing");
      test_failures_in_case++;
    }
  }
}

CHILD_TEST(so_exports_every_name) {
  void *h = open_library();
  REQUIRE(h);
  check_exported(h, standard_names, sizeof standard_names / sizeof *standard_names);
  check_exported(h, hawk_names, sizeof hawk_names / sizeof *hawk_names);
  check_exported(h, glibc_names, sizeof glibc_names / sizeof *glibc_names);
}

static void anchor(void) {}

/* In this statically linked program, every standard name binds to the
 * definition inside the executable, i.e. to libhawkalloc.a. */
TEST(executable_binds_every_name_to_hawkalloc) {
  void *const addrs[] = {FN(malloc),
                         FN(free),
                         FN(calloc),
                         FN(realloc),
                         FN(reallocarray),
                         FN(posix_memalign),
                         FN(aligned_alloc),
                         FN(memalign),
                         FN(valloc),
                         FN(pvalloc),
                         FN(malloc_usable_size),
                         FN(malloc_trim),
                         FN(malloc_stats),
                         FN(__libc_malloc),
                         FN(__libc_free),
                         FN(__libc_calloc),
                         FN(__libc_realloc),
                         FN(__libc_memalign)};
  Dl_info self;
  REQUIRE(dladdr(FN(anchor), &self) != 0);
  for (size_t i = 0; i < sizeof addrs / sizeof *addrs; i++) {
    Dl_info info;
    memset(&info, 0, sizeof info);
    if (!dladdr(addrs[i], &info) || info.dli_fbase != self.dli_fbase) {
      fprintf(stderr, "    %s is bound to %s, not to the executable\n", standard_names[i],
              info.dli_fname ? info.dli_fname : "?");
      test_failures_in_case++;
    }
  }
  /* libc must see the same definitions (what its internal calls bind to). */
  for (size_t i = 0; i < sizeof standard_names / sizeof *standard_names; i++) {
    void *sym = dlsym(RTLD_DEFAULT, standard_names[i]);
    Dl_info info;
    memset(&info, 0, sizeof info);
    if (!sym || !dladdr(sym, &info) || info.dli_fbase != self.dli_fbase) {
      fprintf(stderr, "    dlsym(RTLD_DEFAULT, %s) resolves to %s\n", standard_names[i],
              sym && info.dli_fname ? info.dli_fname : "nothing");
      test_failures_in_case++;
    }
  }
}

/* Pointers cross freely between the standard names and the hawk_ names. */
CHILD_TEST(standard_and_hawk_names_mix) {
  uint64_t before = mallocs_now();
  void *p = malloc(100);
  REQUIRE(p);
  CHECK(mallocs_now() == before + 1);
  CHECK(hawk_usable_size(p) >= 100);
  CHECK(hawk_usable_size(p) == malloc_usable_size(p));
  hawk_free(p);
  void *q = hawk_malloc(200);
  REQUIRE(q);
  CHECK(malloc_usable_size(q) == hawk_usable_size(q));
  q = realloc(q, 5000);
  REQUIRE(q);
  free(q);
  void *c = calloc(10, 10);
  check_libc_block(c, 100, "calloc");
  hawk_free(c);
  void *r = reallocarray(NULL, 3, 1000);
  check_libc_block(r, 3000, "reallocarray");
  free(r);
  /* a product that wraps (to 2) is no size: ENOMEM, not a block of 2 bytes */
  volatile size_t wraps = SIZE_MAX / 3 + 1;
  errno = 0;
  void *w = reallocarray(NULL, wraps, 3);
  CHECK(w == NULL && errno == ENOMEM);
  free(w);
  void *pm = NULL;
  CHECK(posix_memalign(&pm, 256, 300) == 0);
  check_libc_block(pm, 300, "posix_memalign");
  CHECK(((uintptr_t)pm & 255) == 0);
  hawk_free(pm);
  void *aa = aligned_alloc(64, 100);
  check_libc_block(aa, 100, "aligned_alloc");
  free(aa);
  void *ma = memalign(4096, 10);
  check_libc_block(ma, 10, "memalign");
  hawk_free(ma);
  void *va = valloc(10);
  check_libc_block(va, 10, "valloc");
  free(va);
  void *pv = pvalloc(10);
  check_libc_block(pv, 4096, "pvalloc");
  free(pv);
  void *big = malloc(3 << 20);
  check_libc_block(big, 3 << 20, "malloc(3 MiB)");
  hawk_free(big);
  CHECK(hawk_check() == 0);
}

/* glibc's private names are HawkAlloc's too, and mix with the others. */
CHILD_TEST(libc_private_names_pair) {
  unsigned char *p = __libc_malloc(50);
  check_libc_block(p, 50, "__libc_malloc");
  if (p) memset(p, 0x5C, 50);
  p = __libc_realloc(p, 5000);
  check_libc_block(p, 5000, "__libc_realloc");
  if (p) CHECK(p[0] == 0x5C && p[49] == 0x5C);
  __libc_free(p);
  unsigned char *c = __libc_calloc(100, 3);
  check_libc_block(c, 300, "__libc_calloc");
  for (int i = 0; c && i < 300; i++)
    if (c[i] != 0) {
      CHECK(c[i] == 0);
      break;
    }
  free(c);
  void *m = __libc_memalign(256, 100);
  check_libc_block(m, 100, "__libc_memalign");
  CHECK(((uintptr_t)m & 255) == 0);
  hawk_free(m);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  void *v = __libc_valloc(100), *pv = __libc_pvalloc(100);
  check_libc_block(v, 100, "__libc_valloc");
  check_libc_block(pv, page, "__libc_pvalloc"); /* whole pages */
  CHECK(((uintptr_t)v & (page - 1)) == 0 && ((uintptr_t)pv & (page - 1)) == 0);
  free(v);
  free(pv);
  /* __libc_mallopt is mallopt: M_MXFAST past glibc's limit is refused */
  CHECK(__libc_mallopt(M_MXFAST, 64) == 1);
  CHECK(__libc_mallopt(M_MXFAST, 1000) == 0);
  __libc_free(malloc(10));
  __libc_free(hawk_malloc(10));
  free(__libc_malloc(10));
  CHECK(hawk_check() == 0);
}

/* __libc_memalign takes the alignment first, as memalign: (64, 100) is a
 * 64-aligned block of at least 100 bytes.  With its arguments swapped it
 * was a 128-aligned (100 rounded up) block of 64 bytes.  The (256, 100)
 * call above does not tell: swapped, 256 bytes aligned to 128 hold 100 and
 * may land 256-aligned (they did); here the usable size tells, wherever the
 * block lands. */
CHILD_TEST(libc_memalign_takes_the_alignment_first) {
  const size_t sizes[] = {100, 1000, 5000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    unsigned char *m = __libc_memalign(64, sizes[i]);
    check_libc_block(m, sizes[i], "__libc_memalign(64, n)");
    CHECK(((uintptr_t)m & 63) == 0);
    if (m && malloc_usable_size(m) >= sizes[i]) memset(m, 0xA5, sizes[i]); /* all the program's */
    free(m);
  }
  CHECK(hawk_check() == 0);
}

/* ---- G28: dlopen of the library does not break the process -------------- */

static void *(*so_malloc)(size_t);
static void (*so_free)(void *);
static void *(*so_hawk_malloc)(size_t);
static void (*so_hawk_free)(void *);
static int (*so_hawk_check)(void);

/* Allocates through this program's allocator and the loaded copy. */
static int churn(void) {
  int bad = 0;
  for (int i = 0; i < 2000; i++) {
    size_t n = 1 + (size_t)(i * 37 % 3000);
    unsigned char *a = malloc(n), *b = so_malloc(n), *c = so_hawk_malloc(n);
    if (!a || !b || !c) return 1;
    memset(a, 1, n);
    memset(b, 2, n);
    memset(c, 3, n);
    bad += a[n - 1] != 1 || b[n - 1] != 2 || c[n - 1] != 3;
    free(a);
    so_free(b);
    so_hawk_free(c);
  }
  return bad;
}

static void *churn_thread(void *arg) {
  (void)arg;
  return (void *)(uintptr_t)churn();
}

CHILD_TEST(dlopen_library_keeps_process_working) {
  void *h = open_library();
  REQUIRE(h);
  DLSYM_FN(so_malloc, h, "malloc");
  DLSYM_FN(so_free, h, "free");
  DLSYM_FN(so_hawk_malloc, h, "hawk_malloc");
  DLSYM_FN(so_hawk_free, h, "hawk_free");
  DLSYM_FN(so_hawk_check, h, "hawk_check");
  REQUIRE(so_malloc && so_free && so_hawk_malloc && so_hawk_free && so_hawk_check);
  CHECK(churn() == 0);
  pthread_t t[4];
  for (int i = 0; i < 4; i++) REQUIRE(pthread_create(&t[i], NULL, churn_thread, NULL) == 0);
  for (int i = 0; i < 4; i++) {
    void *r = NULL;
    pthread_join(t[i], &r);
    CHECK(r == NULL);
  }
  char *s = strdup("still ours after dlopen"); /* libc still binds to the executable */
  check_libc_block(s, 24, "strdup after dlopen");
  free(s);
  CHECK(so_hawk_check() == 0);
  CHECK(hawk_check() == 0);
}

/* ---- malloc_stats, malloc_trim ------------------------------------------ */

static void call_malloc_stats(void) { malloc_stats(); }

TEST(malloc_stats_writes_to_stderr) {
  int fd[2];
  REQUIRE(pipe(fd) == 0);
  fflush(NULL);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], 2);
    call_malloc_stats();
    _exit(0);
  }
  close(fd[1]);
  static char buf[1 << 16];
  int status = child_output(fd[0], pid, buf, sizeof buf);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(buf[0] != 0);
  /* the statistics, then the heap map (docs/glibc.md) */
  const char *stats = strstr(buf, "hawkalloc: statistics"),
             *map = strstr(buf, "hawkalloc: heap map");
  CHECK(stats != NULL && map != NULL && stats < map);
}

/* malloc_trim returns 1 when it gave memory back, as glibc's does: here
 * 10 MB of small blocks and a large one were freed just before. */
TEST(malloc_trim_returns_1_after_a_big_free) {
  enum { N = 5000 };
  static void *p[N];
  for (int i = 0; i < N; i++) REQUIRE((p[i] = malloc(2000)) != NULL);
  for (int i = 0; i < N; i++) free(p[i]);
  void *big = malloc(8 << 20);
  free(big);
  CHECK(malloc_trim(0) == 1);
  void *q = malloc(100);
  CHECK(q != NULL);
  free(q);
  CHECK(hawk_check() == 0);
}

#endif /* HAWK_NO_OVERRIDE */

TEST_MAIN()
