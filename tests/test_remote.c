/* test_remote.c - blocks freed by a thread of another heap (src/remote.c).
 *
 * An owner thread allocates blocks of one size and a freer thread, on
 * another heap, frees them all.  The freer's full cache lists go whole to
 * the owner's heap: the heap's free path never sees the blocks, they count
 * as cached, the owner's next allocations are those very blocks, a second
 * free of one is still a double free, and nothing is lost when the owner
 * exits or the process forks while they wait.  Only the hawk_* names.
 */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "harness.h"
#include "hawkalloc.h"

#define BLOCKS 2000
#define SIZE   100 /* a block of 112 bytes: 73 to a cache list */
#define LIST   73

static void *blocks[BLOCKS];
static pthread_barrier_t step;

static struct hawk_stats stats_now(void) {
  struct hawk_stats s;
  hawk_stats(&s, sizeof s);
  return s;
}

/* The owner: allocates the blocks, waits while the freer frees them,
 * waits again (the test looks), then, if asked, allocates again into
 * again[] and waits a last time before it exits. */
static void *again[BLOCKS];
static int owner_allocates_again;
/* Whether the freer first makes its cache list of SIZE blocks grow past
 * its first limit (rounds of allocating and freeing many blocks). */
static int freer_grows_its_list;
static int owner_check; /* hawk_check in the owner as it allocates again */

/* How many of again[] are blocks that blocks[] held: the blocks a thread
 * got back after they were freed. */
static int reused_blocks(void) {
  int reused = 0;
  for (int i = 0; i < BLOCKS; i++)
    for (int j = 0; j < BLOCKS; j++)
      if (again[i] == blocks[j]) {
        reused++;
        break;
      }
  return reused;
}

static void *owner(void *unused) {
  (void)unused;
  for (int i = 0; i < BLOCKS; i++) {
    blocks[i] = hawk_malloc(SIZE);
    if (blocks[i]) memset(blocks[i], 0x5a, SIZE);
  }
  pthread_barrier_wait(&step); /* 1: allocated */
  pthread_barrier_wait(&step); /* 2: freed by the freer */
  pthread_barrier_wait(&step); /* 3: the test looked */
  if (owner_allocates_again) {
    /* A refill takes a list handed back when one waits: with a grown list
     * to take, this thread's own check looks at its cache after each call. */
    for (int i = 0; i < BLOCKS; i++) {
      again[i] = hawk_malloc(SIZE);
      if (freer_grows_its_list && owner_check == 0) owner_check = hawk_check();
    }
  }
  pthread_barrier_wait(&step); /* 4: allocated again */
  pthread_barrier_wait(&step); /* 5: the test looked; exit */
  if (owner_allocates_again)
    for (int i = 0; i < BLOCKS; i++) hawk_free(again[i]);
  return NULL;
}

/* Whether the freer first frees many blocks of its own, in bulk: its
 * list of SIZE blocks overflows again and again with nothing to hand
 * back (tcache.c then stops walking the list on every overflow). */
static int freer_frees_its_own_first;
#define OWN_BLOCKS 6000

/* Whether the freer frees a block of its own after each of the owner's
 * (its lists then mix both heaps, half and half). */
static int freer_mixes_its_own;

/* Whether the freer frees one block of its own, of SIZE, just before the
 * owner's blocks (own_block: that block). */
static int freer_frees_one_own_first;
static void *own_block;

static void *freer(void *unused) {
  (void)unused;
  hawk_free(hawk_malloc(8)); /* its cache and heap first (another size) */
  if (freer_frees_one_own_first) own_block = hawk_malloc(SIZE);
  if (freer_grows_its_list) {
    static void *mine[BLOCKS];
    for (int round = 0; round < 8; round++) {
      for (int i = 0; i < BLOCKS / 2; i++) mine[i] = hawk_malloc(SIZE);
      for (int i = 0; i < BLOCKS / 2; i++) hawk_free(mine[i]);
    }
  }
  static void *mine[OWN_BLOCKS];
  if (freer_frees_its_own_first) {
    for (int i = 0; i < OWN_BLOCKS; i++) mine[i] = hawk_malloc(SIZE);
    for (int i = 0; i < OWN_BLOCKS; i++) hawk_free(mine[i]);
  }
  if (freer_mixes_its_own) /* the blocks of the mix */
    for (int i = 0; i < BLOCKS; i++) mine[i] = hawk_malloc(SIZE);
  pthread_barrier_wait(&step); /* 1 */
  if (freer_frees_one_own_first) hawk_free(own_block);
  for (int i = 0; i < BLOCKS; i++) {
    hawk_free(blocks[i]);
    if (freer_mixes_its_own) hawk_free(mine[i]);
  }
  pthread_barrier_wait(&step); /* 2 */
  pthread_barrier_wait(&step); /* 3 */
  pthread_barrier_wait(&step); /* 4 */
  pthread_barrier_wait(&step); /* 5 */
  return NULL;
}

