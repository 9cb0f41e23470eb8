/* view.c - `hawk view`: the heap explorer.  Replays a trace once per policy
 * in a worker that records the library's events of every call (record.c),
 * rebuilds from those events the blocks after every call (never simulating
 * a policy: each event says what the heap did), checks them against
 * hawk_walk when asked (--check: at every call; --walk N: prints what
 * hawk_walk reported after N calls), and writes one self-contained HTML page
 * (tools/view/page.html with the data inline). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hawk.h"
#include "hawkalloc.h"

static const char view_usage[] =
    "usage: hawk view [--policy P,...] [--textbook] [--allocator A] [--out FILE.html]\n"
    "                 [--check] [--walk N] TRACE\n"
    "\n"
    "Replays TRACE (HawkAlloc or malloc-lab .rep) once per policy and writes one\n"
    "self-contained HTML page (script, style and data inline; it makes no network\n"
    "request) to explore it call by call: a scrubber with play, steps and jumps\n"
    "(peak, next arena growth, next call where the policies decide differently),\n"
    "the heaps side by side down to the bytes of each block, the explanation of\n"
    "each call from the events the library reported, the free lists, and charts of\n"
    "live bytes, footprint, free blocks and free space.  Open FILE.html#op=N (or\n"
    "#op=peak) to start at call N.\n"
    "\n"
    "  --policy P,...   policies to compare: first-fit, next-fit, best-fit,\n"
    "                   segregated, or all (default: segregated)\n"
    "  --textbook       textbook mode (HAWKALLOC_TCACHE=0): no thread cache, one heap\n"
    "  --allocator A    a HawkAlloc library to use instead of hawk's own (a path, or a\n"
    "                   name looked up like hawk replay's); it must report events\n"
    "  --out FILE.html  where the page goes (default: hawk-view.html in the current\n"
    "                   directory)\n"
    "  --check          compare the blocks rebuilt from the events with hawk_walk\n"
    "                   after every call (slower); any difference is an error\n"
    "  --walk N         print the blocks hawk_walk reports after N calls (1 to the\n"
    "                   trace's calls; first policy), one per line as\n"
    "                   REGION:+OFFSET SIZE STATE, then its free lists (list\n"
    "                   CLASS: REGION:+OFFSET ...) and next fit's rover (rover\n"
    "                   REGION:+OFFSET)\n";

#define VIEW_DEFAULT_OUT "hawk-view.html"

extern const char view_page[]; /* page.c */

/* --- a hash map from address to block ------------------------------------ */

struct blk {
  uint64_t key; /* 0: empty */
  uint64_t size, req;
  uint8_t state;
};

struct bmap {
  struct blk *t;
  size_t cap, n;
  uint64_t count, digest; /* as hawk_walk's digest (record.c) */
};

static size_t slot_of(const struct bmap *m, uint64_t key) {
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 20) & (m->cap - 1);
}

static struct blk *bmap_get(const struct bmap *m, uint64_t key) {
  if (!m->cap) return NULL;
  for (size_t i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
    if (m->t[i].key == key) return &m->t[i];
    if (m->t[i].key == 0) return NULL;
  }
}

static void bmap_grow(struct bmap *m);

static void bmap_put_raw(struct bmap *m, const struct blk *b) {
  size_t i = slot_of(m, b->key);
  while (m->t[i].key && m->t[i].key != b->key) i = (i + 1) & (m->cap - 1);
  if (!m->t[i].key) m->n++;
  m->t[i] = *b;
}

static void bmap_grow(struct bmap *m) {
  struct blk *old = m->t;
  size_t oldcap = m->cap;
  m->cap = oldcap ? oldcap * 2 : 1024;
  m->t = calloc(m->cap, sizeof *m->t);
  m->n = 0;
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].key) bmap_put_raw(m, &old[i]);
  free(old);
}

static void bmap_del(struct bmap *m, uint64_t key) {
  if (!m->cap) return;
  size_t i = slot_of(m, key);
  while (m->t[i].key != key) {
    if (!m->t[i].key) return;
    i = (i + 1) & (m->cap - 1);
  }
  m->n--;
  /* Backward shift: the entries after it that probed past it move up. */
  size_t j = i;
  for (;;) {
    m->t[i].key = 0;
    for (;;) {
      j = (j + 1) & (m->cap - 1);
      if (!m->t[j].key) return;
      size_t k = slot_of(m, m->t[j].key);
      if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
      break;
    }
    m->t[i] = m->t[j];
    i = j;
  }
}

/* --- growing byte buffers and the page's number streams ------------------- */

struct buf {
  unsigned char *p;
  size_t len, cap;
};

static void buf_byte(struct buf *b, unsigned char c) {
  if (b->len == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 1 << 16;
    b->p = realloc(b->p, b->cap);
    if (!b->p) {
      tool_error("view: out of memory");
      exit(1);
    }
  }
  b->p[b->len++] = c;
}

/* An unsigned number as a varint (7 bits a byte, low first). */
static void put_u(struct buf *b, uint64_t v) {
  while (v >= 128) {
    buf_byte(b, (unsigned char)(v | 128));
    v >>= 7;
  }
  buf_byte(b, (unsigned char)v);
}

/* An address (from norm) as the difference from the previous one in the
 * same stream, zigzag-coded, plus one; 0 for none.  Neighbouring events
 * touch neighbouring blocks, so most take a byte or two. */
static void put_addr(struct buf *b, uint64_t *last, uint64_t v) {
  if (!v) {
    put_u(b, 0);
    return;
  }
  int64_t d = (int64_t)(v - *last);
  *last = v;
  put_u(b, ((uint64_t)d << 1 ^ (uint64_t)(d >> 63)) + 1);
}

/* --- rebuilding one policy's heap from its events ------------------------- */

/* The page's calls come in chunks of view_chunk calls, each decoded on its
 * own when the page needs it: the state after the chunk's first call - 1
 * (a keyframe), then the calls' changes and events.  Drawing a call replays
 * at most view_chunk calls.  VIEW_CHUNK calls a chunk, doubled (chunk_for)
 * until the keyframes hold at most VIEW_KEYFRAME_BLOCKS blocks a policy:
 * a keyframe copies every block, so with a fixed length their time and
 * memory grew as calls times live blocks (a 1 MiB trace of mallocs took
 * 12.8 s and 478 MB).  The page reads the length (HAWK.chunk). */
#define VIEW_CHUNK           2048
#define VIEW_KEYFRAME_BLOCKS ((uint64_t)1 << 24)
static size_t view_chunk = VIEW_CHUNK;
#define VIEW_LISTS 128 /* the segregated policy's classes; the others use list 0 */

