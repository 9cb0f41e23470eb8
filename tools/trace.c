/* trace.c - reads a HawkAlloc trace (docs/trace-format.md) into ops.
 *
 * The records are ordered by seq (a stable merge sort: records that tie keep
 * their order in the file), then each pointer is mapped to the slot of the
 * block it names:
 *
 *   malloc, calloc, aligned   a new slot (a call that returned 0 is skipped)
 *   free p                    p's slot; a p never seen allocated (allocated
 *                             before tracing began, or not recorded) is skipped
 *   realloc old -> new        old's slot, now named by new; an old never seen
 *                             is replayed as a malloc; a failed realloc (new 0)
 *                             is skipped
 *
 * An allocation that returns a pointer which is still live in the trace means
 * its free was not recorded before it: the old block ends there (counted as
 * "repaired").
 *
 * Version 2 records carry a heap id (0 the default heap, 16 and up a heap
 * made with hawk_heap_create).  A replay puts every heap's blocks in the
 * default heap; a heap's destroy (op 7) frees the blocks of that heap still
 * live, its create (op 6) names no block.  Version 1 has no heap id (every
 * block is the default heap's).  Nothing here uses malloc. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "hawk.h"

#define HEADER_MIN      32
#define RECORD_MIN      40
#define RECORD_V2       48 /* version 2: the heap id at offset 40 */
#define CHUNK_HEADER    32 /* version 3 */
#define OP_HEAP_CREATE  6
#define OP_HEAP_DESTROY 7

static uint64_t le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* --- ordering by seq -------------------------------------------------------- */

struct key {
  uint64_t seq;
  uint64_t index; /* record number in the file */
};

/* Bottom-up merge sort of a[0..n) by seq, stable, with scratch space tmp. */
static struct key *sort_keys(struct key *a, struct key *tmp, size_t n) {
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = a[j].seq < a[i].seq ? a[j++] : a[i++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    struct key *swap = a;
    a = tmp;
    tmp = swap;
  }
  return a;
}

/* --- pointer -> slot, open addressing with linear probing ------------------- */

/* The hash is keyed by a random number of this process: a file cannot be
 * crafted so that its pointers share a home and every lookup walks all of
 * them (a fixed multiplicative hash let 160,000 records take 17 s). */
static uint64_t hash_key;

static void hash_key_init(void) {
  uint64_t k = 0;
  if (hash_key) return;
  if (getrandom(&k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    k = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uint64_t)getpid() << 16 ^
        (uint64_t)(uintptr_t)&k;
  }
  hash_key = k | 1;
}

struct entry {
  uint64_t ptr; /* 0: empty */
  uint32_t slot;
};

struct ptrmap {
  struct entry *e;
  size_t mask;
  size_t bytes;
};

/* The key, then splitmix64's finalizer: every bit of p and of the key moves
 * every bit of the home. */
static size_t ptr_hash(uint64_t p) {
  uint64_t x = p ^ hash_key;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return (size_t)(x ^ x >> 31);
}

static struct entry *ptrmap_find(const struct ptrmap *m, uint64_t p) {
  for (size_t i = ptr_hash(p) & m->mask;; i = (i + 1) & m->mask) {
    if (m->e[i].ptr == p) return &m->e[i];
    if (m->e[i].ptr == 0) return NULL;
  }
}

static void ptrmap_put(struct ptrmap *m, uint64_t p, uint32_t slot) {
  size_t i = ptr_hash(p) & m->mask;
  while (m->e[i].ptr != 0 && m->e[i].ptr != p) i = (i + 1) & m->mask;
  m->e[i].ptr = p;
  m->e[i].slot = slot;
}

/* Removes an entry, shifting the ones after it back (no tombstones). */
static void ptrmap_remove(struct ptrmap *m, struct entry *gone) {
  size_t i = (size_t)(gone - m->e);
  for (size_t j = (i + 1) & m->mask; m->e[j].ptr != 0; j = (j + 1) & m->mask) {
    size_t home = ptr_hash(m->e[j].ptr) & m->mask;
    /* Entry j may move to i if its home is not in the cyclic range (i, j]. */
    int in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (!in_range) {
      m->e[i] = m->e[j];
      i = j;
    }
  }
  m->e[i].ptr = 0;
}

/* --- the live blocks of each heap ------------------------------------------- */

/* Per slot: its pointer now, its heap and its neighbours in that heap's list
 * of live slots; per heap (a ptrmap keyed by id + 1): the list's head. */
struct heaps {
  uint64_t *ptr;
  uint32_t *heap, *next, *prev;
  struct ptrmap head;
  size_t bytes;
};

