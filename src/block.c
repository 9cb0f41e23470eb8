/* block.c - the keys of the block format (block.h), drawn at start-up by
 * the initialisation (process.c). */
#include "block.h"

uint64_t block_secret;
uintptr_t link_secret;
