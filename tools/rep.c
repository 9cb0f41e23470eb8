/* rep.c - the classic malloc-lab trace (CS:APP), text:
 *
 *     <heap size> <ids> <ops> <weight>        (the original header), or
 *     <weight> <ids> <ops> <ignored>          (a later variant)
 *     a <id> [<size>]   allocate; a later variant may leave out the size,
 *                       which then is the previous size asked for
 *     r <id> <size>     reallocate
 *     f <id>            free; f -1 is free(NULL)
 *
 * Both headers are four numbers, and neither needs believing: the ops are
 * counted and the ids sized from the body.  Each id is a slot.  A free of an
 * id that is not allocated (freed already, or never allocated) is an error
 * naming both lines: replayed, it would be a double free.  Nothing here uses
 * malloc: the ops go into mmap'ed memory. */
#include <stdio.h>
#include <string.h>

#include "hawk.h"

#define REP_MAX_ID (1u << 26)

struct cursor {
  const char *p, *end;
  uint64_t line;
};

/* The longest line read: a malloc-lab line is a few dozen bytes.  A line
 * is scanned no further, so that a file of zeros (a sparse file takes no
 * disk) is refused after its first REP_LINE_MAX bytes, not read whole. */
#define REP_LINE_MAX 4096

/* The next line's tokens: up to 4, as [start, end) pairs; long when the
 * line goes on past REP_LINE_MAX bytes (then start is where it begins). */
struct line {
  int n, long_line;
  const char *tok[5], *start;
  size_t len[5];
  uint64_t number;
};

#define REP_SHOWN 20 /* bytes of a token an error line quotes */

/* Token s (n bytes) as an error line quotes it: at most REP_SHOWN bytes,
 * "..." after them when there are more, and every byte that is not
 * printable ASCII (a NUL, an escape sequence's ESC, a newline, a byte of
 * 0x80 or more) shown as '?', as the library shows a control character
 * (src/report.c): a trace cannot write to the terminal through the line.
 * buf has REP_SHOWN + 4 bytes. */
