/* block.c - the keys of the block format (block.h): the check tags' key,
 * the free-list links' key and the cache mark's key. */
#include "block.h"

#include "os.h"

uint64_t block_secret;
uint64_t block_tag_mul;
uintptr_t link_secret;
uint64_t tcache_key;

void block_keys_init(void) {
  uint64_t secret;
  if (os_random(&secret, sizeof secret) != 0)
    secret = (uintptr_t)&secret * 0x9e3779b97f4a7c15ull ^ (uintptr_t)&block_keys_init;
  block_secret = secret | 1;
  /* S^-1 mod 2^64 by Newton's iteration: S * S = 1 (mod 8), and each step
   * doubles the bits that are right. */
  uint64_t inv = block_secret;
  for (int i = 0; i < 5; i++) inv *= 2 - block_secret * inv;
  block_tag_mul = (0 - inv) << 48;
  link_secret = (uintptr_t)(secret * 0xc2b2ae3d27d4eb4full);
  if (os_random(&tcache_key, sizeof tcache_key) != 0) tcache_key = secret * 0xff51afd7ed558ccdull;
  /* The low 12 bits, where a mark keeps its size, are zero: a mark of any
   * size then differs from the key in those bits alone (tcache_marked). */
  tcache_key &= ~(uint64_t)0xfff;
}
