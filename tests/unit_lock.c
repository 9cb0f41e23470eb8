/* unit_lock.c - the heaps' lock (lock.h): mutual exclusion, a sleeper
 * woken by the give, try while held. */
#include "lock.h"

#include <pthread.h>
#include <time.h>

#include "harness.h"

#define THREADS    4
#define INCREMENTS 200000

static struct hawk_lock counted = HAWK_LOCK_INIT;
static volatile unsigned long counter; /* changed only under counted */
static unsigned long unmarked;         /* times a holder found the word free */

static pthread_barrier_t start;

/* A read, some work, then the write: two threads inside at once lose
 * increments.  A holder must find the word marked held (a thread that got
 * in without marking it lets the next one in too).  As much work outside
 * as inside, so that a waiter often finds the lock free while it spins. */
static void *count_many(void *arg) {
  (void)arg;
  pthread_barrier_wait(&start);
  for (int i = 0; i < INCREMENTS; i++) {
    lock_take(&counted);
    if (__atomic_load_n(&counted.word, __ATOMIC_RELAXED) == 0)
      __atomic_add_fetch(&unmarked, 1, __ATOMIC_RELAXED);
    unsigned long c = counter;
    for (volatile int k = 0; k < 20; k++) {
    }
    counter = c + 1;
    lock_give(&counted);
    for (volatile int k = 0; k < 20; k++) {
    }
  }
  return NULL;
}

TEST(threads_that_take_it_are_alone_inside) {
  pthread_t t[THREADS];
  REQUIRE(pthread_barrier_init(&start, NULL, THREADS) == 0);
  for (int i = 0; i < THREADS; i++) REQUIRE(pthread_create(&t[i], NULL, count_many, NULL) == 0);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  CHECK(counter == (unsigned long)THREADS * INCREMENTS);
  CHECK(unmarked == 0);
  CHECK(counted.word == 0);
}

TEST(try_fails_while_it_is_held) {
  struct hawk_lock l = HAWK_LOCK_INIT;
  CHECK(lock_try(&l));
  CHECK(!lock_try(&l));
  lock_give(&l);
  CHECK(lock_try(&l));
  lock_give(&l);
  lock_take(&l);
  CHECK(!lock_try(&l));
  lock_give(&l);
  CHECK(l.word == 0);
}

/* The path of a take that found the lock held returns holding it, the
 * word marked, whenever the lock frees up during the wait (here at once). */
TEST(the_wait_returns_holding_it) {
  struct hawk_lock l = HAWK_LOCK_INIT;
  lock_wait(&l);
  CHECK(l.word != 0);
  CHECK(!lock_try(&l));
  lock_give(&l);
  CHECK(l.word == 0);
}

/* A lock another thread takes, notes that it got inside, and gives. */
struct taker {
  struct hawk_lock lock;
  int inside;
};

static void *take_note_give(void *arg) {
  struct taker *k = arg;
  lock_take(&k->lock);
  __atomic_store_n(&k->inside, 1, __ATOMIC_RELAXED);
  lock_give(&k->lock);
  return NULL;
}

/* Waits until the taker's thread t has marked the word 2 (past its spin),
 * checks that it is not inside, gives the lock and checks that the give
 * woke it: it got inside and left the lock free. */
static void give_to_the_sleeper(struct taker *k, pthread_t t) {
  for (int i = 0; i < 10000 && __atomic_load_n(&k->lock.word, __ATOMIC_RELAXED) != 2; i++)
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  CHECK(__atomic_load_n(&k->lock.word, __ATOMIC_RELAXED) == 2);
  nanosleep(&(struct timespec){0, 20000000}, NULL); /* let it fall asleep */
  CHECK(!__atomic_load_n(&k->inside, __ATOMIC_RELAXED));
  lock_give(&k->lock);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 20;
  int joined = pthread_timedjoin_np(t, NULL, &deadline) == 0;
  CHECK(joined);
  if (!joined) return; /* the waiter still sleeps: nothing more to check */
  CHECK(k->inside);
  CHECK(k->lock.word == 0);
}

/* The waiter spins, gives up, marks the word 2 and sleeps on the futex;
 * the holder's give must wake it (a lost wake-up leaves it asleep). */
TEST(a_thread_asleep_on_it_is_woken_by_the_give) {
  static struct taker held = {HAWK_LOCK_INIT, 0};
  lock_take(&held.lock);
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, take_note_give, &held) == 0);
  give_to_the_sleeper(&held, t);
}

/* While the process has one thread the lock is taken and given with plain
 * stores (lock_alone), and the word still says held: a try on the same
 * thread (a signal handler's) fails, and a thread started while it is held
 * (a callback of the program's may start one) finds it held, sleeps, and
 * is woken by the give, which tests the flag again and finds a second
 * thread.  In a fresh copy: the other cases start threads, and a process
 * that has had a second thread never has one again. */
TEST(a_lock_taken_alone_holds_off_a_thread_started_later) {
  if (!is_fresh("a_lock_taken_alone_holds_off_a_thread_started_later")) {
    CHECK(run_fresh("a_lock_taken_alone_holds_off_a_thread_started_later") == 0);
    return;
  }
  static struct taker later = {HAWK_LOCK_INIT, 0};
  REQUIRE(lock_alone());
  lock_take(&later.lock);
  CHECK(__atomic_load_n(&later.lock.word, __ATOMIC_RELAXED) == 1);
  CHECK(!lock_try(&later.lock));
  pthread_t t;
  REQUIRE(pthread_create(&t, NULL, take_note_give, &later) == 0);
  CHECK(!lock_alone());
  give_to_the_sleeper(&later, t);
}

/* A take that finds the lock held while the process has one thread waits
 * for its own thread: only a frame below it can hold it, a call the
 * program's signal handler interrupted (a SIGALRM handler that calls malloc
 * while malloc ran).  At 13dee5f it slept on the futex for ever (a program
 * whose timer's handler called malloc and free of 3,000 bytes while its
 * main loop did the same hung within 20 s, where glibc ran on); now one
 * line and abort.  The alarm bounds the old hang. */
static void take_twice_alone(void *arg) {
  (void)arg;
  alarm(5);
  static struct hawk_lock twice = HAWK_LOCK_INIT;
  lock_take(&twice);
  lock_take(&twice); /* what the handler's malloc does */
}

TEST(a_take_that_waits_for_its_own_thread_is_reported) {
  if (!is_fresh("a_take_that_waits_for_its_own_thread_is_reported")) {
    CHECK(run_fresh("a_take_that_waits_for_its_own_thread_is_reported") == 0);
    return;
  }
  REQUIRE(lock_alone());
  EXPECT_ABORT(take_twice_alone, NULL, "hawkalloc: ", "signal handler", "its own thread");
}

TEST_MAIN()
