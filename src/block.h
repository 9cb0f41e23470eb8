/* block.h - the block: a header, a payload, and (when free) links and a footer.
 *
 * A block as it lies in an arena (addresses grow downwards):
 *
 *     block -->  +-------------------------------------------------+
 *                | header (8 bytes)                                 |
 *                |   bits  0..3   flags: ALLOC, PREV_ALLOC, LARGE   |
 *                |   bits  4..47  size of the whole block in bytes  |
 *                |   bits 48..63  check tag (keyed hash, see below) |
 *   payload -->  +-------------------------------------------------+  <- 16-byte aligned
 *                | allocated: the user's bytes                      |
 *                | free:      next, prev (free-list links)          |
 *                |            stamp (blocks of DECAY_BLOCK_MIN or   |
 *                |            more, when the decay runs: decay.h)   |
 *                |            ...                                   |
 *                |            footer (8 bytes): a copy of the header |
 *   next ----->  +-------------------------------------------------+
 *
 * Invariants (checked by hawk_check):
 *  - a block's size is a multiple of 16 and at least BLOCK_MIN; its payload
 *    is 16-byte aligned (block addresses are 8 modulo 16);
 *  - a free block's footer equals its header (the boundary tag that lets
 *    the next block find it when coalescing backwards);
 *  - PREV_ALLOC is set exactly when the block before is allocated;
 *  - no two neighbouring blocks are both free;
 *  - the check tag matches the header's address, size and flags, so an
 *    overflow into a header or a pointer that is not a block start is caught.
 *
 * Only these inline accessors read or write a header.
 */
#ifndef HAWK_BLOCK_H
#define HAWK_BLOCK_H

#include "config.h"

typedef struct block block; /* never defined: a block is reached through accessors */

#define BLOCK_ALLOC      ((uint64_t)1) /* the block is handed out */
#define BLOCK_PREV_ALLOC ((uint64_t)2) /* the block before it is not free */
#define BLOCK_LARGE      ((uint64_t)4) /* the block lives in its own mapping */
#define BLOCK_FLAGS      ((uint64_t)15)
#define BLOCK_SIZE_MASK  ((((uint64_t)1 << 48) - 1) & ~BLOCK_FLAGS)
#define BLOCK_HEADER     ((size_t)8)
/* Header, two links and a footer. */
#define BLOCK_MIN ((size_t)32)

/* The key of the check tags, drawn from the kernel at start-up: an odd
 * multiplier S; and the multiplier that writes a tag, (-S^-1 mod 2^16) << 48
 * (block_tag). */
HAWK_INTERNAL extern uint64_t block_secret;
HAWK_INTERNAL extern uint64_t block_tag_mul;

/* Draws the three keys of the format (block_secret, link_secret,
 * tcache_key) from the kernel; once, at start-up, before the first block. */
HAWK_INTERNAL void block_keys_init(void);

/* The links of a free block, kept in its payload. */
struct free_links {
  block *next;
  block *prev;
};

static inline uint64_t *block_word(const block *b) { return (uint64_t *)b; }

/* Header writes are relaxed atomic stores (plain stores on common machines)
 * because the thread cache reads headers without the heap lock. */
static inline void block_store(block *b, uint64_t w) {
  __atomic_store_n(block_word(b), w, __ATOMIC_RELAXED);
}

/* The header word as read without the heap lock. */
static inline uint64_t block_load(const block *b) {
  return __atomic_load_n(block_word(b), __ATOMIC_RELAXED);
}

/* The keyed product a header word w at address b is checked with: a
 * header is sound when its top 16 bits are zero.  The top 16 bits of a
 * product with a secret odd number depend on every bit of the address,
 * size and flags (all below bit 48), and cannot be computed without it.
 * The address is the payload's (b + 8), the pointer free is handed: free's
 * fast path then XORs the header word into it with no copy of b. */