enum { ST_FREE = 0, ST_ALLOC = 1, ST_CACHED = 2, ST_LARGE = 3, ST_NONE = 4 };

/* Explanation events the page reads (the library's kinds, and these). */
enum { EV_CACHE_HIT = 20, EV_CACHE_PUT = 21, EV_EXAMINED_TOTAL = 22 };
/* And those of a page of payloads only (hawk grade --view). */
enum { EV_PAYLOAD_PLACED = 23, EV_PAYLOAD_FREED = 24, EV_HEAP_GREW = 25 };

struct region {
  uint64_t base, size, high; /* high: the highest block end ever allocated */
  int large, live;
};

struct model {
  struct bmap blocks;
  struct region *regions;
  size_t nregions, capregions;
  uint64_t footprint, nfree, freebytes, inuse;
  struct buf out;     /* the page's stream */
  struct buf changes; /* of the current call */
  size_t nchanges;
  struct buf events;
  size_t nevents;
  uint64_t last_change, last_event; /* put_addr's previous address, per stream */
  uint64_t last_result;
  int rover;         /* next fit: its rover goes with the list events */
  uint64_t *touched; /* blocks allocated during the current call */
  size_t ntouched, captouched;
  /* The free lists as the events tell them, for the keyframes: a map from
   * a listed block to its neighbours (blk.size: the next, blk.req: the
   * previous, blk.state: its list), and each list's head. */
  struct bmap lists;
  uint64_t heads[VIEW_LISTS];
  uint64_t rover_at; /* next fit's rover (an address) */
  int grew;          /* the current call mapped an arena or a mapping */
  /* Per call 0..nops: where its record starts in out, the figures after it,
   * and the block it handed out; the calls that grew the heap. */
  size_t nops, *op_off;
  uint64_t *s_foot, *s_nfree, *s_inuse, *result;
  uint64_t *grows;
  size_t ngrows;
  /* The keyframes: the whole state after call c * view_chunk, in kf from
   * kf_off[c] to kf_off[c + 1]. */
  struct buf kf;
  size_t *kf_off, nkf;
};

static int region_of(struct model *m, uint64_t addr) {
  for (size_t i = m->nregions; i-- > 0;)
    if (m->regions[i].live && addr >= m->regions[i].base &&
        addr < m->regions[i].base + m->regions[i].size)
      return (int)i;
  return -1;
}

static int region_add(struct model *m, uint64_t base, uint64_t size, int large) {
  int r = region_of(m, base);
  if (r >= 0 && m->regions[r].base == base) return r;
  if (m->nregions == m->capregions) {
    m->capregions = m->capregions ? m->capregions * 2 : 16;
    m->regions = realloc(m->regions, m->capregions * sizeof *m->regions);
  }
  m->regions[m->nregions] = (struct region){base, size, 0, large, 1};
  return (int)m->nregions++;
}

/* An address as the page writes it: region * 2^32 + offset, plus one (0 is
 * "none"). */
static uint64_t norm(struct model *m, uint64_t addr) {
  if (!addr) return 0;
  int r = region_of(m, addr);
  if (r < 0) return 0;
  return ((uint64_t)r << 32) + (addr - m->regions[r].base) + 1;
}

/* Sets the block at addr (size 0: removes it), recording the change for
 * the page and keeping the figures and the digest. */
static void set_block(struct model *m, uint64_t addr, uint64_t size, int state, uint64_t req) {
  struct blk *old = bmap_get(&m->blocks, addr);
  struct blk was = old ? *old : (struct blk){addr, 0, 0, ST_NONE};
  if (old) {
    m->blocks.count--;
    m->blocks.digest -= rec_block_hash(addr, old->size, old->state);
    if (old->state == ST_FREE) {
      m->nfree--;
      m->freebytes -= old->size;
    } else {
      m->inuse -= old->size;
    }
  }
  if (size == 0) {
    if (old) bmap_del(&m->blocks, addr);
  } else {
    if (!old && (m->blocks.n + 1) * 2 > m->blocks.cap) bmap_grow(&m->blocks);
    struct blk b = {addr, size, req, (uint8_t)state};
    bmap_put_raw(&m->blocks, &b);
    m->blocks.count++;
    m->blocks.digest += rec_block_hash(addr, size, (unsigned)state);
    if (state == ST_FREE) {
      m->nfree++;
      m->freebytes += size;
    } else {
      m->inuse += size;
      int r = region_of(m, addr);
      if (r >= 0 && addr + size - m->regions[r].base > m->regions[r].high) {
        uint64_t high = addr + size - m->regions[r].base;
        if (!m->regions[r].large) m->footprint += high - m->regions[r].high;
        m->regions[r].high = high;
      }
    }
  }
  int newstate = size ? state : ST_NONE;
  if (was.state == newstate && was.size == size && was.req == req) return;
  /* The page keeps what it overwrites, to step back: only the new value. */
  put_addr(&m->changes, &m->last_change, norm(m, addr));
  put_u(&m->changes, size);
  put_u(&m->changes, (uint64_t)newstate);
  put_u(&m->changes, newstate == ST_ALLOC ? req : 0);
  m->nchanges++;
}

/* Records an event for the page: its kind, then one value per letter of
 * fields, 'a' an address (norm), 'u' a number. */
static void ev(struct model *m, int kind, const char *fields, ...) {
  va_list ap;
  va_start(ap, fields);
  put_u(&m->events, (uint64_t)kind);
  for (const char *f = fields; *f; f++) {
    uint64_t v = va_arg(ap, uint64_t);
    if (*f == 'a')
      put_addr(&m->events, &m->last_event, v);
    else
      put_u(&m->events, v);
  }
  va_end(ap);
  m->nevents++;
}

static void touched_add(struct model *m, uint64_t addr) {
  if (m->ntouched == m->captouched) {
    m->captouched = m->captouched ? m->captouched * 2 : 64;
    m->touched = realloc(m->touched, m->captouched * sizeof *m->touched);
  }
  m->touched[m->ntouched++] = addr;
}

static int state_of(struct model *m, uint64_t addr) {
  struct blk *b = bmap_get(&m->blocks, addr);
  return b ? b->state : ST_NONE;
}

static void alloc_block(struct model *m, uint64_t addr, uint64_t size) {
  set_block(m, addr, size, ST_ALLOC, 0);
  touched_add(m, addr);
}

static void list_unlink(struct model *m, uint64_t addr);

/* The free lists, as the page keeps them: a block pushed at the head of
 * list cls, a block taken out of its list. */