static pthread_t owner_thread, freer_thread;

/* Starts both threads and runs them until the blocks are freed. */
static void start(int allocate_again) {
  owner_allocates_again = allocate_again;
  pthread_barrier_init(&step, NULL, 3);
  pthread_create(&owner_thread, NULL, owner, NULL);
  pthread_create(&freer_thread, NULL, freer, NULL);
  pthread_barrier_wait(&step); /* 1 */
  pthread_barrier_wait(&step); /* 2 */
}

/* Lets both threads run to their end. */
static void finish(void) {
  pthread_barrier_wait(&step); /* 3 */
  pthread_barrier_wait(&step); /* 4 */
  pthread_barrier_wait(&step); /* 5 */
  pthread_join(owner_thread, NULL);
  pthread_join(freer_thread, NULL);
  pthread_barrier_destroy(&step);
}

static int several_heaps(void) { return stats_now().heaps >= 2; }

/* Starts two threads at once and joins them: the C library keeps what it
 * allocates for a thread (its TLS vector) with the stack it caches, so a
 * test that compares the bytes in use before and after two threads ran
 * starts from there, whichever tests ran before it. */
static void *nothing(void *unused) { return unused; }
static void two_threads_ran(void) {
  pthread_t a, b;
  int ra = pthread_create(&a, NULL, nothing, NULL), rb = pthread_create(&b, NULL, nothing, NULL);
  if (ra == 0) pthread_join(a, NULL);
  if (rb == 0) pthread_join(b, NULL);
}

TEST(remote_frees_skip_the_heap_and_return_to_the_owner) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  struct hawk_stats s0 = stats_now();
  start(1);
  struct hawk_stats s1 = stats_now();
  /* The freer's lists went whole to the owner's heap: no block met the
   * heap's free path, and they all still count as cached. */
  CHECK(s1.coalesces == s0.coalesces);
  CHECK(s1.thread_cached >= (uint64_t)BLOCKS * 112 - (uint64_t)LIST * 112);
  pthread_barrier_wait(&step); /* 3: the owner allocates again */
  pthread_barrier_wait(&step); /* 4 */
  /* The owner got its own blocks back: all but what the freer's cache
   * still holds (one list at most). */
  CHECK(reused_blocks() >= BLOCKS - LIST);
  CHECK(hawk_check() == 0);
  pthread_barrier_wait(&step); /* 5 */
  pthread_join(owner_thread, NULL);
  pthread_join(freer_thread, NULL);
  pthread_barrier_destroy(&step);
}

/* A full list whose head and whose newest block are another heap's goes
 * to that heap as it is, without a walk to sort out this thread's own
 * blocks (a consumer's lists are nearly all the producer's): the owner's
 * refills then hand out the freer's own block, which was at the bottom of
 * the freer's first full list, with the owner's. */
TEST(a_full_list_of_another_heaps_blocks_goes_whole_without_a_walk) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  freer_frees_one_own_first = 1;
  start(1);
  pthread_barrier_wait(&step); /* 3: the owner allocates again */
  pthread_barrier_wait(&step); /* 4 */
  freer_frees_one_own_first = 0;
  int got_it = 0;
  for (int i = 0; i < BLOCKS; i++) got_it |= again[i] == own_block;
  CHECK(got_it);
  /* The freer's malloc refilled its list: it grew to twice its limit at
   * its first overflow, and may still hold that much. */
  CHECK(reused_blocks() >= BLOCKS - 2 * LIST - 1);
  CHECK(hawk_check() == 0);
  pthread_barrier_wait(&step); /* 5 */
  pthread_join(owner_thread, NULL);
  pthread_join(freer_thread, NULL);
  pthread_barrier_destroy(&step);
}

/* A thread that freed its own blocks in bulk, and then frees another
 * heap's, still hands those back whole: none of them meets the heap's
 * free path, they all stay cached.  (Coalescing may happen meanwhile: when
 * the freer moves to the owner's heap, the lists of its own blocks left at
 * its old heap, which no thread uses any more, go to that heap's free
 * path.) */
TEST(remote_frees_after_bulk_frees_of_its_own_still_skip_the_heap) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  freer_frees_its_own_first = 1;
  owner_allocates_again = 0;
  pthread_barrier_init(&step, NULL, 3);
  pthread_create(&owner_thread, NULL, owner, NULL);
  pthread_create(&freer_thread, NULL, freer, NULL);
  pthread_barrier_wait(&step); /* 1: allocated; the freer freed its own */
  pthread_barrier_wait(&step); /* 2: the owner's blocks freed */
  struct hawk_stats s1 = stats_now();
  freer_frees_its_own_first = 0;
  CHECK(s1.thread_cached >= (uint64_t)BLOCKS * 112 - (uint64_t)LIST * 112);
  finish();
}