static void heaps_unlink(struct heaps *hs, uint32_t slot) {
  uint32_t n = hs->next[slot], p = hs->prev[slot];
  if (p != SLOT_NULL)
    hs->next[p] = n;
  else if (n != SLOT_NULL)
    ptrmap_put(&hs->head, (uint64_t)hs->heap[slot] + 1, n);
  else {
    struct entry *e = ptrmap_find(&hs->head, (uint64_t)hs->heap[slot] + 1);
    if (e) ptrmap_remove(&hs->head, e);
  }
  if (n != SLOT_NULL) hs->prev[n] = p;
}

static void heaps_link(struct heaps *hs, uint32_t slot, uint64_t ptr, uint32_t heap) {
  struct entry *e = ptrmap_find(&hs->head, (uint64_t)heap + 1);
  hs->ptr[slot] = ptr;
  hs->heap[slot] = heap;
  hs->prev[slot] = SLOT_NULL;
  hs->next[slot] = e ? e->slot : SLOT_NULL;
  if (e) hs->prev[e->slot] = slot;
  ptrmap_put(&hs->head, (uint64_t)heap + 1, slot);
}

/* --- version 3: chunks of variable-length records ------------------------- */

/* Reads a varint at *p (before end) into *v; 0, or -1 when it runs past end,
 * is longer than 10 bytes or holds more than 64 bits. */
static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
  uint64_t x = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*p >= end) return -1;
    unsigned char c = *(*p)++;
    if (shift == 63 && c > 1) return -1;
    x |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* A pointer delta's varint value back to the delta (the writer's ptr_code
 * in src/trace.c, undone). */
static uint64_t ptr_decode(uint64_t u) {
  uint64_t x = u >> 1 ^ (0 - (u & 1));
  uint64_t hi = (uint64_t)((int64_t)(x << 4) >> 4);
  return hi << 4 | (x ^ hi) >> 60;
}

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> 8 * i);
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> 8 * i);
}

/* Decodes the chunks of a version 3 trace's body (data, len bytes, starting
 * at byte `at` of the file) into version 2 records of 48 bytes at out, or
 * only checks them when out is NULL.  The number of records, or -1 with the
 * first problem in err: a trace that does not decode exactly is refused. */
static int64_t v3_decode(const unsigned char *data, size_t len, size_t at, unsigned char *out,
                         char *err, size_t errlen) {
  size_t off = 0;
  int64_t n = 0;
  while (off < len) {
    size_t where = at + off;
    if (len - off < CHUNK_HEADER) {
      snprintf(err, errlen,
               "HawkAlloc trace cut short: %zu bytes at byte %zu, less than a chunk header",
               len - off, where);
      return -1;
    }
    const unsigned char *c = data + off;
    uint32_t bytes = le32(c + 4), count = le32(c + 8), thread = le32(c + 12), skip = le32(c + 16);
    uint64_t seq = le64(c + 24), prev = 0;
    if (memcmp(c, "HTC3", 4) != 0) {
      snprintf(err, errlen, "HawkAlloc trace damaged: no chunk header at byte %zu", where);
      return -1;
    }
    if (bytes > len - off - CHUNK_HEADER) {
      snprintf(err, errlen,
               "HawkAlloc trace cut short: the chunk at byte %zu claims %u bytes, %zu are left",
               where, bytes, len - off - CHUNK_HEADER);
      return -1;
    }
    if (count == 0 || count > bytes || thread == 0 || skip >= count || le32(c + 20) != 0) {
      snprintf(err, errlen,
               "HawkAlloc trace damaged: the chunk at byte %zu claims %u records in %u bytes "
               "of thread %u, %u of them written before",
               where, count, bytes, thread, skip);
      return -1;
    }
    const unsigned char *p = c + CHUNK_HEADER, *end = p + bytes;
    for (uint32_t i = 0; i < count; i++) {
      size_t rec_at = at + (size_t)(p - data);
      if (p >= end) {
        snprintf(err, errlen,
                 "HawkAlloc trace damaged: the chunk at byte %zu ends after %u of its %u records",
                 where, i, count);
        return -1;
      }
      unsigned flags = *p++, op = flags & 7;
      uint64_t dseq = 1, dres = 0, size = 0, aux = 0, heap = 0;
      if (op == 0 || ((flags & 0x08) && get_varint(&p, end, &dseq) != 0) ||
          ((flags & 0x10) && get_varint(&p, end, &dres) != 0) ||
          ((flags & 0x20) && get_varint(&p, end, &size) != 0) ||
          ((flags & 0x40) && get_varint(&p, end, &aux) != 0) ||
          ((flags & 0x80) && get_varint(&p, end, &heap) != 0)) {
        snprintf(err, errlen, "HawkAlloc trace damaged: %s in the record at byte %zu",
                 op == 0 ? "op 0" : "a bad or cut number", rec_at);
        return -1;
      }
      if (dseq == 0 || seq + dseq < seq || heap > UINT32_MAX) {
        snprintf(err, errlen, "HawkAlloc trace damaged: %s in the record at byte %zu",
                 heap > UINT32_MAX ? "a heap id out of range" : "a seq that does not increase",
                 rec_at);
        return -1;
      }
      seq += dseq;
      prev += ptr_decode(dres);
      if ((flags & 0x40) && op == OP_REALLOC) aux = ptr_decode(aux) + prev;
      if (i < skip) continue; /* in the file already, in an earlier chunk */
      if (out) {
        unsigned char *r = out + (size_t)n * RECORD_V2;
        memset(r, 0, RECORD_V2);
        put64(r, seq);
        put32(r + 8, thread);
        r[12] = (unsigned char)op;
        put64(r + 16, prev);
        put64(r + 24, size);
        put64(r + 32, aux);
        put32(r + 40, (uint32_t)(heap >> 1) ^ (0 - (uint32_t)(heap & 1)));
      }
      n++;
    }
    if (p != end) {
      snprintf(err, errlen,
               "HawkAlloc trace damaged: the chunk at byte %zu has %zu bytes after its %u records",
               where, (size_t)(end - p), count);
      return -1;
    }
    off += CHUNK_HEADER + (size_t)bytes;
  }
  return n;
}

