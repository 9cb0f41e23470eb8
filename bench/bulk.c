/* bulk.c - an interpreter's pattern: many small blocks, freed in bulk.
 *
 * Each thread repeats: build a hash table of 1,000 to 40,000 entries, each
 * an entry record (32 bytes), a key string (8 to 40 bytes) and a value
 * string (8 to 200 bytes, uniform in its logarithm); one value in 8 is
 * built by appending pieces with realloc (a string grown step by step, as
 * an interpreter's string buffer grows); then look every entry up once,
 * and free the whole table bucket by bucket (an order unrelated to the
 * order of allocation, as an interpreter frees a hash that went out of
 * scope).  One table in four is kept alive while the next is built, so
 * frees and allocations interleave.  N (default 6,000,000) is the total
 * number of malloc, realloc and free calls, split between the threads;
 * every thread works alone.
 */
#include "bench.h"

#define MAX_ENTRIES 40000
#define BUCKETS     65536

struct entry {
  struct entry *next;
  char *key, *value;
  uint32_t key_len, value_len;
};

struct table {
  struct entry **bucket;
  long entries;
  uint64_t tag;
};

static uint64_t hash_of(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

/* A value string of n bytes built by appending pieces of 4 to 24 bytes,
 * each append a realloc to the new length. */
static char *build_string(uint64_t *s, size_t n, uint64_t tag, long *ops) {
  char *p = NULL;
  size_t len = 0;
  while (len < n) {
    size_t piece = rnd_range(s, 4, 24);
    if (piece > n - len) piece = n - len;
    char *q = realloc(p, len + piece);
    if (!q) die("realloc returned NULL");
    p = q;
    for (size_t i = 0; i < piece; i++) p[len + i] = (char)pat(tag, len + i);
    len += piece;
    ++*ops;
  }
  return p;
}

static void fill_string(char *p, size_t n, uint64_t tag) {
  for (size_t i = 0; i < n; i++) p[i] = (char)pat(tag, i);
}

static uint64_t check_string(const char *p, size_t n, uint64_t tag) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)p[i] != pat(tag, i)) die("verify failed: string overwritten");
  return n ? (unsigned char)p[0] + ((uint64_t)(unsigned char)p[n - 1] << 8) : 0;
}

static void build(struct table *t, uint64_t *s, long entries, uint64_t tag, long *ops) {
  t->entries = entries;
  t->tag = tag;
  t->bucket = calloc(BUCKETS, sizeof *t->bucket);
  if (!t->bucket) die("calloc returned NULL");
  ++*ops;
  for (long i = 0; i < entries; i++) { /* each string's pattern: the table's tag and its length */
    struct entry *e = xmalloc(sizeof *e);
    e->key_len = (uint32_t)rnd_range(s, 8, 40);
    e->key = xmalloc(e->key_len);
    fill_string(e->key, e->key_len, tag ^ e->key_len);
    e->value_len = (uint32_t)rnd_log(s, 8, 200);
    if ((splitmix64(s) & 7) == 0) {
      e->value = build_string(s, e->value_len, tag ^ (e->value_len << 8), ops);
    } else {
      e->value = xmalloc(e->value_len);
      fill_string(e->value, e->value_len, tag ^ (e->value_len << 8));
      ++*ops;
    }
    *ops += 2;
    struct entry **b = &t->bucket[hash_of(e->key, e->key_len) % BUCKETS];
    e->next = *b;
    *b = e;
  }
}

static uint64_t lookup_all(const struct table *t) {
  uint64_t sum = 0;
  for (long b = 0; b < BUCKETS; b++)
    for (const struct entry *e = t->bucket[b]; e; e = e->next)
      if (t->bucket[hash_of(e->key, e->key_len) % BUCKETS] != NULL) sum += e->value_len;
  return sum;
}

/* Frees the table bucket by bucket, checking every string first. */
static uint64_t destroy(struct table *t, long *ops) {
  uint64_t sum = 0;
  long seen = 0;
  for (long b = 0; b < BUCKETS; b++) {
    struct entry *e = t->bucket[b];
    while (e) {
      struct entry *next = e->next;
      sum += check_string(e->key, e->key_len, t->tag ^ e->key_len);
      sum += check_string(e->value, e->value_len, t->tag ^ (e->value_len << 8));
      free(e->key);
      free(e->value);
      free(e);
      *ops += 3;
      seen++;
      e = next;
    }
  }
  if (seen != t->entries) die("verify failed: entries lost");
  free(t->bucket);
  ++*ops;
  return sum;
}

static void *work(void *arg) {
  struct bench_worker *w = arg;
  uint64_t s = w->seed, sum = 0, tag = 1;
  long done = 0;
  struct table kept = {.bucket = NULL};
  while (done < w->ops) {
    struct table t;
    long entries = (long)rnd_range(&s, 1000, MAX_ENTRIES);
    build(&t, &s, entries, tag, &done);
    sum += lookup_all(&t);
    tag += (uint64_t)entries + 1;
    if (kept.bucket) sum += destroy(&kept, &done);
    kept.bucket = NULL;
    if ((splitmix64(&s) & 3) == 0)
      kept = t;
    else
      sum += destroy(&t, &done);
  }
  if (kept.bucket) sum += destroy(&kept, &done);
  w->ops = done;
  w->sum = sum;
  return NULL;
}

int main(int argc, char **argv) { return bench_main(argc, argv, "bulk", 6000000, 0x7000u, work); }