/* The same with the freer's own blocks mixed in, one after each of the
 * owner's: of the newest block and the list's head, one is the freer's
 * own, so the lists do not go whole to the owner's heap, and the walk
 * that sorts them out must still happen after the bulk frees (the owner's
 * blocks go to the owner's stacks, the freer's own to its heap's stacks:
 * all of them stay cached; without the walk, half of each full list would
 * go to the heaps' free path). */
TEST(mixed_remote_frees_after_bulk_frees_of_its_own_are_still_sorted_out) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  freer_frees_its_own_first = 1;
  freer_mixes_its_own = 1;
  owner_allocates_again = 0;
  pthread_barrier_init(&step, NULL, 3);
  pthread_create(&owner_thread, NULL, owner, NULL);
  pthread_create(&freer_thread, NULL, freer, NULL);
  pthread_barrier_wait(&step); /* 1 */
  pthread_barrier_wait(&step); /* 2: the owner's blocks and its own freed */
  struct hawk_stats s1 = stats_now();
  freer_frees_its_own_first = 0;
  freer_mixes_its_own = 0;
  CHECK(s1.thread_cached >= (uint64_t)2 * BLOCKS * 112 - (uint64_t)4 * LIST * 112);
  finish();
}

/* The owner of lock_free_take: allocates, waits while the freer frees,
 * then, when told (go), allocates TAKEN blocks (refills that take the
 * lists waiting at its heap) and says so (done). */
#define TAKEN 200
static pthread_mutex_t signal_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t signal_cond = PTHREAD_COND_INITIALIZER;
static int go, done, acted, done_while_locked;

static void *taking_owner(void *unused) {
  (void)unused;
  for (int i = 0; i < BLOCKS; i++) blocks[i] = hawk_malloc(SIZE);
  pthread_barrier_wait(&step); /* 1 */
  pthread_barrier_wait(&step); /* 2: freed by the freer */
  pthread_mutex_lock(&signal_lock);
  while (!go) pthread_cond_wait(&signal_cond, &signal_lock);
  pthread_mutex_unlock(&signal_lock);
  for (int i = 0; i < TAKEN; i++) again[i] = hawk_malloc(SIZE);
  pthread_mutex_lock(&signal_lock);
  done = 1;
  pthread_cond_broadcast(&signal_cond);
  pthread_mutex_unlock(&signal_lock);
  pthread_barrier_wait(&step); /* 3 */
  pthread_barrier_wait(&step); /* 4 */
  pthread_barrier_wait(&step); /* 5 */
  for (int i = 0; i < TAKEN; i++) hawk_free(again[i]);
  return NULL;
}

/* hawk_walk's visitor, called with the lock of the heap of the block it
 * is shown: at the owner's first block (its heap's lock held), lets the
 * owner allocate and waits until it has (at most 10 s: with a take that
 * needed the heap's lock the owner would wait for the walk, and the walk
 * for it). */
static void hold_owner_lock(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  if (acted || b->payload != (uintptr_t)blocks[0]) return;
  acted = 1;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&signal_lock);
  go = 1;
  pthread_cond_broadcast(&signal_cond);
  while (!done && pthread_cond_timedwait(&signal_cond, &signal_lock, &until) == 0) {
  }
  done_while_locked = done;
  pthread_mutex_unlock(&signal_lock);
}

/* A thread takes the lists waiting at its heap without the heap's lock:
 * its refills go on while another thread holds that lock. */
TEST(lists_are_taken_without_the_heaps_lock) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  pthread_barrier_init(&step, NULL, 3);
  pthread_create(&owner_thread, NULL, taking_owner, NULL);
  pthread_create(&freer_thread, NULL, freer, NULL);
  pthread_barrier_wait(&step); /* 1 */
  pthread_barrier_wait(&step); /* 2 */
  hawk_walk(hold_owner_lock, NULL);
  CHECK(acted);
  CHECK(done_while_locked);
  for (int i = 0; i < TAKEN; i++) CHECK(again[i] != NULL);
  finish();
}

/* A list that grew in the freer's cache (hundreds of blocks) is handed
 * back whole and taken by the owner as a sound list, not reported as
 * overwritten. */
TEST(a_grown_list_handed_back_is_taken_as_sound) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  freer_grows_its_list = 1;
  start(1);
  pthread_barrier_wait(&step); /* 3: the owner allocates again */
  pthread_barrier_wait(&step); /* 4 */
  int got = 0;
  for (int i = 0; i < BLOCKS; i++) got += again[i] != NULL;
  CHECK(got == BLOCKS);
  CHECK(owner_check == 0); /* the taken list is longer than the owner's limit */
  CHECK(hawk_check() == 0);
  pthread_barrier_wait(&step); /* 5 */
  pthread_join(owner_thread, NULL);
  pthread_join(freer_thread, NULL);
  pthread_barrier_destroy(&step);
  freer_grows_its_list = 0;
}

