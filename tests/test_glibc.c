/* test_glibc.c - glibc's introspection and tuning calls: mallinfo2,
 * mallinfo, malloc_info and mallopt (docs/glibc.md).
 *
 * Linked with libhawkalloc.a the standard names are HawkAlloc's; the
 * sanitizer builds (-DHAWK_NO_OVERRIDE) test their prefixed twins.  The
 * figures are worked out by hand in fresh processes (run_fresh); the XML is
 * checked with xmllint and against the element and attribute names of
 * glibc's own malloc_info, from tests/glibc_probe.c run without HawkAlloc;
 * the same probe run with LD_PRELOAD=libhawkalloc.so must get HawkAlloc's
 * figures.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>

#include "harness.h"
#include "hawkalloc.h"

#ifdef HAWK_NO_OVERRIDE
#define MALLINFO2   hawk_mallinfo2
#define MALLINFO    hawk_mallinfo
#define MALLOC_INFO hawk_malloc_info
#define MALLOPT     hawk_mallopt
#else
#define MALLINFO2   mallinfo2
#define MALLINFO    mallinfo
#define MALLOC_INFO malloc_info
#define MALLOPT     mallopt
#endif

/* mallinfo is deprecated in <malloc.h>: it is what is tested here. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define ARENA ((size_t)4 << 20)
#define SPAN  (ARENA - 144) /* an arena's head, prologue and epilogue take 144 bytes */

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static struct hawk_stats stats_now(void) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  hawk_stats(&s, sizeof s);
  return s;
}

/* Runs the case named in a fresh copy of this program and returns 1 (the
 * caller then returns), or 0 in that fresh copy. */
#define FRESH(name)                                                                                \
  do {                                                                                             \
    if (!is_fresh(name)) {                                                                         \
      CHECK(run_fresh(name) == 0);                                                                 \
      return;                                                                                      \
    }                                                                                              \
  } while (0)

/* --- hawk_walk: where a block lives -------------------------------------- */

struct find_ctx {
  uintptr_t payload;
  int state, heap;
};

static void find_block(void *ctx, const struct hawk_block_info *b) {
  struct find_ctx *f = ctx;
  if (b->payload == f->payload) {
    f->state = b->state;
    f->heap = b->heap;
  }
}

/* The state hawk_walk gives the block whose payload is p (-1: not met). */
static int walked_state(void *p) {
  struct find_ctx f = {(uintptr_t)p, -1, -1};
  hawk_walk(find_block, &f);
  return f.state;
}

/* The heap hawk_walk gives the block whose payload is p. */
static int walked_heap(void *p) {
  struct find_ctx f = {(uintptr_t)p, -1, -1};
  hawk_walk(find_block, &f);
  return f.heap;
}

/* --- malloc_info's text --------------------------------------------------- */

/* malloc_info(0) into buf (NUL-terminated); returns its result.  The FILE
 * writes into a buffer of its own, so nothing is allocated or freed from
 * just before the call (where *m and *s, if not NULL, are taken) to its
 * end. */
static int malloc_info_text(char *buf, size_t size, struct mallinfo2 *m, struct hawk_stats *s) {
  static char fbuf[1 << 16];
  FILE *f = tmpfile();
  if (!f || setvbuf(f, fbuf, _IOFBF, sizeof fbuf) != 0) return -100;
  if (m) *m = MALLINFO2();
  if (s) *s = stats_now();
  int r = MALLOC_INFO(0, f);
  fflush(f);
  rewind(f);
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = 0;
  fclose(f);
  return r;
}

/* The elements of an XML text as "name attr attr ..." signatures (the
 * attributes sorted), each once, plus "name@type=value" for each value of a
 * type attribute; returns how many were stored in sigs. */
#define SIG_MAX 64
#define SIG_LEN 128
static int xml_signatures(const char *xml, char sigs[SIG_MAX][SIG_LEN]) {
  int n = 0;
  for (const char *s = xml; (s = strchr(s, '<')) != NULL; s++) {
    if (s[1] == '/' || s[1] == '?' || s[1] == '!') continue;
    char name[32] = "", attrs[8][32], type[32] = "";
    int na = 0, len = 0;
    const char *c = s + 1;
    while ((*c >= 'a' && *c <= 'z') || *c == '_') {
      if (len < 31) name[len++] = *c;
      c++;
    }
    name[len] = 0;
    while (*c && *c != '>') { /* attributes: name="value" */
      while (*c == ' ' || *c == '\n') c++;
      const char *eq = strchr(c, '=');
      const char *end = strchr(c, '>');
      if (!eq || (end && eq > end)) break;
      if (na < 8) snprintf(attrs[na++], 32, "%.*s", (int)(eq - c), c);
      const char *v = eq + 2, *q = strchr(v, '"');
      if (!q) break;
      if (na && strcmp(attrs[na - 1], "type") == 0)
        snprintf(type, sizeof type, "%.*s", (int)(q - v), v);
      c = q + 1;
      while (*c == '/' || *c == ' ') c++;
    }
    for (int i = 0; i < na; i++) /* sort the attribute names */
      for (int j = i + 1; j < na; j++)
        if (strcmp(attrs[j], attrs[i]) < 0) {
          char t[32];
          memcpy(t, attrs[i], 32);
          memcpy(attrs[i], attrs[j], 32);
          memcpy(attrs[j], t, 32);
        }
    char sig[2][SIG_LEN];
    int w = snprintf(sig[0], SIG_LEN, "%s", name);
    for (int i = 0; i < na && w < SIG_LEN; i++)
      w += snprintf(sig[0] + w, SIG_LEN - (size_t)w, " %s", attrs[i]);
    snprintf(sig[1], SIG_LEN, "%s@type=%s", name, type);
    for (int k = 0; k < (type[0] ? 2 : 1); k++) {
      int seen = 0;
      for (int i = 0; i < n; i++) seen |= strcmp(sigs[i], sig[k]) == 0;
      if (!seen && n < SIG_MAX) snprintf(sigs[n++], SIG_LEN, "%s", sig[k]);
    }
  }
  return n;
}

static int has_sig(char sigs[SIG_MAX][SIG_LEN], int n, const char *sig) {
  for (int i = 0; i < n; i++)
    if (strcmp(sigs[i], sig) == 0) return 1;
  return 0;
}

/* The number in attribute attr of the first element that starts with
 * start at the top level of the text (after the last </heap>), or of the
 * whole text when top is 0; -1 if absent. */
