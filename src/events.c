/* events.c - hawk_events: the recorder, the hooks that tell it what the heap
 * did (the table events.h keeps for the layers below), and the observed
 * twins of the placement policies.  See events.h. */
#include "events.h"

#include <errno.h>
#include <pthread.h>

#include "hawkalloc.h"
#include "heap.h"
#include "large.h"
#include "placement_segregated.h"
#include "process.h"

static hawk_event_fn events_fn;
static void *events_ctx;

/* A default heap's index, or a created heap's hawk_heap_id (userheap.h). */
static int heap_index(const struct heap *h) {
  if (h >= hawk_heaps && h < hawk_heaps + HEAP_MAX) return (int)(h - hawk_heaps);
  return h->id;
}

static void emit(int kind, int heap, const void *b, size_t size, uint64_t a, uint64_t bb,
                 uint64_t c, uint64_t d) {
  hawk_event_fn fn = events_fn;
  if (!fn) return;
  struct hawk_event e = {.kind = kind,
                         .heap = heap,
                         .block = (uintptr_t)b,
                         .size = size,
                         .a = a,
                         .b = bb,
                         .c = c,
                         .d = d};
  const char *was = lock_callback; /* a recorder that calls in: lock.h */
  lock_callback = "hawk_events";
  fn(events_ctx, &e);
  lock_callback = was;
}

/* The size of the free block after b, or 0 when that block is allocated. */
static size_t free_after(const block *b) {
  const block *n = block_next(b);
  return block_is_alloc(n) ? 0 : block_size(n);
}

static void events_taken(const struct heap *h, const block *from, const block *b) {
  size_t pad = (size_t)((const char *)b - (const char *)from), size = block_size(b);
  size_t rest = free_after(b);
  emit(HAWK_EV_TAKEN, heap_index(h), b, size, (uintptr_t)from, pad + size + rest, rest, pad);
}

static void events_run(const struct heap *h, const block *first, const block *last, size_t size,
                       size_t n) {
  emit(HAWK_EV_RUN, heap_index(h), first, size, n, block_size(last), free_after(last), 0);
}

static void events_freed(const struct heap *h, const block *freed, size_t own, const block *merged,
                         size_t size) {
  size_t before = (size_t)((const char *)freed - (const char *)merged);
  emit(HAWK_EV_FREED, heap_index(h), freed, own, (uintptr_t)merged, size, before,
       size - before - own);
}

static void events_resized(const struct heap *h, const block *b, size_t old) {
  emit(HAWK_EV_RESIZED, heap_index(h), b, block_size(b), old, free_after(b), 0, 0);
}

static void events_arena(const struct heap *h, const struct arena *a, int mapped) {
  emit(mapped ? HAWK_EV_ARENA_MAPPED : HAWK_EV_ARENA_UNMAPPED, heap_index(h), a, ARENA_SIZE,
       (uintptr_t)arena_first(a), ARENA_SPAN, 0, 0);
}

static void events_large(const struct large_header *l, int mapped) {
  const block *b = block_of_payload((const char *)l + l->payload_off);
  emit(mapped ? HAWK_EV_LARGE_MAPPED : HAWK_EV_LARGE_UNMAPPED, -1, b,
       l->map_len - l->payload_off + BLOCK_HEADER, (uintptr_t)l, l->map_len, 0, 0);
}

/* --- the observed twins of the policies -------------------------------------- */

static int heap_of_lists(const struct freelists *fl) {
  const struct heap *h =
      (const struct heap *)((const char *)fl - __builtin_offsetof(struct heap, free));
  return heap_index(h);
}

static void events_examined(const struct freelists *fl, const block *b, size_t size) {
  emit(HAWK_EV_EXAMINED, heap_of_lists(fl), b, block_size(b), size, 0, 0, 0);
}

static unsigned list_of(const struct placement *p, const block *b) {
  return p == &placement_segregated ? seg_class(block_size(b)) : 0;
}

static void observed_insert(const struct placement *p, struct freelists *fl, block *b) {
  unsigned c = list_of(p, b);
  const block *head = fl->heads[c];
  p->insert(fl, b);
  emit(HAWK_EV_LISTED, heap_of_lists(fl), b, block_size(b), c, (uintptr_t)head, 0, 0);
}

static void observed_remove(const struct placement *p, struct freelists *fl, block *b) {
  unsigned c = list_of(p, b);
  const block *prev = free_prev(b), *next = free_next(b);
  p->remove(fl, b);
  emit(HAWK_EV_UNLISTED, heap_of_lists(fl), b, block_size(b), c, (uintptr_t)prev, (uintptr_t)next,
       (uintptr_t)fl->rover);
}