static void free_again(void *arg) {
  (void)arg;
  start(0);
  hawk_free(blocks[BLOCKS / 2]); /* waiting at the owner's heap */
}

static void free_again_after_owner_took_it(void *arg) {
  (void)arg;
  start(1);
  pthread_barrier_wait(&step);                          /* 3 */
  pthread_barrier_wait(&step);                          /* 4: the owner took the lists back */
  for (int i = 0; i < BLOCKS; i++) hawk_free(again[i]); /* now the program's again */
  hawk_free(again[0]);                                  /* and freed twice */
}

TEST(remote_double_free_is_caught) {
  if (UNDER_TSAN) SKIP("ThreadSanitizer build: threads in a forked child");
  if (!several_heaps()) SKIP("one heap: every free is local");
  EXPECT_ABORT(free_again, NULL, "free(", "double free");
}

TEST(remote_double_free_after_the_owner_took_the_block_is_caught) {
  if (UNDER_TSAN) SKIP("ThreadSanitizer build: threads in a forked child");
  if (!several_heaps()) SKIP("one heap: every free is local");
  EXPECT_ABORT(free_again_after_owner_took_it, NULL, "free(", "double free");
}

/* The first list the freer handed back starts at the block it freed last
 * before its list of 112-byte blocks overflowed: blocks[LIST - 1].  The
 * owner takes that list when it allocates again.  What is overwritten: a
 * word of that block's payload (-1: its header), the bits flipped in it. */
struct overwrite {
  int word;
  uint64_t bits;
};

static void overwrite_waiting_list(void *arg) {
  const struct overwrite *o = arg;
  start(1);
  ((uint64_t *)blocks[LIST - 1])[o->word] ^= o->bits;
  pthread_barrier_wait(&step); /* 3: the owner allocates and meets it */
  pthread_barrier_wait(&step); /* 4 */
}

TEST(overwritten_list_waiting_for_its_heap_is_reported) {
  if (UNDER_TSAN) SKIP("ThreadSanitizer build: threads in a forked child");
  if (!several_heaps()) SKIP("one heap: every free is local");
  struct overwrite o = {2, 0x4141414141414141ull}; /* the next list and the count */
  EXPECT_ABORT(overwrite_waiting_list, &o, "malloc(",
               "heap corruption (a list of freed blocks waiting for its heap was overwritten");
  o.word = 1; /* the cache mark */
  EXPECT_ABORT(overwrite_waiting_list, &o, "malloc(",
               "heap corruption (a freed block waiting for its heap was overwritten");
  /* The header's check tag alone (bits 48 to 63), its size, flags and the
   * cache mark left as they were: a header is the library's only with its
   * tag, so the take tests the tag too, not only the size and the mark (the
   * block would be handed out, and its free report an invalid pointer). */
  o.word = -1;
  o.bits = (uint64_t)0x4141 << 48;
  EXPECT_ABORT(overwrite_waiting_list, &o, "malloc(",
               "heap corruption (a freed block waiting for its heap was overwritten");
}

/* The next list alone overwritten, the count left as it was: the next list
 * must be NULL or a payload in an arena before the take makes it the
 * stack's top (else the next refill would follow a wild pointer, or a
 * program's bytes, as a list of cached blocks).  The first list handed
 * back lies at the bottom of the stack: its next list is NULL, and now
 * 0x414141414140 (16-byte aligned, in no arena). */
TEST(overwritten_next_list_waiting_for_its_heap_is_reported) {
  if (UNDER_TSAN) SKIP("ThreadSanitizer build: threads in a forked child");
  if (!several_heaps()) SKIP("one heap: every free is local");
  struct overwrite o = {2, 0x414141414140ull}; /* the low 48 bits: the next list only */
  EXPECT_ABORT(overwrite_waiting_list, &o, "malloc(",
               "heap corruption (a list of freed blocks waiting for its heap was overwritten");
}

TEST(trim_gives_back_the_lists_waiting) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  start(0);
  CHECK(stats_now().thread_cached >= (uint64_t)BLOCKS * 112 - (uint64_t)LIST * 112);
  hawk_trim(); /* the owner is alive: only malloc_trim gives the lists back */
  /* What stays is what the two threads' own caches hold. */
  CHECK(stats_now().thread_cached <= (uint64_t)LIST * 112 + 128);
  CHECK(hawk_check() == 0);
  finish();
}