static void list_push(struct model *m, uint64_t addr, uint64_t cls) {
  if (cls >= VIEW_LISTS) return;
  if (bmap_get(&m->lists, addr)) list_unlink(m, addr);
  if ((m->lists.n + 1) * 2 > m->lists.cap) bmap_grow(&m->lists);
  uint64_t h = m->heads[cls];
  struct blk node = {addr, h, 0, (uint8_t)cls};
  bmap_put_raw(&m->lists, &node);
  if (h) {
    struct blk *hn = bmap_get(&m->lists, h);
    if (hn) hn->req = addr;
  }
  m->heads[cls] = addr;
}

static void list_unlink(struct model *m, uint64_t addr) {
  struct blk *node = bmap_get(&m->lists, addr);
  if (!node) return;
  uint64_t next = node->size, prev = node->req;
  int cls = node->state;
  if (prev) {
    struct blk *pn = bmap_get(&m->lists, prev);
    if (pn) pn->size = next;
  } else if (m->heads[cls] == addr) {
    m->heads[cls] = next;
  }
  if (next) {
    struct blk *nn = bmap_get(&m->lists, next);
    if (nn) nn->req = prev;
  }
  bmap_del(&m->lists, addr);
}

/* Applies one library event to the blocks and records it for the page. */
static void apply(struct model *m, const struct rec *r) {
  uint64_t b = r->block;
  switch (r->kind) {
  case HAWK_EV_LISTED:
    ev(m, r->kind, "auu", norm(m, b), r->size, r->a);
    list_push(m, b, r->a);
    break;
  case HAWK_EV_UNLISTED:
    if (m->rover)
      ev(m, r->kind, "auua", norm(m, b), r->size, r->a, norm(m, r->d));
    else
      ev(m, r->kind, "auu", norm(m, b), r->size, r->a);
    list_unlink(m, b);
    if (m->rover) m->rover_at = r->d;
    break;
  case HAWK_EV_EXAMINED: /* the recorder keeps the first EXAMINED_KEPT of a call */
    ev(m, r->kind, "a", norm(m, b));
    break;
  case HAWK_EV_CHOSEN:
    if (m->rover) {
      ev(m, r->kind, "auua", norm(m, b), r->size, r->a, norm(m, r->b));
      m->rover_at = r->b;
    } else {
      ev(m, r->kind, "auu", norm(m, b), r->size, r->a);
    }
    break;
  case HAWK_EV_TAKEN:
    ev(m, r->kind, "auauuu", norm(m, b), r->size, norm(m, r->a), r->b, r->c, r->d);
    if (r->d) set_block(m, r->a, r->d, ST_FREE, 0);
    alloc_block(m, b, r->size);
    if (r->c) set_block(m, b + r->size, r->c, ST_FREE, 0);
    break;
  case HAWK_EV_RUN: {
    ev(m, r->kind, "auuuu", norm(m, b), r->size, r->a, r->b, r->c);
    uint64_t last = b + (r->a - 1) * r->size;
    for (uint64_t x = b; x < last; x += r->size) alloc_block(m, x, r->size);
    alloc_block(m, last, r->b);
    if (r->c) set_block(m, last + r->b, r->c, ST_FREE, 0);
    break;
  }
  case HAWK_EV_FREED:
    ev(m, r->kind, "auauuu", norm(m, b), r->size, norm(m, r->a), r->b, r->c, r->d);
    if (r->d) set_block(m, b + r->size, 0, 0, 0);
    if (r->a != b) set_block(m, b, 0, 0, 0);
    set_block(m, r->a, r->b, ST_FREE, 0);
    break;
  case HAWK_EV_RESIZED: {
    ev(m, r->kind, "auuu", norm(m, b), r->size, r->a, r->b);
    if (state_of(m, b + r->a) == ST_FREE) set_block(m, b + r->a, 0, 0, 0);
    struct blk *o = bmap_get(&m->blocks, b);
    int st = o ? o->state : ST_ALLOC;
    set_block(m, b, r->size, st, o ? o->req : 0);
    if (r->b) set_block(m, b + r->size, r->b, ST_FREE, 0);
    break;
  }
  case HAWK_EV_ARENA_MAPPED: {
    m->grew = 1;
    int id = region_add(m, b, r->size, 0);
    ev(m, r->kind, "uu", (uint64_t)id, r->size);
    set_block(m, r->a, r->b, ST_FREE, 0);
    break;
  }
  case HAWK_EV_ARENA_UNMAPPED: {
    int id = region_of(m, b);
    ev(m, r->kind, "uu", (uint64_t)id, r->size);
    set_block(m, r->a, 0, 0, 0);
    if (id >= 0) {
      m->footprint -= m->regions[id].high;
      m->regions[id].live = 0;
    }
    break;
  }
  case HAWK_EV_LARGE_MAPPED: {
    m->grew = 1;
    region_add(m, r->a, r->b, 1);
    m->footprint += r->b;
    ev(m, r->kind, "au", norm(m, b), r->size);
    set_block(m, b, r->size, ST_LARGE, 0);
    break;
  }
  case HAWK_EV_LARGE_UNMAPPED: {
    int id = region_of(m, b);
    ev(m, r->kind, "au", norm(m, b), r->size);
    set_block(m, b, 0, 0, 0);
    if (id >= 0) {
      m->footprint -= r->b;
      m->regions[id].live = 0;
    }
    break;
  }
  default:
    break;
  }
}

/* --- keyframes -------------------------------------------------------------- */

static uint64_t zigzag(int64_t d) { return (uint64_t)d << 1 ^ (uint64_t)(d >> 63); }

struct kblock {
  uint64_t at, size, req;
  int state;
};

static int cmp_kblock(const void *a, const void *b) {
  uint64_t x = ((const struct kblock *)a)->at, y = ((const struct kblock *)b)->at;
  return x < y ? -1 : x > y;
}

/* The index of the block at (normalized) address at in v[0..n), or -1. */
static long kblock_find(const struct kblock *v, size_t n, uint64_t at) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (v[mid].at < at)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && v[lo].at == at ? (long)lo : -1;
}

/* Writes the state now (blocks, free lists, rover) as the next keyframe:
 *   nblocks, then per block by address: gap from the previous block's end
 *   (zigzag), size * 4 + state, and for an allocated block size - requested
 *   bytes (zigzag); nlists, then per list: its class, its length, and its
 *   blocks head first as indices into the blocks (differences, zigzag); the
 *   rover's address (normalized, 0 for none). */