/* --- the conversion ---------------------------------------------------------- */

/* The records of versions 1 and 2, fixed-size, after the header. */
static int fixed_parse(const unsigned char *data, size_t len, uint32_t version, uint32_t header,
                       uint32_t record, struct optrace *t, char *err, size_t errlen);

/* Version 3: the chunks decoded (and checked) into version 2 records, which
 * are then read as version 2's. */
static int v3_parse(const unsigned char *data, size_t len, uint32_t header, struct optrace *t,
                    char *err, size_t errlen) {
  int64_t n = v3_decode(data + header, len - header, header, NULL, err, errlen);
  if (n < 0) return -1;
  size_t bytes = (size_t)(n ? n : 1) * RECORD_V2;
  unsigned char *image = mm_alloc(bytes);
  if (image == NULL) {
    snprintf(err, errlen, "out of memory for %lld trace records", (long long)n);
    return -1;
  }
  v3_decode(data + header, len - header, header, image, err, errlen);
  int rc = fixed_parse(image, (size_t)n * RECORD_V2, 2, 0, RECORD_V2, t, err, errlen);
  mm_free(image, bytes);
  return rc;
}

int hawk_trace_parse(const unsigned char *data, size_t len, struct optrace *t, char *err,
                     size_t errlen) {
  if (len < 8 || memcmp(data, HAWK_TRACE_MAGIC, 8) != 0) {
    snprintf(err, errlen, "not a HawkAlloc trace (no HAWKTRC header)");
    return -1;
  }
  if (len < HEADER_MIN) {
    snprintf(err, errlen, "HawkAlloc trace cut short: %zu bytes, less than its header", len);
    return -1;
  }
  uint32_t version = le32(data + 8), header = le32(data + 12), record = le32(data + 16);
  hash_key_init();
  if (version == 3 && record == 0 && header >= HEADER_MIN && header <= len)
    return v3_parse(data, len, header, t, err, errlen);
  if (version < 1 || version > 2 || header < HEADER_MIN || record < RECORD_MIN || header > len) {
    snprintf(err, errlen,
             "HawkAlloc trace: unsupported header (version %u, header %u bytes, "
             "records %u bytes)",
             version, header, record);
    return -1;
  }
  return fixed_parse(data, len, version, header, record, t, err, errlen);
}

