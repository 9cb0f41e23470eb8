/* override.c - the standard allocation names, and nothing else.
 *
 * This is the only file that defines libc's allocation names (dlopen is
 * override_dlopen.c's); each forwards to the hawk_* function of the same
 * meaning (api.c holds the rules).  Linking it
 * replaces the whole family, glibc's __libc_* entry points included, so no
 * pointer from another allocator reaches HawkAlloc's free by accident.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "hawkalloc.h"

#define EXPORT __attribute__((visibility("default")))

/* The hawk_* functions of the calls programs make most, under hidden names
 * (api.c): a direct jump, not one through the PLT. */
#define DIRECT __attribute__((visibility("hidden")))
DIRECT void *hawk_malloc_direct(size_t size);
DIRECT void hawk_free_direct(void *ptr);
DIRECT void *hawk_calloc_direct(size_t count, size_t size);
DIRECT void *hawk_realloc_direct(void *ptr, size_t size);
DIRECT size_t hawk_usable_size_direct(void *ptr);

/* The names every program calls sit with the code they jump to, in
 * .text.hot (config.h: HAWK_HOT). */
#define HOT __attribute__((hot))

EXPORT HOT void *malloc(size_t size) { return hawk_malloc_direct(size); }
EXPORT HOT void free(void *ptr) { hawk_free_direct(ptr); }
EXPORT HOT void *calloc(size_t count, size_t size) { return hawk_calloc_direct(count, size); }
EXPORT HOT void *realloc(void *ptr, size_t size) { return hawk_realloc_direct(ptr, size); }
EXPORT void *reallocarray(void *ptr, size_t count, size_t size) {
  return hawk_reallocarray(ptr, count, size);
}
EXPORT int posix_memalign(void **out, size_t alignment, size_t size) {
  return hawk_posix_memalign(out, alignment, size);
}
EXPORT void *aligned_alloc(size_t alignment, size_t size) {
  return hawk_aligned_alloc(alignment, size);
}
EXPORT void *memalign(size_t alignment, size_t size) { return hawk_memalign(alignment, size); }
EXPORT void *valloc(size_t size) { return hawk_valloc(size); }
EXPORT void *pvalloc(size_t size) { return hawk_pvalloc(size); }
/* free's old name: gone from glibc's headers since 2.26, still in its
 * library (cfree@GLIBC_2.2.5) for the binaries that call it, where it is
 * glibc's own free, which aborts on a block of ours. */
EXPORT void cfree(void *ptr);
void cfree(void *ptr) { hawk_free(ptr); }
EXPORT HOT size_t malloc_usable_size(void *ptr) { return hawk_usable_size_direct(ptr); }
EXPORT int malloc_trim(size_t pad) {
  (void)pad; /* everything free is released, whatever the pad */
  return hawk_trim();
}
EXPORT void malloc_stats(void) {
  hawk_stats_print(2);
  hawk_stats_print_map(2);
}

/* glibc's introspection and tuning calls (glibc.c, docs/glibc.md). */
EXPORT struct mallinfo2 mallinfo2(void) { return hawk_mallinfo2(); }
EXPORT struct mallinfo mallinfo(void) { return hawk_mallinfo(); }
EXPORT int malloc_info(int options, FILE *fp) { return hawk_malloc_info(options, fp); }
EXPORT int mallopt(int param, int value) { return hawk_mallopt(param, value); }

/* glibc's internal names, called by some programs and by libc itself. */
EXPORT void *__libc_malloc(size_t size);
EXPORT void __libc_free(void *ptr);
EXPORT void *__libc_calloc(size_t count, size_t size);
EXPORT void *__libc_realloc(void *ptr, size_t size);
EXPORT void *__libc_memalign(size_t alignment, size_t size);
EXPORT void *__libc_valloc(size_t size);
EXPORT void *__libc_pvalloc(size_t size);
EXPORT struct mallinfo __libc_mallinfo(void);
EXPORT int __libc_mallopt(int param, int value);

void *__libc_malloc(size_t size) { return hawk_malloc_direct(size); }
void __libc_free(void *ptr) { hawk_free_direct(ptr); }
void *__libc_calloc(size_t count, size_t size) { return hawk_calloc_direct(count, size); }
void *__libc_realloc(void *ptr, size_t size) { return hawk_realloc_direct(ptr, size); }
void *__libc_memalign(size_t alignment, size_t size) { return hawk_memalign(alignment, size); }
void *__libc_valloc(size_t size) { return hawk_valloc(size); }
void *__libc_pvalloc(size_t size) { return hawk_pvalloc(size); }
struct mallinfo __libc_mallinfo(void) {
  return hawk_mallinfo();
}
int __libc_mallopt(int param, int value) { return hawk_mallopt(param, value); }