TEST(owner_exiting_with_remote_frees_pending_loses_nothing) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  two_threads_ran();
  hawk_trim();
  struct hawk_stats s0 = stats_now();
  start(0);
  CHECK(stats_now().thread_cached >= (uint64_t)BLOCKS * 112 - (uint64_t)LIST * 112);
  finish(); /* both threads exit with the lists still waiting */
  CHECK(hawk_check() == 0);
  /* The last thread to leave the owner's heap gave the lists waiting there
   * back: no thread would take them, and no trim is needed for that.  What
   * stays cached is this thread's own (what starting threads freed). */
  uint64_t left = stats_now().thread_cached;
  CHECK(left < (uint64_t)LIST * 112);
  if (left >= (uint64_t)LIST * 112)
    fprintf(stderr, "    %llu bytes still cached after both threads left\n",
            (unsigned long long)left);
  /* Every block comes back: the bytes in use are what they were. */
  hawk_trim();
  struct hawk_stats s1 = stats_now();
  CHECK(s1.thread_cached == 0);
  CHECK(s1.in_use == s0.in_use);
  /* And the memory serves new threads. */
  start(1);
  CHECK(hawk_check() == 0);
  finish();
}

/* hawk_stats counts every malloc once, whichever way its block went: the
 * mallocs the caches served are worked out from what entered and left
 * their lists (tcache.c, cache_figures), so a list taken from the heap's
 * stacks must count as entering the taker's cache, and a list flushed to
 * the heap as leaving the flushing one's.  The owner allocates BLOCKS, the
 * freer frees them (its full lists go to the owner's heap's stacks), the
 * owner allocates BLOCKS again (its refills take those lists), then both
 * threads exit (the owner frees its blocks first, and each exit flushes
 * its cache).  Counted between barriers, while no thread starts: the C
 * library allocates for a new thread. */
TEST(every_malloc_is_counted_once_as_lists_pass_between_threads) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  two_threads_ran();
  hawk_trim();
  start(1);
  struct hawk_stats s2 = stats_now(); /* the owner allocated, the freer freed */
  pthread_barrier_wait(&step);        /* 3: the owner allocates again */
  pthread_barrier_wait(&step);        /* 4 */
  struct hawk_stats s4 = stats_now();
  CHECK(reused_blocks() >= BLOCKS - LIST); /* its refills took the freer's lists */
  CHECK(s4.mallocs == s2.mallocs + BLOCKS);
  CHECK(s4.frees == s2.frees);
  pthread_barrier_wait(&step); /* 5: the owner frees what it holds and exits */
  pthread_join(owner_thread, NULL);
  pthread_join(freer_thread, NULL);
  pthread_barrier_destroy(&step);
  struct hawk_stats s5 = stats_now();
  CHECK(s5.frees >= s4.frees + BLOCKS);
  CHECK(s5.mallocs == s4.mallocs);
  if (s4.mallocs != s2.mallocs + BLOCKS || s5.mallocs != s4.mallocs)
    fprintf(stderr, "    mallocs: %llu, %llu after %d, %llu after the exits\n",
            (unsigned long long)s2.mallocs, (unsigned long long)s4.mallocs, BLOCKS,
            (unsigned long long)s5.mallocs);
  CHECK(hawk_check() == 0);
}

/* More than the stacks of a heap may hold (REMOTE_HEAP_BYTES), freed by a
 * thread of another heap: the stacks take lists up to their cap and refuse
 * the rest, which go to the heap's free path.  The bytes a refused hand-off
 * added to the stacks' count come off again, so that what counts as cached
 * is what waits, and nothing once every list is given back. */
#define MANY 30000 /* 3.2 MiB of 112-byte blocks */
static void *many[MANY];
static void *many_owner(void *unused) {
  (void)unused;
  for (int i = 0; i < MANY; i++) many[i] = hawk_malloc(SIZE);
  pthread_barrier_wait(&step); /* 1: allocated */
  pthread_barrier_wait(&step); /* 2: freed by the freer */
  pthread_barrier_wait(&step); /* 3: the test looked */
  return NULL;
}
static void *many_freer(void *unused) {
  (void)unused;
  hawk_free(hawk_malloc(8));   /* its cache and heap first */
  pthread_barrier_wait(&step); /* 1 */
  for (int i = 0; i < MANY; i++) hawk_free(many[i]);
  pthread_barrier_wait(&step); /* 2 */
  pthread_barrier_wait(&step); /* 3 */
  return NULL;
}

TEST(lists_refused_past_the_stacks_cap_are_not_counted) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  two_threads_ran();
  hawk_trim();
  struct hawk_stats s0 = stats_now();
  pthread_barrier_init(&step, NULL, 3);
  pthread_create(&owner_thread, NULL, many_owner, NULL);
  pthread_create(&freer_thread, NULL, many_freer, NULL);
  pthread_barrier_wait(&step); /* 1 */
  pthread_barrier_wait(&step); /* 2 */
  struct hawk_stats s1 = stats_now();
  /* What waits on the stacks (at most their cap, and some did) and the two
   * threads' own lists. */
  CHECK(s1.thread_cached > REMOTE_HEAP_BYTES / 2);
  CHECK(s1.thread_cached <= REMOTE_HEAP_BYTES + (uint64_t)4 * LIST * 112);
  pthread_barrier_wait(&step); /* 3 */
  pthread_join(owner_thread, NULL);
  pthread_join(freer_thread, NULL);
  pthread_barrier_destroy(&step);
  hawk_trim();
  struct hawk_stats s2 = stats_now();
  CHECK(s2.thread_cached == 0);
  CHECK(s2.in_use == s0.in_use);
  if (s1.thread_cached > REMOTE_HEAP_BYTES + (uint64_t)4 * LIST * 112 || s2.thread_cached)
    fprintf(stderr, "    cached: %llu bytes with the lists waiting, %llu after a trim\n",
            (unsigned long long)s1.thread_cached, (unsigned long long)s2.thread_cached);
  CHECK(hawk_check() == 0);
}

