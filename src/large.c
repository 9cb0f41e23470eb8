/* large.c - own-mapping blocks, grown and shrunk with mremap.  See large.h. */
#include "large.h"

#include <pthread.h>
#include <string.h>

#include "counters.h"
#include "decay.h"
#include "dlist.h"
#include "events.h"
#include "lock.h"
#include "os.h"
#include "registry.h"
#include "report.h"

static struct {
  pthread_mutex_t lock;
  struct large_header *head;
} live = {HAWK_MUTEX_INIT, NULL};

/* Takes live.lock (lock.h: a take by the thread that holds it, a walk's
 * visitor that frees a large block or a signal handler's malloc, is one
 * line and abort, not a wait for ever). */
static HAWK_NOINLINE void live_take(void) { mutex_take(&live.lock); }

void large_lock(void) { live_take(); }
void large_unlock(void) { pthread_mutex_unlock(&live.lock); }

int large_lockable(void) {
  if (pthread_mutex_trylock(&live.lock) != 0) return 0;
  pthread_mutex_unlock(&live.lock);
  return 1;
}
void large_reset_lock(void) { mutex_reset(&live.lock); }

/* Adds a block to the live list and its bytes to the counters, together, so
 * that hawk_check sees both agree. */
static void list_add(struct large_header *l) {
  live_take();
  uint64_t now = __atomic_add_fetch(&counters.large_in_use, l->map_len, __ATOMIC_RELAXED);
  __atomic_add_fetch(&counters.large_blocks, 1, __ATOMIC_RELAXED);
  counters_in_use_seen(now + __atomic_load_n(&counters.heaps_in_use, __ATOMIC_RELAXED));
  DLIST_PUSH(live.head, l);
  EVENTS_TELL(large, l, 1);
  pthread_mutex_unlock(&live.lock);
}

/* Whether n, a link read from a live block's mapping header, is NULL or
 * the start of a live large mapping: a write before a payload (an
 * underflow) reaches the header, and a link is followed only once the
 * registry vouches for the memory it points at. */
static int neighbour_ok(const struct large_header *n) {
  return n == NULL || (((uintptr_t)n & (ARENA_SIZE - 1)) == 0 &&
                       registry_lookup(n) == CHUNK_LARGE && n->magic == LARGE_MAGIC);
}

/* l's next block in the live list, or NULL when the link is damaged (it
 * must lead to another mapping that points back: no walk leaves the
 * list or stays on one block). */
static struct large_header *next_sound(const struct large_header *l) {
  struct large_header *n = l->next;
  return n != l && neighbour_ok(n) && (n == NULL || n->prev == l) ? n : NULL;
}

/* Whether l's neighbours in the live list are sound and point back at it
 * (under live.lock), so that taking it out writes nowhere else. */
static int links_ok_locked(const struct large_header *l) {
  if (!neighbour_ok(l->next) || !neighbour_ok(l->prev)) return 0;
  if (l->next && l->next->prev != l) return 0;
  return l->prev ? l->prev->next == l : live.head == l;
}

/* Takes l (the mapping of payload p, for call) off the live list; a
 * damaged link is reported (after the lock is given back). */
static void list_remove(struct large_header *l, const char *call, const void *p) {
  live_take();
  if (!links_ok_locked(l)) {
    pthread_mutex_unlock(&live.lock);
    report_misuse(call, p, "heap corruption (large block header overwritten)");
  }
  EVENTS_TELL(large, l, 0);
  __atomic_sub_fetch(&counters.large_in_use, l->map_len, __ATOMIC_RELAXED);
  __atomic_sub_fetch(&counters.large_blocks, 1, __ATOMIC_RELAXED);
  DLIST_REMOVE(live.head, l);
  pthread_mutex_unlock(&live.lock);
}

/* Bytes to map for n payload bytes at offset off; 0 if impossible.  The
 * payload's first page is always mapped, even for n == 0. */
static size_t map_len_for(size_t off, size_t n) {
  size_t page = os_page_size(), len;
  if (n == 0) n = 1;
  if (__builtin_add_overflow(off, n, &len) || __builtin_add_overflow(len, page - 1, &len)) return 0;
  len &= ~(page - 1);
  return len < ((size_t)1 << (ADDRESS_BITS - 1)) ? len : 0;
}

/* Writes the mapping header and the block header of a large block. */
static void *large_setup(char *base, size_t len, size_t off) {
  struct large_header *l = (struct large_header *)base;
  l->magic = LARGE_MAGIC;
  l->map_len = len;
  l->payload_off = off;
  block_set_alloc(block_of_payload(base + off), len, BLOCK_LARGE | BLOCK_PREV_ALLOC);
  return base + off;
}

