/* arena.c - mapping, laying out, caching and walking arenas.  See arena.h. */
#include "arena.h"

#include <pthread.h>

#include "counters.h"
#include "decay.h"
#include "lock.h"
#include "os.h"
#include "registry.h"
#include "report.h"

_Static_assert(sizeof(struct arena) <= ARENA_PROLOGUE_OFFSET, "arena header overlaps prologue");
_Static_assert((ARENA_FIRST_OFFSET + BLOCK_HEADER) % HAWK_ALIGN == 0, "first payload misaligned");

/* Empty arenas waiting for reuse, linked through their next field.  A
 * write into a cached arena's header (an overflow past the last block of
 * the chunk below it) is caught before its link is followed
 * (cache_next_locked). */
static struct {
  pthread_mutex_t lock;
  struct arena *head;
  size_t count;
  size_t limit; /* the most it keeps (mallopt's M_TRIM_THRESHOLD) */
} cache = {HAWK_MUTEX_INIT, NULL, 0, ARENA_CACHE_MAX};

/* Takes cache.lock (lock.h: a take by the thread that holds it, a signal
 * handler's malloc, is one line and abort). */
static HAWK_NOINLINE void cache_lock_take(void) { mutex_take(&cache.lock); }

void arena_cache_lock(void) { cache_lock_take(); }
void arena_cache_unlock(void) { pthread_mutex_unlock(&cache.lock); }
void arena_cache_reset_lock(void) { mutex_reset(&cache.lock); }

/* Writes the prologue, one free block spanning the arena, and the epilogue. */
static void arena_layout(struct arena *a) {
  block_set_alloc(arena_prologue(a), HAWK_ALIGN, BLOCK_PREV_ALLOC);
  block_set_free(arena_first(a), ARENA_SPAN, BLOCK_PREV_ALLOC);
  block_set_alloc(arena_epilogue(a), 0, 0);
}

/* Whether a, reached through the cache's list, is sound as far as the
 * list needs: its magic, no heap (a link forged to a heap's arena), and a
 * link NULL or to the start of a chunk the registry says is an arena (so
 * that its header can be read); the link into *next.  A list bent into a
 * cycle runs past the cache's count (cache_next_locked). */
static int cache_entry_ok(const struct arena *a, struct arena **next) {
  *next = a->next;
  return a->magic == ARENA_MAGIC && arena_heap(a) == NULL &&
         (*next == NULL ||
          (((uintptr_t)*next & (ARENA_SIZE - 1)) == 0 && registry_lookup(*next) == CHUNK_ARENA));
}

/* The arena after a, the n-th entry of the cache's list (from 0), once a
 * and its link are shown sound (cache_entry_ok) and the list not longer
 * than its count; else the lock is released and one line ends the
 * program. */
static struct arena *cache_next_locked(const struct arena *a, size_t n) {
  struct arena *next;
  if (likely(n < cache.count && cache_entry_ok(a, &next))) return next;
  pthread_mutex_unlock(&cache.lock);
  report_misuse("arena cache", a, "heap corruption (a cached empty arena's header overwritten)");
}

/* Follows the whole list, checking each entry (cache_next_locked), before
 * a walk that rewrites links: a list bent into a cycle is caught only while
 * its links are as they were, and one cut short (a link overwritten with
 * NULL) before a walk counts on its count. */
static void cache_verify_locked(void) {
  size_t n = 0;
  const struct arena *a = cache.head;
  for (; a; n++) a = cache_next_locked(a, n);
  if (unlikely(n != cache.count)) {
    pthread_mutex_unlock(&cache.lock);
    report_misuse("arena cache", cache.head,
                  "heap corruption (a cached empty arena's header overwritten)");
  }
}

/* Takes an arena from the cache, or NULL.  Only its head's link is
 * followed: an arena taken gets a heap, which the next take of it (a list
 * bent into a cycle) finds. */
static struct arena *cache_take(void) {
  cache_lock_take();
  struct arena *a = cache.head;
  if (a) {
    cache.head = cache_next_locked(a, 0);
    cache.count--;
  }
  pthread_mutex_unlock(&cache.lock);
  return a;
}

int arena_create_kind(struct heap *heap, enum chunk_kind kind, struct arena **out) {
  struct arena *a = kind == CHUNK_ARENA ? cache_take() : NULL;
  if (a) {
    if (!arena_take_clean(a))
      a->frontier = (char *)a + ARENA_SIZE; /* reused: every byte may be dirty */
    counters_footprint(a->frontier - (char *)a);
  } else {
    void *p;
    int err = os_map(ARENA_SIZE, ARENA_SIZE, &p);
    if (err) return err;
    /* The registry may need a leaf for this address: without it the arena
     * could not be recognised, so it goes back. */
    err = registry_mark(p, ARENA_SIZE, kind, kind);
    if (err) {
      os_unmap(p, ARENA_SIZE);
      return err;
    }
    counters_mapped((int64_t)ARENA_SIZE);
    a = p;
    a->magic = ARENA_MAGIC;
    a->frontier = (char *)arena_first(a) + BLOCK_MIN;
    counters_footprint(a->frontier - (char *)a);
  }
  a->next = a->prev = NULL;
  arena_layout(a);
  __atomic_store_n(&a->heap, heap, __ATOMIC_RELEASE);
  *out = a;
  return 0;
}