static long long xml_number(const char *xml, int top, const char *start, const char *attr) {
  const char *from = xml;
  if (top) {
    const char *h;
    while ((h = strstr(from, "</heap>")) != NULL) from = h + 7;
  }
  const char *e = strstr(from, start);
  if (!e) return -1;
  const char *end = strchr(e, '>');
  char key[40];
  snprintf(key, sizeof key, " %s=\"", attr);
  const char *a = strstr(e, key);
  if (!a || (end && a > end)) return -1;
  return strtoll(a + strlen(key), NULL, 10);
}

static size_t count_of(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *s = text; (s = strstr(s, needle)) != NULL; s++) n++;
  return n;
}

/* --- the probe: a program not linked with HawkAlloc ----------------------- */

/* build/tests/glibc_probe, found from this binary (build/tests/ or
 * build/asan/), and build/libhawkalloc.so. */
static int build_path(char *out, size_t size, const char *leaf) {
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return 0;
  exe[n] = 0;
  for (int up = 0; up < 2; up++) {
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = 0;
  }
  return snprintf(out, size, "%s/%s", exe, leaf) < (int)size && access(out, F_OK) == 0;
}

/* Runs the probe with its argument mode (NULL: none), preloading HawkAlloc
 * or not, with its stdout in buf; returns its wait status (-1: could not
 * run it). */
static int run_probe_mode(int preload, const char *mode, char *buf, size_t size) {
  char probe[PATH_MAX], lib[PATH_MAX];
  if (!build_path(probe, sizeof probe, "tests/glibc_probe")) return -1;
  if (preload && !build_path(lib, sizeof lib, "libhawkalloc.so")) return -1;
  int fd[2];
  if (pipe(fd) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], 1);
    if (preload)
      setenv("LD_PRELOAD", lib, 1);
    else
      unsetenv("LD_PRELOAD");
    execl(probe, probe, mode, (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  return child_output(fd[0], pid, buf, size);
}

static int run_probe(int preload, char *buf, size_t size) {
  return run_probe_mode(preload, NULL, buf, size);
}

/* A program built against an older glibc calls cfree (cfree@GLIBC_2.2.5):
 * preloaded, it frees HawkAlloc's blocks as free does (glibc's own, which
 * the name led to, aborted: "munmap_chunk(): invalid pointer"). */
TEST(cfree_of_an_old_binary_frees_hawkallocs_blocks) {
  char out[256];
  int status = run_probe_mode(1, "cfree", out, sizeof out);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strcmp(out, "cfree ok\n") == 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) fprintf(stderr, "    status %d\n", status);
}

/* Runs glibc_probe's mode with and without the preload; each run must say
 * "deepbind ok" and exit 0. */
static void expect_deepbind_ok(const char *mode) {
  for (int preload = 0; preload <= 1; preload++) {
    char out[256];
    int status = run_probe_mode(preload, mode, out, sizeof out);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0 && strcmp(out, "deepbind ok\n") == 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || strcmp(out, "deepbind ok\n") != 0)
      fprintf(stderr, "    preload %d: status %d, output '%s'\n", preload, status, out);
  }
}

/* A library opened with RTLD_DEEPBIND (PHP's extensions: Debian's php 8.2
 * died at start-up in glibc's free, "munmap_chunk(): invalid pointer") frees
 * and resizes the program's blocks, and the program the library's: preloaded,
 * both are HawkAlloc's, as they are glibc's without it.  The library is named
 * relative to the caller ("$ORIGIN/..."): HawkAlloc's dlopen leaves the
 * caller the program (from build/, its own directory, the name misses). */
TEST(deepbind_library_frees_hawkallocs_blocks) { expect_deepbind_ok("deepbind"); }

/* The same library opened by dlmopen into the program's namespace, which
 * is dlopen (found at 3a7e632: preloaded, glibc's free aborted with
 * "munmap_chunk(): invalid pointer", status 6). */
TEST(deepbind_library_through_dlmopen_frees_hawkallocs_blocks) {
  expect_deepbind_ok("dlmopen-deepbind");
}

/* ======================================================================== */

#ifndef HAWK_NO_OVERRIDE
/* The address of a function, as an object pointer for dladdr. */
static void *fn_addr(void (*fn)(void)) {
  void *p;
  memcpy(&p, &fn, sizeof p);
  return p;
}
#define FN(f) fn_addr((void (*)(void))(f))

/* The file a function's code is in. */
static const void *image_of(void *fn) {
  Dl_info info;
  return dladdr(fn, &info) ? info.dli_fbase : NULL;
}

extern struct mallinfo __libc_mallinfo(void);
extern int __libc_mallopt(int param, int value);

/* The four calls and glibc's two internal names are HawkAlloc's, not
 * libc.so's: they sit in the same image as hawk_malloc. */
TEST(glibc_calls_are_hawkallocs) {
  const void *hawk = image_of(FN(hawk_malloc));
  REQUIRE(hawk != NULL);
  CHECK(image_of(FN(mallinfo2)) == hawk);
  CHECK(image_of(FN(mallinfo)) == hawk);
  CHECK(image_of(FN(malloc_info)) == hawk);
  CHECK(image_of(FN(mallopt)) == hawk);
  CHECK(image_of(FN(__libc_mallinfo)) == hawk);
  CHECK(image_of(FN(__libc_mallopt)) == hawk);
}
#endif

/* Worked out by hand in a fresh process (docs/glibc.md has the mapping):
 * blocks of 3,000 bytes take 3,008 (header, rounded to 16) in the first
 * arena; a 3 MiB block is a mapping of 3 MiB and a page; freed, it stays
 * mapped as a spare until the heap grows to a new peak, and an emptied
 * arena until malloc_trim. */
