/* record.c - the worker's recorder for `hawk view`: the library's events
 * (hawk_events) of every replayed call, in mmap'ed memory (the replay must
 * not allocate), written to the worker's output file at the end.
 *
 * The file is a sequence of struct rec: first the blocks hawk_walk reports
 * before the replay (REC_WALK), then for each call the library's events
 * followed by one REC_OP.  In check mode each REC_OP also carries the digest
 * of hawk_walk after the call, which `hawk view --check` compares with the
 * blocks it rebuilt from the events. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hawk.h"
#include "hawkalloc.h"

typedef int (*events_fn)(hawk_event_fn, void *);
typedef size_t (*walk_fn)(hawk_visit_fn, void *);

static struct rec *buf;
static size_t len, cap; /* records */
static int overflow;
static walk_fn walk;
static int checking;
static uint64_t walk_at; /* HAWK_VIEW_WALK_AT: all of hawk_walk after this many calls */

static void put(const struct rec *r) {
  if (len == cap) {
    size_t ncap = cap ? cap * 2 : 1 << 16;
    void *n = buf ? mremap(buf, cap * sizeof *buf, ncap * sizeof *buf, MREMAP_MAYMOVE)
                  : mmap(NULL, ncap * sizeof *buf, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (n == MAP_FAILED) {
      overflow = 1;
      return;
    }
    buf = n;
    cap = ncap;
  }
  buf[len++] = *r;
}

static uint32_t examined; /* blocks the policy looked at in this call */

static int listing_at; /* the recorder is being installed again after walk_at calls */

static void on_event(void *ctx, const struct hawk_event *e) {
  (void)ctx;
  if (e->kind == HAWK_EV_EXAMINED && examined++ >= EXAMINED_KEPT) return;
  struct rec r = {.kind = listing_at ? REC_LIST_AT : e->kind,
                  .heap = e->heap,
                  .block = e->block,
                  .size = e->size,
                  .a = e->a,
                  .b = e->b,
                  .c = e->c,
                  .d = e->d};
  put(&r);
}

static void on_walk_start(void *ctx, const struct hawk_block_info *b) {
  struct rec r = {.kind = ctx ? REC_WALK_AT : REC_WALK,
                  .heap = b->heap,
                  .block = b->address,
                  .size = b->size,
                  .a = (uint64_t)b->state,
                  .b = b->region,
                  .c = b->region_size};
  put(&r);
}

struct digest {
  uint64_t count, sum;
};

static void on_walk_digest(void *ctx, const struct hawk_block_info *b) {
  struct digest *d = ctx;
  d->count++;
  d->sum += rec_block_hash(b->address, b->size, (unsigned)b->state);
}

const char *record_start(int check) {
  events_fn start = (events_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hawk_events");
  walk = (walk_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hawk_walk");
  if (!start || !walk) return "the preloaded library has no hawk_events (not HawkAlloc, or older)";
  checking = check;
  walk(on_walk_start, NULL);
  if (start(on_event, NULL) != 0) return "hawk_events refused the recorder";
  struct rec r = {.kind = REC_OP, .a = UINT64_MAX}; /* the start: the blocks and lists */
  put(&r);
  const char *at = getenv("HAWK_VIEW_WALK_AT");
  walk_at = 0;
  if (at)
    for (; *at >= '0' && *at <= '9'; at++) walk_at = walk_at * 10 + (uint64_t)(*at - '0');
  return NULL;
}

void record_op(uint64_t index, const void *old, const void *result) {
  struct rec r = {.kind = REC_OP,
                  .heap = (int32_t)(examined > INT32_MAX ? INT32_MAX : examined),
                  .a = index,
                  .block = (uintptr_t)old,
                  .size = (uintptr_t)result};
  examined = 0;
  if (checking) {
    struct digest d = {0, 0};
    walk(on_walk_digest, &d);
    r.b = d.count;
    r.c = d.sum;
    r.d = 1;
  }
  put(&r);
  if (walk_at && index + 1 == walk_at) {
    walk(on_walk_start, &r);
    /* The free lists as the library has them: installing a recorder first
     * reports every listed block. */
    events_fn start = (events_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hawk_events");
    start(NULL, NULL);
    listing_at = 1;
    start(on_event, NULL);
    listing_at = 0;
  }
}

int record_write(const char *path) {
  events_fn start = (events_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "hawk_events");
  if (start) start(NULL, NULL);
  if (overflow) {
    errno = ENOMEM;
    return -1;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  const char *p = (const char *)buf;
  size_t left = len * sizeof *buf;
  while (left) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      return -1;
    }
    p += n;
    left -= (size_t)n;
  }
  return close(fd);
}
