/* remote.c - cache lists handed back to the heap that owns their blocks
 * (remote.h says how and why). */
#include "remote.h"

#include <sched.h>

#include "decay.h"
#include "os.h"
#include "process.h"
#include "report.h"
#include "tcache.h"

#define COUNT_SHIFT 48
#define NEXT_MASK   (((uintptr_t)1 << COUNT_SHIFT) - 1)

/* The stacks of one heap, on cache lines of their own. */
struct stacks {
  void *top[TCACHE_BINS]; /* lists waiting, by block size / 16 (atomic) */
  uint64_t bytes;         /* bytes in them (atomic) */
  uint64_t takes;         /* lists taken so far (atomic; written only
                             holding taking) */
  uint64_t takes_seen;    /* takes at the decay's last look (atomic) */
  uint64_t epoch;         /* the decay's epoch at that look (atomic) */
  uint64_t threads;       /* threads with a cache on the heap (atomic) */
  int joined;             /* a thread moved here to share the heap with
                             threads whose blocks it frees (atomic) */
  int taking;             /* 1 while one thread takes lists off the stacks
                             (atomic): takers need not wait for the heap's lock */
} __attribute__((aligned(128)));

/* One struct stacks per heap in use, mapped by remote_init (not in .bss:
 * HEAP_MAX of them would be 18 KiB of it); NULL if that mapping failed,
 * and then no list is handed off. */
static struct stacks *stacks;

void remote_init(void) {
  void *p;
  if (os_map(hawk_heap_count * sizeof *stacks, os_page_size(), &p) == 0) stacks = p;
}

/* The stacks of heap h, or NULL if h is not one of the heaps in use. */
static struct stacks *stacks_of(const struct heap *h) {
  uintptr_t i = (uintptr_t)(h - hawk_heaps);
  return stacks && h >= hawk_heaps && i < hawk_heap_count ? &stacks[i] : NULL;
}

/* The third payload word of a list's first block: the next list and the
 * count, mangled like a link. */
static void **list_word(void *head) { return (void **)head + 2; }