static void keyframe(struct model *m) {
  struct kblock *v = malloc((m->blocks.n + 1) * sizeof *v);
  size_t n = 0;
  for (size_t i = 0; i < m->blocks.cap; i++) {
    const struct blk *b = &m->blocks.t[i];
    if (!b->key) continue;
    v[n++] = (struct kblock){norm(m, b->key), b->size, b->req, b->state};
  }
  qsort(v, n, sizeof *v, cmp_kblock);
  struct buf *o = &m->kf;
  m->kf_off[m->nkf] = o->len;
  put_u(o, n);
  uint64_t end = 0;
  for (size_t i = 0; i < n; i++) {
    put_u(o, zigzag((int64_t)(v[i].at - end)));
    put_u(o, v[i].size * 4 + (uint64_t)(v[i].state & 3));
    if (v[i].state == ST_ALLOC) put_u(o, zigzag((int64_t)(v[i].size - v[i].req)));
    end = v[i].at + v[i].size;
  }
  int nlists = 0;
  for (int c = 0; c < VIEW_LISTS; c++) nlists += m->heads[c] != 0;
  put_u(o, (uint64_t)nlists);
  long *idx = malloc((m->lists.n + 1) * sizeof *idx);
  for (int c = 0; c < VIEW_LISTS; c++) {
    if (!m->heads[c]) continue;
    size_t k = 0;
    for (uint64_t a = m->heads[c]; a && k <= m->lists.n;) {
      long at = kblock_find(v, n, norm(m, a));
      if (at >= 0) idx[k++] = at;
      const struct blk *node = bmap_get(&m->lists, a);
      a = node ? node->size : 0;
    }
    put_u(o, (uint64_t)c);
    put_u(o, k);
    long prev = 0;
    for (size_t i = 0; i < k; i++) {
      put_u(o, zigzag(idx[i] - prev));
      prev = idx[i];
    }
  }
  put_u(o, m->rover ? norm(m, m->rover_at) : 0);
  m->nkf++;
  m->kf_off[m->nkf] = o->len;
  free(idx);
  free(v);
}

/* Ends call j (0: the start) of the model: its record (the block handed out,
 * the changes, the events) and the figures after it; the hawk view page and
 * the payload page (hawk grade --view) both record their calls with it. */
static void call_record(struct model *m, size_t j, uint64_t result) {
  m->op_off[j] = m->out.len;
  put_addr(&m->out, &m->last_result, result);
  put_u(&m->out, m->nchanges);
  put_u(&m->out, m->nevents);
  for (size_t k = 0; k < m->changes.len; k++) buf_byte(&m->out, m->changes.p[k]);
  for (size_t k = 0; k < m->events.len; k++) buf_byte(&m->out, m->events.p[k]);
  m->op_off[j + 1] = m->out.len;
  m->changes.len = m->events.len = 0;
  m->nchanges = m->nevents = 0;
  m->ntouched = 0;
  m->s_foot[j] = m->footprint;
  m->s_nfree[j] = m->nfree;
  m->s_inuse[j] = m->inuse;
  m->result[j] = result;
  if (m->grew && j > 0) m->grows[m->ngrows++] = j;
  m->grew = 0;
}

/* A chunk starts after the call just recorded: its own keyframe and address
 * bases. */
static void chunk_start(struct model *m) {
  keyframe(m);
  m->last_change = m->last_event = m->last_result = 0;
}

/* --- reading a worker's records ------------------------------------------ */

struct view_trace {
  const char *path;
  struct optrace t;
};

struct policy_run {
  const char *policy;
  char label[64];
  struct model m;
  int64_t peak_op;
  uint64_t peak_live;
};

static void print_walk_block(struct model *m, const struct rec *r) {
  int id = region_of(m, r->block);
  static const char *states[] = {"free", "allocated", "cached", "large"};
  printf("%d:+0x%llx %llu %s\n", id,
         (unsigned long long)(id >= 0 ? r->block - m->regions[id].base : 0),
         (unsigned long long)r->size, r->a < 4 ? states[r->a] : "?");
}

/* The free lists the library reported after the --walk call (REC_LIST_AT
 * records from r on, each list from its tail to its head), one line per
 * list by class, head first: "list CLASS: REGION:+OFFSET ...". */
