/* userheap.c - heaps a program creates and destroys (hawk_heap_*).  See
 * userheap.h and docs/design.md, "User heaps". */
#include "userheap.h"

#include <errno.h>
#include <string.h>

#include "counters.h"
#include "dlist.h"
#include "hawk.h"
#include "os.h"
#include "process.h"
#include "report.h"
#include "stats.h"

/* A created heap.  Descriptors live in tables (below) that are never
 * unmapped, so a handle can be checked before it is trusted. */
struct hawk_heap {
  struct heap heap; /* its arenas, lists and lock */
  uint64_t magic;   /* HEAP_LIVE, HEAP_DEAD once destroyed */
  int id;           /* what hawk_walk calls it */
  size_t limit;     /* 0: none */
  uint64_t charged; /* bytes of its live blocks (mappings for large ones),
                       plus what allocations under way have reserved */
  uint64_t charged_peak;
  struct uh_large *large; /* its blocks in mappings of their own (heap.lock) */
  uint64_t large_count, large_bytes, large_mallocs, large_frees;
  uint64_t mapped_peak;
  struct hawk_heap *next, *prev; /* the live heaps (list.lock) */
  struct hawk_heap *next_free;   /* the slots waiting for reuse */
};

#define HEAP_LIVE 0x68617768656170ull /* "hawheap" */
#define HEAP_DEAD 0x64656164686561ull

/* The header of a created heap's block in a mapping of its own, at the
 * start of the mapping (the payload is in the same chunk). */
struct uh_large {
  uint64_t magic;
  struct hawk_heap *owner;
  struct uh_large *next, *prev;
  size_t map_len, payload_off;
};

#define UH_LARGE_MAGIC 0x756865616c617267ull
/* The most alignment a created heap gives a block: its payload must lie in
 * the mapping's first chunk, next to the header. */
#define UH_ALIGN_MAX (ARENA_SIZE / 2)

/* A table: one chunk, marked CHUNK_HEAP_TABLE, of descriptor slots. */
struct uh_table {
  struct uh_table *next;
  size_t used; /* slots handed out so far */
};
#define TABLE_FIRST ((size_t)128)
#define TABLE_SLOTS ((ARENA_SIZE - TABLE_FIRST) / sizeof(struct hawk_heap))
/* A destroyed heap's slot is used again only once this many wait, the
 * oldest first: until then its handle is caught as destroyed. */
#define SLOTS_KEPT 64

static struct {
  struct hawk_lock lock;
  struct hawk_heap *live;       /* every live created heap */
  struct uh_table *tables;      /* newest first */
  struct hawk_heap *free_first; /* slots of destroyed heaps, oldest first */
  struct hawk_heap *free_last;
  size_t free_count;
  int next_id;
} list = {HAWK_LOCK_INIT, NULL, NULL, NULL, NULL, 0, HEAP_MAX};

/* The default heap's handle: no descriptor, only an address. */
static const uint64_t default_token = 0x64656661756c74ull;
#define DEFAULT_HEAP ((struct hawk_heap *)(uintptr_t)&default_token)

static size_t walk_locked(const struct hawk_heap *h, hawk_visit_fn visit, void *ctx);

static void *fail(int code) {
  errno = code;
  return NULL;
}

/* --- handles ----------------------------------------------------------------- */

/* Whether h is the address of a slot of a table (whatever its state). */
static int is_slot(const struct hawk_heap *h) {
  uintptr_t off = (uintptr_t)h & (ARENA_SIZE - 1);
  return registry_lookup(h) == CHUNK_HEAP_TABLE && off >= TABLE_FIRST &&
         (off - TABLE_FIRST) % sizeof(struct hawk_heap) == 0 &&
         (off - TABLE_FIRST) / sizeof(struct hawk_heap) < TABLE_SLOTS;
}

/* userheap_live's check, inlined in userheap_arg (every hawk_heap_* call). */
static inline struct hawk_heap *live(struct hawk_heap *h, const char *call) {
  if (h == NULL || !is_slot(h)) report_misuse(call, h, "not a heap (never created)");
  uint64_t m = __atomic_load_n(&h->magic, __ATOMIC_ACQUIRE);
  if (m == HEAP_DEAD) report_misuse(call, h, "not a heap (destroyed already)");
  if (m != HEAP_LIVE) report_misuse(call, h, "not a heap (never created)");
  return h;
}