static int fixed_parse(const unsigned char *data, size_t len, uint32_t version, uint32_t header,
                       uint32_t record, struct optrace *t, char *err, size_t errlen) {
  size_t n = (len - header) / record;
  if ((len - header) % record) t->skipped++; /* a record cut short at the end */
  int has_heap = version >= 2 && record >= RECORD_V2;
  t->format = "hawk";
  t->where = "record";

  struct key *keys = mm_alloc((n ? n : 1) * sizeof *keys);
  struct key *tmp = mm_alloc((n ? n : 1) * sizeof *tmp);
  struct ptrmap map = {NULL, 0, 0};
  size_t cap = 16;
  while (cap < 2 * n + 16) cap *= 2;
  map.bytes = cap * sizeof(struct entry);
  map.e = mm_alloc(map.bytes);
  map.mask = cap - 1;
  /* At most two ops per record: a repaired free and the record's own op. */
  /* (Each block is freed once at most, by a free, a repair or its heap's
   * destroy, so the bound holds with destroys too.) */
  t->ops_bytes = (2 * n + 1) * sizeof(struct op);
  t->ops = mm_alloc(t->ops_bytes);
  struct heaps hs = {.head = {NULL, cap - 1, cap * sizeof(struct entry)}};
  hs.bytes = (n ? n : 1) * (sizeof *hs.ptr + 3 * sizeof *hs.heap);
  unsigned char *hmem = mm_alloc(hs.bytes);
  hs.head.e = mm_alloc(hs.head.bytes);
  if (!keys || !tmp || !map.e || !t->ops || !hmem || !hs.head.e) {
    snprintf(err, errlen, "out of memory for %zu trace records", n);
    mm_free(keys, n * sizeof *keys);
    mm_free(tmp, n * sizeof *tmp);
    mm_free(map.e, map.bytes);
    mm_free(hmem, hs.bytes);
    mm_free(hs.head.e, hs.head.bytes);
    return -1;
  }
  hs.ptr = (uint64_t *)hmem;
  hs.heap = (uint32_t *)(hs.ptr + (n ? n : 1));
  hs.next = hs.heap + (n ? n : 1);
  hs.prev = hs.next + (n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    keys[i].seq = le64(data + header + i * record);
    keys[i].index = i;
  }
  struct key *order = sort_keys(keys, tmp, n);

  size_t nops = 0;
  uint32_t slots = 0;
  int rc = 0;
  for (size_t k = 0; k < n; k++) {
    const unsigned char *r = data + header + order[k].index * record;
    unsigned kind = r[12];
    uint64_t result = le64(r + 16), size = le64(r + 24), aux = le64(r + 32);
    uint32_t heap = has_heap ? le32(r + 40) : 0;
    struct op o = {.kind = (uint8_t)kind, .size = size, .where = order[k].index + 1};
    struct entry *e;
    switch (kind) {
    case OP_HEAP_CREATE:
      continue; /* names no block */
    case OP_HEAP_DESTROY:
      /* Every block of the heap still live is freed here. */
      while ((e = ptrmap_find(&hs.head, (uint64_t)heap + 1)) != NULL) {
        uint32_t slot = e->slot;
        t->ops[nops++] = (struct op){.kind = OP_FREE, .slot = slot, .where = o.where};
        heaps_unlink(&hs, slot);
        struct entry *live = ptrmap_find(&map, hs.ptr[slot]);
        if (live) ptrmap_remove(&map, live);
      }
      continue;
    case OP_MALLOC:
    case OP_CALLOC:
    case OP_ALIGNED:
      if (result == 0) {
        t->skipped++;
        continue;
      }
      if (kind == OP_ALIGNED) {
        if (aux == 0 || (aux & (aux - 1)) != 0 || aux > OP_ALIGN_MAX) {
          snprintf(err, errlen,
                   "record %llu: an aligned allocation (op 5) asks for alignment %llu, which is "
                   "not a power of two from 1 to 2^47 (the most any address below 2^48 has)",
                   (unsigned long long)o.where, (unsigned long long)aux);
          rc = -1;
          goto done;
        }
        o.align = aux;
      }
      o.slot = slots++;
      break;
    case OP_FREE:
      e = result ? ptrmap_find(&map, result) : NULL;
      if (!e) {
        t->skipped++;
        continue;
      }
      o.slot = e->slot;
      o.size = 0;
      heaps_unlink(&hs, e->slot);
      ptrmap_remove(&map, e);
      t->ops[nops++] = o;
      continue;
    case OP_REALLOC:
      if (result == 0) {
        t->skipped++;
        continue;
      }
      e = aux ? ptrmap_find(&map, aux) : NULL;
      if (e) {
        o.slot = e->slot;
        heaps_unlink(&hs, e->slot);
        ptrmap_remove(&map, e);
      } else {
        o.kind = OP_MALLOC;
        o.slot = slots++;
      }
      break;
    default:
      t->skipped++;
      continue;
    }
    /* o allocates (or moves) a block that result now names. */
    e = ptrmap_find(&map, result);
    if (e) { /* still live: its free was not recorded before this */
      t->ops[nops++] = (struct op){.kind = OP_FREE, .slot = e->slot, .where = o.where};
      t->repaired++;
      heaps_unlink(&hs, e->slot);
      ptrmap_remove(&map, e);
    }
    ptrmap_put(&map, result, o.slot);
    heaps_link(&hs, o.slot, result, heap);
    t->ops[nops++] = o;
  }
done:
  mm_free(keys, n * sizeof *keys);
  mm_free(tmp, n * sizeof *tmp);
  mm_free(map.e, map.bytes);
  mm_free(hmem, hs.bytes);
  mm_free(hs.head.e, hs.head.bytes);
  t->nops = nops;
  t->nslots = slots;
  return rc;
}
