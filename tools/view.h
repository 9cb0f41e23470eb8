/* view.h - what the two files of `hawk view` share: the model of one
 * policy's heap, rebuilt call by call from the library's events
 * (view_model.c), and the number streams it keeps for the page that view.c
 * writes.  Only view.c and view_model.c include it.
 */
#ifndef HAWK_VIEW_H
#define HAWK_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "hawk.h"

/* --- a hash map from address to block ------------------------------------ */

struct blk {
  uint64_t key; /* 0: empty */
  uint64_t size, req;
  uint8_t state;
};

struct bmap {
  struct blk *t;
  size_t cap, n;
  uint64_t count, digest; /* as hawk_walk's digest (record.c) */
};

/* --- growing byte buffers and the page's number streams ------------------- */

struct buf {
  unsigned char *p;
  size_t len, cap;
};

/* --- one policy's heap, rebuilt from its events -------------------------- */

/* The page's calls come in chunks of view_chunk calls, each decoded on its
 * own when the page needs it: the state after the chunk's first call - 1
 * (a keyframe), then the calls' changes and events.  Drawing a call replays
 * at most view_chunk calls.  VIEW_CHUNK calls a chunk, doubled (chunk_for)
 * until the keyframes hold at most VIEW_KEYFRAME_BLOCKS blocks a policy:
 * a keyframe copies every block, so with a fixed length their time and
 * memory grew as calls times live blocks (a 1 MiB trace of mallocs took
 * 12.8 s and 478 MB).  The page reads the length (HAWK.chunk). */
#define VIEW_CHUNK           2048
#define VIEW_KEYFRAME_BLOCKS ((uint64_t)1 << 24)
extern size_t view_chunk; /* view_model.c; set by view.c (chunk_for) */
#define VIEW_LISTS 128    /* the segregated policy's classes; the others use list 0 */

enum { ST_FREE = 0, ST_ALLOC = 1, ST_CACHED = 2, ST_LARGE = 3, ST_NONE = 4 };

/* Explanation events the page reads (the library's kinds, and these). */
enum { EV_CACHE_HIT = 20, EV_CACHE_PUT = 21, EV_EXAMINED_TOTAL = 22 };
/* And those of a page of payloads only (hawk grade --view). */
enum { EV_PAYLOAD_PLACED = 23, EV_PAYLOAD_FREED = 24, EV_HEAP_GREW = 25 };

struct region {
  uint64_t base, size, high; /* high: the highest block end ever allocated */
  int large, live;
};

struct model {
  struct bmap blocks;
  struct region *regions;
  size_t nregions, capregions;
  uint64_t footprint, nfree, freebytes, inuse;
  struct buf out;     /* the page's stream */
  struct buf changes; /* of the current call */
  size_t nchanges;
  struct buf events;
  size_t nevents;
  uint64_t last_change, last_event; /* put_addr's previous address, per stream */
  uint64_t last_result;
  int rover;         /* next fit: its rover goes with the list events */
  uint64_t *touched; /* blocks allocated during the current call */
  size_t ntouched, captouched;
  /* The free lists as the events tell them, for the keyframes: a map from
   * a listed block to its neighbours (blk.size: the next, blk.req: the
   * previous, blk.state: its list), and each list's head. */
  struct bmap lists;
  uint64_t heads[VIEW_LISTS];
  uint64_t rover_at; /* next fit's rover (an address) */
  int grew;          /* the current call mapped an arena or a mapping */
  /* Per call 0..nops: where its record starts in out, the figures after it,
   * and the block it handed out; the calls that grew the heap. */
  size_t nops, *op_off;
  uint64_t *s_foot, *s_nfree, *s_inuse, *result;
  uint64_t *grows;
  size_t ngrows;
  /* The keyframes: the whole state after call c * view_chunk, in kf from
   * kf_off[c] to kf_off[c + 1]. */
  struct buf kf;
  size_t *kf_off, nkf;
};

struct policy_run {
  const char *policy;
  char label[64];
  struct model m;
  int64_t peak_op;
  uint64_t peak_live;
};

/* The block at address key, or NULL. */
struct blk *bmap_get(const struct bmap *m, uint64_t key);

/* A byte, an unsigned number as a varint (7 bits a byte, low first), and a
 * signed difference zigzag-coded (0, -1, 1, -2 ... as 0, 1, 2, 3 ...). */
void buf_byte(struct buf *b, unsigned char c);
void put_u(struct buf *b, uint64_t v);
static inline uint64_t zigzag(int64_t d) { return (uint64_t)d << 1 ^ (uint64_t)(d >> 63); }

/* A region (an arena or a large mapping) of the model, made if new; its
 * index. */
int region_add(struct model *m, uint64_t base, uint64_t size, int large);
/* An address as the page writes it: region * 2^32 + offset, plus one (0 is
 * "none"). */
uint64_t norm(struct model *m, uint64_t addr);
/* Sets the block at addr (size 0: removes it), recording the change. */
void set_block(struct model *m, uint64_t addr, uint64_t size, int state, uint64_t req);
/* Records an event: its kind, then one value per letter of fields, 'a' an
 * address (norm), 'u' a number. */
void ev(struct model *m, int kind, const char *fields, ...);
/* Ends call j (0: the start): its record and the figures after it. */
void call_record(struct model *m, size_t j, uint64_t result);
/* A chunk starts after the call just recorded: its keyframe. */
void chunk_start(struct model *m);
/* Rebuilds p's heap at every call of t from the worker's records in path
 * (walk_at: print hawk_walk's blocks after that call; check: compare with
 * hawk_walk at every call).  0, or 1 after printing why. */
int rebuild(struct policy_run *p, const struct optrace *t, const char *path, uint64_t walk_at,
            int check);
void model_free(struct model *m);

#endif /* HAWK_VIEW_H */