TEST(mallinfo2_worked_out_by_hand) {
  FRESH("mallinfo2_worked_out_by_hand");
  struct mallinfo2 a = MALLINFO2();
  CHECK(a.arena == 0 && a.ordblks == 0 && a.uordblks == 0 && a.fordblks == 0);
  CHECK(a.hblks == 0 && a.hblkhd == 0 && a.keepcost == 0);
  char *p[10];
  for (int i = 0; i < 10; i++) p[i] = hawk_malloc(3000);
  struct mallinfo2 b = MALLINFO2();
  CHECK(b.arena == ARENA && b.ordblks == 1);
  CHECK(b.uordblks == 10 * 3008 && b.fordblks == SPAN - 10 * 3008);
  CHECK(b.arena == b.uordblks + b.fordblks + 144); /* the identity, per arena */
  CHECK(b.smblks == 0 && b.fsmblks == 0 && b.usmblks == 0);
  hawk_free(p[3]); /* between two allocated blocks: a second free block */
  struct mallinfo2 c = MALLINFO2();
  CHECK(c.ordblks == 2 && c.uordblks == 9 * 3008 && c.fordblks == SPAN - 9 * 3008);
  hawk_free(p[4]); /* merges with p[3] */
  struct mallinfo2 d = MALLINFO2();
  CHECK(d.ordblks == 2 && d.uordblks == 8 * 3008 && d.fordblks == SPAN - 8 * 3008);
  char *s = hawk_malloc(100);
  hawk_free(s); /* in this thread's cache: in use to the heap, as glibc's tcache */
  struct mallinfo2 e = MALLINFO2();
  CHECK(e.uordblks == 8 * 3008 + 112 && e.fordblks == SPAN - 8 * 3008 - 112);
  char *big = hawk_malloc((size_t)3 << 20);
  struct mallinfo2 f = MALLINFO2();
  size_t large = ((size_t)3 << 20) + page_size();
  CHECK(f.hblks == 1 && f.hblkhd == large && f.arena == ARENA && f.uordblks == e.uordblks);
  struct hawk_stats st = stats_now();
  CHECK(f.arena + f.hblkhd + f.keepcost == st.mapped);
  CHECK(f.uordblks + f.hblkhd == st.in_use);
  hawk_free(big); /* kept as a spare mapping: what malloc_trim would unmap */
  struct mallinfo2 g = MALLINFO2();
  CHECK(g.hblks == 0 && g.hblkhd == 0 && g.keepcost == large);
  /* Blocks of 900,000 bytes (900,016): four fit in the rest of the first
   * arena, four more take a second; before the heap grows to its new peak
   * the thread cache gives its 112-byte block back and the spare mapping
   * is unmapped (docs/design.md).  Freed, the second arena is emptied and
   * cached. */
  char *q[8];
  for (int i = 0; i < 8; i++) q[i] = hawk_malloc(900000);
  struct mallinfo2 h = MALLINFO2();
  CHECK(h.arena == 2 * ARENA && h.uordblks == e.uordblks - 112 + 8 * 900016);
  for (int i = 7; i >= 0; i--) hawk_free(q[i]);
  struct mallinfo2 k = MALLINFO2();
  st = stats_now();
  CHECK(k.arena == ARENA && st.arenas == 1 && st.cached_arenas == 1);
  CHECK(k.keepcost == ARENA && k.uordblks == e.uordblks - 112);
  CHECK(k.arena + k.hblkhd + k.keepcost == st.mapped);
  CHECK(k.arena == k.uordblks + k.fordblks + 144 * st.arenas);
  hawk_trim();
  struct mallinfo2 m = MALLINFO2();
  CHECK(m.keepcost == 0);
  for (int i = 0; i < 10; i++)
    if (i != 3 && i != 4) hawk_free(p[i]);
}

/* mallinfo's int fields stop at INT_MAX instead of wrapping (glibc 2.36
 * wraps them: docs/glibc.md); three untouched 1 GiB blocks (mappings of
 * 1 GiB and a page each) are enough. */
TEST(mallinfo_saturates_at_int_max) {
  FRESH("mallinfo_saturates_at_int_max");
  char *big[3];
  for (int i = 0; i < 3; i++) REQUIRE((big[i] = hawk_malloc((size_t)1 << 30)) != NULL);
  void *small = hawk_malloc(3000);
  struct mallinfo2 m2 = MALLINFO2();
  struct mallinfo m = MALLINFO();
  CHECK(m2.hblkhd == 3 * (((size_t)1 << 30) + page_size()) && m2.hblks == 3);
  CHECK(m.hblkhd == INT_MAX);
  CHECK(m.hblks == 3 && m.arena == (int)ARENA && m.uordblks == 3008);
  CHECK(m.fordblks == (int)(SPAN - 3008) && m.ordblks == 1 && m.keepcost == 0);
  hawk_free(small);
  for (int i = 0; i < 3; i++) hawk_free(big[i]);
  hawk_trim();
  m = MALLINFO();
  CHECK(m.hblkhd >= 0 && m.hblkhd < INT_MAX);
}

/* malloc_info writes well-formed XML (xmllint --noout), one <heap> per
 * heap. */
TEST(malloc_info_is_well_formed_xml) {
  REQUIRE(system("command -v xmllint >/dev/null 2>&1") == 0); /* make deps installs it */
  char path[] = "/tmp/hawk-malloc-info-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  FILE *f = fdopen(fd, "w");
  REQUIRE(f);
  void *p = hawk_malloc(5000), *q = hawk_malloc((size_t)2 << 20);
  CHECK(MALLOC_INFO(0, f) == 0);
  fclose(f);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "xmllint --noout %s", path);
  CHECK(system(cmd) == 0);
  static char xml[1 << 16];
  FILE *back = fopen(path, "r");
  REQUIRE(back);
  xml[fread(xml, 1, sizeof xml - 1, back)] = 0;
  fclose(back);
  CHECK(count_of(xml, "<heap nr=") == stats_now().heaps);
  CHECK(strstr(xml, "<hawkalloc type=\"in_use\"") != NULL);
  unlink(path);
  hawk_free(p);
  hawk_free(q);
}

/* Every element of glibc's own malloc_info (glibc_probe, not preloaded)
 * appears in HawkAlloc's with the same attributes and the same type
 * values, except "unsorted" (HawkAlloc has no unsorted list); HawkAlloc
 * adds only its "hawkalloc" elements. */
TEST(malloc_info_has_glibcs_elements) {
  static char glibc[1 << 16], ours[1 << 16];
  int status = run_probe(0, glibc, sizeof glibc); /* built with the tests and for make asan */
  REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  REQUIRE(strstr(glibc, "<malloc version=\"1\">") != NULL);
  void *p = hawk_malloc(40), *q = hawk_malloc(40), *r = hawk_malloc(3000);
  hawk_free(p); /* something in the caches and on the free lists */
  REQUIRE(malloc_info_text(ours, sizeof ours, NULL, NULL) == 0);
  static char gs[SIG_MAX][SIG_LEN], hs[SIG_MAX][SIG_LEN];
  int gn = xml_signatures(glibc, gs), hn = xml_signatures(ours, hs);
  REQUIRE(gn >= 10);
  for (int i = 0; i < gn; i++) {
    if (strncmp(gs[i], "unsorted", 8) == 0) continue;
    if (!has_sig(hs, hn, gs[i])) {
      fprintf(stderr, "    glibc's <%s> is missing\n", gs[i]);
      test_failures_in_case++;
    }
  }
  for (int i = 0; i < hn; i++) {
    if (strncmp(hs[i], "hawkalloc", 9) == 0) continue;
    if (!has_sig(gs, gn, hs[i])) {
      fprintf(stderr, "    <%s> is not glibc's\n", hs[i]);
      test_failures_in_case++;
    }
  }
  CHECK(has_sig(hs, hn, "hawkalloc@type=in_use"));
  hawk_free(q);
  hawk_free(r);
}

