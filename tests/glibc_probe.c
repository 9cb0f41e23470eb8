/* glibc_probe.c - a plain program, not linked with HawkAlloc, that calls
 * glibc's introspection calls after a known set of allocations.
 * test_glibc runs it as it is (glibc's figures and glibc's malloc_info
 * XML, to compare element names with) and with LD_PRELOAD=libhawkalloc.so
 * (HawkAlloc's figures).  It prints one "mallinfo2 ..." line, then the
 * XML of malloc_info(0, stdout).
 */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A second thread allocates, so that glibc shows a second arena too. */
static void *other_thread(void *arg) {
  void *p[40];
  for (int i = 0; i < 40; i++) p[i] = malloc(16 + (size_t)i * 40);
  for (int i = 0; i < 40; i += 2) free(p[i]);
  return arg;
}

/* free's old name, which glibc still exports for old binaries
 * (cfree@GLIBC_2.2.5) though no header declares it any more. */
extern void cfree_old(void *ptr);
__asm__(".symver cfree_old, cfree@GLIBC_2.2.5");

/* "glibc_probe cfree": blocks of a small, a medium and a large size, each
 * freed with cfree, then allocated again; a small block freed so is the
 * next one of its size (both allocators' caches give the last freed first). */
static int probe_cfree(void) {
  char *a = malloc(100);
  cfree_old(a);
  if (malloc(100) != a) return 2;
  for (int round = 0; round < 2; round++)
    for (size_t n = 100; n <= ((size_t)2 << 20); n *= 150) {
      char *p = malloc(n);
      if (p == NULL) return 1;
      memset(p, 0x5a, n);
      cfree_old(p);
    }
  puts("cfree ok");
  return 0;
}

/* "glibc_probe deepbind": glibc_probe_lib.so, next to this program, opened
 * with RTLD_DEEPBIND (as PHP opens its extensions) by a name relative to
 * the caller ($ORIGIN: this program's directory, if dlopen still sees this
 * program as its caller); blocks of three sizes the program allocates are
 * freed or resized by the library, and the library's blocks are freed by
 * the program.  Each allocator gets back only its own blocks, preloaded or
 * not.  "glibc_probe dlmopen-deepbind": the same library opened by dlmopen
 * into the program's namespace (LM_ID_BASE). */
static int probe_deepbind(int through_dlmopen) {
  const char *name = "$ORIGIN/glibc_probe_lib.so";
  int mode = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
  void *h = through_dlmopen ? dlmopen(LM_ID_BASE, name, mode) : dlopen(name, mode);
  if (h == NULL) {
    printf("dlopen: %s\n", dlerror());
    return 1;
  }
  void (*lib_free)(void *);
  void *(*lib_strdup)(const char *), *(*lib_malloc)(size_t), *(*lib_realloc)(void *, size_t);
  size_t (*lib_usable_size)(void *);
  *(void **)&lib_free = dlsym(h, "probe_lib_free");
  *(void **)&lib_strdup = dlsym(h, "probe_lib_strdup");
  *(void **)&lib_malloc = dlsym(h, "probe_lib_malloc");
  *(void **)&lib_realloc = dlsym(h, "probe_lib_realloc");
  *(void **)&lib_usable_size = dlsym(h, "probe_lib_usable_size");
  if (!lib_free || !lib_strdup || !lib_malloc || !lib_realloc || !lib_usable_size) return 1;
  for (size_t n = 100; n <= ((size_t)3 << 20); n *= 180) {
    char *p = malloc(n), *q = malloc(n);
    if (p == NULL || q == NULL) return 1;
    memset(p, 0x5a, n);
    memset(q, 0x5b, n);
    if (lib_usable_size(p) < n) return 2;
    lib_free(p);
    q = lib_realloc(q, 2 * n);
    if (q == NULL || q[n - 1] != 0x5b) return 3;
    free(q);
    char *r = lib_malloc(n);
    if (r == NULL || malloc_usable_size(r) < n) return 4;
    memset(r, 0x5c, n);
    r = realloc(r, n / 2);
    free(r);
  }
  char *s = lib_strdup("a string of the library");
  if (s == NULL || strcmp(s, "a string of the library") != 0) return 5;
  free(s);
  puts("deepbind ok");
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "cfree") == 0) return probe_cfree();
  if (argc > 1 && strcmp(argv[1], "deepbind") == 0) return probe_deepbind(0);
  if (argc > 1 && strcmp(argv[1], "dlmopen-deepbind") == 0) return probe_deepbind(1);
  enum { SMALL = 60 };
  void *small[SMALL];
  /* Small blocks, a third of them freed: glibc keeps some in its bins. */
  for (int i = 0; i < SMALL; i++) small[i] = malloc(24 + (size_t)(i % 12) * 50);
  for (int i = 0; i < SMALL; i += 3) free(small[i]);
  void *big = malloc((size_t)3 << 20);
  if (!big) return 1;
  memset(big, 1, 4096);
  pthread_t t;
  if (pthread_create(&t, NULL, other_thread, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
  struct mallinfo2 m = mallinfo2();
  printf("mallinfo2 arena=%zu ordblks=%zu hblks=%zu hblkhd=%zu uordblks=%zu fordblks=%zu "
         "keepcost=%zu\n",
         m.arena, m.ordblks, m.hblks, m.hblkhd, m.uordblks, m.fordblks, m.keepcost);
  fflush(stdout);
  if (malloc_info(0, stdout) != 0) return 1;
  fflush(stdout);
  free(big);
  return 0;
}
