/* snapfile.c - a heap snapshot read into memory and checked
 * (docs/snapshot-format.md).  The file may be anything: every length is
 * checked against what is left before it is used, and what is wrong is
 * said in one line. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hawk.h"

#define SNAP_FILE_MAX ((size_t)1 << 30) /* no snapshot is near this */
#define PIECES_MAX    4096              /* a strip has at most about 1,100 */

static int bad(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* The whole file, malloc'ed; NULL with a message. */
static unsigned char *slurp(const char *path, size_t *len, char *err, size_t errlen) {
  /* O_NONBLOCK: a FIFO with no writer would block the open for ever; only a
   * regular file gets past the check. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    bad(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    bad(err, errlen, "%s: not a regular file", path);
    close(fd);
    return NULL;
  }
  if ((uint64_t)st.st_size > SNAP_FILE_MAX) {
    bad(err, errlen, "%s: %llu bytes, more than a snapshot's 1 GiB", path,
        (unsigned long long)st.st_size);
    close(fd);
    return NULL;
  }
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    bad(err, errlen, "%s: %s", path, strerror(errno));
    close(fd);
    return NULL;
  }
  unsigned char *buf = malloc((size_t)st.st_size + 1);
  size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
  int failed = !buf || ferror(f);
  fclose(f);
  if (failed) {
    free(buf);
    bad(err, errlen, "%s: cannot read it", path);
    return NULL;
  }
  *len = n;
  return buf;
}

static char *text_copy(const unsigned char *p, size_t n) {
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, p, n);
    s[n] = 0;
  }
  return s;
}

/* Appends the item p (size bytes) to the array *arr of *count items; the
 * array's room doubles when count reaches a power of two.  0, or -1 when
 * out of memory. */
static int push(void *arr, size_t *count, size_t size, const void *p) {
  void **a = arr;
  size_t n = *count;
  if (n == 0 || (n & (n - 1)) == 0) {
    void *grown = realloc(*a, (n ? 2 * n : 1) * size);
    if (!grown) return -1;
    *a = grown;
  }
  memcpy((char *)*a + n * size, p, size);
  *count = n + 1;
  return 0;
}

static size_t fixed_size(uint32_t type) {
  switch (type) {
  case SNAP_FIGURES:
    return sizeof(struct snap_figures);
  case SNAP_STRIP:
    return sizeof(struct snap_strip);
  case SNAP_PIECE:
    return sizeof(struct snap_piece);
  case SNAP_STRIP_END:
    return sizeof(struct snap_strip_end);
  case SNAP_CHUNKS:
    return sizeof(struct snap_chunks);
  case SNAP_LEAF:
    return sizeof(struct snap_range);
  case SNAP_END:
    return 0;
  default:
    return SIZE_MAX; /* any length */
  }
}

/* One record of type t with payload p of n bytes (its length checked). */
static int record(struct snapshot *s, uint32_t t, const unsigned char *p, size_t n, int *open,
                  char *err, size_t errlen, size_t at) {
  struct snap_strip_read *cur = s->nstrips ? &s->strips[s->nstrips - 1] : NULL;
  switch (t) {
  case SNAP_PROGRAM:
  case SNAP_POLICY: {
    char **dst = t == SNAP_PROGRAM ? &s->program : &s->policy;
    free(*dst);
    *dst = text_copy(p, n);
    return *dst ? 0 : bad(err, errlen, "out of memory");
  }
  case SNAP_FIGURES:
    memcpy(&s->fig, p, n);
    return 0;
  case SNAP_STRIP: {
    struct snap_strip_read r;
    memset(&r, 0, sizeof r);
    memcpy(&r.head, p, n);
    if (*open) return bad(err, errlen, "byte %zu: a strip begins inside another", at);
    if (r.head.region_size == 0 || r.head.span == 0 || r.head.large > 1)
      return bad(err, errlen, "byte %zu: a strip of size 0 or of no kind", at);
    *open = 1;
    return push(&s->strips, &s->nstrips, sizeof r, &r) ? bad(err, errlen, "out of memory") : 0;
  }
  case SNAP_PIECE: {
    struct snap_piece q;
    memcpy(&q, p, n);
    if (!*open) return bad(err, errlen, "byte %zu: a piece outside a strip", at);
    if (q.x0 > q.x1 || q.x1 > SNAP_STRIP_PX || q.state >= SNAP_ST_COUNT || q.alone > 1)
      return bad(err, errlen, "byte %zu: a piece out of its strip or of no state", at);
    if (cur->npieces >= PIECES_MAX || s->nstrips > SNAP_STRIPS_DRAWN)
      return bad(err, errlen, "byte %zu: more pieces than a snapshot has", at);
    return push(&cur->pieces, &cur->npieces, sizeof q, &q) ? bad(err, errlen, "out of memory") : 0;
  }
  case SNAP_STRIP_END:
    if (!*open) return bad(err, errlen, "byte %zu: a strip's end without its start", at);
    memcpy(&cur->sums, p, n);
    *open = 0;
    return 0;
  case SNAP_CHUNKS: {
    struct snap_chunks c;
    memcpy(&c, p, n);
    /* Kinds 1-3; version 2 adds the created heaps' 6-8. */
    int known = (c.kind >= 1 && c.kind <= 3) || (s->h.version >= 2 && c.kind >= 6 && c.kind <= 8);
    if (!known || c.count == 0 || c.count > ((uint64_t)1 << 26))
      return bad(err, errlen, "byte %zu: a run of chunks of no kind", at);
    return push(&s->chunks, &s->nchunks, n, &c) ? bad(err, errlen, "out of memory") : 0;
  }
  case SNAP_LEAF:
    return push(&s->leaves, &s->nleaves, n, p) ? bad(err, errlen, "out of memory") : 0;
  case SNAP_MAPS: {
    char *grown = realloc(s->maps, s->maps_len + n + 1);
    if (!grown) return bad(err, errlen, "out of memory");
    s->maps = grown;
    memcpy(s->maps + s->maps_len, p, n);
    s->maps_len += n;
    s->maps[s->maps_len] = 0;
    return 0;
  }
  default:
    return 0; /* a record of a later version: skipped */
  }
}

static int parse(const unsigned char *d, size_t len, struct snapshot *s, char *err, size_t errlen) {
  struct snap_header *h = &s->h;
  if (len < sizeof *h) return bad(err, errlen, "truncated: %zu bytes, no whole header", len);
  memcpy(h, d, sizeof *h);
  if (memcmp(h->magic, SNAP_MAGIC, sizeof h->magic) != 0)
    return bad(err, errlen, "not a HawkAlloc heap snapshot (no HAWKSNAP magic)");
  if (h->version < 1 || h->version > SNAP_VERSION)
    return bad(err, errlen, "snapshot version %u; this hawk reads versions 1 to %d", h->version,
               SNAP_VERSION);
  if (h->header_size < sizeof *h || h->header_size > len)
    return bad(err, errlen, "header size %u out of range", h->header_size);
  if (h->cause > SNAP_SIGNAL) return bad(err, errlen, "taken for an unknown cause %u", h->cause);
  size_t at = h->header_size;
  int open = 0, figures = 0;
  for (;;) {
    struct snap_record r;
    if (len - at < sizeof r) return bad(err, errlen, "truncated at byte %zu: no end record", at);
    memcpy(&r, d + at, sizeof r);
    size_t want = fixed_size(r.type);
    if (r.len > len - at - sizeof r)
      return bad(err, errlen, "truncated at byte %zu: a record of %u bytes with %zu left", at,
                 r.len, len - at - sizeof r);
    if (want != SIZE_MAX && r.len != want)
      return bad(err, errlen, "byte %zu: a record of type %u is %u bytes, not %zu", at, r.type,
                 r.len, want);
    if (r.type == SNAP_END) break;
    if (r.type == SNAP_FIGURES) figures = 1;
    if (record(s, r.type, d + at + sizeof r, r.len, &open, err, errlen, at) != 0) return -1;
    at += sizeof r + r.len;
  }
  if (open) return bad(err, errlen, "the last strip has no end");
  if (!figures) return bad(err, errlen, "no figures record");
  if (!s->program) s->program = text_copy(d, 0);
  if (!s->policy) s->policy = text_copy(d, 0);
  if (!s->maps) s->maps = text_copy(d, 0);
  return s->program && s->policy && s->maps ? 0 : bad(err, errlen, "out of memory");
}

int snap_read(const char *path, struct snapshot *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  size_t len = 0;
  unsigned char *d = slurp(path, &len, err, errlen);
  if (!d) return -1;
  char why[400];
  int r = parse(d, len, s, why, sizeof why);
  free(d);
  if (r != 0) {
    snprintf(err, errlen, "%s: %s", path, why);
    snap_free(s);
  }
  return r;
}

void snap_free(struct snapshot *s) {
  for (size_t i = 0; i < s->nstrips; i++) free(s->strips[i].pieces);
  free(s->strips);
  free(s->chunks);
  free(s->leaves);
  free(s->maps);
  free(s->program);
  free(s->policy);
  memset(s, 0, sizeof *s);
}