/* The XML's figures are mallinfo2's: one <heap> per heap, the top-level
 * totals, the large blocks as glibc's mmap total. */
static void heap_section(const char *xml, int nr, char *out, size_t size);

TEST(malloc_info_figures_agree_with_mallinfo2) {
  static char xml[1 << 16];
  void *p = hawk_malloc(5000), *q = hawk_malloc((size_t)2 << 20);
  struct mallinfo2 m;
  struct hawk_stats s;
  REQUIRE(malloc_info_text(xml, sizeof xml, &m, &s) == 0);
  CHECK(count_of(xml, "<heap nr=") == s.heaps);
  CHECK(strstr(xml, "<heap nr=\"0\">") != NULL);
  CHECK(xml_number(xml, 1, "<total type=\"rest\"", "size") == (long long)m.fordblks);
  CHECK(xml_number(xml, 1, "<total type=\"rest\"", "count") == (long long)m.ordblks);
  CHECK(xml_number(xml, 1, "<total type=\"mmap\"", "count") == (long long)m.hblks);
  CHECK(xml_number(xml, 1, "<total type=\"mmap\"", "size") == (long long)m.hblkhd);
  CHECK(xml_number(xml, 1, "<system type=\"current\"", "size") == (long long)m.arena);
  CHECK(xml_number(xml, 1, "<hawkalloc type=\"in_use\"", "size") == (long long)s.in_use);
  CHECK(xml_number(xml, 1, "<hawkalloc type=\"mapped\"", "size") == (long long)s.mapped);
  CHECK(xml_number(xml, 1, "<hawkalloc type=\"heaps\"", "count") == (long long)s.heaps);
  CHECK(m.hblks >= 1 && m.hblkhd >= ((size_t)2 << 20));
  /* each heap's <aspace type="subheaps"> counts its arenas, whose bytes
   * its <system type="current"> has */
  static char h[1 << 14];
  long long arenas = 0;
  for (unsigned nr = 0; nr < s.heaps; nr++) {
    heap_section(xml, (int)nr, h, sizeof h);
    long long sub = xml_number(h, 0, "<aspace type=\"subheaps\"", "size");
    CHECK(sub >= 0 &&
          sub * (long long)ARENA == xml_number(h, 0, "<system type=\"current\"", "size"));
    arenas += sub;
  }
  CHECK(arenas == (long long)s.arenas && arenas >= 1);
  hawk_free(p);
  hawk_free(q);
}

/* The text of <heap nr="nr"> ... </heap> of xml, into out (empty if
 * absent). */
static void heap_section(const char *xml, int nr, char *out, size_t size) {
  char open[32];
  snprintf(open, sizeof open, "<heap nr=\"%d\">", nr);
  const char *from = strstr(xml, open), *to = from ? strstr(from, "</heap>") : NULL;
  size_t len = to ? (size_t)(to - from) : 0;
  if (len >= size) len = size - 1;
  memcpy(out, from ? from : "", len);
  out[len] = 0;
}

/* malloc_info's figures of a heap, in a fresh copy with no thread cache
 * (every free reaches the heap): the free blocks are in size classes of 32
 * bytes and less, 33 to 64, ... each from its smallest block to its
 * biggest; the heap's <system type="max"> is its peak of arenas, not its
 * count now. */
TEST(malloc_info_size_classes_and_the_heaps_peak) {
  if (!is_fresh("malloc_info_size_classes_and_the_heaps_peak")) {
    char *env[] = {"HAWKALLOC_TCACHE=0", NULL}, out[1 << 13];
    int status = run_fresh_env("malloc_info_size_classes_and_the_heaps_peak", env, out, sizeof out);
    CHECK(status == 0);
    if (status != 0) fprintf(stderr, "%s", out);
    return;
  }
  /* Free blocks of 64, 48 and 32 bytes, in that order of addresses, each
   * between blocks in use. */
  void *g[4], *b64, *b48, *b32;
  g[0] = hawk_malloc(200);
  b64 = hawk_malloc(56);
  g[1] = hawk_malloc(200);
  b48 = hawk_malloc(40);
  g[2] = hawk_malloc(200);
  b32 = hawk_malloc(24);
  g[3] = hawk_malloc(200);
  REQUIRE(g[0] && g[1] && g[2] && g[3] && b64 && b48 && b32);
  REQUIRE((char *)b64 < (char *)b48 && (char *)b48 < (char *)b32);
  hawk_free(b64);
  hawk_free(b48);
  hawk_free(b32);
  /* The heap grows to three arenas, then gives them back. */
  void *big[12];
  for (int i = 0; i < 12; i++) REQUIRE((big[i] = hawk_malloc(900000)) != NULL);
  for (int i = 0; i < 12; i++) hawk_free(big[i]);
  hawk_trim();
  static char xml[1 << 16], h0[1 << 14];
  REQUIRE(malloc_info_text(xml, sizeof xml, NULL, NULL) == 0);
  heap_section(xml, 0, h0, sizeof h0);
  CHECK(strstr(h0, "<size from=\"32\" to=\"32\"") != NULL);
  CHECK(strstr(h0, "<size from=\"48\" to=\"64\"") != NULL);
  long long now0 = xml_number(h0, 0, "<system type=\"current\"", "size");
  long long max0 = xml_number(h0, 0, "<system type=\"max\"", "size");
  CHECK(now0 >= (long long)ARENA && max0 >= 3 * (long long)ARENA && max0 > now0);
  if (test_failures_in_case) printf("%s", xml);
  for (int i = 0; i < 4; i++) hawk_free(g[i]);
}

static pthread_barrier_t all_grown;