static void print_lists(struct model *m, const struct rec *r, size_t n) {
  size_t cnt = 0;
  while (cnt < n && r[cnt].kind == REC_LIST_AT) cnt++;
  for (uint64_t cls = 0; cls < VIEW_LISTS; cls++) {
    int any = 0;
    for (size_t j = cnt; j-- > 0;) {
      if (r[j].a != cls) continue;
      int id = region_of(m, r[j].block);
      if (!any) printf("list %llu:", (unsigned long long)cls);
      printf(" %d:+0x%llx", id,
             (unsigned long long)(id >= 0 ? r[j].block - m->regions[id].base : 0));
      any = 1;
    }
    if (any) printf("\n");
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Rebuilds the heap of every call from the records in path, writing the
 * page's stream.  Returns 0, or 1 after printing why. */
static int rebuild(struct policy_run *p, const struct optrace *t, const char *path,
                   uint64_t walk_at, int check) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    tool_error("view: %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return 1;
  }
  size_t n = (size_t)st.st_size / sizeof(struct rec);
  const struct rec *recs = n ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
  close(fd);
  if (n && recs == MAP_FAILED) {
    tool_error("view: %s: %s", path, strerror(errno));
    return 1;
  }
  struct model *m = &p->m;
  m->nops = t->nops;
  size_t nk = t->nops / view_chunk + 2;
  m->op_off = calloc(t->nops + 2, sizeof *m->op_off);
  m->s_foot = calloc(t->nops + 1, sizeof *m->s_foot);
  m->s_nfree = calloc(t->nops + 1, sizeof *m->s_nfree);
  m->s_inuse = calloc(t->nops + 1, sizeof *m->s_inuse);
  m->result = calloc(t->nops + 1, sizeof *m->result);
  m->grows = calloc(t->nops + 1, sizeof *m->grows);
  m->kf_off = calloc(nk + 1, sizeof *m->kf_off);
  if (!m->op_off || !m->s_foot || !m->s_nfree || !m->s_inuse || !m->result || !m->grows ||
      !m->kf_off) {
    tool_error("view: out of memory");
    exit(1);
  }
  int rc = 0;
  size_t calls = 0; /* REC_OP records read: the start, then one per call */
  for (size_t i = 0; i < n && rc == 0; i++) {
    const struct rec *r = &recs[i];
    if (r->kind == REC_WALK) {
      if (region_of(m, r->b) < 0) {
        int id = region_add(m, r->b, r->c, r->a == ST_LARGE);
        if (r->a == ST_LARGE) m->footprint += r->c;
        (void)id;
      }
      set_block(m, r->block, r->size, (int)r->a, 0);
      continue;
    }
    if (r->kind == REC_WALK_AT || r->kind == REC_LIST_AT) continue; /* printed at its call */
    if (r->kind != REC_OP) {
      apply(m, r);
      continue;
    }
    if (r->a != (calls ? calls - 1 : UINT64_MAX) || (check && calls && !r->d)) {
      tool_error("view: %s: the worker's records are out of order or lack hawk_walk's digest",
                 path);
      rc = 1;
      break;
    }
    calls++;
    /* The end of a call: what the thread cache did, which the heap cannot
     * tell (its fast path reports nothing). */
    uint64_t result = 0;
    if (r->a != UINT64_MAX) {
      const struct op *o = &t->ops[r->a];
      uint64_t oldb = r->block ? r->block - 8 : 0, newb = r->size ? r->size - 8 : 0;
      int freed = o->kind == OP_FREE || (o->kind == OP_REALLOC && r->size != r->block);
      if (freed && oldb) {
        int s = state_of(m, oldb);
        if (s == ST_ALLOC) {
          struct blk *b = bmap_get(&m->blocks, oldb);
          set_block(m, oldb, b->size, ST_CACHED, 0);
          ev(m, EV_CACHE_PUT, "au", norm(m, oldb), b->size);
        }
      }
      for (size_t k = 0; k < m->ntouched; k++)
        if (m->touched[k] != newb && state_of(m, m->touched[k]) == ST_ALLOC) {
          struct blk *b = bmap_get(&m->blocks, m->touched[k]);
          set_block(m, m->touched[k], b->size, ST_CACHED, 0);
        }
      if (newb && o->kind != OP_FREE) {
        struct blk *b = bmap_get(&m->blocks, newb);
        if (b && b->state == ST_CACHED) {
          ev(m, EV_CACHE_HIT, "au", norm(m, newb), b->size);
          set_block(m, newb, b->size, ST_ALLOC, o->size);
        } else if (b && (b->state == ST_ALLOC || b->state == ST_LARGE)) {
          set_block(m, newb, b->size, b->state, o->size);
        }
      }
      result = norm(m, newb);
      if (r->d && (r->b != m->blocks.count || r->c != m->blocks.digest)) {
        tool_error("view: %s %llu (call %llu): the blocks rebuilt from the events differ from "
                   "hawk_walk's (%llu blocks, hawk_walk %llu), policy %s",
                   t->where, (unsigned long long)o->where, (unsigned long long)r->a + 1,
                   (unsigned long long)m->blocks.count, (unsigned long long)r->b, p->policy);
        rc = 1;
      }
      if (walk_at && r->a + 1 == walk_at) {
        /* the blocks hawk_walk reported follow this record: by address */
        size_t cnt = 0;
        while (i + 1 + cnt < n && recs[i + 1 + cnt].kind == REC_WALK_AT) cnt++;
        uint64_t(*order)[2] = calloc(cnt ? cnt : 1, sizeof *order);
        for (size_t j = 0; j < cnt; j++) {
          order[j][0] = norm(m, recs[i + 1 + j].block);
          order[j][1] = j;
        }
        qsort(order, cnt, sizeof *order, cmp_u64);
        for (size_t j = 0; j < cnt; j++) print_walk_block(m, &recs[i + 1 + order[j][1]]);
        free(order);
        print_lists(m, recs + i + 1 + cnt, n - i - 1 - cnt);
        int rid = m->rover ? region_of(m, m->rover_at) : -1;
        if (rid >= 0) /* next fit: where its next search starts, as its events said */
          printf("rover %d:+0x%llx\n", rid,
                 (unsigned long long)(m->rover_at - m->regions[rid].base));
      }
    }
    size_t j = calls - 1;
    if (r->heap > 0) ev(m, EV_EXAMINED_TOTAL, "u", (uint64_t)r->heap);
    call_record(m, j, result);
    if (j % view_chunk == 0 && (j < t->nops || j == 0)) chunk_start(m);
  }
  if (n) munmap((void *)recs, (size_t)st.st_size);
  if (rc == 0 && calls != t->nops + 1) {
    tool_error("view: the worker recorded %zu calls of %zu (policy %s)", calls ? calls - 1 : 0,
               t->nops, p->policy);
    rc = 1;
  }
  return rc;
}

/* --- the page ------------------------------------------------------------- */

static void put_base64(FILE *f, const unsigned char *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char line[4];
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n) v |= p[i + 2];
    line[0] = tab[v >> 18];
    line[1] = tab[(v >> 12) & 63];
    line[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    line[3] = i + 2 < n ? tab[v & 63] : '=';
    fwrite(line, 1, 4, f);
  }
}

/* A string as a JSON string (what a trace's path may hold, escaped). */
static void put_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 32 || c == '<' || c == '>' || c == '&')
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* The live bytes after each call (the malloc-lab way, as trace_peak). */
static uint64_t *live_bytes(const struct optrace *t) {
  uint64_t *sizes = calloc((size_t)t->nslots + 1, sizeof *sizes), live = 0;
  uint64_t *v = calloc(t->nops + 1, sizeof *v);
  for (size_t i = 0; i < t->nops; i++) {
    const struct op *o = &t->ops[i];
    if (o->slot != SLOT_NULL) {
      live -= sizes[o->slot];
      sizes[o->slot] = o->kind == OP_FREE ? 0 : o->size;
      live += sizes[o->slot];
    }
    v[i + 1] = live;
  }
  free(sizes);
  return v;
}

/* The chunk length for trace t (view_chunk): VIEW_CHUNK, doubled while
 * its keyframes could hold more than VIEW_KEYFRAME_BLOCKS blocks, each
 * counted at the trace's most live blocks (an allocation into a live id
 * keeps the old block too) times two, for the free blocks between them,
 * plus one. */
static size_t chunk_for(const struct optrace *t) {
  unsigned char *in = calloc((size_t)t->nslots + 1, 1);
  if (!in) {
    tool_error("view: out of memory");
    exit(1);
  }
  uint64_t live = 0, most = 0;
  for (size_t i = 0; i < t->nops; i++) {
    const struct op *o = &t->ops[i];
    if (o->slot == SLOT_NULL) continue;
    if (o->kind == OP_FREE) {
      live -= in[o->slot];
      in[o->slot] = 0;
    } else if (o->kind != OP_REALLOC || !in[o->slot]) {
      live++;
      in[o->slot] = 1;
    }
    if (live > most) most = live;
  }
  free(in);
  size_t chunk = VIEW_CHUNK;
  while (chunk < t->nops && (t->nops / chunk + 1) * (2 * most + 1) > VIEW_KEYFRAME_BLOCKS)
    chunk *= 2;
  return chunk;
}