/* The child of fork_with_remote_frees_pending: the lists wait at the
 * owner's heap; the child can take them, check the heap, and give
 * everything back to where the parent started (*s0). */
static void remote_child(void *arg) {
  const struct hawk_stats *s0 = arg;
  CHECK(hawk_check() == 0);
  void *mine[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    mine[i] = hawk_malloc(SIZE);
    CHECK(mine[i] != NULL);
  }
  for (int i = 0; i < BLOCKS; i++) hawk_free(mine[i]);
  hawk_trim();
  struct hawk_stats s = stats_now();
  CHECK(hawk_check() == 0);
  CHECK(s.thread_cached == 0);
  CHECK(s.in_use == s0->in_use);
}

TEST(fork_with_remote_frees_pending) {
  if (UNDER_TSAN) SKIP("ThreadSanitizer build: fork");
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  struct hawk_stats s0 = stats_now();
  start(0);
  CHECK(run_in_child(remote_child, &s0) == 0);
  finish();
}

/* --- threads that free each other's blocks share a heap ----------------- */

static pthread_barrier_t pair;
static void *anchor; /* a block of the main thread's heap, kept allocated */
static int freer_heap = -2, freer_first_heap = -2;
static int freer_big_heap = -2; /* of a block no cache holds, after the move */

/* The heap hawk_walk names for the block whose payload is *ctx's first
 * word; the result goes into its second. */
static void find_heap(void *ctx, const struct hawk_block_info *b) {
  intptr_t *want = ctx;
  if (b->payload == (uintptr_t)want[0]) want[1] = b->heap;
}
static int heap_of(void *p) {
  intptr_t want[2] = {(intptr_t)p, -1};
  hawk_walk(find_heap, want);
  return (int)want[1];
}

/* The freer of share_a_heap: frees the main thread's first round of
 * blocks, says which heap its own allocations now come from, then frees
 * the second round. */
static void *sharing_freer(void *unused) {
  (void)unused;
  /* Sizes its cache holds no block of: they come from its heap. */
  void *p = hawk_malloc(1000);
  freer_first_heap = heap_of(p);
  for (int i = 0; i < BLOCKS; i++) hawk_free(blocks[i]);
  void *q = hawk_malloc(2000);
  freer_heap = heap_of(q);
  void *big = hawk_malloc(3000); /* above TCACHE_MAX_BLOCK: the heap's lock */
  freer_big_heap = heap_of(big);
  hawk_free(big);
  hawk_free(q);
  hawk_free(p);
  pthread_barrier_wait(&pair); /* 1: first round freed */
  pthread_barrier_wait(&pair); /* 2: second round allocated */
  for (int i = 0; i < BLOCKS; i++) hawk_free(blocks[i]);
  pthread_barrier_wait(&pair); /* 3: second round freed */
  pthread_barrier_wait(&pair); /* 4: exit */
  return NULL;
}

/* The main thread allocates BLOCKS blocks, a thread that starts on
 * another heap frees them all (its lists overflow about 27 times, each
 * list all the main thread's blocks), then frees a second round: up to
 * barrier 3 of sharing_freer, with the freer waiting at 4. */
static pthread_t share_a_heap(struct hawk_stats *s0) {
  pthread_t t;
  for (int i = 0; i < BLOCKS; i++) blocks[i] = hawk_malloc(SIZE);
  anchor = hawk_malloc(SIZE);
  pthread_barrier_init(&pair, NULL, 2);
  pthread_create(&t, NULL, sharing_freer, NULL);
  pthread_barrier_wait(&pair); /* 1 */
  *s0 = stats_now();
  for (int i = 0; i < BLOCKS; i++) blocks[i] = hawk_malloc(SIZE);
  pthread_barrier_wait(&pair); /* 2 */
  pthread_barrier_wait(&pair); /* 3 */
  return t;
}

static void share_a_heap_end(pthread_t t) {
  pthread_barrier_wait(&pair); /* 4 */
  pthread_join(t, NULL);
  pthread_barrier_destroy(&pair);
  hawk_free(anchor);
}