int remote_hand_off(void *head, size_t size, unsigned count) {
  struct stacks *s = stacks_of(arena_heap(arena_of(head)));
  uint64_t bytes = (uint64_t)size * count;
  /* A heap no thread uses would keep the lists until the decay. */
  if (s == NULL || count == 0 || __atomic_load_n(&s->threads, __ATOMIC_RELAXED) == 0) return 0;
  if (__atomic_add_fetch(&s->bytes, bytes, __ATOMIC_RELAXED) > REMOTE_HEAP_BYTES) {
    __atomic_sub_fetch(&s->bytes, bytes, __ATOMIC_RELAXED);
    return 0;
  }
  void **top = &s->top[size / HAWK_ALIGN];
  void *next = __atomic_load_n(top, __ATOMIC_RELAXED);
  do {
    *list_word(head) = link_encode((block *)((uintptr_t)next | (uintptr_t)count << COUNT_SHIFT));
  } while (!__atomic_compare_exchange_n(top, &next, head, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  return 1;
}

HAWK_HOT int remote_waiting(const struct heap *h, size_t size) {
  const struct stacks *s = stacks_of(h);
  return s && __atomic_load_n(&s->top[size / HAWK_ALIGN], __ATOMIC_RELAXED) != NULL;
}

/* Takes the right to take lists off s's stacks: at once or not at all
 * (try), or waiting for the one thread holding it. */
static int taking_try(struct stacks *s) {
  return __atomic_load_n(&s->taking, __ATOMIC_RELAXED) == 0 &&
         __atomic_exchange_n(&s->taking, 1, __ATOMIC_ACQUIRE) == 0;
}
static void taking_wait(struct stacks *s) {
  while (!taking_try(s)) sched_yield();
}
static void taking_done(struct stacks *s) { __atomic_store_n(&s->taking, 0, __ATOMIC_RELEASE); }

/* Reads the next list and the count from a list's first block, after
 * checking that block (a sound cached block of its size) and what it says
 * (a count a list can have, a next list NULL or in an arena); a report and
 * abort otherwise, with the right to take (taking, if not NULL) given up
 * first. */
static void *list_next_checked(struct stacks *taking, void *head, size_t size, unsigned *count) {
  const char *problem = NULL;
  uintptr_t w = 0;
  if (HAWK_CHECKS && !tcache_entry_ok(head, size)) {
    problem = "heap corruption (a freed block waiting for its heap was overwritten: a write "
              "after free?)";
  } else {
    w = (uintptr_t)link_decode(*list_word(head));
    *count = (unsigned)(w >> COUNT_SHIFT);
    if (HAWK_CHECKS &&
        (*count == 0 || *count > REMOTE_LIST_MAX || !arena_link_ok(head, (void *)(w & NEXT_MASK))))
      problem = "heap corruption (a list of freed blocks waiting for its heap was overwritten: "
                "a write after free?)";
  }
  if (problem) {
    if (taking) taking_done(taking);
    report_misuse("malloc", head, problem);
  }
  return (void *)(w & NEXT_MASK);
}

/* Only one thread at a time takes from a heap's stacks (the one holding
 * its taking flag), and pushes only add lists: the top a taker read stays
 * on the stack with the same next list until the taker removes it, so the
 * compare-and-swap cannot take a list that was removed and pushed again (no
 * ABA).  The flag is the stacks' own, not the heap's lock: a take never
 * waits for the heap's operations, nor they for it, and a thread that finds
 * another taking goes to the heap instead (it collects at its own pace). */
void *remote_take(struct heap *h, size_t size, unsigned *count) {
  struct stacks *s = stacks_of(h);
  if (s == NULL || !taking_try(s)) return NULL;
  void **top = &s->top[size / HAWK_ALIGN];
  void *head = __atomic_load_n(top, __ATOMIC_ACQUIRE), *next;
  do {
    if (head == NULL) break;
    next = list_next_checked(s, head, size, count);
  } while (!__atomic_compare_exchange_n(top, &head, next, 1, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE));
  /* Only the holder of the flag writes takes: a store, not a locked add. */
  if (head)
    __atomic_store_n(&s->takes, __atomic_load_n(&s->takes, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
  taking_done(s);
  if (head) __atomic_sub_fetch(&s->bytes, (uint64_t)size * *count, __ATOMIC_RELAXED);
  return head;
}

/* Gives one list of size-byte blocks to the heaps' free path, a cache
 * list's worth at a time. */
static void release_list(void *p, size_t size) {
  void *batch[TCACHE_BINS];
  while (p) {
    size_t n = 0;
    while (p && n < TCACHE_BINS) {
      batch[n++] = p;
      p = tcache_next(p, size, "free");
    }
    heap_release_cached(batch, n); /* still marked: the heap erases the mark */
  }
}

/* Gives every list waiting at heap i to the free path.  The exchange
 * happens holding the taking flag, against a taker (no ABA); the chain it
 * takes is then this thread's alone. */
static void flush_heap(unsigned i) {
  struct stacks *s = &stacks[i];
  for (size_t bin = 0; bin < TCACHE_BINS; bin++) {
    if (__atomic_load_n(&s->top[bin], __ATOMIC_RELAXED) == NULL) continue;
    taking_wait(s);
    void *list = __atomic_exchange_n(&s->top[bin], NULL, __ATOMIC_ACQUIRE);
    taking_done(s);
    while (list) {
      unsigned count;
      void *next = list_next_checked(NULL, list, bin * HAWK_ALIGN, &count);
      __atomic_sub_fetch(&s->bytes, (uint64_t)count * bin * HAWK_ALIGN, __ATOMIC_RELAXED);
      release_list(list, bin * HAWK_ALIGN);
      list = next;
    }
  }
}

void remote_flush_all(void) {
  for (unsigned i = 0; stacks && i < hawk_heap_count; i++)
    if (__atomic_load_n(&stacks[i].bytes, __ATOMIC_RELAXED) != 0) flush_heap(i);
}

void remote_decay(struct heap *h) {
  struct stacks *s = stacks_of(h);
  if (s == NULL || !decay_on) return;
  uint64_t e = decay_epoch(), seen = __atomic_load_n(&s->epoch, __ATOMIC_RELAXED);
  if (seen == e ||
      !__atomic_compare_exchange_n(&s->epoch, &seen, e, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    return; /* looked at in this epoch already */
  /* One thread a heap gets here an epoch: takes_seen is its own. */
  uint64_t takes = __atomic_load_n(&s->takes, __ATOMIC_RELAXED);
  int idle = takes == __atomic_load_n(&s->takes_seen, __ATOMIC_RELAXED);
  __atomic_store_n(&s->takes_seen, takes, __ATOMIC_RELAXED);
  if (idle && __atomic_load_n(&s->bytes, __ATOMIC_RELAXED) != 0) flush_heap((unsigned)(s - stacks));
}

void remote_thread_joins(struct heap *h) {
  struct stacks *s = stacks_of(h);
  if (s) __atomic_add_fetch(&s->threads, 1, __ATOMIC_RELAXED);
}

void remote_thread_leaves(struct heap *h) {
  struct stacks *s = stacks_of(h);
  if (s == NULL) return;
  uint64_t left = __atomic_sub_fetch(&s->threads, 1, __ATOMIC_RELAXED);
  if (left < 2) __atomic_store_n(&s->joined, 0, __ATOMIC_RELAXED); /* nothing to share */
  if (left == 0 && __atomic_load_n(&s->bytes, __ATOMIC_RELAXED) != 0)
    flush_heap((unsigned)(s - stacks));
}

HAWK_HOT int remote_exchanging(const struct heap *h) {
  const struct stacks *s = stacks_of(h);
  return s && __atomic_load_n(&s->joined, __ATOMIC_RELAXED) &&
         __atomic_load_n(&s->threads, __ATOMIC_RELAXED) >= 2;
}

int remote_should_move(const struct heap *from, const struct heap *to) {
  const struct stacks *a = stacks_of(from), *b = stacks_of(to);
  if (a == NULL || b == NULL || a == b) return 0;
  uint64_t na = __atomic_load_n(&a->threads, __ATOMIC_RELAXED);
  uint64_t nb = __atomic_load_n(&b->threads, __ATOMIC_RELAXED);
  return nb > na || (nb == na && b < a);
}

void remote_thread_moves(struct heap *from, struct heap *to) {
  struct stacks *s = stacks_of(to);
  if (s) __atomic_store_n(&s->joined, 1, __ATOMIC_RELAXED);
  remote_thread_joins(to);
  remote_thread_leaves(from); /* the last one gives back what waits there */
}

void remote_after_fork_child(void) {
  for (unsigned i = 0; stacks && i < hawk_heap_count; i++) /* none if never mapped */
    __atomic_store_n(&stacks[i].taking, 0, __ATOMIC_RELAXED);
}

uint64_t remote_bytes(void) {
  uint64_t bytes = 0;
  for (unsigned i = 0; stacks && i < hawk_heap_count; i++)
    bytes += __atomic_load_n(&stacks[i].bytes, __ATOMIC_RELAXED);
  return bytes;
}