/* The trace's calls first .. last (from 1) for a chunk: kind, size, block
 * id, source position and live bytes after the call (these two as the
 * difference from the previous call of the chunk, zigzag). */
static void calls_stream(const struct optrace *t, const uint64_t *live, size_t first, size_t last,
                         struct buf *b) {
  uint64_t where = 0, was = 0;
  for (size_t i = first; i <= last; i++) {
    const struct op *o = &t->ops[i - 1];
    put_u(b, o->kind);
    put_u(b, o->size);
    put_u(b, o->slot == SLOT_NULL ? 0 : (uint64_t)o->slot + 1);
    put_u(b, zigzag((int64_t)(o->where - where)));
    put_u(b, zigzag((int64_t)(live[i] - was)));
    where = o->where;
    was = live[i];
  }
}

/* The figures of the whole trace: live bytes after each call (differences,
 * zigzag), then the calls where the policies handed out blocks at different
 * places (count, differences). */
static void figures_stream(const struct optrace *t, const uint64_t *live,
                           const struct policy_run *runs, int nruns, struct buf *b) {
  for (size_t i = 1; i <= t->nops; i++) put_u(b, zigzag((int64_t)(live[i] - live[i - 1])));
  size_t ndiff = 0;
  for (size_t i = 1; i <= t->nops; i++)
    for (int p = 1; p < nruns; p++)
      if (runs[p].m.result[i] != runs[0].m.result[i]) {
        ndiff++;
        break;
      }
  put_u(b, ndiff);
  for (size_t i = 1, last = 0; i <= t->nops; i++)
    for (int p = 1; p < nruns; p++)
      if (runs[p].m.result[i] != runs[0].m.result[i]) {
        put_u(b, i - last);
        last = i;
        break;
      }
}

/* A policy's figures after each call (footprint, free blocks, bytes in use;
 * differences, zigzag) and the calls that grew its heap (count,
 * differences). */
static void series_stream(const struct model *m, struct buf *b) {
  uint64_t f = 0, n = 0, u = 0;
  for (size_t i = 0; i <= m->nops; i++) {
    put_u(b, zigzag((int64_t)(m->s_foot[i] - f)));
    put_u(b, zigzag((int64_t)(m->s_nfree[i] - n)));
    put_u(b, zigzag((int64_t)(m->s_inuse[i] - u)));
    f = m->s_foot[i];
    n = m->s_nfree[i];
    u = m->s_inuse[i];
  }
  put_u(b, m->ngrows);
  for (size_t i = 0, last = 0; i < m->ngrows; i++) {
    put_u(b, m->grows[i] - last);
    last = m->grows[i];
  }
}

/* The bytes of the page's streams, compressed and in base64 as a JS string. */
static void put_packed(FILE *f, const struct buf *b, size_t *packed) {
  size_t n;
  unsigned char *z = deflate_raw(b->p, b->len, &n);
  fputc('"', f);
  put_base64(f, z, n);
  fputc('"', f);
  *packed += n;
  free(z);
}

/* Chunk c: each policy's keyframe and calls c * view_chunk + 1 .. on,
 * policy after policy in slices of VIEW_SLICE bytes (the lengths first), so
 * that the compressor finds what two policies did alike within its window. */
#define VIEW_SLICE 1024
static void chunk_stream(const struct policy_run *runs, int nruns, size_t c, struct buf *b) {
  size_t nops = runs[0].m.nops, first = c * view_chunk + 1;
  size_t last = first + view_chunk - 1 > nops ? nops : first + view_chunk - 1;
  struct buf *parts = calloc((size_t)nruns, sizeof *parts);
  size_t *at = calloc((size_t)nruns, sizeof *at), left = 0;
  for (int p = 0; p < nruns; p++) {
    const struct model *m = &runs[p].m;
    for (size_t k = m->kf_off[c]; k < m->kf_off[c + 1]; k++) buf_byte(&parts[p], m->kf.p[k]);
    if (first <= last)
      for (size_t k = m->op_off[first]; k < m->op_off[last + 1]; k++)
        buf_byte(&parts[p], m->out.p[k]);
    put_u(b, parts[p].len);
    left += parts[p].len;
  }
  while (left)
    for (int p = 0; p < nruns; p++) {
      size_t k = parts[p].len - at[p] < VIEW_SLICE ? parts[p].len - at[p] : VIEW_SLICE;
      for (size_t x = 0; x < k; x++) buf_byte(b, parts[p].p[at[p] + x]);
      at[p] += k;
      left -= k;
    }
  for (int p = 0; p < nruns; p++) free(parts[p].p);
  free(parts);
  free(at);
}

/* Nonzero: the page shows payloads only (no header, footer or rounding). */
static int view_payloads;
/* On such a page: the heap's size after mm_init, before the first call. */
static uint64_t view_init_heap;

static int write_page(const char *out, const char *trace, const struct optrace *t, int textbook,
                      struct policy_run *runs, int nruns) {
  FILE *f = fopen(out, "w");
  if (!f) {
    tool_error("view: cannot write %s: %s", out, strerror(errno));
    return 2;
  }
  size_t raw = 0, packed = 0;
  const char *mark = strstr(view_page, "/*HAWK_DATA*/");
  fwrite(view_page, 1, (size_t)(mark - view_page), f);
  const char *base = strrchr(trace, '/');
  fputs("const HAWK = {trace: ", f);
  put_json_string(f, base ? base + 1 : trace);
  fprintf(f, ", payloads: %s", view_payloads ? "true" : "false");
  if (view_payloads) fprintf(f, ", initHeap: %llu", (unsigned long long)view_init_heap);
  fprintf(f, ", textbook: %s, nops: %zu, peak: %lld, where: \"%s\", chunk: %zu, figures: ",
          textbook ? "true" : "false", t->nops, (long long)runs[0].peak_op + 1, t->where,
          view_chunk);
  uint64_t *live = live_bytes(t);
  struct buf b = {0};
  figures_stream(t, live, runs, nruns, &b);
  raw += b.len;
  put_packed(f, &b, &packed);
  fputs(", policies: [", f);
  for (int i = 0; i < nruns; i++) {
    fprintf(f, "%s{name: ", i ? ", " : "");
    put_json_string(f, runs[i].label);
    fprintf(f, ", rover: %s, regions: [", runs[i].m.rover ? "true" : "false");
    for (size_t r = 0; r < runs[i].m.nregions; r++)
      fprintf(f, "%s[%llu, %d]", r ? ", " : "", (unsigned long long)runs[i].m.regions[r].size,
              runs[i].m.regions[r].large);
    fputs("], series: ", f);
    b.len = 0;
    series_stream(&runs[i].m, &b);
    raw += b.len;
    put_packed(f, &b, &packed);
    fputs("}", f);
  }
  fputs("],\nchunks: [", f);
  for (size_t c = 0; c < runs[0].m.nkf; c++) {
    b.len = 0;
    chunk_stream(runs, nruns, c, &b);
    raw += b.len;
    fputs(c ? ",\n" : "", f);
    put_packed(f, &b, &packed);
  }
  fputs("],\ncalls: [", f);
  for (size_t c = 0; c < runs[0].m.nkf; c++) {
    b.len = 0;
    size_t first = c * view_chunk + 1, last = first + view_chunk - 1;
    calls_stream(t, live, first, last > t->nops ? t->nops : last, &b);
    raw += b.len;
    fputs(c ? ",\n" : "", f);
    put_packed(f, &b, &packed);
  }
  free(b.p);
  free(live);
  fprintf(f, "], raw: %zu, packed: %zu};\n", raw, packed);
  fputs(mark + strlen("/*HAWK_DATA*/"), f);
  if (output_close(f) != 0) {
    tool_error("view: cannot write %s: %s", out, strerror(errno));
    return 2;
  }
  return 0;
}

