/* override_dlopen.c - dlopen and dlmopen, without RTLD_DEEPBIND.
 *
 * A library opened with RTLD_DEEPBIND looks its symbols up in itself and its
 * own dependencies before the global scope, so its malloc and free are the C
 * library's, not HawkAlloc's, whether HawkAlloc is preloaded or linked into
 * the program: a block the program allocates and the library frees (or the
 * other way round) crosses from one allocator to the other.  PHP opens its
 * extensions so, and Debian's php 8.2 died at start-up in glibc's free
 * ("munmap_chunk(): invalid pointer", pdo.so freeing a string of the PHP
 * binary; docs/security.md, "Found by a search at ac88f5a").  This dlopen
 * clears the flag and jumps to the next dlopen, the C library's.  It must be
 * a jump (a sibling call, which -O2 makes of the last call): the C library's
 * dlopen finds its caller from its return address, and takes the caller's
 * $ORIGIN, RUNPATH and namespace from it, which must stay the program's.
 * test_glibc's deepbind_library_frees_hawkallocs_blocks opens
 * "$ORIGIN/glibc_probe_lib.so" through it (and through dlmopen), preloaded:
 * from this library's directory that file does not exist.
 *
 * Nothing here runs on an allocation's path; this file is linked after the
 * 64 KiB window of the code every process runs (the Makefile's LIB_FIRST).
 */
#include <dlfcn.h>
#include <stddef.h>

#define EXPORT __attribute__((visibility("default")))

typedef void *dlopen_fn(const char *file, int mode);
typedef void *dlmopen_fn(Lmid_t lmid, const char *file, int mode);

/* The C library's function of that name, found once and kept in *cache (a
 * race finds the same one twice); NULL if there is none. */
static void *next_named(void **cache, const char *name) {
  void *next = __atomic_load_n(cache, __ATOMIC_RELAXED);
  if (next == NULL) {
    next = dlsym(RTLD_NEXT, name);
    __atomic_store_n(cache, next, __ATOMIC_RELAXED);
  }
  return next;
}

static void *next_dlopen, *next_dlmopen;

EXPORT void *dlopen(const char *file, int mode) {
  dlopen_fn *next;
  void *sym = next_named(&next_dlopen, "dlopen");
  if (sym == NULL) return NULL;
  __builtin_memcpy(&next, &sym, sizeof next);
  return next(file, mode & ~RTLD_DEEPBIND);
}

/* dlmopen into the program's namespace (LM_ID_BASE) is dlopen: the flag is
 * cleared there too (found at 3a7e632, where a library opened so freed the
 * program's block in glibc's free: "munmap_chunk(): invalid pointer").  A
 * new namespace holds a C library of its own and no HawkAlloc (LD_PRELOAD
 * loads into the first only), whose malloc its libraries take with or
 * without the flag: there it is left.  A jump too, as dlopen's. */
EXPORT void *dlmopen(Lmid_t lmid, const char *file, int mode) {
  dlmopen_fn *next;
  void *sym = next_named(&next_dlmopen, "dlmopen");
  if (sym == NULL) return NULL;
  __builtin_memcpy(&next, &sym, sizeof next);
  return next(lmid, file, lmid == LM_ID_BASE ? mode & ~RTLD_DEEPBIND : mode);
}