/* A thread whose frees are all another heap's blocks moves to that heap
 * (TCACHE_MOVE_VOTES overflows in a row): its own allocations come from
 * there, and from then on its full lists pass to the main thread through
 * the heap's stacks, whole, never through the heap's free path. */
TEST(a_thread_that_frees_another_heaps_blocks_moves_to_that_heap) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  struct hawk_stats s0;
  pthread_t t = share_a_heap(&s0);
  struct hawk_stats s1 = stats_now();
  int main_heap = heap_of(anchor);
  /* Threads move only to a heap with more threads, or as many and
   * earlier in the table: the main thread's is nearly always heap 0. */
  if (freer_first_heap < main_heap) {
    share_a_heap_end(t);
    SKIP("the freer started on a heap before the main thread's");
  }
  CHECK(main_heap >= 0);
  CHECK(freer_first_heap != main_heap);
  CHECK(freer_heap == main_heap);
  /* The second round, the freer's own heap's blocks now, met no free path. */
  CHECK(s1.coalesces == s0.coalesces);
  CHECK(s1.thread_cached >= (uint64_t)BLOCKS * 112 - (uint64_t)LIST * 112);
  /* The main thread gets them back: all but what the freer still holds. */
  for (int i = 0; i < BLOCKS; i++) again[i] = hawk_malloc(SIZE);
  CHECK(reused_blocks() >= BLOCKS - LIST);
  CHECK(hawk_check() == 0);
  for (int i = 0; i < BLOCKS; i++) hawk_free(again[i]);
  share_a_heap_end(t);
  CHECK(hawk_check() == 0);
}

/* A thread that moved to share a heap's cached blocks (the test above)
 * still takes the blocks no cache holds from the heap it started on:
 * threads that exchange blocks of every size (bench/pool) do not all
 * queue on one heap's lock for those. */
TEST(a_thread_that_moved_takes_uncached_blocks_from_its_first_heap) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  struct hawk_stats s0;
  pthread_t t = share_a_heap(&s0);
  int main_heap = heap_of(anchor);
  if (freer_first_heap < main_heap) {
    share_a_heap_end(t);
    SKIP("the freer started on a heap before the main thread's");
  }
  CHECK(freer_heap == main_heap); /* it moved */
  CHECK(freer_big_heap == freer_first_heap);
  CHECK(freer_big_heap != main_heap);
  share_a_heap_end(t);
  CHECK(hawk_check() == 0);
}

static void free_passed_on_again(void *arg) {
  (void)arg;
  struct hawk_stats s0;
  share_a_heap(&s0);
  hawk_free(blocks[BLOCKS / 2]); /* waiting on the heap's stacks */
}

TEST(a_block_passed_on_between_threads_of_one_heap_freed_again_is_caught) {
  if (UNDER_TSAN) SKIP("ThreadSanitizer build: threads in a forked child");
  if (!several_heaps()) SKIP("one heap: every free is local");
  EXPECT_ABORT(free_passed_on_again, NULL, "free(", "double free");
}

/* --- the owner on the last heap, the freer on the main thread's ---------- */

/* A new thread takes the heap with the fewest threads, the first of them
 * on a tie (docs/design.md).  Started one after another, each once the one
 * before has its heap, with the main thread on heap 0: fillers take heaps
 * 1 to heaps - 2, the owner the last heap, and the freer, finding one
 * thread on every heap, joins the main thread's.  The owner allocates
 * placed_count blocks of placed_size bytes into blocks[]; the freer frees
 * them all (its full lists go whole to the owner's heap's stacks), then
 * says which heap its refills come from.  Each keeps its first block (of a
 * size no cache holds yet, so that nothing stays cached) until the end. */
enum placed_role { FILLER, PLACED_OWNER, PLACED_FREER };
struct placed {
  enum placed_role role;
  pthread_t thread;
  int heap;       /* the heap it started on */
  int heap_after; /* the freer's: its refills' heap after its frees */
  void *first, *after;
};
static struct placed placed[HEAP_MAX];
static int placed_threads;
static size_t placed_size;
static int placed_count;
static void *placed_main; /* the main thread's block (its heap) */
static pthread_barrier_t placed_ready, placed_end;

static void *placed_thread(void *arg) {
  struct placed *p = arg;
  p->first = hawk_malloc(1000); /* its cache, and the heap it refills from */
  p->heap = heap_of(p->first);
  if (p->role == PLACED_OWNER)
    for (int i = 0; i < placed_count; i++) blocks[i] = hawk_malloc(placed_size);
  if (p->role == PLACED_FREER) {
    for (int i = 0; i < placed_count; i++) hawk_free(blocks[i]);
    p->after = hawk_malloc(2000);
    p->heap_after = heap_of(p->after);
  }
  pthread_barrier_wait(&placed_ready); /* placed (and done) */
  pthread_barrier_wait(&placed_end);
  hawk_free(p->after);
  hawk_free(p->first);
  return NULL;
}