/* Three arenas of blocks held until every thread has its own. */
static void *grow_a_heap(void *arg) {
  (void)arg;
  void *p[12];
  hawk_free(hawk_malloc(32)); /* gives the thread its cache, and its heap */
  for (int i = 0; i < 12; i++) p[i] = hawk_malloc(900000);
  pthread_barrier_wait(&all_grown);
  for (int i = 0; i < 12; i++) hawk_free(p[i]);
  return NULL;
}

/* The totals' <system type="max"> is the sum of every heap's peak, the
 * last heap's too: two heaps, two threads at once (a new thread takes the
 * heap with the fewest threads: one each), each heap grown to three
 * arenas. */
TEST(malloc_info_total_max_sums_every_heaps_peak) {
  if (!is_fresh("malloc_info_total_max_sums_every_heaps_peak")) {
    char *env[] = {"HAWKALLOC_HEAPS=2", NULL}, out[1 << 13];
    int status = run_fresh_env("malloc_info_total_max_sums_every_heaps_peak", env, out, sizeof out);
    CHECK(status == 0);
    if (status != 0) fprintf(stderr, "%s", out);
    return;
  }
  pthread_t t[2];
  REQUIRE(pthread_barrier_init(&all_grown, NULL, 2) == 0);
  for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&t[i], NULL, grow_a_heap, NULL) == 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  pthread_barrier_destroy(&all_grown);
  static char xml[1 << 16], h0[1 << 14], h1[1 << 14];
  REQUIRE(malloc_info_text(xml, sizeof xml, NULL, NULL) == 0);
  heap_section(xml, 0, h0, sizeof h0);
  heap_section(xml, 1, h1, sizeof h1);
  long long max0 = xml_number(h0, 0, "<system type=\"max\"", "size");
  long long max1 = xml_number(h1, 0, "<system type=\"max\"", "size");
  CHECK(max0 >= 3 * (long long)ARENA && max1 >= 3 * (long long)ARENA);
  CHECK(xml_number(xml, 1, "<system type=\"max\"", "size") == max0 + max1);
  if (test_failures_in_case) printf("%s", xml);
}

/* options must be 0: anything else is EINVAL, with nothing written, as
 * glibc 2.36 answers (it returns EINVAL itself; errno is set too). */
TEST(malloc_info_options_einval) {
  FILE *f = tmpfile();
  REQUIRE(f);
  errno = 0;
  CHECK(MALLOC_INFO(1, f) == EINVAL);
  CHECK(errno == EINVAL);
  CHECK(MALLOC_INFO(-1, f) == EINVAL);
  CHECK(ftell(f) == 0);
  fclose(f);
}

/* A FILE whose writes allocate and read the statistics (which take every
 * heap's lock): malloc_info holds no lock while it writes, so this does not
 * hang; a child with an alarm turns a hang into a failure. */
static char written[1 << 16];

static ssize_t allocating_write(void *cookie, const char *buf, size_t size) {
  size_t *total = cookie;
  void *p = hawk_malloc(size + 3000);
  if (p) memcpy(p, buf, size);
  hawk_free(p);
  struct hawk_stats s;
  hawk_stats(&s, sizeof s);
  if (*total + size < sizeof written) memcpy(written + *total, buf, size);
  *total += size;
  return (ssize_t)size;
}

static void write_through_allocating_file(void *arg) {
  (void)arg;
  alarm(60);
  size_t total = 0;
  FILE *f = fopencookie(&total, "w", (cookie_io_functions_t){.write = allocating_write});
  if (!f) _exit(2);
  setvbuf(f, NULL, _IONBF, 0); /* every fprintf reaches the cookie */
  int r = MALLOC_INFO(0, f);
  fclose(f);
  _exit(r == 0 && strstr(written, "<hawkalloc type=\"in_use\"") ? 0 : 3);
}

TEST(malloc_info_writes_with_no_lock_held) {
  char out[512];
  int status = run_captured(write_through_allocating_file, NULL, out, sizeof out);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  if (!WIFEXITED(status)) fprintf(stderr, "    child status %d: %s\n", status, out);
}

static void info_to_null(void *arg) {
  (void)arg;
  MALLOC_INFO(0, NULL);
}

/* A NULL FILE is misuse: one line and abort, not a crash inside. */
TEST(malloc_info_null_file_aborts) {
  EXPECT_ABORT(info_to_null, NULL, "hawkalloc: malloc_info", "NULL");
}

/* M_MMAP_THRESHOLD moves the large-block threshold: after 64 KiB, a block
 * of 100 KiB is a mapping of its own; after 2 MiB, one of 1.5 MiB is in an
 * arena; a negative value or one above 2 MiB is refused (0) and changes
 * nothing. */
TEST(mallopt_mmap_threshold_moves_the_boundary) {
  FRESH("mallopt_mmap_threshold_moves_the_boundary");
  void *before = hawk_malloc(100 << 10);
  CHECK(walked_state(before) == HAWK_BLOCK_ALLOCATED);
  CHECK(MALLOPT(M_MMAP_THRESHOLD, 64 << 10) == 1);
  void *after = hawk_malloc(100 << 10);
  CHECK(walked_state(after) == HAWK_BLOCK_LARGE);
  CHECK(MALLINFO2().hblks == 1);
  void *small = hawk_malloc(60 << 10);
  CHECK(walked_state(small) == HAWK_BLOCK_ALLOCATED);
  /* realloc follows the threshold too: grown past it, the block moves out */
  void *grown = hawk_realloc(small, 80 << 10);
  CHECK(walked_state(grown) == HAWK_BLOCK_LARGE);
  void *shrunk = hawk_realloc(after, 10 << 10);
  CHECK(walked_state(shrunk) == HAWK_BLOCK_ALLOCATED);
  CHECK(MALLOPT(M_MMAP_THRESHOLD, -1) == 0);
  CHECK(MALLOPT(M_MMAP_THRESHOLD, (2 << 20) + 1) == 0);
  CHECK(MALLOPT(M_MMAP_THRESHOLD, INT_MAX) == 0);
  void *still = hawk_malloc(100 << 10);
  CHECK(walked_state(still) == HAWK_BLOCK_LARGE);
  CHECK(MALLOPT(M_MMAP_THRESHOLD, 2 << 20) == 1);
  void *mid = hawk_malloc(1536 << 10);
  CHECK(walked_state(mid) == HAWK_BLOCK_ALLOCATED);
  void *top = hawk_malloc(2 << 20);
  CHECK(walked_state(top) == HAWK_BLOCK_LARGE);
  void *aligned = hawk_aligned_alloc(1 << 20, 1900 << 10);
  CHECK(aligned && ((uintptr_t)aligned & ((1 << 20) - 1)) == 0);
  CHECK(hawk_check() == 0);
  hawk_free(aligned);
  hawk_free(top);
  hawk_free(mid);
  hawk_free(still);
  hawk_free(shrunk);
  hawk_free(grown);
  hawk_free(before);
  CHECK(hawk_check() == 0);
}

