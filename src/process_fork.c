/* process_fork.c - the fork handlers process.c registers (docs/design.md,
 * "Threads and fork"): every lock taken before fork, given back in the
 * parent, made afresh in the child.  A file of its own, linked after the
 * code every process runs (the Makefile's LIB_FIRST): only a process that
 * forks runs it. */
#include "process.h"

#include "arena.h"
#include "large.h"
#include "snapshot.h"
#include "stats.h"
#include "tcache.h"
#include "trace.h"
#include "userheap.h"

/* Every lock is taken before fork, in the order the allocator nests them
 * (thread-cache list, heap, arena cache; large-block list alone), so that no lock is held
 * by a thread that will not exist in the child. */
void process_fork_prepare(void) {
  hawk_ensure_init();
  userheap_fork_prepare();
  tcache_lock_all();
  for (unsigned i = 0; i < hawk_heap_count; i++) lock_take(&hawk_heaps[i].lock);
  arena_cache_lock();
  large_lock();
}

void process_fork_parent(void) {
  large_unlock();
  arena_cache_unlock();
  for (unsigned i = 0; i < hawk_heap_count; i++) lock_give(&hawk_heaps[i].lock);
  tcache_unlock_all();
  userheap_fork_parent();
}

void process_fork_child(void) {
  large_reset_lock();
  arena_cache_reset_lock();
  for (unsigned i = 0; i < hawk_heap_count; i++) lock_init(&hawk_heaps[i].lock);
  tcache_after_fork_child();
  trace_after_fork_child();
  snapshot_after_fork_child();
  stats_after_fork_child();
  userheap_fork_child();
}