/* Freed large mappings kept for reuse (under live.lock), oldest first: a
 * program that frees and allocates big buffers again and again then pays
 * neither the mmap and munmap calls nor a page fault per page each time.
 * Bounded in number and bytes (config.h; the oldest go first); hawk_trim
 * unmaps them. */
static struct {
  char *base[LARGE_SPARE_MAX];
  size_t len[LARGE_SPARE_MAX];
  uint64_t epoch[LARGE_SPARE_MAX]; /* the decay's epoch when it was kept */
  size_t count, bytes;
} spare;

size_t large_spares; /* spare.count, for a read without the lock (large.h) */

/* Takes spare i out of the list (under live.lock). */
static void spare_remove(size_t i) {
  spare.bytes -= spare.len[i];
  spare.count--;
  __atomic_store_n(&large_spares, spare.count, __ATOMIC_RELAXED);
  memmove(&spare.base[i], &spare.base[i + 1], (spare.count - i) * sizeof spare.base[0]);
  memmove(&spare.len[i], &spare.len[i + 1], (spare.count - i) * sizeof spare.len[0]);
  memmove(&spare.epoch[i], &spare.epoch[i + 1], (spare.count - i) * sizeof spare.epoch[0]);
}

/* Keeps a freed mapping for reuse, unmapping the oldest ones if there is no
 * room; returns 0 if it is too big to keep. */
static int spare_keep(char *base, size_t len) {
  if (len > LARGE_SPARE_BYTES / 2) return 0;
  char *old_base[LARGE_SPARE_MAX];
  size_t old_len[LARGE_SPARE_MAX], evicted = 0;
  live_take();
  while (spare.count == LARGE_SPARE_MAX || spare.bytes + len > LARGE_SPARE_BYTES) {
    old_base[evicted] = spare.base[0];
    old_len[evicted++] = spare.len[0];
    spare_remove(0);
  }
  spare.base[spare.count] = base;
  spare.epoch[spare.count] = decay_epoch();
  spare.len[spare.count++] = len;
  spare.bytes += len;
  __atomic_store_n(&large_spares, spare.count, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&live.lock);
  for (size_t i = 0; i < evicted; i++) {
    os_unmap(old_base[i], old_len[i]);
    counters_mapped(-(int64_t)old_len[i]);
  }
  return 1;
}

/* A spare mapping for a block that needs *want bytes, resized to fit, with
 * *want set to its size; NULL if there is none.  The smallest spare that is
 * big enough is taken, and its tail unmapped if it is more than
 * LARGE_SPARE_FIT times the need; with none big enough, the biggest one
 * grows in place (unless may_grow is 0).  Either way the pages that stay
 * were touched before and cost no page fault. */
static char *spare_take(size_t *want, int may_grow) {
  size_t need = *want, fit = SIZE_MAX, grow = SIZE_MAX;
  live_take();
  for (size_t i = 0; i < spare.count; i++) {
    if (spare.len[i] >= need) {
      if (fit == SIZE_MAX || spare.len[i] < spare.len[fit]) fit = i;
    } else if (grow == SIZE_MAX || spare.len[i] > spare.len[grow]) {
      grow = i;
    }
  }
  size_t i = fit != SIZE_MAX ? fit : may_grow ? grow : SIZE_MAX;
  if (i == SIZE_MAX) {
    pthread_mutex_unlock(&live.lock);
    return NULL;
  }
  char *base = spare.base[i];
  size_t have = spare.len[i];
  spare_remove(i);
  pthread_mutex_unlock(&live.lock);
  if (have > need && have / LARGE_SPARE_FIT > need) { /* the tail beyond need goes back */
    os_unmap(base + need, have - need);
    counters_mapped(-(int64_t)(have - need));
    have = need;
  } else if (have < need) {
    if (os_resize_in_place(base, have, need) != 0) {
      spare_keep(base, have);
      return NULL;
    }
    counters_mapped((int64_t)(need - have));
    have = need;
  }
  *want = have;
  return base;
}

size_t large_threshold = LARGE_THRESHOLD;

int large_set_threshold(size_t n) {
  if (n > LARGE_THRESHOLD_MAX) return 0;
  __atomic_store_n(&large_threshold, n, __ATOMIC_RELAXED);
  return 1;
}

void large_spare_totals(uint64_t *count, uint64_t *bytes) {
  live_take();
  *count = spare.count;
  *bytes = spare.bytes;
  pthread_mutex_unlock(&live.lock);
}