static inline uint64_t block_tag_hash(const block *b, uint64_t w) {
  return (((uintptr_t)b + BLOCK_HEADER) ^ w) * block_secret;
}

/* The 16-bit tag (in bits 48..63) that a header at address b with this
 * size and flags must carry: the t that makes the top 16 bits of
 * block_tag_hash(b, size_flags | t << 48) zero.  With h those bits of
 * block_tag_hash(b, size_flags), they are h + t * S (mod 2^16), so
 * t = -h * S^-1: one more multiplication when a header is written, and a
 * check of a header is a multiplication and a test of 16 bits. */
static inline uint64_t block_tag(const block *b, uint64_t size_flags) {
  if (!HAWK_CHECKS) return 0;
  return (block_tag_hash(b, size_flags) >> 48) * block_tag_mul;
}

static inline uint64_t block_make_word(const block *b, size_t size, uint64_t flags) {
  uint64_t sf = (uint64_t)size | flags;
  return sf | block_tag(b, sf);
}

static inline size_t block_size(const block *b) { return *block_word(b) & BLOCK_SIZE_MASK; }
static inline int block_is_alloc(const block *b) { return (*block_word(b) & BLOCK_ALLOC) != 0; }
static inline int block_is_large(const block *b) { return (*block_word(b) & BLOCK_LARGE) != 0; }
static inline int block_prev_alloc(const block *b) {
  return (*block_word(b) & BLOCK_PREV_ALLOC) != 0;
}
static inline uint64_t block_flags(const block *b) { return *block_word(b) & BLOCK_FLAGS; }

/* Whether header word w has the right tag for a header at b. */
static inline int block_word_ok(const block *b, uint64_t w) {
  if (!HAWK_CHECKS) return 1;
  return (block_tag_hash(b, w) >> 48) == 0;
}

/* Whether header word w, read at b without the lock, is the header of an
 * allocated arena block of BLOCK_MIN to max bytes: not large, and a tag
 * that matches b (so w is a header the library wrote there).  The one test
 * of a header read before any lock is taken (free, realloc, the remote
 * lists). */
static inline __attribute__((always_inline)) int block_word_alloc_ok(const block *b, uint64_t w,
                                                                     size_t max) {
  size_t size = w & BLOCK_SIZE_MASK;
  return (w & (BLOCK_ALLOC | BLOCK_LARGE)) == BLOCK_ALLOC && size <= max && size >= BLOCK_MIN &&
         block_word_ok(b, w);
}

/* Free's fast test of header word w, in one comparison: the word's low 32
 * bits with ALLOC inverted and PREV_ALLOC (and the spare flag) dropped, and
 * the two other flags rotated into the top bits, is the block's size / 8
 * exactly when ALLOC is set and LARGE clear, and far above any size
 * otherwise.  So block_word_size8(w) <= max / 8 says "allocated, not
 * large, at most max bytes", and gives the size (times 8) at once.  The
 * tag is tested apart (block_word_ok), on the whole word: it vouches for
 * the bits left out here, the tag itself and the size's bits 32 to 47
 * (zero in any header of an arena, whose blocks are under 4 MiB).  A size
 * below BLOCK_MIN is not refused here: the thread cache's lists of 0- and
 * 16-byte blocks hold nothing (their limits are 0), so such a header goes
 * on to the full test of block_word_alloc_ok.  A 32-bit rotation, which
 * leaves the tag out by itself (a 64-bit one took a shift to drop it
 * first), and a 32-bit mask: no 64-bit constant. */
static inline uint64_t block_word_size8(uint64_t w) {
  uint32_t d = ((uint32_t)w ^ (uint32_t)BLOCK_ALLOC) & ~(uint32_t)(BLOCK_PREV_ALLOC | 8);
  return (uint32_t)((d >> 3) | (d << 29));
}

/* Whether the header's tag matches its address, size and flags. */
static inline int block_header_ok(const block *b) { return block_word_ok(b, *block_word(b)); }