static const char *shown(const char *s, size_t n, char *buf) {
  size_t k = 0;
  for (; k < n && k < REP_SHOWN; k++)
    buf[k] = (unsigned char)s[k] >= 0x20 && (unsigned char)s[k] < 0x7f ? s[k] : '?';
  if (k < n) {
    memcpy(buf + k, "...", 3);
    k += 3;
  }
  buf[k] = 0;
  return buf;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* Reads one line, at most REP_LINE_MAX bytes of it; returns 0 at the end
 * of the data. */
static int next_line(struct cursor *c, struct line *l) {
  if (c->p >= c->end) return 0;
  l->n = 0;
  l->number = ++c->line;
  l->start = c->p;
  const char *end = c->end - c->p > REP_LINE_MAX ? c->p + REP_LINE_MAX : c->end;
  while (c->p < end && *c->p != '\n') {
    while (c->p < end && is_space(*c->p)) c->p++;
    if (c->p >= end || *c->p == '\n') break;
    const char *start = c->p;
    while (c->p < end && *c->p != '\n' && !is_space(*c->p)) c->p++;
    if (l->n < 5) {
      l->tok[l->n] = start;
      l->len[l->n] = (size_t)(c->p - start);
    }
    l->n++;
  }
  l->long_line = c->p == end && end < c->end && *c->p != '\n';
  if (c->p < c->end) c->p++; /* the newline */
  return 1;
}

/* Parses a decimal integer token, with an optional '-'.  Returns 0 on success. */
static int parse_int(const char *s, size_t n, int64_t *out) {
  int neg = 0;
  if (n && *s == '-') {
    neg = 1;
    s++;
    n--;
  }
  if (n == 0 || n > 18) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = neg ? -v : v;
  return 0;
}

/* What state[id] holds in the second pass: an id never allocated, a live
 * block, or the line that freed it plus FREED_AT. */
enum { ID_UNUSED = 0, ID_LIVE = 1, FREED_AT = 2 };

/* Follows what op o does to its id's state, and marks an allocation into a
 * live id; -1 with a message for a free of an id that is not allocated. */
static int track(struct op *o, uint64_t *state, char *err, size_t errlen) {
  if (o->slot == SLOT_NULL) return 0;
  uint64_t *s = &state[o->slot];
  if (o->kind == OP_FREE && *s != ID_LIVE) {
    if (*s == ID_UNUSED)
      snprintf(err, errlen, "line %llu: frees block %u, which was never allocated",
               (unsigned long long)o->where, o->slot);
    else
      snprintf(err, errlen, "line %llu: frees block %u again (a double free: line %llu freed it)",
               (unsigned long long)o->where, o->slot, (unsigned long long)(*s - FREED_AT));
    return -1;
  }
  o->onto_live = o->kind == OP_MALLOC && *s == ID_LIVE;
  *s = o->kind == OP_FREE ? o->where + FREED_AT : ID_LIVE;
  return 0;
}

/* One pass over the body: counts (ops == NULL) or fills the ops, following
 * each id's state in state[]. */
static int body_pass(const char *data, size_t len, struct op *ops, uint64_t *state, size_t *nops,
                     uint32_t *max_slot, char *err, size_t errlen) {
  struct cursor c = {data, data + len, 0};
  struct line l;
  int header = 0;
  size_t n = 0;
  uint64_t previous_size = 0;
  int have_previous = 0;
  char quote[REP_SHOWN + 4];
  *max_slot = 0;
  while (next_line(&c, &l)) {
    if (l.long_line) {
      snprintf(err, errlen, "line %llu: more than %d bytes, found '%s': not a malloc-lab trace",
               (unsigned long long)l.number, REP_LINE_MAX, shown(l.start, REP_LINE_MAX, quote));
      return -1;
    }
    if (l.n == 0 || l.tok[0][0] == '#') continue;
    int t = 0;
    while (header < 4 && t < l.n) { /* the four header numbers, on any lines */
      int64_t v;
      if (parse_int(l.tok[t], l.len[t], &v) != 0) {
        snprintf(err, errlen, "line %llu: expected the header's 4 numbers, found '%s'",
                 (unsigned long long)l.number, shown(l.tok[t], l.len[t], quote));
        return -1;
      }
      header++;
      t++;
    }
    if (t == l.n) continue;
    if (t != 0 || l.len[0] != 1 || l.n > 3) {
      snprintf(err, errlen, "line %llu: expected 'a id size', 'r id size' or 'f id'",
               (unsigned long long)l.number);
      return -1;
    }
    char what = l.tok[0][0];
    int64_t id, size = 0;
    if (l.n < 2) {
      snprintf(err, errlen, "line %llu: '%s' needs a block id", (unsigned long long)l.number,
               shown(l.tok[0], 1, quote));
      return -1;
    }
    if (parse_int(l.tok[1], l.len[1], &id) != 0) {
      char op[4];
      snprintf(err, errlen, "line %llu: '%s' needs a block id, found '%s'",
               (unsigned long long)l.number, shown(l.tok[0], 1, op),
               shown(l.tok[1], l.len[1], quote));
      return -1;
    }
    if (what == 'a' || what == 'r') {
      if (l.n == 3) {
        if (parse_int(l.tok[2], l.len[2], &size) != 0 || size < 0) {
          snprintf(err, errlen, "line %llu: bad size '%s'", (unsigned long long)l.number,
                   shown(l.tok[2], l.len[2], quote));
          return -1;
        }
        previous_size = (uint64_t)size;
        have_previous = 1;
      } else if (have_previous) {
        size = (int64_t)previous_size;
      } else {
        snprintf(err, errlen, "line %llu: '%c' without a size and no previous size",
                 (unsigned long long)l.number, what);
        return -1;
      }
    } else if (what != 'f' || l.n != 2) {
      snprintf(err, errlen, "line %llu: unknown operation '%s'", (unsigned long long)l.number,
               shown(l.tok[0], l.len[0], quote));
      return -1;
    }
    if (id < -1 || (id == -1 && what != 'f') || id >= (int64_t)REP_MAX_ID) {
      snprintf(err, errlen, "line %llu: block id %lld out of range", (unsigned long long)l.number,
               (long long)id);
      return -1;
    }
    if (id >= 0 && (uint32_t)id + 1 > *max_slot) *max_slot = (uint32_t)id + 1;
    if (ops) {
      struct op *o = &ops[n];
      memset(o, 0, sizeof *o);
      o->slot = id < 0 ? SLOT_NULL : (uint32_t)id;
      o->size = (uint64_t)size;
      o->where = l.number;
      /* realloc(p, 0) frees p, as glibc's and HawkAlloc's realloc do. */
      o->kind = what == 'a' ? OP_MALLOC : what == 'r' && size > 0 ? OP_REALLOC : OP_FREE;
      if (track(o, state, err, errlen) != 0) return -1;
    }
    n++;
  }
  if (header < 4) {
    snprintf(err, errlen, "not a malloc-lab trace: the header's 4 numbers are missing");
    return -1;
  }
  *nops = n;
  return 0;
}

int rep_parse(const char *data, size_t len, struct optrace *t, char *err, size_t errlen) {
  size_t n;
  uint32_t slots;
  if (body_pass(data, len, NULL, NULL, &n, &slots, err, errlen) != 0) return -1;
  t->ops_bytes = (n ? n : 1) * sizeof(struct op);
  t->ops = mm_alloc(t->ops_bytes);
  size_t state_bytes = ((size_t)slots + 1) * sizeof(uint64_t);
  uint64_t *state = mm_alloc(state_bytes);
  if (!t->ops || !state) {
    snprintf(err, errlen, "out of memory for %zu operations", n);
    return -1;
  }
  int rc = body_pass(data, len, t->ops, state, &n, &slots, err, errlen);
  mm_free(state, state_bytes);
  if (rc != 0) return -1;
  for (size_t i = 0; i < n; i++) t->leaked += t->ops[i].onto_live;
  t->nops = n;
  t->nslots = slots;
  t->format = "rep";
  t->where = "line";
  return 0;
}