/* Places the fillers, the owner and the freer, and returns once the freer
 * freed the owner's count blocks of size bytes. */
static void place_and_free(size_t size, int count) {
  int heaps = (int)stats_now().heaps;
  placed_main = hawk_malloc(1000); /* the main thread has its heap */
  placed_size = size;
  placed_count = count;
  placed_threads = heaps; /* heaps - 2 fillers, the owner, the freer */
  pthread_barrier_init(&placed_ready, NULL, 2);
  pthread_barrier_init(&placed_end, NULL, (unsigned)placed_threads + 1);
  for (int i = 0; i < placed_threads; i++) {
    enum placed_role role = i < heaps - 2 ? FILLER : i == heaps - 2 ? PLACED_OWNER : PLACED_FREER;
    placed[i] = (struct placed){.role = role, .heap = -1, .heap_after = -1};
    pthread_create(&placed[i].thread, NULL, placed_thread, &placed[i]);
    pthread_barrier_wait(&placed_ready);
  }
}

static struct placed *placed_owner(void) { return &placed[placed_threads - 2]; }
static struct placed *placed_freer(void) { return &placed[placed_threads - 1]; }

static void placed_finish(void) {
  pthread_barrier_wait(&placed_end);
  for (int i = 0; i < placed_threads; i++) pthread_join(placed[i].thread, NULL);
  pthread_barrier_destroy(&placed_ready);
  pthread_barrier_destroy(&placed_end);
  hawk_free(placed_main);
}

/* malloc_trim gives back the lists waiting at every heap, the last in the
 * table too: the owner alive, nothing else would (the decay aside). */
TEST(trim_gives_back_the_lists_waiting_at_the_last_heap) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  int heaps = (int)stats_now().heaps;
  place_and_free(SIZE, BLOCKS);
  CHECK(placed_owner()->heap == heaps - 1);
  CHECK(placed_freer()->heap != heaps - 1);
  CHECK(stats_now().thread_cached >= (uint64_t)BLOCKS * 112 - (uint64_t)LIST * 112);
  hawk_trim();
  /* What stays: the freer's list and what the owner's last refill left. */
  uint64_t left = stats_now().thread_cached;
  CHECK(left <= (uint64_t)2 * LIST * 112);
  if (left > (uint64_t)2 * LIST * 112)
    fprintf(stderr, "    %llu bytes still cached after the trim (owner on heap %d of %d)\n",
            (unsigned long long)left, placed_owner()->heap, heaps);
  CHECK(hawk_check() == 0);
  placed_finish();
  CHECK(hawk_check() == 0);
}

/* The same with blocks of 2,048 bytes, the largest size a thread cache
 * holds (the last of its lists, 8 blocks each): 512 of them, 1 MiB, within
 * a heap's stacks' cap. */
#define TOP_SIZE   2040 /* a block of 2,048 bytes */
#define TOP_BLOCKS 512
#define TOP_LIST   8
TEST(trim_gives_back_the_lists_of_the_largest_cached_size) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  place_and_free(TOP_SIZE, TOP_BLOCKS);
  CHECK(stats_now().thread_cached >= (uint64_t)(TOP_BLOCKS - TOP_LIST) * 2048);
  hawk_trim();
  uint64_t left = stats_now().thread_cached;
  CHECK(left <= (uint64_t)2 * TOP_LIST * 2048);
  if (left > (uint64_t)2 * TOP_LIST * 2048)
    fprintf(stderr, "    %llu bytes still cached after the trim\n", (unsigned long long)left);
  CHECK(hawk_check() == 0);
  placed_finish();
  CHECK(hawk_check() == 0);
}

/* A thread whose frees are all another heap's blocks moves there only if
 * that heap has more threads than its own (or as many and comes first):
 * the freer shares heap 0 with the main thread, the owner is alone on the
 * last heap, so the freer stays, and its refills still come from heap 0.
 * (Moving to the heap with fewer threads, the next thread freeing the
 * owner's blocks from the freer's old heap would move back: threads would
 * go back and forth rather than gather on one heap.) */
TEST(a_thread_does_not_move_to_a_heap_with_fewer_threads) {
  if (!several_heaps()) SKIP("one heap: every free is local");
  hawk_trim();
  place_and_free(SIZE, BLOCKS);
  int main_heap = heap_of(placed_main);
  CHECK(placed_freer()->heap == main_heap);
  CHECK(placed_owner()->heap != main_heap);
  CHECK(placed_freer()->heap_after == main_heap);
  if (placed_freer()->heap_after != main_heap)
    fprintf(stderr, "    the freer moved from heap %d to heap %d (the owner's: %d)\n",
            placed_freer()->heap, placed_freer()->heap_after, placed_owner()->heap);
  CHECK(hawk_check() == 0);
  placed_finish();
  CHECK(hawk_check() == 0);
}

TEST_MAIN()
