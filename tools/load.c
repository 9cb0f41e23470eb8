/* load.c - a trace file into memory for the worker: mapped with mmap, its
 * format recognised (a HawkAlloc trace starts with "HAWKTRC"; anything else
 * is read as a malloc-lab .rep), converted to ops in mmap'ed memory, and the
 * file unmapped again.  Also the peak of live bytes, computed from the ops. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hawk.h"

/* The mapping being parsed, for load_bus: a file that shrinks (another
 * process truncates it) while it is mapped makes a read of its lost pages
 * raise SIGBUS, which killed hawk (view, grade: status 135, no message, the
 * scratch left behind) or its worker (replay, map --trace). */
static const char *volatile load_data;
static volatile size_t load_len;
static sigjmp_buf load_jump;
static struct sigaction load_old; /* SIGBUS's action before */

/* SIGBUS: a fault inside the mapping goes back to trace_load, which reports
 * it as the file's error; any other (not the file's) gets the default
 * action, which the fault, repeated when the handler returns, then takes. */
static void load_bus(int sig, siginfo_t *si, void *ctx) {
  (void)ctx;
  const char *a = si->si_addr, *d = load_data;
  if (d && a >= d && a < d + load_len) siglongjmp(load_jump, 1);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, NULL);
}

/* Parses the mapped file; a SIGBUS in it (the file shrank) is -1 with why
 * in err.  The parser's own tables are then not freed: the error ends the
 * command or the trace. */
static int load_parse(const char *path, const void *data, size_t len, struct optrace *t, char *err,
                      size_t errlen) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = load_bus;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigsetjmp(load_jump, 1) != 0) {
    load_data = NULL;
    sigaction(SIGBUS, &load_old, NULL);
    snprintf(err, errlen, "%s: the file shrank while it was read (truncated by another process)",
             path);
    return -1;
  }
  load_len = len;
  load_data = data;
  sigaction(SIGBUS, &sa, &load_old);
  int rc;
  if (len >= 8 && memcmp(data, HAWK_TRACE_MAGIC, 8) == 0)
    rc = hawk_trace_parse(data, len, t, err, errlen);
  else
    rc = rep_parse(data ? data : "", len, t, err, errlen);
  load_data = NULL;
  sigaction(SIGBUS, &load_old, NULL);
  return rc;
}

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
  int rc = load_parse(path, data, len, t, err, errlen);
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