/* --- a page of payloads only (hawk grade --view) -------------------------- */

static void model_free(struct model *m);

/* Records one call of the model: the figures after it and its stream. */
static void payload_call(struct model *m, size_t j, uint64_t result) {
  call_record(m, j, result);
  if (j % view_chunk == 0) chunk_start(m);
}

int view_payload_page(const char *out, const char *trace, const struct optrace *t,
                      const char *calls) {
  FILE *in = fopen(calls, "r");
  if (!in) {
    tool_error("grade: %s: %s", calls, strerror(errno));
    return 1;
  }
  size_t nops = t->nops;
  view_chunk = chunk_for(t);
  long long *off = calloc(nops + 1, sizeof *off);
  unsigned long long *len = calloc(nops + 1, sizeof *len), *heap = calloc(nops + 1, sizeof *heap);
  uint64_t *at = calloc((size_t)t->nslots + 1, sizeof *at), maxheap = 1;
  size_t got = 0; /* lines read: mm_init's (0), then one per call (1 ..) */
  unsigned long long op, l, h;
  long long o;
  while (got <= nops && fscanf(in, "%llu %lld %llu %llu", &op, &o, &l, &h) == 4 && op == got) {
    off[got] = o;
    len[got] = l;
    heap[got] = h;
    if (h > maxheap) maxheap = h;
    got++;
  }
  fclose(in);
  if (got != nops + 1) {
    tool_error("grade: %s: the grader recorded %zu calls of %zu", calls, got ? got - 1 : 0, nops);
    free(off), free(len), free(heap), free(at);
    return 1;
  }
  struct policy_run run;
  memset(&run, 0, sizeof run);
  run.policy = "student";
  snprintf(run.label, sizeof run.label, "student's mm.c");
  struct model *m = &run.m;
  m->nops = nops;
  m->op_off = calloc(nops + 2, sizeof *m->op_off);
  m->s_foot = calloc(nops + 1, sizeof *m->s_foot);
  m->s_nfree = calloc(nops + 1, sizeof *m->s_nfree);
  m->s_inuse = calloc(nops + 1, sizeof *m->s_inuse);
  m->result = calloc(nops + 1, sizeof *m->result);
  m->grows = calloc(nops + 1, sizeof *m->grows);
  m->kf_off = calloc(nops / view_chunk + 3, sizeof *m->kf_off);
  const uint64_t base = (uint64_t)1 << 20; /* mem_heap_lo(), for the model */
  region_add(m, base, maxheap, 0);
  uint64_t was = heap[0], live = 0; /* the heap mm_init asked for */
  m->footprint = was;
  payload_call(m, 0, 0);
  for (size_t i = 0; i < nops; i++) {
    const struct op *x = &t->ops[i];
    uint64_t slot = x->slot == SLOT_NULL ? t->nslots : x->slot;
    if (x->kind == OP_FREE || x->kind == OP_REALLOC) {
      if (at[slot]) {
        struct blk *b = bmap_get(&m->blocks, at[slot]);
        ev(m, EV_PAYLOAD_FREED, "au", norm(m, at[slot]), b ? b->size : 0);
        if (b) live -= b->size;
        set_block(m, at[slot], 0, 0, 0);
        at[slot] = 0;
      }
    }
    uint64_t result = 0;
    if (off[i + 1] >= 0 && len[i + 1]) {
      at[slot] = base + (uint64_t)off[i + 1];
      set_block(m, at[slot], len[i + 1], ST_ALLOC, len[i + 1]);
      ev(m, EV_PAYLOAD_PLACED, "auu", norm(m, at[slot]), (uint64_t)len[i + 1],
         (uint64_t)off[i + 1]);
      result = norm(m, at[slot]);
      live += len[i + 1];
      if (live > run.peak_live) {
        run.peak_live = live;
        run.peak_op = (int64_t)i;
      }
    }
    if (heap[i + 1] > was) {
      ev(m, EV_HEAP_GREW, "uu", (uint64_t)was, (uint64_t)heap[i + 1]);
      m->grew = 1;
      was = heap[i + 1];
    }
    m->footprint = was;
    payload_call(m, i + 1, result);
  }
  m->regions[0].high = was;
  view_payloads = 1;
  view_init_heap = heap[0];
  int rc = write_page(out, trace, t, 0, &run, 1);
  view_payloads = 0;
  model_free(m);
  free(off), free(len), free(heap), free(at);
  return rc;
}

/* --- the command ---------------------------------------------------------- */

static const char *const all_policies[] = {"first-fit", "next-fit", "best-fit", "segregated"};

static void model_free(struct model *m) {
  free(m->blocks.t);
  free(m->regions);
  free(m->out.p);
  free(m->changes.p);
  free(m->events.p);
  free(m->touched);
  free(m->lists.t);
  free(m->op_off);
  free(m->s_foot);
  free(m->s_nfree);
  free(m->s_inuse);
  free(m->result);
  free(m->grows);
  free(m->kf.p);
  free(m->kf_off);
}

