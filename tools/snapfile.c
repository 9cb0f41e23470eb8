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

#define SNAP_FILE_MAX ((size_t)1 << 30)  /* no snapshot is near this */
#define PIECES_MAX    4096               /* a strip has at most about 1,100 */
#define SNAP_TEXT_MAX 4096               /* the program's path, the policy */
#define SNAP_MAPS_MAX ((size_t)64 << 20) /* /proc/self/maps: a few MiB at most */

static int bad(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

/* The snapshot being read: the file, its length, and how far it is read.
 * Records are read one at a time, so that memory follows what the file
 * holds, not its length (a file of 1 GiB of zeros, which takes no disk,
 * is refused after its 40-byte header). */
struct snap_in {
  FILE *f;
  size_t len, at;
};

/* Opens path: a regular file of at most SNAP_FILE_MAX bytes.  0, or -1
 * with a message. */
static int snap_open(const char *path, struct snap_in *in, char *err, size_t errlen) {
  /* O_NONBLOCK: a FIFO with no writer would block the open for ever; only a
   * regular file gets past the check. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return bad(err, errlen, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    close(fd);
    return bad(err, errlen, "%s: not a regular file", path);
  }
  if ((uint64_t)st.st_size > SNAP_FILE_MAX) {
    close(fd);
    return bad(err, errlen, "%s: %llu bytes, more than a snapshot's 1 GiB", path,
               (unsigned long long)st.st_size);
  }
  in->f = fdopen(fd, "rb");
  if (!in->f) {
    close(fd);
    return bad(err, errlen, "%s: %s", path, strerror(errno));
  }
  in->len = (size_t)st.st_size;
  in->at = 0;
  return 0;
}

/* The next n bytes into p; 0, or -1 when the file ends first (it shrank). */
static int take(struct snap_in *in, void *p, size_t n) {
  if (n && fread(p, 1, n, in->f) != n) return -1;
  in->at += n;
  return 0;
}

/* Passes over the next n bytes without reading them. */
static int pass(struct snap_in *in, size_t n) {
  if (n && fseeko(in->f, (off_t)n, SEEK_CUR) != 0) return -1;
  in->at += n;
  return 0;
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

/* Whether the payload of a record of type t is read (the others are
 * passed over: a record of a later version). */
static int kept(uint32_t t) { return t >= SNAP_PROGRAM && t <= SNAP_MAPS; }

/* The payload bytes a record of type t may have at most (a text record's;
 * the writer's are at most 4,096 bytes each and their maps a few MiB). */
static size_t text_max(const struct snapshot *s, uint32_t t) {
  if (t == SNAP_MAPS) return SNAP_MAPS_MAX - s->maps_len;
  return SNAP_TEXT_MAX;
}

static int parse(struct snap_in *in, struct snapshot *s, char *err, size_t errlen) {
  struct snap_header *h = &s->h;
  size_t len = in->len;
  if (len < sizeof *h) return bad(err, errlen, "truncated: %zu bytes, no whole header", len);
  if (take(in, h, sizeof *h) != 0) return bad(err, errlen, "cannot read its header");
  if (memcmp(h->magic, SNAP_MAGIC, sizeof h->magic) != 0)
    return bad(err, errlen, "not a HawkAlloc heap snapshot (no HAWKSNAP magic)");
  if (h->version < 1 || h->version > SNAP_VERSION)
    return bad(err, errlen, "snapshot version %u; this hawk reads versions 1 to %d", h->version,
               SNAP_VERSION);
  if (h->header_size < sizeof *h || h->header_size > len)
    return bad(err, errlen, "header size %u out of range", h->header_size);
  if (h->cause > SNAP_SIGNAL) return bad(err, errlen, "taken for an unknown cause %u", h->cause);
  if (pass(in, h->header_size - sizeof *h) != 0)
    return bad(err, errlen, "cannot read past its header");
  int open = 0, figures = 0, rc = 0;
  unsigned char *p = NULL; /* the payload of the record being read */
  size_t room = 0;
  for (;;) {
    size_t at = in->at;
    struct snap_record r;
    if (len - at < sizeof r) {
      rc = bad(err, errlen, "truncated at byte %zu: no end record", at);
      break;
    }
    if (take(in, &r, sizeof r) != 0) {
      rc = bad(err, errlen, "cannot read byte %zu (the file shrank)", at);
      break;
    }
    size_t want = fixed_size(r.type);
    if (r.len > len - at - sizeof r) {
      rc = bad(err, errlen, "truncated at byte %zu: a record of %u bytes with %zu left", at, r.len,
               len - at - sizeof r);
      break;
    }
    if (want != SIZE_MAX && r.len != want) {
      rc = bad(err, errlen, "byte %zu: a record of type %u is %u bytes, not %zu", at, r.type, r.len,
               want);
      break;
    }
    if (r.type == SNAP_END) break;
    if (r.type == SNAP_FIGURES) figures = 1;
    if (!kept(r.type)) {
      if (pass(in, r.len) != 0) {
        rc = bad(err, errlen, "cannot read byte %zu (the file shrank)", at);
        break;
      }
      continue;
    }
    if (want == SIZE_MAX && r.len > text_max(s, r.type)) {
      rc = bad(err, errlen,
               "byte %zu: a text record of type %u and %u bytes, more than a "
               "snapshot has",
               at, r.type, r.len);
      break;
    }
    if (r.len > room) {
      unsigned char *grown = realloc(p, r.len);
      if (!grown) {
        rc = bad(err, errlen, "out of memory");
        break;
      }
      p = grown;
      room = r.len;
    }
    if (take(in, p, r.len) != 0) {
      rc = bad(err, errlen, "cannot read byte %zu (the file shrank)", at);
      break;
    }
    if (record(s, r.type, p, r.len, &open, err, errlen, at) != 0) {
      rc = -1;
      break;
    }
  }
  free(p);
  if (rc != 0) return rc;
  if (open) return bad(err, errlen, "the last strip has no end");
  if (!figures) return bad(err, errlen, "no figures record");
  if (!s->program) s->program = text_copy((const unsigned char *)"", 0);
  if (!s->policy) s->policy = text_copy((const unsigned char *)"", 0);
  if (!s->maps) s->maps = text_copy((const unsigned char *)"", 0);
  return s->program && s->policy && s->maps ? 0 : bad(err, errlen, "out of memory");
}

int snap_read(const char *path, struct snapshot *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  struct snap_in in = {NULL, 0, 0};
  if (snap_open(path, &in, err, errlen) != 0) return -1;
  char why[400];
  int r = parse(&in, s, why, sizeof why);
  fclose(in.f);
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