/* Each thread allocates a block past the thread cache from its own heap and
 * reports which heap hawk_walk says it is in. */
static void *heap_of_a_new_thread(void *arg) {
  int *heap = arg;
  hawk_free(hawk_malloc(32)); /* gives the thread its cache, and its heap */
  void *p = hawk_malloc(3000);
  *heap = walked_heap(p);
  hawk_free(p);
  return NULL;
}

/* M_ARENA_MAX limits the heaps new threads are spread over; the heaps that
 * exist stay (threads already on them keep them); 0 or less is refused. */
TEST(mallopt_arena_max_limits_heaps_of_new_threads) {
  if (!is_fresh("mallopt_arena_max_limits_heaps_of_new_threads")) {
    setenv("HAWKALLOC_HEAPS", "4", 1);
    CHECK(run_fresh("mallopt_arena_max_limits_heaps_of_new_threads") == 0);
    unsetenv("HAWKALLOC_HEAPS");
    return;
  }
  REQUIRE(stats_now().heaps == 4);
  CHECK(MALLOPT(M_ARENA_MAX, 0) == 0);
  CHECK(MALLOPT(M_ARENA_MAX, -3) == 0);
  CHECK(MALLOPT(M_ARENA_MAX, 1) == 1);
  enum { THREADS = 6 };
  int heap[THREADS];
  for (int i = 0; i < THREADS; i++) {
    pthread_t t;
    heap[i] = -2;
    REQUIRE(pthread_create(&t, NULL, heap_of_a_new_thread, &heap[i]) == 0);
    pthread_join(t, NULL);
    CHECK(heap[i] == 0);
  }
  CHECK(MALLOPT(M_ARENA_MAX, 2) == 1);
  int seen[4] = {0};
  for (int i = 0; i < THREADS; i++) {
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, heap_of_a_new_thread, &heap[i]) == 0);
    pthread_join(t, NULL);
    REQUIRE(heap[i] >= 0 && heap[i] < 4);
    seen[heap[i]]++;
  }
  /* One after another, each takes a heap of the two the last one left
   * (the one with the fewest threads: docs/design.md), never heap 2 or 3. */
  CHECK(seen[0] + seen[1] == THREADS && seen[2] == 0 && seen[3] == 0);
  CHECK(MALLOPT(M_ARENA_MAX, 1000) == 1); /* a maximum: the four heaps there are */
  CHECK(stats_now().heaps == 4);
}

static int all_bytes(const unsigned char *p, size_t from, size_t to, unsigned char v) {
  for (size_t i = from; i < to; i++)
    if (p[i] != v) return 0;
  return 1;
}

/* M_PERTURB, as glibc: a block handed out by malloc (not calloc) is filled
 * with the value's low byte XOR 0xff, a freed one with the low byte (past
 * the 16 bytes a free block keeps its links in); 0 turns it off. */
TEST(mallopt_perturb_fills) {
  FRESH("mallopt_perturb_fills");
  CHECK(MALLOPT(M_PERTURB, 0x15a) == 1);
  unsigned char *a = hawk_malloc(64), *b = hawk_malloc(3000);
  unsigned char *c = hawk_aligned_alloc(256, 500), *z = hawk_calloc(1, 300);
  REQUIRE(a && b && c && z);
  CHECK(all_bytes(a, 0, 64, 0xa5) && all_bytes(b, 0, 3000, 0xa5) && all_bytes(c, 0, 500, 0xa5));
  CHECK(all_bytes(z, 0, 300, 0));
  size_t ua = hawk_usable_size(a), ub = hawk_usable_size(b);
  hawk_free(a); /* into the thread cache */
  hawk_free(b); /* into the heap */
  CHECK(all_bytes(a, 16, ua, 0x5a));
  CHECK(all_bytes(b, 16, ub - 8, 0x5a));  /* its last 8 bytes: the footer */
  unsigned char *again = hawk_malloc(64); /* the cached block, filled again */
  CHECK(again == a && all_bytes(again, 0, 64, 0xa5));
  CHECK(MALLOPT(M_PERTURB, 0) == 1);
  memset(again, 0x11, 64);
  hawk_free(again);
  unsigned char *plain = hawk_malloc(64); /* the same block, filled neither way */
  CHECK(plain == a && all_bytes(plain, 16, 64, 0x11));
  CHECK(MALLOPT(M_PERTURB, 0x100) == 1); /* only the low byte counts: 0 is off, as glibc */
  memset(plain, 0x22, 64);
  hawk_free(plain);
  plain = hawk_malloc(64);
  CHECK(plain == a && all_bytes(plain, 16, 64, 0x22));
  hawk_free(plain);
  /* A shrinking realloc next to a block in use moves to a cached block:
   * the old block is filled as free fills it, past the bytes kept too. */
  CHECK(MALLOPT(M_PERTURB, 0x15a) == 1);
  unsigned char *s = hawk_malloc(200), *next = hawk_malloc(200), *spare = hawk_malloc(40);
  REQUIRE(s && next && spare);
  REQUIRE(next == s + 208);
  hawk_free(spare);
  memset(s, 0x33, 200);
  unsigned char *shrunk = hawk_realloc(s, 40);
  CHECK(shrunk == spare && all_bytes(shrunk, 0, 40, 0x33));
  CHECK(all_bytes(s, 16, 200, 0x5a));
  /* hawk_heap_realloc moving a block into another heap fills the block it
   * left as free fills it. */
  struct hawk_heap *uh = hawk_heap_create(NULL);
  REQUIRE(uh);
  unsigned char *m = hawk_malloc(3000), *after_m = hawk_malloc(100);
  REQUIRE(m && after_m);
  memset(m, 0x44, 3000);
  size_t um = hawk_usable_size(m);
  unsigned char *moved = hawk_heap_realloc(uh, m, 3000);
  REQUIRE(moved);
  CHECK(moved != m && all_bytes(moved, 0, 3000, 0x44));
  /* past the links a free block keeps (32 bytes: one merged with a free
   * neighbour may keep more than a list's two), before its footer */
  CHECK(all_bytes(m, 32, um - 8, 0x5a));
  hawk_free(after_m);
  hawk_heap_destroy(uh);
  CHECK(MALLOPT(M_PERTURB, 0) == 1);
  hawk_free(shrunk);
  hawk_free(next);
  hawk_free(c);
  hawk_free(z);
  CHECK(hawk_check() == 0);
}