static inline void *block_payload(const block *b) { return (char *)b + BLOCK_HEADER; }
static inline block *block_of_payload(const void *p) { return (block *)((char *)p - BLOCK_HEADER); }
static inline block *block_next(const block *b) { return (block *)((char *)b + block_size(b)); }
static inline uint64_t *block_footer(const block *b) {
  return (uint64_t *)((char *)b + block_size(b) - sizeof(uint64_t));
}
static inline size_t block_usable(const block *b) { return block_size(b) - BLOCK_HEADER; }

/* The footer of the block before b (meaningful only when it is free). */
static inline uint64_t block_prev_footer(const block *b) { return *((const uint64_t *)b - 1); }

/* The block before b, found through its footer; only when it is free. */
static inline block *block_prev(const block *b) {
  return (block *)((char *)b - (block_prev_footer(b) & BLOCK_SIZE_MASK));
}

static inline struct free_links *block_links(const block *b) {
  return (struct free_links *)block_payload(b);
}

/* The key free-list links are mangled with (XOR), drawn at start-up: a
 * write after free that lands on a link does not give a usable pointer,
 * and the safe-unlink checks see garbage instead. */
HAWK_INTERNAL extern uintptr_t link_secret;

/* The key a free block's links are stored with (0 without the checks). */
static inline uintptr_t link_key(void) { return HAWK_CHECKS ? link_secret : 0; }
static inline block *link_decode(const block *stored) {
  return (block *)((uintptr_t)stored ^ link_key());
}
static inline block *link_encode(const block *p) { return (block *)((uintptr_t)p ^ link_key()); }

/* The free-list neighbours of a free block. */
static inline block *free_next(const block *b) { return link_decode(block_links(b)->next); }
static inline block *free_prev(const block *b) { return link_decode(block_links(b)->prev); }
static inline void free_set_next(block *b, const block *n) {
  block_links(b)->next = link_encode(n);
}
static inline void free_set_prev(block *b, const block *p) {
  block_links(b)->prev = link_encode(p);
}

/* The decay's stamp of a free block of DECAY_BLOCK_MIN bytes or more: the
 * epoch it became free in, or DECAY_CLEAN (decay.h).  It is the payload's
 * third word, inside the block's first BLOCK_MIN bytes, which a purge
 * never gives back. */
static inline uint64_t free_stamp(const block *b) {
  return ((const uint64_t *)block_payload(b))[2];
}
static inline void free_set_stamp(block *b, uint64_t stamp) {
  ((uint64_t *)block_payload(b))[2] = stamp;
}

/* Writes an allocated block's header. */
static inline void block_set_alloc(block *b, size_t size, uint64_t flags) {
  block_store(b, block_make_word(b, size, flags | BLOCK_ALLOC));
}

/* Writes a free block's header and footer. */
static inline void block_set_free(block *b, size_t size, uint64_t flags) {
  uint64_t w = block_make_word(b, size, flags & ~BLOCK_ALLOC);
  block_store(b, w);
  *(uint64_t *)((char *)b + size - sizeof(uint64_t)) = w;
}

/* Sets or clears PREV_ALLOC, keeping the footer of a free block in step. */
static inline void block_set_prev_alloc(block *b, int prev_alloc) {
  uint64_t flags = block_flags(b) & ~BLOCK_PREV_ALLOC;
  if (prev_alloc) flags |= BLOCK_PREV_ALLOC;
  if (flags & BLOCK_ALLOC)
    block_set_alloc(b, block_size(b), flags);
  else
    block_set_free(b, block_size(b), flags);
}