struct hawk_heap *userheap_live(struct hawk_heap *h, const char *call) {
  hawk_fork_guard();
  return live(h, call);
}

/* A slot for a new heap, or NULL (ENOMEM).  Under list.lock. */
static struct hawk_heap *slot_take_locked(void) {
  if (list.free_count > SLOTS_KEPT) {
    struct hawk_heap *h = list.free_first;
    list.free_first = h->next_free;
    if (list.free_first == NULL) list.free_last = NULL;
    list.free_count--;
    return h;
  }
  struct uh_table *t = list.tables;
  if (t == NULL || t->used == TABLE_SLOTS) {
    void *p;
    if (os_map(ARENA_SIZE, ARENA_SIZE, &p) != 0) return NULL;
    if (registry_mark(p, ARENA_SIZE, CHUNK_HEAP_TABLE, CHUNK_HEAP_TABLE) != 0) {
      os_unmap(p, ARENA_SIZE);
      return NULL;
    }
    t = p;
    t->next = list.tables;
    t->used = 0;
    list.tables = t;
  }
  return (struct hawk_heap *)((char *)t + TABLE_FIRST + t->used++ * sizeof(struct hawk_heap));
}

/* --- the limit --------------------------------------------------------------- */

/* Reserves bytes against h's limit; 0 when they do not fit. */
static int charge(struct hawk_heap *h, uint64_t bytes) {
  uint64_t cur = __atomic_load_n(&h->charged, __ATOMIC_RELAXED);
  do {
    if (h->limit && (bytes > h->limit || cur > h->limit - bytes)) return 0;
  } while (!__atomic_compare_exchange_n(&h->charged, &cur, cur + bytes, 1, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
  counter_max(&h->charged_peak, cur + bytes);
  return 1;
}

static void uncharge(struct hawk_heap *h, uint64_t bytes) {
  __atomic_sub_fetch(&h->charged, bytes, __ATOMIC_RELAXED);
}

/* The size of the caller's block b, read without the lock (a neighbour's
 * free may change its PREV_ALLOC bit meanwhile). */
static size_t own_block_size(const block *b) { return block_load(b) & BLOCK_SIZE_MASK; }

/* The heap a created heap's arena belongs to. */
static struct hawk_heap *of_heap(struct heap *h) { return (struct hawk_heap *)h; }

static uint64_t mapped_now_locked(const struct hawk_heap *h) {
  return (uint64_t)h->heap.arena_count * ARENA_SIZE + h->large_bytes;
}

/* --- blocks in mappings of their own --------------------------------------- */

static void *large_alloc_in(struct hawk_heap *h, size_t n, size_t align, int zero) {
  (void)zero; /* fresh mappings are zero */
  if (align > UH_ALIGN_MAX) return fail(EINVAL);
  size_t off = align_up(ARENA_FIRST_OFFSET + BLOCK_HEADER, align), page = os_page_size(), len;
  if (n > PTRDIFF_MAX - off - page) return fail(ENOMEM);
  len = align_up(off + n, page);
  if (!charge(h, len)) return fail(ENOMEM);
  void *base;
  if (os_map(len, ARENA_SIZE, &base) != 0) {
    uncharge(h, len);
    return fail(ENOMEM);
  }
  if (registry_mark(base, len, CHUNK_HEAP_LARGE, CHUNK_HEAP_LARGE) != 0) {
    os_unmap(base, len);
    uncharge(h, len);
    return fail(ENOMEM);
  }
  struct uh_large *l = base;
  *l = (struct uh_large){.magic = UH_LARGE_MAGIC, .owner = h, .map_len = len, .payload_off = off};
  block_set_alloc(block_of_payload((char *)base + off), len, BLOCK_LARGE | BLOCK_PREV_ALLOC);
  counters_mapped((int64_t)len);
  counters_footprint((int64_t)len);
  lock_take(&h->heap.lock);
  DLIST_PUSH(h->large, l);
  h->large_count++;
  h->large_bytes += len;
  HAWK_STAT_ADD(h->large_mallocs, 1);
  counter_max(&h->mapped_peak, mapped_now_locked(h));
  lock_give(&h->heap.lock);
  return (char *)base + off;
}

/* Whether the block header before payload offset off of mapping l says
 * what l does: a large block in use whose size is the mapping's length
 * (the header carries a check tag; the length is what gets unmapped). */
static int large_header_agrees(const struct uh_large *l, size_t off) {
  const block *b = block_of_payload((const char *)l + off);
  return block_header_ok(b) && block_is_large(b) && block_is_alloc(b) &&
         block_size(b) == l->map_len;
}

/* Whether n, a link read from a mapping header of heap h, is NULL or
 * another sound mapping of h: a write before a payload (an underflow)
 * reaches the header, and a link is followed only once the registry
 * vouches for the memory it points at. */
static int large_link_ok(const struct uh_large *n, const struct hawk_heap *h) {
  if (n == NULL) return 1;
  if (((uintptr_t)n & (ARENA_SIZE - 1)) != 0 || registry_lookup(n) != CHUNK_HEAP_LARGE ||
      n->magic != UH_LARGE_MAGIC || n->owner != h)
    return 0;
  size_t off = n->payload_off; /* the payload lies in the first chunk */
  /* The header the offset names is read only where it can be: aligned as a
   * payload's, in the mapping's first page, or in a page the kernel says is
   * mapped (a mapping may end well before its chunk does). */
  return off >= sizeof *n + BLOCK_HEADER && off < ARENA_SIZE && off % HAWK_ALIGN == 0 &&
         (off <= os_page_size() || os_is_mapped((const char *)n + off - BLOCK_HEADER)) &&
         large_header_agrees(n, off);
}

/* l's next mapping in h's list, or NULL when the link is damaged: it must
 * lead to another sound mapping of h that points back (no walk leaves the
 * heap's mappings or stays on one). */
static struct uh_large *next_sound(const struct uh_large *l, const struct hawk_heap *h) {
  struct uh_large *n = l->next;
  return n != l && large_link_ok(n, h) && (n == NULL || n->prev == l) ? n : NULL;
}

/* The header of the created heap's large block at p, checked. */
static struct uh_large *large_of(void *p, const char *call) {
  struct uh_large *l = (struct uh_large *)chunk_base(p);
  if (l->magic != UH_LARGE_MAGIC || (char *)p != (char *)l + l->payload_off)
    report_misuse(call, p, "invalid pointer (not a block)");
  struct hawk_heap *h = l->owner;
  if (!is_slot(h) || h->magic != HEAP_LIVE)
    report_misuse(call, p, "heap corruption (a block's heap was overwritten)");
  if (!large_header_agrees(l, l->payload_off))
    report_misuse(call, p, "heap corruption (large block header overwritten)");
  return l;
}

/* Unmaps a large block (taken off its heap's list already). */
static void large_unmap(struct uh_large *l) {
  size_t len = l->map_len;
  (void)registry_mark(l, len, CHUNK_ARENA_FREED, CHUNK_ARENA_FREED); /* marked before */
  l->magic = 0;
  os_unmap(l, len);
  counters_mapped(-(int64_t)len);
  counters_footprint(-(int64_t)len);
}

static void large_free_in(void *p, const char *call) {
  struct uh_large *l = large_of(p, call);
  struct hawk_heap *h = l->owner;
  lock_take(&h->heap.lock);
  int links_sound = (l->next == NULL || next_sound(l, h)) && large_link_ok(l->prev, h) &&
                    (l->prev ? l->prev->next == l : h->large == l);
  if (!links_sound) {
    lock_give(&h->heap.lock);
    report_misuse(call, p, "heap corruption (large block header overwritten)");
  }
  DLIST_REMOVE(h->large, l);
  h->large_count--;
  h->large_bytes -= l->map_len;
  HAWK_STAT_ADD(h->large_frees, 1);
  lock_give(&h->heap.lock);
  uncharge(h, l->map_len);
  large_unmap(l);
}

/* --- allocation -------------------------------------------------------------- */

/* n bytes aligned to align (a power of two, at least 16) in h; NULL with
 * errno set. */
static void *alloc_in(struct hawk_heap *h, size_t n, size_t align, int zero) {
  if (n > PTRDIFF_MAX) return fail(ENOMEM);
  if (n >= LARGE_THRESHOLD || align > LARGE_THRESHOLD) return large_alloc_in(h, n, align, zero);
  /* A block of n bytes takes at most 16 bytes more than it needs (a rest
   * too small to split off stays with it). */
  size_t reserve = block_size_for(n) + HAWK_ALIGN;
  if (!charge(h, reserve)) return fail(ENOMEM);
  size_t dirty = 0;
  void *p = heap_alloc(&h->heap, n, align, zero ? &dirty : NULL, HEAP_GROW);
  if (p == NULL) {
    uncharge(h, reserve);
    return fail(ENOMEM);
  }
  uncharge(h, reserve - own_block_size(block_of_payload(p)));
  if (dirty) memset(p, 0, dirty);
  return p;
}

/* The created heap that owns the arena block at p, or NULL (heap_free
 * and heap_usable then report it). */
static struct hawk_heap *arena_owner(void *p) {
  struct arena *a = arena_of(p);
  struct heap *h = a->magic == ARENA_MAGIC ? arena_heap(a) : NULL;
  return h ? of_heap(h) : NULL;
}

void userheap_free(void *p, enum chunk_kind kind, const char *call) {
  if (kind == CHUNK_HEAP_LARGE) {
    large_free_in(p, call);
    return;
  }
  if (kind != CHUNK_HEAP_ARENA) report_misuse(call, p, "invalid pointer (not a block)");
  struct hawk_heap *h = arena_owner(p);
  size_t size = 0;
  if (arena_holds_payload(arena_of(p), p)) {
    const block *b = block_of_payload(p);
    uint64_t w = block_load(b);
    if (block_word_ok(b, w)) size = w & BLOCK_SIZE_MASK;
  }
  heap_free(p, call); /* checks the block; a misuse never returns */
  if (h) uncharge(h, size);
}

size_t userheap_usable(void *p, enum chunk_kind kind, const char *call) {
  if (kind == CHUNK_HEAP_LARGE) {
    struct uh_large *l = large_of(p, call);
    return l->map_len - l->payload_off;
  }
  if (kind != CHUNK_HEAP_ARENA) report_misuse(call, p, "invalid pointer (not a block)");
  return heap_usable(p, call);
}

/* Moves p (usable bytes old) into a new block of n bytes of h. */
static void *move_to(struct hawk_heap *h, void *p, size_t old, size_t n, enum chunk_kind kind,
                     const char *call) {
  void *q = alloc_in(h, n, HAWK_ALIGN, 0);
  if (q == NULL) return NULL;
  memcpy(q, p, old < n ? old : n);
  userheap_free(p, kind, call);
  return q;
}

void *userheap_resize(void *p, size_t n, enum chunk_kind kind, const char *call) {
  size_t old = userheap_usable(p, kind, call); /* checks p */
  if (kind == CHUNK_HEAP_LARGE) return move_to(large_of(p, call)->owner, p, old, n, kind, call);
  struct hawk_heap *h = arena_owner(p);
  const block *b = block_of_payload(p);
  size_t before = own_block_size(b);
  if (n < LARGE_THRESHOLD) {
    /* Shrinking happens in place; growing too when the heap has no limit
     * (a growth in place may take headroom, which a limit must not pay). */
    if (block_size_for(n) <= before || h->limit == 0) {
      if (heap_resize(p, n, LARGE_THRESHOLD, call, NULL)) {
        size_t after = own_block_size(b);
        if (after < before)
          uncharge(h, before - after);
        else
          charge(h, after - before); /* no limit: always fits */
        return p;
      }
    }
  }
  return move_to(h, p, old, n, kind, call);
}

/* --- the API ----------------------------------------------------------------- */

/* One line for options hawk_heap_create refuses; NULL with errno code. */
static struct hawk_heap *refuse(int code, const char *what, const char *name) {
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: hawk_heap_create: ");
  line_str(&l, what);
  if (name) {
    line_str(&l, " '");
    line_quote(&l, name);
    line_str(&l, "' (segregated, first-fit, next-fit or best-fit)");
  }
  line_write(&l, 2);
  return fail(code);
}

/* The options' size field: version 1's fields end at this offset. */
#define OPTIONS_V1_SIZE (offsetof(struct hawk_heap_options, limit) + sizeof(size_t))
/* The most bytes of options read (a size past this is not a struct). */
#define OPTIONS_SIZE_MAX ((size_t)4096)

struct hawk_heap *userheap_create(const struct hawk_heap_options *opt) {
  hawk_ensure_ready();
  struct hawk_heap_options o = {sizeof o, NULL, 0};
  if (opt) {
    if (opt->size < OPTIONS_V1_SIZE || opt->size > OPTIONS_SIZE_MAX)
      return refuse(EINVAL, "options size is not sizeof(struct hawk_heap_options)", NULL);
    for (size_t i = sizeof o; i < opt->size; i++)
      if (((const unsigned char *)opt)[i] != 0)
        return refuse(E2BIG, "options set fields this library does not know (unknown)", NULL);
    memcpy(&o, opt, sizeof o);
  }
  const struct placement *policy = hawk_heaps[0].policy;
  if (o.policy && (policy = placement_by_name(o.policy)) == NULL)
    return refuse(EINVAL, "unknown policy", o.policy);
  if (o.limit != 0 && o.limit < BLOCK_MIN)
    return refuse(EINVAL, "limit below the smallest block (32 bytes)", NULL);
  if (o.limit > ((size_t)1 << ADDRESS_BITS))
    return refuse(EINVAL, "limit beyond the address space (256 TiB)", NULL);
  lock_take(&list.lock);
  struct hawk_heap *h = slot_take_locked();
  if (h == NULL) {
    lock_give(&list.lock);
    return fail(ENOMEM);
  }
  memset(h, 0, sizeof *h);
  heap_init(&h->heap, policy);
  h->heap.arena_kind = CHUNK_HEAP_ARENA;
  h->limit = o.limit;
  h->id = list.next_id < INT32_MAX ? list.next_id++ : INT32_MAX;
  h->heap.id = h->id;
  DLIST_PUSH(list.live, h);
  __atomic_store_n(&h->magic, HEAP_LIVE, __ATOMIC_RELEASE);
  lock_give(&list.lock);
  return h;
}

void userheap_destroy(struct hawk_heap *h, hawk_visit_fn visit, void *ctx) {
  if (h == DEFAULT_HEAP)
    report_misuse("hawk_heap_destroy", h, "the default heap cannot be destroyed");
  lock_take(&list.lock);
  uint64_t m = h && is_slot(h) ? h->magic : 0;
  if (m != HEAP_LIVE) {
    lock_give(&list.lock);
    userheap_live(h, "hawk_heap_destroy"); /* reports */
  }
  __atomic_store_n(&h->magic, HEAP_DEAD, __ATOMIC_RELEASE);
  DLIST_REMOVE(list.live, h);
  lock_give(&list.lock);
  /* A call on h still running finishes first.  One that this thread is in
   * (a recorder's callback, a signal handler that interrupted it) holds
   * the lock and would go on in the arenas unmapped below: the wait
   * reports it instead (lock_wait).  Not held across the unmaps: a call
   * that waits for it now uses a destroyed heap, the program's race. */
  lock_take(&h->heap.lock);
  if (visit) walk_locked(h, visit, ctx); /* its blocks in use, told before they go (Valgrind) */
  lock_give(&h->heap.lock);
  /* Every arena and mapping at once; the bytes in use the heap told the
   * process-wide count are taken back. */
  for (struct arena *a = h->heap.arenas, *next; a; a = next) {
    if (a->magic != ARENA_MAGIC) /* its links may be overwritten: nothing more is unmapped */
      report_misuse("hawk_heap_destroy", h,
                    "heap corruption (an arena's header was overwritten: an overflow past the "
                    "arena below it?)");
    next = a->next;
    counters_footprint(-(int64_t)(a->frontier - (char *)a));
    (void)registry_mark(a, ARENA_SIZE, CHUNK_ARENA_FREED, CHUNK_ARENA_FREED); /* marked before */
    a->magic = 0;
    os_unmap(a, ARENA_SIZE);
    counters_mapped(-(int64_t)ARENA_SIZE);
  }
  if (!large_link_ok(h->large, h)) /* each one checked before it is unmapped */
    report_misuse("hawk_heap_destroy", h, "heap corruption (large block header overwritten)");
  for (struct uh_large *l = h->large, *next; l; l = next) {
    next = l->next;
    if (next && !next_sound(l, h))
      report_misuse("hawk_heap_destroy", h, "heap corruption (large block header overwritten)");
    large_unmap(l);
  }
  __atomic_sub_fetch(&counters.heaps_in_use, h->heap.in_use_told, __ATOMIC_RELAXED);
  lock_take(&list.lock);
  h->next_free = NULL;
  if (list.free_last)
    list.free_last->next_free = h;
  else
    list.free_first = h;
  list.free_last = h;
  list.free_count++;
  lock_give(&list.lock);
}

struct hawk_heap *userheap_default(void) {
  return DEFAULT_HEAP;
}

struct hawk_heap *userheap_arg(struct hawk_heap *h, const char *call) {
  hawk_fork_guard(); /* every hawk_heap_* call with a handle comes here first */
  return h == DEFAULT_HEAP ? NULL : live(h, call);
}

void *userheap_alloc(struct hawk_heap *h, size_t n, size_t align, int zero) {
  return alloc_in(h, n, align, zero);
}

struct hawk_heap *userheap_owner(void *p) {
  enum chunk_kind kind = registry_lookup(p);
  if (kind == CHUNK_HEAP_ARENA) return arena_owner(p);
  if (kind == CHUNK_HEAP_LARGE) return large_of(p, "realloc")->owner;
  return NULL;
}

int userheap_id(struct hawk_heap *h) { return h == NULL || h == DEFAULT_HEAP ? 0 : h->id; }

int userheap_id_of(const void *p) {
  enum chunk_kind kind = registry_lookup(p);
  const struct hawk_heap *h = NULL;
  if (kind == CHUNK_HEAP_ARENA) {
    const struct arena *a = arena_of(p);
    if (a->magic == ARENA_MAGIC) h = (const struct hawk_heap *)arena_heap(a);
  } else if (kind == CHUNK_HEAP_LARGE) {
    const struct uh_large *l = (const struct uh_large *)chunk_base(p);
    if (l->magic == UH_LARGE_MAGIC) h = l->owner;
  }
  return h && is_slot(h) ? h->id : 0;
}

/* Counts one arena block for hawk_heap_stats. */
static void stats_visit(void *ctx, const block *b) {
  struct hawk_stats *s = ctx;
  if (block_is_alloc(b)) return;
  s->free_blocks++;
  s->free_bytes += block_size(b);
  if (block_size(b) > s->largest_free) s->largest_free = block_size(b);
}

int userheap_stats(struct hawk_heap *h, struct hawk_stats *out, size_t size) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  lock_take(&h->heap.lock);
  for (const struct arena *a = h->heap.arenas; a; a = arena_next(a)) {
    arena_walk(a, stats_visit, &s);
    s.footprint += (uint64_t)(a->frontier - (const char *)a);
  }
  s.version = HAWK_STATS_VERSION;
  s.in_use = h->heap.in_use + h->large_bytes;
  s.in_use_peak = __atomic_load_n(&h->charged_peak, __ATOMIC_RELAXED);
  if (s.in_use_peak < s.in_use) s.in_use_peak = s.in_use;
  s.mapped = mapped_now_locked(h);
  /* The peak as seen at its large allocations, or its arena peak alone:
   * a lower bound when arenas grew while large blocks lived. */
  uint64_t arena_peak = (uint64_t)h->heap.arena_peak * ARENA_SIZE;
  s.mapped_peak = h->mapped_peak > arena_peak ? h->mapped_peak : arena_peak;
  if (s.mapped_peak < s.mapped) s.mapped_peak = s.mapped;
  s.arenas = h->heap.arena_count;
  s.large_blocks = h->large_count;
  s.mallocs = h->heap.mallocs + h->large_mallocs;
  s.frees = h->heap.frees + h->large_frees;
  s.splits = h->heap.splits;
  s.coalesces = h->heap.coalesces;
  s.heaps = 1;
  s.footprint += h->large_bytes;
  s.footprint_peak = s.footprint;
  lock_give(&h->heap.lock);
  if (size > sizeof s) size = sizeof s;
  s.size = (uint32_t)size;
  memcpy(out, &s, size);
  return 0;
}

int userheap_check(struct hawk_heap *h) {
  int problems = heap_check(&h->heap);
  lock_take(&h->heap.lock);
  uint64_t n = 0, bytes = 0;
  for (const struct uh_large *l = h->large; l; l = l->next, n++) {
    if (!large_link_ok(l, h) || (l->next && !next_sound(l, h))) {
      report_problem("check: heap's large block", l,
                     "header, owner, registry entry or links damaged");
      problems++;
      break;
    }
    bytes += l->map_len;
  }
  if (n != h->large_count || bytes != h->large_bytes) {
    report_problem("check: heap's large blocks", h, "counter disagrees with the list");
    problems++;
  }
  lock_give(&h->heap.lock);
  return problems;
}

int userheap_check_all(void) {
  int problems = 0;
  lock_take(&list.lock);
  for (struct hawk_heap *h = list.live; h; h = h->next) problems += userheap_check(h);
  lock_give(&list.lock);
  return problems;
}

void userheap_each_locked(void (*fn)(void *ctx, struct heap *h, int id), void *ctx) {
  lock_take(&list.lock);
  for (struct hawk_heap *h = list.live; h; h = h->next) {
    lock_take(&h->heap.lock);
    fn(ctx, &h->heap, h->id);
    lock_give(&h->heap.lock);
  }
  lock_give(&list.lock);
}

/* --- the walk and fork -------------------------------------------------------- */

/* Every block of h (its lock held) described to visit; the count. */
static size_t walk_locked(const struct hawk_heap *h, hawk_visit_fn visit, void *ctx) {
  size_t count = walk_arenas_locked(&h->heap, h->id, visit, ctx);
  /* A damaged link ends the walk (hawk_check reports it): it neither
   * leaves the heap's mappings nor goes round in a circle. */
  for (const struct uh_large *l = large_link_ok(h->large, h) ? h->large : NULL; l;
       l = next_sound(l, h), count++)
    walk_large_mapping(visit, ctx, h->id, l, l->payload_off, l->map_len);
  return count;
}

size_t userheap_walk(hawk_visit_fn visit, void *ctx) {
  size_t count = 0;
  lock_take(&list.lock);
  for (struct hawk_heap *h = list.live; h; h = h->next) {
    lock_take(&h->heap.lock);
    count += walk_locked(h, visit, ctx);
    lock_give(&h->heap.lock);
  }
  lock_give(&list.lock);
  return count;
}

int userheap_walk_try(hawk_visit_fn visit, void *ctx, int (*try_lock)(struct hawk_lock *m)) {
  if (!try_lock(&list.lock)) return -1;
  int busy = 0;
  for (struct hawk_heap *h = list.live; h && !busy; h = h->next) {
    if (!try_lock(&h->heap.lock)) {
      busy = 1;
      break;
    }
    walk_locked(h, visit, ctx);
    lock_give(&h->heap.lock);
  }
  lock_give(&list.lock);
  return busy ? -1 : 0;
}

int userheap_lockable(int (*try_lock)(struct hawk_lock *m)) {
  if (!try_lock(&list.lock)) return 0;
  int busy = 0;
  for (struct hawk_heap *h = list.live; h && !busy; h = h->next) {
    busy = !try_lock(&h->heap.lock);
    if (!busy) lock_give(&h->heap.lock);
  }
  lock_give(&list.lock);
  return !busy;
}

/* Every created heap's lock is taken before fork, so that none is held by
 * a thread the child will not have; the list's lock first, as everywhere
 * (process.c's fork handlers call these, before the default heaps' locks
 * and after them). */
void userheap_fork_prepare(void) {
  lock_take(&list.lock);
  for (struct hawk_heap *h = list.live; h; h = h->next) lock_take(&h->heap.lock);
}

void userheap_fork_parent(void) {
  for (struct hawk_heap *h = list.live; h; h = h->next) lock_give(&h->heap.lock);
  lock_give(&list.lock);
}

void userheap_fork_child(void) {
  for (struct hawk_heap *h = list.live; h; h = h->next) lock_init(&h->heap.lock);
  lock_init(&list.lock);
}