int cmd_view(int argc, char **argv) {
  const char *out = VIEW_DEFAULT_OUT, *policies = "segregated", *allocator = NULL, *trace = NULL;
  int textbook = 0, check = 0;
  unsigned long long walk_at = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (is_help(a)) {
      fputs(view_usage, stdout);
      return 0;
    }
    int has = i + 1 < argc;
    if (strcmp(a, "--textbook") == 0)
      textbook = 1;
    else if (strcmp(a, "--check") == 0)
      check = 1;
    else if (strcmp(a, "--policy") == 0 && has)
      policies = argv[++i];
    else if (strcmp(a, "--allocator") == 0 && has)
      allocator = argv[++i];
    else if (strcmp(a, "--out") == 0 && has)
      out = argv[++i];
    else if (strcmp(a, "--walk") == 0 && has) {
      /* read whole: a value past 64 bits is refused, not cut down */
      const char *v = argv[++i];
      char *end;
      errno = 0;
      walk_at = strtoull(v, &end, 10);
      if (*v < '0' || *v > '9' || *end || errno || walk_at < 1) {
        tool_error("view: --walk takes a number of calls (1 or more), not '%s'", argv[i]);
        return 2;
      }
    } else if (a[0] == '-' && a[1]) {
      tool_error("view: unknown option or missing value: %s (see hawk view --help)", a);
      return 2;
    } else if (trace) {
      tool_error("view: one trace at a time (%s and %s)", trace, a);
      return 2;
    } else {
      trace = a;
    }
  }
  if (!trace) {
    fputs(view_usage, stderr);
    return 2;
  }
  /* The policies, checked here: a misspelt one is bad usage. */
  const char *chosen[8];
  int nchosen = 0;
  char *list = strdup(policies);
  for (char *save = NULL, *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    if (strcmp(w, "all") == 0) {
      for (int k = 0; k < 4; k++)
        if (nchosen < 8) chosen[nchosen++] = all_policies[k];
      continue;
    }
    int known = -1;
    for (int k = 0; k < 4; k++)
      if (strcmp(w, all_policies[k]) == 0) known = k;
    if (known < 0) {
      tool_error("view: unknown policy '%s' (first-fit, next-fit, best-fit, segregated, all)", w);
      free(list);
      return 2;
    }
    if (nchosen < 8) chosen[nchosen++] = all_policies[known];
  }
  free(list);
  if (nchosen == 0) {
    tool_error("view: --policy names no policy");
    return 2;
  }
  char *lib = allocator ? allocator_path(allocator) : hawk_library_path();
  if (!lib) {
    if (allocator)
      tool_error("view: no allocator '%s' is installed (looked in %s)", allocator,
                 allocator_dirs());
    return 2;
  }
  if (access(lib, R_OK) != 0) {
    tool_error("view: %s: %s", lib, strerror(errno));
    free(lib);
    return 2;
  }
  if (!library_exports(lib, "hawk_events")) {
    tool_error("view: %s reports no events (hawk view needs HawkAlloc's hawk_events)", lib);
    free(lib);
    return 2;
  }
  struct view_trace vt = {trace, {0}};
  char err[512];
  if (trace_load(trace, &vt.t, err, sizeof err) != 0) {
    tool_error("view: %s", err);
    free(lib);
    return 2;
  }
  if (walk_at > vt.t.nops) {
    tool_error("view: --walk %llu: the trace has calls 1 to %zu", walk_at, vt.t.nops);
    trace_unload(&vt.t);
    free(lib);
    return 2;
  }
  view_chunk = chunk_for(&vt.t);
  if (walk_at) {
    char text[32];
    snprintf(text, sizeof text, "%llu", walk_at);
    setenv("HAWK_VIEW_WALK_AT", text, 1);
  }
  const char *tmpdir = getenv("TMPDIR");
  if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
  struct policy_run *runs = calloc((size_t)nchosen, sizeof *runs);
  int rc = 0;
  for (int i = 0; i < nchosen && rc == 0; i++) {
    runs[i].policy = chosen[i];
    runs[i].m.rover = strcmp(chosen[i], "next-fit") == 0;
    snprintf(runs[i].label, sizeof runs[i].label, "%s", chosen[i]);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/hawk-view-XXXXXX", tmpdir);
    int fd = mkstemp(tmp);
    if (fd < 0) {
      tool_error("view: cannot make a file in %s: %s", tmpdir, strerror(errno));
      rc = 2;
      break;
    }
    close(fd);
    scratch_add(tmp, 0);
    struct alloc_choice a = {"hawk", lib, chosen[i], 1, textbook};
    struct worker_outcome o;
    if (worker_run(trace, &a, check ? MODE_EVENTS_CHECK : MODE_EVENTS, 0, tmp, &o) != 0) {
      unlink(tmp);
      scratch_drop(tmp);
      rc = 2;
      break;
    }
    if (o.errtext[0]) fprintf(stderr, "%s", o.errtext);
    if (o.policy_rejected) {
      tool_error("view: the library does not know the policy '%s'", chosen[i]);
      rc = 2;
    } else if (!o.got_result) {
      if (WIFSIGNALED(o.status))
        tool_error("view: the replay died of signal %d (%s)", WTERMSIG(o.status),
                   strsignal(WTERMSIG(o.status)));
      else
        tool_error("view: the replay ended without a result");
      rc = 1;
    } else if (o.result.failed) {
      tool_error("view: %s: %s", trace, o.result.message);
      rc = 1;
    } else {
      runs[i].peak_op = o.result.peak_op;
      runs[i].peak_live = o.result.peak_live;
      if (walk_at && i > 0) unsetenv("HAWK_VIEW_WALK_AT");
      if (walk_at && i == 0) {
        rc = rebuild(&runs[i], &vt.t, tmp, walk_at, check);
        unsetenv("HAWK_VIEW_WALK_AT");
      } else {
        rc = rebuild(&runs[i], &vt.t, tmp, 0, check);
      }
    }
    worker_outcome_free(&o);
    unlink(tmp);
    scratch_drop(tmp);
  }
  if (rc == 0) rc = write_page(out, trace, &vt.t, textbook, runs, nchosen);
  if (rc == 0 && !walk_at) {
    struct stat st;
    long long size = stat(out, &st) == 0 ? (long long)st.st_size : -1;
    printf("wrote %s: %s, %zu calls, policies ", out, trace, vt.t.nops);
    for (int i = 0; i < nchosen; i++) printf("%s%s", i ? ", " : "", chosen[i]);
    printf("%s%s; %lld bytes\n", textbook ? ", textbook mode" : "",
           check ? ", every call checked against hawk_walk" : "", size);
  }
  for (int i = 0; i < nchosen; i++) model_free(&runs[i].m);
  free(runs);
  trace_unload(&vt.t);
  free(lib);
  return rc;
}
