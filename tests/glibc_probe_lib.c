/* glibc_probe_lib.c - the library glibc_probe opens with RTLD_DEEPBIND
 * ("glibc_probe deepbind"): its calls to malloc, free and friends are
 * looked up in itself and the C library first, unless the dlopen that
 * opened it was HawkAlloc's (src/override_dlopen.c).
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void probe_lib_free(void *ptr) { free(ptr); }
void *probe_lib_strdup(const char *s) { return strdup(s); }
void *probe_lib_malloc(size_t size) { return malloc(size); }
void *probe_lib_realloc(void *ptr, size_t size) { return realloc(ptr, size); }
size_t probe_lib_usable_size(void *ptr) { return malloc_usable_size(ptr); }
