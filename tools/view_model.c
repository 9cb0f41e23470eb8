/* view_model.c - `hawk view`'s model: one policy's heap rebuilt at every
 * call from the events the worker recorded (record.c), never simulated
 * (each event says what the heap did), checked against hawk_walk when
 * asked, and kept as the page's streams: each call's changes and events,
 * the figures after it, and a keyframe of the whole state at the start of
 * each chunk of calls.  view.c writes the page from it. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "view.h"

/* --- a hash map from address to block ------------------------------------ */

static size_t slot_of(const struct bmap *m, uint64_t key) {
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  return (size_t)(h >> 20) & (m->cap - 1);
}

struct blk *bmap_get(const struct bmap *m, uint64_t key) {
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

void buf_byte(struct buf *b, unsigned char c) {
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
void put_u(struct buf *b, uint64_t v) {
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

size_t view_chunk = VIEW_CHUNK;

static int region_of(struct model *m, uint64_t addr) {
  for (size_t i = m->nregions; i-- > 0;)
    if (m->regions[i].live && addr >= m->regions[i].base &&
        addr < m->regions[i].base + m->regions[i].size)
      return (int)i;
  return -1;
}

int region_add(struct model *m, uint64_t base, uint64_t size, int large) {
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
uint64_t norm(struct model *m, uint64_t addr) {
  if (!addr) return 0;
  int r = region_of(m, addr);
  if (r < 0) return 0;
  return ((uint64_t)r << 32) + (addr - m->regions[r].base) + 1;
}

/* Sets the block at addr (size 0: removes it), recording the change for
 * the page and keeping the figures and the digest. */
void set_block(struct model *m, uint64_t addr, uint64_t size, int state, uint64_t req) {
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
void ev(struct model *m, int kind, const char *fields, ...) {
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
void call_record(struct model *m, size_t j, uint64_t result) {
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
void chunk_start(struct model *m) {
  keyframe(m);
  m->last_change = m->last_event = m->last_result = 0;
}

/* --- reading a worker's records ------------------------------------------ */

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
int rebuild(struct policy_run *p, const struct optrace *t, const char *path, uint64_t walk_at,
            int check) {
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

void model_free(struct model *m) {
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