static block *observed_find(const struct placement *p, struct freelists *fl, size_t size) {
  block *b = p->find_seen(fl, size);
  if (b)
    emit(HAWK_EV_CHOSEN, heap_of_lists(fl), b, block_size(b), size, (uintptr_t)fl->rover, 0, 0);
  return b;
}

#define TWIN(NAME, PLAIN, TEXT)                                                                    \
  static void NAME##_insert(struct freelists *fl, block *b) { observed_insert(&PLAIN, fl, b); }    \
  static void NAME##_remove(struct freelists *fl, block *b) { observed_remove(&PLAIN, fl, b); }    \
  static block *NAME##_find(struct freelists *fl, size_t size) {                                   \
    return observed_find(&PLAIN, fl, size);                                                        \
  }                                                                                                \
  static int NAME##_verify(const struct freelists *fl, void (*seen)(void *, const block *),        \
                           void *ctx) {                                                            \
    return PLAIN.verify(fl, seen, ctx);                                                            \
  }                                                                                                \
  static const struct placement NAME = {                                                           \
      .name = TEXT,                                                                                \
      .insert = NAME##_insert,                                                                     \
      .remove = NAME##_remove,                                                                     \
      .find = NAME##_find,                                                                         \
      .find_seen = NAME##_find,                                                                    \
      .verify = NAME##_verify,                                                                     \
  };

TWIN(observed_segregated, placement_segregated, "segregated")
TWIN(observed_first_fit, placement_first_fit, "first-fit")
TWIN(observed_next_fit, placement_next_fit, "next-fit")
TWIN(observed_best_fit, placement_best_fit, "best-fit")

static const struct placement *const twins[][2] = {
    {&placement_segregated, &observed_segregated},
    {&placement_first_fit, &observed_first_fit},
    {&placement_next_fit, &observed_next_fit},
    {&placement_best_fit, &observed_best_fit},
};

/* The twin of p (observed 1) or its plain policy (observed 0). */
static const struct placement *swap(const struct placement *p, int observed) {
  for (size_t i = 0; i < sizeof twins / sizeof twins[0]; i++)
    if (p == twins[i][0] || p == twins[i][1]) return twins[i][observed];
  return p;
}

/* The hooks the layers below call while a recorder is installed. */
static const struct events_hooks recorder_hooks = {
    .taken = events_taken,
    .run = events_run,
    .freed = events_freed,
    .resized = events_resized,
    .arena = events_arena,
    .large = events_large,
    .examined = events_examined,
};

/* Tells the recorder every listed block of heap h, each list from its tail
 * to its head. */
static void tell_lists_locked(const struct heap *h) {
  for (unsigned c = 0; c < SIZE_CLASSES; c++) {
    const block *b = h->free.heads[c];
    size_t n = 0;
    while (b && free_next(b) && n++ < h->free.count) b = free_next(b);
    for (; b; b = free_prev(b))
      emit(HAWK_EV_LISTED, heap_index(h), b, block_size(b), c, (uintptr_t)free_next(b), 0, 0);
  }
}

/* heaps_each's visit of one heap for hawk_events: the recorder (ctx, or
 * NULL, at *ctx) is told its lists and its policy swapped for the twin (or back). */
static void install_one(struct heap *h, unsigned i, void *ctx) {
  (void)i;
  hawk_event_fn fn = *(hawk_event_fn *)ctx;
  if (fn) {
    __atomic_store_n(&events_fn, fn, __ATOMIC_RELEASE);
    __atomic_store_n(&events_hooks, &recorder_hooks, __ATOMIC_RELEASE);
    tell_lists_locked(h);
  }
  if (h->policy) h->policy = swap(h->policy, fn != NULL);
}

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

int hawk_events(hawk_event_fn fn, void *ctx) {
  hawk_ensure_ready();
  pthread_mutex_lock(&install_lock);
  if (fn && events_fn) {
    pthread_mutex_unlock(&install_lock);
    errno = EBUSY;
    return -1;
  }
  if (fn) events_ctx = ctx;
  heaps_each(install_one, &fn, 0);
  __atomic_store_n(&events_fn, fn, __ATOMIC_RELEASE);
  __atomic_store_n(&events_hooks, fn ? &recorder_hooks : NULL, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&install_lock);
  return 0;
}
