/* load.c - a trace file into memory for the worker: mapped with mmap, its
 * format recognised (a HawkAlloc trace starts with "HAWKTRC"; anything else
 * is read as a malloc-lab .rep), converted to ops in mmap'ed memory, and the
 * file unmapped again.  Also the peak of live bytes, computed from the ops. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hawk.h"

int trace_load(const char *path, struct optrace *t, char *err, size_t errlen) {
  memset(t, 0, sizeof *t);
  /* O_NONBLOCK: a FIFO with no writer would block the open for ever; only a
   * regular file gets past the check. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    snprintf(err, errlen, "%s: not a regular file", path);
    close(fd);
    return -1;
  }
  size_t len = (size_t)st.st_size;
  void *data = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
  close(fd);
  if (len && data == MAP_FAILED) {
    snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
    return -1;
  }
  int rc;
  if (len >= 8 && memcmp(data, HAWK_TRACE_MAGIC, 8) == 0)
    rc = hawk_trace_parse(data, len, t, err, errlen);
  else
    rc = rep_parse(data ? data : "", len, t, err, errlen);
  if (data) munmap(data, len);
  if (rc != 0) trace_unload(t);
  return rc;
}

void trace_unload(struct optrace *t) {
  if (t->ops) mm_free(t->ops, t->ops_bytes);
  t->ops = NULL;
  t->nops = 0;
}

int trace_peak(const struct optrace *t, uint64_t *peak, int64_t *peak_op) {
  size_t bytes = ((size_t)t->nslots + 1) * sizeof(uint64_t);
  uint64_t *size = mm_alloc(bytes); /* live size + 1 per slot; 0 = not live */
  if (!size) return -1;
  uint64_t live = 0, best = 0;
  int64_t at = -1;
  for (size_t i = 0; i < t->nops; i++) {
    const struct op *o = &t->ops[i];
    if (o->slot == SLOT_NULL) continue;
    uint64_t *s = &size[o->slot];
    switch (o->kind) {
    case OP_FREE:
      if (*s) live -= *s - 1;
      *s = 0;
      break;
    case OP_REALLOC:
      if (*s) live -= *s - 1;
      live += o->size;
      *s = o->size + 1;
      break;
    default: /* an allocation into a live slot leaves the old block allocated */
      live += o->size;
      *s = o->size + 1;
      break;
    }
    if (live > best) {
      best = live;
      at = (int64_t)i;
    }
  }
  mm_free(size, bytes);
  *peak = best;
  *peak_op = at;
  return 0;
}