/* Frees eighty blocks of 900,000 bytes (four to an arena, at least twenty
 * arenas) and returns how many empty arenas were kept. */
static uint64_t cached_after_freeing_arenas(void) {
  enum { N = 80 };
  void *p[N];
  for (int i = 0; i < N; i++) p[i] = hawk_malloc(900000);
  for (int i = 0; i < N; i++) hawk_free(p[i]);
  return stats_now().cached_arenas;
}

/* M_TRIM_THRESHOLD bounds the bytes of empty arenas kept mapped (whole
 * arenas of 4 MiB): 0 keeps none, 12 MiB three, -1 (glibc's "never trim")
 * every one; lowering it unmaps what is over at once. */
TEST(mallopt_trim_threshold_bounds_cached_arenas) {
  FRESH("mallopt_trim_threshold_bounds_cached_arenas");
  CHECK(cached_after_freeing_arenas() == 16); /* the default: 64 MiB */
  CHECK(MALLOPT(M_TRIM_THRESHOLD, 0) == 1);
  CHECK(stats_now().cached_arenas == 0);
  CHECK(cached_after_freeing_arenas() == 0);
  CHECK(MALLOPT(M_TRIM_THRESHOLD, 12 << 20) == 1);
  CHECK(cached_after_freeing_arenas() == 3);
  CHECK(MALLOPT(M_TRIM_THRESHOLD, -1) == 1);
  uint64_t all = cached_after_freeing_arenas();
  CHECK(all >= 19);
  CHECK(MALLINFO2().keepcost == all * ARENA);
  CHECK(MALLOPT(M_TRIM_THRESHOLD, (4 << 20) + 5) == 1);
  CHECK(stats_now().cached_arenas == 1);
  CHECK(hawk_check() == 0);
}

static void double_free_after_check_action_0(void *arg) {
  (void)arg;
  MALLOPT(M_CHECK_ACTION, 0);
  void *p = hawk_malloc(3000);
  hawk_free(p);
  hawk_free(p);
}

/* HawkAlloc's tunables as malloc_info reports them. */
static void tunables(long long out[4]) {
  static char xml[1 << 16];
  out[0] = out[1] = out[2] = out[3] = -1;
  if (malloc_info_text(xml, sizeof xml, NULL, NULL) != 0) return;
  out[0] = xml_number(xml, 1, "<hawkalloc type=\"mmap_threshold\"", "size");
  out[1] = xml_number(xml, 1, "<hawkalloc type=\"heaps\"", "spread");
  out[2] = xml_number(xml, 1, "<hawkalloc type=\"cached_arenas\"", "limit");
  out[3] = xml_number(xml, 1, "<hawkalloc type=\"perturb\"", "value");
}

/* The parameters HawkAlloc accepts and ignores answer as glibc 2.36 does
 * and change none of its tunables; M_CHECK_ACTION does not turn the misuse
 * checks off. */
TEST(mallopt_others_answer_as_glibc) {
  long long before[4], after[4];
  tunables(before);
  REQUIRE(before[0] == 1 << 20 && before[1] >= 1 && before[2] == 16 && before[3] == 0);
  CHECK(MALLOPT(M_MXFAST, 64) == 1);
  CHECK(MALLOPT(M_MXFAST, 0) == 1);
  CHECK(MALLOPT(M_MXFAST, (int)(80 * sizeof(size_t) / 4)) == 1); /* glibc's most, itself */
  CHECK(MALLOPT(M_MXFAST, 161) == 0); /* glibc: at most 80 * sizeof(size_t) / 4 */
  CHECK(MALLOPT(M_MXFAST, -1) == 0);
  CHECK(MALLOPT(M_TOP_PAD, 1 << 20) == 1);
  CHECK(MALLOPT(M_MMAP_MAX, 0) == 1);
  CHECK(MALLOPT(M_ARENA_TEST, 8) == 1);
  CHECK(MALLOPT(M_NLBLKS, 3) == 1 && MALLOPT(M_GRAIN, 3) == 1 && MALLOPT(M_KEEP, 3) == 1);
  CHECK(MALLOPT(12345, 1) == 1);
  CHECK(MALLOPT(M_CHECK_ACTION, 0) == 1 && MALLOPT(M_CHECK_ACTION, 3) == 1);
  tunables(after);
  CHECK(memcmp(before, after, sizeof before) == 0);
  void *big = hawk_malloc((size_t)3 << 20); /* M_MMAP_MAX 0 cannot keep it in an arena */
  CHECK(walked_state(big) == HAWK_BLOCK_LARGE);
  hawk_free(big);
  EXPECT_ABORT(double_free_after_check_action_0, NULL, "double free");
}

/* A thread of heap_of_a_new_thread's kind that keeps its heap until told
 * (end): it says which heap it took, then waits. */
struct heap_holder {
  pthread_barrier_t *placed, *end;
  int heap;
};

static void *hold_a_heap(void *arg) {
  struct heap_holder *h = arg;
  hawk_free(hawk_malloc(32)); /* its cache, and its heap */
  void *p = hawk_malloc(3000);
  h->heap = walked_heap(p);
  pthread_barrier_wait(h->placed);
  pthread_barrier_wait(h->end);
  hawk_free(p);
  return NULL;
}

/* M_ARENA_MAX above the number of heaps is taken as that number: the heaps
 * there are stay all there is (docs/design.md: their count is fixed at
 * start-up), malloc_info's spread says 2 of 2, and a new thread, with a
 * thread on each of the two heaps, is given one of them, not a heap past
 * the table's end that was never set up. */
