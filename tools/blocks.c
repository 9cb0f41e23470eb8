/* blocks.c - the blocks of a heap, as hawk_walk reports them, in a file
 * beside a replay's snapshot (FILE.snap.blocks), so that `hawk map` can draw
 * a small heap zoomed in, each block to scale (a snapshot's strips are
 * binned at 4 KiB a pixel).  The worker writes it from inside the replay:
 * nothing here that the writer uses allocates (mmap, open, write). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hawk.h"

#define BLOCKS_MAGIC "HAWKBLK1"

struct blocks_buf {
  struct hawk_block_info *b;
  size_t n, cap;
};

static void blocks_count(void *ctx, const struct hawk_block_info *b) {
  (void)b;
  ((struct blocks_buf *)ctx)->n++;
}

static void blocks_keep(void *ctx, const struct hawk_block_info *b) {
  struct blocks_buf *k = ctx;
  if (k->n < k->cap) k->b[k->n] = *b;
  k->n++;
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int blocks_write(const char *path, size_t (*walk)(hawk_visit_fn, void *)) {
  struct blocks_buf k = {0};
  walk(blocks_count, &k);
  k.cap = k.n + 64; /* the walk itself changes nothing, but be safe */
  size_t bytes = k.cap * sizeof *k.b;
  k.b = mm_alloc(bytes);
  if (!k.b) return -1;
  k.n = 0;
  walk(blocks_keep, &k);
  if (k.n > k.cap) k.n = k.cap;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  uint64_t n = k.n;
  int rc = fd < 0 || write_all(fd, BLOCKS_MAGIC, 8) != 0 || write_all(fd, &n, sizeof n) != 0 ||
                   write_all(fd, k.b, k.n * sizeof *k.b) != 0
               ? -1
               : 0;
  if (fd >= 0 && close(fd) != 0) rc = -1;
  mm_free(k.b, bytes);
  return rc;
}

int blocks_read(const char *path, struct hawk_block_info **out, size_t *n) {
  *out = NULL;
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  char magic[8];
  uint64_t count;
  struct stat st;
  int rc = -1;
  if (fstat(fileno(f), &st) == 0 && fread(magic, 8, 1, f) == 1 &&
      memcmp(magic, BLOCKS_MAGIC, 8) == 0 && fread(&count, sizeof count, 1, f) == 1 &&
      count <= (uint64_t)st.st_size / sizeof **out) {
    struct hawk_block_info *b = calloc(count ? count : 1, sizeof *b);
    if (b && fread(b, sizeof *b, count, f) == count) {
      *out = b;
      *n = count;
      rc = 0;
    } else {
      free(b);
    }
  }
  fclose(f);
  return rc;
}