/* --- the cache mark -----------------------------------------------------
 *
 * A block freed into a thread cache (tcache.h) stays allocated in the
 * heap's eyes; its payload carries a mark that says "freed, in a cache
 * list": the key below with the list's block size in its low 12 bits.  The
 * mark is not stored as it is: the second word holds it XOR the first (the
 * block's mangled link) XOR the payload's address (tcache_mark_of), so the
 * mark also vouches for the link and for where the two words lie.  A write
 * over either word, or both words copied from another cached block, leaves
 * no mark; the pop then follows the link on the mark alone, with no lookup
 * of where it leads (tcache.h).  The heap, the walker and free read it to
 * tell a cached block from one in use. */
_Static_assert(TCACHE_MAX_BLOCK < 4096, "a cache mark keeps the size in the key's low 12 bits");

/* The value marking a cached block; random, drawn at start-up. */
HAWK_INTERNAL extern uint64_t tcache_key;

/* The mark a cached block of a list of size-byte blocks carries in its
 * second word: the key with the list's size folded into its low bits, so
 * one comparison shows both that the library cached the block (the key is
 * secret, 64 random bits) and that it sits in the list it was put in. */
static inline uint64_t tcache_mark_with(uint64_t key, size_t size) { return key ^ (uint64_t)size; }
static inline uint64_t tcache_mark(size_t size) { return tcache_mark_with(tcache_key, size); }

/* What the mark of a cached block at p is stored XOR with: its first word
 * (its mangled link) and its address. */
static inline uint64_t tcache_mark_binding(const void *p) {
  return ((const uint64_t *)p)[0] ^ (uint64_t)(uintptr_t)p;
}

/* The mark the two first payload words at p carry.  A cached block's is
 * tcache_mark of its list's size. */
static inline uint64_t tcache_mark_of(const void *p) {
  return ((const uint64_t *)p)[1] ^ tcache_mark_binding(p);
}

/* Mark bound to the address p: what a cached block at p stores XOR its
 * first word (tcache_mark_of's terms grouped so that free computes it once,
 * for its test and its push: tcache.h, tcache_free). */
static inline uint64_t tcache_mark_at(const void *p, uint64_t mark) {
  return mark ^ (uint64_t)(uintptr_t)p;
}

/* Stores mark at (tcache_mark_at) in cached block p whose first word is
 * link, its mangled link: the one place the binding is written. */
static inline void tcache_mark_store(void *p, const void *link, uint64_t at) {
  ((uint64_t *)p)[1] = (uint64_t)(uintptr_t)link ^ at;
}

/* Whether the two first payload words at p carry mark at (tcache_mark_at):
 * tcache_mark_of's test with the address already folded in. */
static inline int tcache_mark_is_at(const void *p, uint64_t at) {
  const uint64_t *w = p;
  return (w[1] ^ w[0]) == at;
}

/* Marks cached block p with mark (its link already in its first word). */
static inline void tcache_mark_set(void *p, uint64_t mark) {
  tcache_mark_store(p, *(void **)p, tcache_mark_at(p, mark));
}

/* Sets the link of cached block p to next, keeping its mark (stored anew
 * with the new link).  Every rewrite of a cached block's link goes through
 * here. */
static inline void tcache_relink(void *p, void *next) {
  uint64_t mark = HAWK_CHECKS ? tcache_mark_of(p) : 0;
  *(void **)p = link_encode(next);
  if (HAWK_CHECKS) tcache_mark_set(p, mark);
}

/* Whether the payload at p carries a "freed, in a cache" mark, of any
 * list (tcache_mark: the key with a size below 4096 in its low bits). */
static inline int tcache_marked(const void *p) {
  return HAWK_CHECKS && ((tcache_mark_of(p) ^ tcache_key) >> 12) == 0;
}

/* The block size that serves a request of n payload bytes (n is bounded by
 * the caller, so this cannot wrap). */
static inline size_t block_size_for(size_t n) {
  size_t s = align_up(n + BLOCK_HEADER, HAWK_ALIGN);
  return s < BLOCK_MIN ? BLOCK_MIN : s;
}

#endif /* HAWK_BLOCK_H */
