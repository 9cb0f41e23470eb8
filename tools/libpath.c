/* libpath.c - where libhawkalloc.so is.  hawk is not linked with it; it only
 * puts its path in LD_PRELOAD.  In order: $HAWK_LIB; next to the hawk binary
 * (build/hawk and build/libhawkalloc.so); ../lib from it (an installed
 * PREFIX/bin/hawk and PREFIX/lib/libhawkalloc.so.MAJOR, the soname, else
 * PREFIX/lib/libhawkalloc.so). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hawk.h"
#include "hawkalloc.h"

#define LIB_NAME   "libhawkalloc.so"
#define LIB_SONAME LIB_NAME "." HAWKALLOC_STRING_(HAWKALLOC_VERSION_MAJOR)

char *absolute_path(const char *path) {
  if (path[0] == '/') return strdup(path);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) return strdup(path);
  size_t len = strlen(cwd) + strlen(path) + 2;
  char *out = malloc(len);
  snprintf(out, len, "%s/%s", cwd, path);
  return out;
}

int preload_path_ok(const char *path) {
  if (strpbrk(path, " \t\n:")) {
    tool_error("%s: LD_PRELOAD cannot take a path with spaces or colons", path);
    return -1;
  }
  struct stat st;
  const char *why = NULL;
  if (stat(path, &st) != 0 || access(path, R_OK) != 0)
    why = strerror(errno);
  else if (!S_ISREG(st.st_mode))
    why = "not a regular file";
  if (why) {
    tool_error("%s: %s", path, why);
    return -1;
  }
  return 0;
}

/* path if it is a regular file, canonical and malloc'ed; else NULL. */
static char *existing(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return NULL;
  return realpath(path, NULL);
}

char *hawk_library_path(void) {
  const char *env = getenv("HAWK_LIB");
  if (env && *env) {
    char *p = existing(env);
    if (!p) {
      tool_error("HAWK_LIB=%s: no such file", env);
      return NULL;
    }
    if (preload_path_ok(p) != 0) {
      free(p);
      return NULL;
    }
    return p;
  }
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    tool_error("cannot find myself through /proc/self/exe: %s", strerror(errno));
    return NULL;
  }
  self[n] = 0;
  char *slash = strrchr(self, '/');
  if (slash) *slash = 0;
  const char *candidates[] = {"/" LIB_NAME, "/../lib/" LIB_SONAME, "/../lib/" LIB_NAME};
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s%s", self, candidates[i]);
    char *p = existing(path);
    if (p) {
      if (preload_path_ok(p) != 0) {
        free(p);
        return NULL;
      }
      return p;
    }
  }
  tool_error("cannot find %s next to %s or in %s/../lib (build it with 'make lib', or set "
             "HAWK_LIB)",
             LIB_NAME, self, self);
  return NULL;
}

/* Directories searched for an allocator given by name. */
static const char *lib_dirs[] = {"/usr/local/lib",
                                 "/usr/lib/x86_64-linux-gnu",
                                 "/lib/x86_64-linux-gnu",
                                 "/usr/lib64",
                                 "/usr/lib",
                                 "/lib"};

char *allocator_path(const char *name) {
  /* A path (with a slash) is taken as given; a name is looked up in the
   * library directories only, never in the current directory (./jemalloc
   * there would be preloaded, its code run). */
  if (strchr(name, '/')) return absolute_path(name);
  /* The name is glob text: its metacharacters are escaped, so that "*"
   * finds a library of that name, not the first file of a directory. */
  char quoted[2 * NAME_MAX + 1];
  size_t q = 0;
  for (const char *c = name; *c; c++) {
    if (q + 3 > sizeof quoted) return NULL; /* no file has so long a name */
    if (strchr("*?[]\\", *c)) quoted[q++] = '\\';
    quoted[q++] = *c;
  }
  quoted[q] = 0;
  /* NAME, libNAME.so*, libNAME*.so* in the usual library directories:
   * "jemalloc" finds libjemalloc.so.2, "tcmalloc" libtcmalloc_minimal.so.4. */
  const char *patterns[] = {"%s/%s", "%s/lib%s.so*", "%s/lib%s*.so*"};
  for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++)
    for (size_t d = 0; d < sizeof lib_dirs / sizeof *lib_dirs; d++) {
      char pattern[PATH_MAX];
      snprintf(pattern, sizeof pattern, patterns[p], lib_dirs[d], quoted);
      glob_t g;
      if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0) {
        char *found = realpath(g.gl_pathv[0], NULL);
        globfree(&g);
        if (found) return found;
      } else {
        globfree(&g);
      }
    }
  return NULL;
}

const char *allocator_dirs(void) {
  static char text[512];
  if (!text[0])
    for (size_t d = 0; d < sizeof lib_dirs / sizeof *lib_dirs; d++)
      snprintf(text + strlen(text), sizeof text - strlen(text), "%s%s", d ? ", " : "", lib_dirs[d]);
  return text;
}

/* 1 when [off, off + size) lies inside a file of len bytes; the sum is never
 * formed, so no offset or size near 2^64 wraps past the check. */
static int inside_file(uint64_t off, uint64_t size, size_t len) {
  return off <= len && size <= len - off;
}

int library_exports(const char *path, const char *symbol) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat st;
  if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(Elf64_Ehdr)) {
    close(fd);
    return 0;
  }
  size_t len = (size_t)st.st_size;
  const unsigned char *data = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (data == MAP_FAILED) return 0;
  int found = 0;
  size_t want = strlen(symbol) + 1; /* the name and its NUL */
  const Elf64_Ehdr *eh = (const void *)data;
  /* Every offset and size the file gives is checked against its length
   * before it is followed: a damaged file answers 0, the caller's "not
   * there". */
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
      eh->e_shoff && eh->e_shoff % 8 == 0 && eh->e_shentsize == sizeof(Elf64_Shdr) &&
      inside_file(eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr), len)) {
    const Elf64_Shdr *sh = (const void *)(data + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum && !found; i++) {
      if (sh[i].sh_type != SHT_DYNSYM || sh[i].sh_link >= eh->e_shnum) continue;
      const Elf64_Shdr *strs = &sh[sh[i].sh_link];
      if (sh[i].sh_offset % 8 != 0 || !inside_file(sh[i].sh_offset, sh[i].sh_size, len) ||
          !inside_file(strs->sh_offset, strs->sh_size, len))
        break;
      const Elf64_Sym *sym = (const void *)(data + sh[i].sh_offset);
      size_t n = sh[i].sh_size / sizeof *sym;
      const char *names = (const char *)data + strs->sh_offset;
      /* the name compared only as far as the table goes: one without its
       * NUL at the end of the file is not read past */
      for (size_t k = 0; k < n; k++)
        if (sym[k].st_shndx != SHN_UNDEF && sym[k].st_name < strs->sh_size &&
            strs->sh_size - sym[k].st_name >= want &&
            memcmp(names + sym[k].st_name, symbol, want) == 0)
          found = 1;
    }
  }
  munmap((void *)data, len);
  return found;
}