TEST(mallopt_arena_max_above_the_heap_count_keeps_threads_on_the_heaps) {
  if (!is_fresh("mallopt_arena_max_above_the_heap_count_keeps_threads_on_the_heaps")) {
    setenv("HAWKALLOC_HEAPS", "2", 1);
    CHECK(run_fresh("mallopt_arena_max_above_the_heap_count_keeps_threads_on_the_heaps") == 0);
    unsetenv("HAWKALLOC_HEAPS");
    return;
  }
  REQUIRE(stats_now().heaps == 2);
  hawk_free(hawk_malloc(32)); /* the main thread is on heap 0 */
  CHECK(MALLOPT(M_ARENA_MAX, 6) == 1);
  long long t[4];
  tunables(t);
  CHECK(t[1] == 2);
  pthread_barrier_t placed, end;
  pthread_barrier_init(&placed, NULL, 2);
  pthread_barrier_init(&end, NULL, 2);
  struct heap_holder holder = {&placed, &end, -2};
  pthread_t th;
  REQUIRE(pthread_create(&th, NULL, hold_a_heap, &holder) == 0);
  pthread_barrier_wait(&placed);
  CHECK(holder.heap == 1);
  int heap = -2; /* one thread on each heap: the next goes to the first, heap 0 */
  pthread_t t2;
  REQUIRE(pthread_create(&t2, NULL, heap_of_a_new_thread, &heap) == 0);
  pthread_join(t2, NULL);
  CHECK(heap == 0);
  pthread_barrier_wait(&end);
  pthread_join(th, NULL);
  pthread_barrier_destroy(&placed);
  pthread_barrier_destroy(&end);
  CHECK(stats_now().heaps == 2);
  CHECK(hawk_check() == 0);
}

/* Threads allocate, resize and free blocks of every size, checking their
 * contents, while mallopt moves the threshold, turns M_PERTURB on and off,
 * narrows and widens the heaps new threads use and changes the arena cache:
 * every block keeps its bytes and the heap stays sound.  Also run under
 * ThreadSanitizer (make tsan). */
struct churn {
  unsigned seed;
  int stop, errors;
};

/* Checks that every 97th byte of the first n bytes of p is mark. */
static int marked(const unsigned char *p, size_t n, unsigned char mark) {
  for (size_t k = 0; k < n; k += 97)
    if (p[k] != mark) return 0;
  return 1;
}

static void *churn_thread(void *arg) {
  struct churn *c = arg;
  unsigned r = c->seed;
  enum { SLOTS = 32 };
  unsigned char *slot[SLOTS] = {0};
  size_t len[SLOTS] = {0};
  for (unsigned round = 0; !__atomic_load_n(&c->stop, __ATOMIC_RELAXED) || round < 2000; round++) {
    r = r * 1103515245u + 12345u;
    unsigned i = (r >> 8) % SLOTS;
    size_t n = 1 + (r >> 12) % ((r & 1) ? 3000 : 300000);
    unsigned char mark = (unsigned char)(i * 7 + 1);
    if (slot[i] && !marked(slot[i], len[i], mark)) c->errors++;
    if (slot[i] && (r & 2)) {
      unsigned char *q = hawk_realloc(slot[i], n);
      if (!q || !marked(q, n < len[i] ? n : len[i], mark)) c->errors++;
      if (q) slot[i] = q;
    } else if (slot[i]) {
      hawk_free(slot[i]);
      slot[i] = NULL;
      continue;
    } else if ((slot[i] = hawk_malloc(n)) == NULL) {
      c->errors++;
      continue;
    }
    memset(slot[i], mark, n);
    len[i] = n;
  }
  for (unsigned i = 0; i < SLOTS; i++) hawk_free(slot[i]);
  return NULL;
}

TEST(mallopt_while_threads_allocate) {
  enum { THREADS = 3 };
  pthread_t t[THREADS];
  struct churn c[THREADS];
  for (int i = 0; i < THREADS; i++) {
    c[i] = (struct churn){.seed = 0x9e37u * (unsigned)(i + 1)};
    REQUIRE(pthread_create(&t[i], NULL, churn_thread, &c[i]) == 0);
  }
  for (int k = 0; k < 200; k++) {
    CHECK(MALLOPT(M_MMAP_THRESHOLD, k % 2 ? 64 << 10 : 2 << 20) == 1);
    CHECK(MALLOPT(M_PERTURB, k % 3 ? 0 : 0x5a) == 1);
    CHECK(MALLOPT(M_ARENA_MAX, 1 + k % 2) == 1);
    CHECK(MALLOPT(M_TRIM_THRESHOLD, k % 2 ? 0 : 8 << 20) == 1);
    CHECK(MALLINFO2().arena % ARENA == 0);
  }
  for (int i = 0; i < THREADS; i++) __atomic_store_n(&c[i].stop, 1, __ATOMIC_RELAXED);
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    CHECK(c[i].errors == 0);
  }
  long long last[4]; /* what the last round (k = 199) set */
  tunables(last);
  CHECK(last[0] == 64 << 10 && last[1] == 2 && last[2] == 0 && last[3] == 0);
  MALLOPT(M_MMAP_THRESHOLD, 1 << 20);
  MALLOPT(M_TRIM_THRESHOLD, 8 << 20);
  MALLOPT(M_ARENA_MAX, 16);
  MALLOPT(M_PERTURB, 0);
  CHECK(hawk_check() == 0);
}

#ifndef HAWK_NO_OVERRIDE
/* The value of "name=" in the probe's mallinfo2 line. */
static long long probe_field(const char *out, const char *name) {
  char key[32];
  snprintf(key, sizeof key, " %s=", name);
  const char *line = strstr(out, "mallinfo2");
  const char *f = line ? strstr(line, key) : NULL;
  return f ? strtoll(f + strlen(key), NULL, 10) : -1;
}

/* A program not linked with HawkAlloc, preloaded with it, gets HawkAlloc's
 * figures from mallinfo2 and malloc_info, where glibc's own (not preloaded)
 * show its main arena of a few hundred KiB. */
TEST(preloaded_program_gets_hawkallocs_figures) {
  static char out[1 << 16];
  int status = run_probe(0, out, sizeof out);
  REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  long long glibc_arena = probe_field(out, "arena");
  CHECK(glibc_arena > 0 && glibc_arena % (long long)ARENA != 0);
  CHECK(strstr(out, "<hawkalloc") == NULL);
  status = run_probe(1, out, sizeof out);
  REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  long long arena = probe_field(out, "arena"), hblks = probe_field(out, "hblks");
  long long hblkhd = probe_field(out, "hblkhd"), uord = probe_field(out, "uordblks");
  long long ford = probe_field(out, "fordblks");
  CHECK(arena >= (long long)ARENA && arena % (long long)ARENA == 0);
  CHECK(hblks >= 1 && hblkhd >= (3 << 20));
  CHECK(uord > 0 && arena == uord + ford + 144 * (arena / (long long)ARENA));
  CHECK(strstr(out, "<hawkalloc type=\"in_use\"") != NULL);
  CHECK(xml_number(out, 1, "<system type=\"current\"", "size") == arena);
}
#endif

TEST_MAIN()