/* Unmaps the spares kept in epoch e - 2 or earlier (all of them for
 * e == DECAY_CLEAN); returns how many. */
static size_t spare_unmap_older(uint64_t e) {
  live_take();
  size_t n = 0;
  char *base[LARGE_SPARE_MAX];
  size_t len[LARGE_SPARE_MAX];
  /* Oldest first: the ones to go are a prefix. */
  while (n < spare.count && (e == DECAY_CLEAN || decay_due(spare.epoch[n], e))) {
    base[n] = spare.base[n];
    len[n] = spare.len[n];
    n++;
  }
  for (size_t i = 0; i < n; i++) spare_remove(0);
  pthread_mutex_unlock(&live.lock);
  for (size_t i = 0; i < n; i++) {
    os_unmap(base[i], len[i]);
    counters_mapped(-(int64_t)len[i]);
  }
  return n;
}

size_t large_spare_flush(void) { return spare_unmap_older(DECAY_CLEAN); }

size_t large_spare_decay(uint64_t e) { return spare_unmap_older(e); }

/* large_alloc, and with fresh 0 only from a spare that holds the block
 * already. */
static void *alloc_mapping(size_t n, size_t align, int zero, int *dirty, int fresh) {
  size_t off = align_up(sizeof(struct large_header) + BLOCK_HEADER, align);
  size_t len = off >= align ? map_len_for(off, n) : 0;
  if (len == 0) return NULL;
  /* Reuse only for small alignments: a big one would waste most of a
   * mapping that is twice what the block needs.  Not for calloc either: a
   * spare would have to be cleared, every page written, where a fresh
   * mapping is zero already and costs nothing until it is used. */
  void *base = align <= os_page_size() && !zero ? spare_take(&len, fresh) : NULL;
  *dirty = base != NULL;
  if (base == NULL && !fresh) return NULL;
  if (base == NULL) {
    if (os_map(len, align > ARENA_SIZE ? align : ARENA_SIZE, &base) != 0) return NULL;
    counters_mapped((int64_t)len);
  }
  /* A chunk in a range the registry has no leaf for yet needs one: if it
   * cannot be mapped, the block could not be freed, so the mapping goes
   * back (a spare stays spare). */
  if (registry_mark(base, len, CHUNK_LARGE, CHUNK_LARGE_MORE) != 0) {
    if (*dirty && spare_keep(base, len)) return NULL;
    os_unmap(base, len);
    counters_mapped(-(int64_t)len);
    return NULL;
  }
  void *p = large_setup(base, len, off);
  list_add(base);
  counters_footprint((int64_t)len);
  if (HAWK_STATS) __atomic_add_fetch(&counters.large_mallocs, 1, __ATOMIC_RELAXED);
  return p;
}

void *large_alloc(size_t n, size_t align, int zero, int *dirty) {
  return alloc_mapping(n, align, zero, dirty, 1);
}

void *large_alloc_spare(size_t n, size_t align) {
  int dirty;
  return alloc_mapping(n, align, 0, &dirty, 0);
}

/* The mapping header of the large block at p, or a message on misuse. */
static struct large_header *large_find(void *p, const char *call) {
  char *c = chunk_base(p);
  /* A payload placed by a big alignment may lie in a later chunk. */
  while (registry_lookup(c) == CHUNK_LARGE_MORE) c -= ARENA_SIZE;
  struct large_header *l = (struct large_header *)c;
  if (registry_lookup(c) != CHUNK_LARGE || l->magic != LARGE_MAGIC ||
      (char *)p != c + l->payload_off)
    report_misuse(call, p, "invalid pointer (not the start of a block)");
  const block *b = block_of_payload(p);
  if (!block_header_ok(b) || !block_is_large(b) || !block_is_alloc(b) ||
      block_size(b) != l->map_len) /* the length is unmapped: it must agree */
    report_misuse(call, p, "heap corruption (large block header overwritten)");
  return l;
}

void large_free(void *p, const char *call) {
  struct large_header *l = large_find(p, call);
  size_t len = l->map_len;
  list_remove(l, call, p);
  l->magic = 0;
  (void)registry_mark(l, len, CHUNK_FREED, CHUNK_FREED); /* marked before: cannot fail */
  counters_footprint(-(int64_t)len);
  if (HAWK_STATS) __atomic_add_fetch(&counters.large_frees, 1, __ATOMIC_RELAXED);
  if (spare_keep((char *)l, len)) return;
  counters_mapped(-(int64_t)len);
  os_unmap(l, len);
}