int arena_create(struct heap *heap, struct arena **out) {
  return arena_create_kind(heap, CHUNK_ARENA, out);
}

/* Unmaps a list of arenas taken out of the cache (or never put in it);
 * returns how many.  Called with no lock held, as every munmap. */
static size_t unmap_list(struct arena *list) {
  size_t n = 0;
  while (list) {
    struct arena *next = list->next;
    (void)registry_mark(list, ARENA_SIZE, CHUNK_ARENA_FREED, CHUNK_ARENA_FREED); /* marked before */
    list->magic = 0;
    os_unmap(list, ARENA_SIZE);
    counters_mapped(-(int64_t)ARENA_SIZE);
    list = next;
    n++;
  }
  return n;
}

void arena_release(struct arena *a) {
  __atomic_store_n(&a->heap, NULL, __ATOMIC_RELEASE);
  counters_footprint(-(int64_t)(a->frontier - (char *)a));
  if (registry_lookup(a) != CHUNK_ARENA) { /* a created heap's: never shared */
    a->next = NULL;
    unmap_list(a);
    return;
  }
  cache_lock_take();
  if (cache.count < cache.limit) {
    a->cached_epoch = decay_epoch();
    a->cached_ms = (uint32_t)(os_clock_coarse_ns() / 1000000u);
    a->next = cache.head;
    cache.head = a;
    cache.count++;
    a = NULL;
  }
  pthread_mutex_unlock(&cache.lock);
  if (a) {
    a->next = NULL;
    unmap_list(a);
  }
}

/* Unmaps the cached arenas that entered the cache in epoch e - 2 or
 * earlier (all of them for e == DECAY_CLEAN); returns how many. */
static size_t cache_unmap_older(uint64_t e) {
  struct arena *list = NULL, **at = &cache.head;
  cache_lock_take();
  cache_verify_locked();
  while (*at) {
    struct arena *a = *at;
    if (e == DECAY_CLEAN || decay_due(a->cached_epoch, e)) {
      *at = a->next;
      a->next = list;
      list = a;
      cache.count--;
    } else {
      at = &a->next;
    }
  }
  pthread_mutex_unlock(&cache.lock);
  return unmap_list(list);
}

int arena_cache_lockable(void) {
  if (pthread_mutex_trylock(&cache.lock) != 0) return 0;
  pthread_mutex_unlock(&cache.lock);
  return 1;
}

size_t arena_cache_flush(void) { return cache_unmap_older(DECAY_CLEAN); }

size_t arena_cache_decay(uint64_t e) { return cache_unmap_older(e); }

void arena_cache_set_limit(size_t limit) {
  struct arena *over = NULL;
  cache_lock_take();
  cache_verify_locked();
  cache.limit = limit;
  while (cache.count > limit) {
    struct arena *a = cache.head;
    cache.head = a->next;
    cache.count--;
    a->next = over;
    over = a;
  }
  pthread_mutex_unlock(&cache.lock);
  unmap_list(over); /* after unlocking, as every munmap */
}

size_t arena_cache_limit(void) {
  cache_lock_take();
  size_t limit = cache.limit;
  pthread_mutex_unlock(&cache.lock);
  return limit;
}

size_t arena_cache_count(void) {
  cache_lock_take();
  size_t n = cache.count;
  pthread_mutex_unlock(&cache.lock);
  return n;
}

HAWK_HOT void arena_mark_used(struct arena *a, const block *b, size_t size) {
  char *end = arena_used_end(a, b, size);
  if (end > a->frontier) {
    counters_footprint(end - a->frontier);
    a->frontier = end;
  }
}

/* hawk_check's: compiled for size (HAWK_COLD), out of the way of the code
 * every process runs (tests/levels). */
HAWK_COLD int arena_cache_check(void) {
  int problems = 0;
  cache_lock_take();
  size_t n = 0;
  for (struct arena *a = cache.head, *next; a; a = next, n++) {
    /* A link is followed only from a sound entry, to an arena's header. */
    if (!cache_entry_ok(a, &next) || n >= cache.count) {
      report_problem("check: cached arena", a, "header overwritten (its list ends here)");
      problems++;
      n = cache.count;
      break;
    }
    if (n >= cache.limit) {
      report_problem("check: arena cache", a, "holds more arenas than its limit");
      problems++;
      break;
    }
    const block *f = arena_first(a);
    if (a->magic != ARENA_MAGIC || arena_heap(a) != NULL || !block_header_ok(f) ||
        block_is_alloc(f) || block_size(f) != ARENA_SPAN) {
      report_problem("check: cached arena", a, "is not a sound empty arena");
      problems++;
    }
  }
  if (n != cache.count) {
    report_problem("check: arena cache", &cache, "count disagrees with its list");
    problems++;
  }
  pthread_mutex_unlock(&cache.lock);
  return problems;
}