/* Whether off (from the start of a chunk) is where large_alloc puts a
 * payload: after the header for the usual alignment, at the alignment for
 * a bigger one (at a chunk start when it is over a chunk). */
static int payload_offset(size_t off) {
  size_t usual = align_up(sizeof(struct large_header) + BLOCK_HEADER, HAWK_ALIGN);
  return off == usual || off == 0 || (off > usual && (off & (off - 1)) == 0);
}

int large_was_payload(const void *p) {
  const char *c = p;
  /* A spare mapping is ours and still mapped: its header says where its
   * last payload was. */
  int found = 0, was = 0;
  live_take();
  for (size_t i = 0; i < spare.count; i++) {
    if (c < spare.base[i] || c >= spare.base[i] + spare.len[i]) continue;
    const struct large_header *l = (const struct large_header *)spare.base[i];
    found = 1;
    was = c == spare.base[i] + l->payload_off;
  }
  pthread_mutex_unlock(&live.lock);
  if (found) return was;
  /* Otherwise it was unmapped: mapped again since, it is someone else's. */
  return !os_is_mapped(p) && payload_offset((size_t)(c - chunk_base(p)));
}

size_t large_usable(void *p, const char *call) {
  struct large_header *l = large_find(p, call);
  return l->map_len - l->payload_off;
}

/* Moves the mapping at l to a fresh chunk-aligned place of new_len bytes. */
static struct large_header *large_move(struct large_header *l, size_t new_len) {
  void *dest;
  if (os_map(new_len, ARENA_SIZE, &dest) != 0) return NULL;
  if (registry_prepare(dest, new_len) != 0 || os_move(l, l->map_len, dest, new_len) != 0) {
    os_unmap(dest, new_len);
    return NULL;
  }
  return dest;
}

void *large_resize(void *p, size_t n, const char *call) {
  struct large_header *l = large_find(p, call);
  size_t off = l->payload_off, old_len = l->map_len;
  size_t len = map_len_for(off, n);
  if (len == 0) return NULL;
  if (len == old_len) return p;
  struct large_header *moved = l;
  list_remove(l, call, p);
  /* The registry gets its leaves for the grown range first, so that
   * marking it afterwards cannot fail. */
  if (len < old_len || registry_prepare(l, len) != 0 || os_resize_in_place(l, old_len, len) != 0) {
    if (len < old_len)
      os_unmap((char *)l + len, old_len - len);
    else
      moved = large_move(l, len);
  }
  if (moved == NULL) { /* nothing changed */
    list_add(l);
    return NULL;
  }
  /* Both ranges were marked or prepared before: these cannot fail. */
  (void)registry_mark(l, old_len, CHUNK_FREED, CHUNK_FREED);
  (void)registry_mark(moved, len, CHUNK_LARGE, CHUNK_LARGE_MORE);
  counters_mapped((int64_t)len - (int64_t)old_len);
  counters_footprint((int64_t)len - (int64_t)old_len);
  void *q = large_setup((char *)moved, len, off);
  list_add(moved);
  return q;
}

void large_each(void (*fn)(void *ctx, const struct large_header *l), void *ctx) {
  live_take();
  for (struct large_header *l = live.head; l; l = next_sound(l)) fn(ctx, l);
  pthread_mutex_unlock(&live.lock);
}

int large_check(void) {
  int problems = 0;
  uint64_t count = 0, bytes = 0;
  live_take();
  for (struct large_header *l = live.head; l; l = l->next) {
    const block *b = block_of_payload((char *)l + l->payload_off);
    enum chunk_kind at = registry_lookup(b); /* the offset too may be damaged */
    /* b is read only once it is aligned as a header (so within one page)
     * and its page is mapped. */
    if (l->magic != LARGE_MAGIC || registry_lookup(l) != CHUNK_LARGE ||
        (at != CHUNK_LARGE && at != CHUNK_LARGE_MORE) || l->payload_off % HAWK_ALIGN != 0 ||
        !os_is_mapped(b) || !block_header_ok(b) || !block_is_large(b) || !block_is_alloc(b) ||
        block_size(b) != l->map_len) {
      report_problem("check: large block", block_payload(b), "header or registry entry damaged");
      problems++;
    }
    count++;
    bytes += l->map_len;
    if (l->next && next_sound(l) == NULL) {
      report_problem("check: large block", l, "link to the next large block damaged");
      problems++;
      break;
    }
  }
  if (count != counters.large_blocks || bytes != counters.large_in_use) {
    report_problem("check: large blocks", &counters, "counters disagree with the live list");
    problems++;
  }
  pthread_mutex_unlock(&live.lock);
  return problems;
}
