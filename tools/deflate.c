/* deflate.c - a small raw deflate compressor (RFC 1951), for the data of
 * `hawk view`'s page, which the browser inflates with DecompressionStream
 * ("deflate-raw").  LZ77 over a 32 KiB window (hash chains, one step of lazy
 * matching), then one block of dynamic Huffman codes per 16,384 symbols.
 * Written for HawkAlloc; it aims at small code, not at zlib's last percent. */
#include <stdlib.h>
#include <string.h>

#include "hawk.h"

#define WSIZE      32768u
#define HBITS      15
#define MAXCHAIN   96
#define BLOCK_SYMS 16384

struct bits {
  unsigned char *p;
  size_t len, cap;
  uint64_t acc;
  unsigned n;
};

static void out_byte(struct bits *b, unsigned char c) {
  if (b->len == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 1 << 16;
    unsigned char *q = realloc(b->p, b->cap);
    if (!q) {
      tool_error("deflate: out of memory");
      exit(1);
    }
    b->p = q;
  }
  b->p[b->len++] = c;
}

/* Writes the low n bits of v, least significant first. */
static void put_bits(struct bits *b, uint32_t v, unsigned n) {
  b->acc |= (uint64_t)v << b->n;
  b->n += n;
  while (b->n >= 8) {
    out_byte(b, (unsigned char)b->acc);
    b->acc >>= 8;
    b->n -= 8;
  }
}

/* --- Huffman codes --------------------------------------------------------- */

/* Code lengths (at most limit bits) for the frequencies of n symbols: a
 * Huffman tree built by repeatedly joining the two lightest nodes; when the
 * tree is too deep the frequencies are halved (kept above zero) and it is
 * built again.  At least two symbols get a code, so every code is complete. */
static void code_lengths(const uint32_t *freq_in, int n, int limit, uint8_t *len) {
  uint32_t freq[288];
  int used = 0;
  for (int i = 0; i < n; i++) {
    freq[i] = freq_in[i];
    used += freq[i] != 0;
  }
  for (int i = 0; used < 2 && i < n; i++)
    if (!freq[i]) {
      freq[i] = 1;
      used++;
    }
  for (;;) {
    /* nodes: leaves 0..n-1, inner nodes n.. ; parent links give depths */
    uint64_t w[576];
    int parent[576], alive[576], nodes = n, maxlen = 0;
    for (int i = 0; i < n; i++) {
      w[i] = freq[i];
      alive[i] = freq[i] != 0;
      parent[i] = -1;
    }
    for (;;) {
      int a = -1, b = -1;
      for (int i = 0; i < nodes; i++) {
        if (!alive[i]) continue;
        if (a < 0 || w[i] < w[a]) {
          b = a;
          a = i;
        } else if (b < 0 || w[i] < w[b]) {
          b = i;
        }
      }
      if (b < 0) break;
      w[nodes] = w[a] + w[b];
      alive[nodes] = 1;
      parent[nodes] = -1;
      alive[a] = alive[b] = 0;
      parent[a] = parent[b] = nodes;
      nodes++;
    }
    for (int i = 0; i < n; i++) {
      int d = 0;
      if (freq[i])
        for (int j = i; parent[j] >= 0; j = parent[j]) d++;
      len[i] = (uint8_t)d;
      if (d > maxlen) maxlen = d;
    }
    if (maxlen <= limit) return;
    for (int i = 0; i < n; i++)
      if (freq[i]) freq[i] = (freq[i] >> 1) | 1;
  }
}

/* Canonical codes for the lengths, bit-reversed to be written LSB first. */
static void make_codes(const uint8_t *len, int n, uint16_t *code) {
  unsigned count[16] = {0}, next[16];
  for (int i = 0; i < n; i++) count[len[i]]++;
  count[0] = 0;
  unsigned c = 0;
  for (int b = 1; b < 16; b++) {
    c = (c + count[b - 1]) << 1;
    next[b] = c;
  }
  for (int i = 0; i < n; i++) {
    if (!len[i]) continue;
    unsigned v = next[len[i]]++, r = 0;
    for (int k = 0; k < len[i]; k++) r |= ((v >> k) & 1u) << (len[i] - 1 - k);
    code[i] = (uint16_t)r;
  }
}

/* --- the symbols of LZ77 --------------------------------------------------- */

static const uint16_t len_base[29] = {3,  4,  5,  6,   7,   8,   9,   10,  11, 13,
                                      15, 17, 19, 23,  27,  31,  35,  43,  51, 59,
                                      67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                      2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1,   2,   3,   4,   5,   7,    9,    13,   17,   25,   33,   49,   65,    97,    129,
    193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                       6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static int len_code(unsigned len) {
  int c = 0;
  while (c < 28 && len_base[c + 1] <= len) c++;
  return c;
}

static int dist_code(unsigned d) {
  int c = 0;
  while (c < 29 && dist_base[c + 1] <= d) c++;
  return c;
}

/* A symbol: a literal (dist 0) or a match of len bytes dist back. */
struct sym {
  uint16_t len, dist;
};

static void write_block(struct bits *b, const struct sym *s, size_t ns, int last) {
  uint32_t lf[286] = {0}, df[30] = {0};
  for (size_t i = 0; i < ns; i++) {
    if (s[i].dist == 0) {
      lf[s[i].len]++;
    } else {
      lf[257 + len_code(s[i].len)]++;
      df[dist_code(s[i].dist)]++;
    }
  }
  lf[256] = 1;
  uint8_t ll[286], dl[30];
  uint16_t lc[286] = {0}, dc[30] = {0};
  code_lengths(lf, 286, 15, ll);
  code_lengths(df, 30, 15, dl);
  make_codes(ll, 286, lc);
  make_codes(dl, 30, dc);
  int hlit = 286, hdist = 30;
  while (hlit > 257 && !ll[hlit - 1]) hlit--;
  while (hdist > 1 && !dl[hdist - 1]) hdist--;
  /* The two lengths' lists as one run-length coded sequence. */
  uint8_t all[316], rle[316], extra[316];
  int na = 0, nr = 0;
  for (int i = 0; i < hlit; i++) all[na++] = ll[i];
  for (int i = 0; i < hdist; i++) all[na++] = dl[i];
  for (int i = 0; i < na;) {
    int run = 1;
    while (i + run < na && all[i + run] == all[i]) run++;
    if (all[i] == 0 && run >= 3) {
      int r = run > 138 ? 138 : run;
      rle[nr] = r <= 10 ? 17 : 18;
      extra[nr++] = (uint8_t)(r <= 10 ? r - 3 : r - 11);
      i += r;
    } else if (all[i] != 0 && run >= 4) {
      rle[nr] = all[i];
      extra[nr++] = 0;
      int r = run - 1 > 6 ? 6 : run - 1;
      rle[nr] = 16;
      extra[nr++] = (uint8_t)(r - 3);
      i += 1 + r;
    } else {
      rle[nr] = all[i];
      extra[nr++] = 0;
      i++;
    }
  }
  static const uint8_t order[19] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                    11, 4,  12, 3, 13, 2, 14, 1, 15};
  uint32_t cf[19] = {0};
  for (int i = 0; i < nr; i++) cf[rle[i]]++;
  uint8_t cl[19];
  uint16_t cc[19] = {0};
  code_lengths(cf, 19, 7, cl);
  make_codes(cl, 19, cc);
  int hclen = 19;
  while (hclen > 4 && !cl[order[hclen - 1]]) hclen--;
  put_bits(b, last ? 1 : 0, 1);
  put_bits(b, 2, 2); /* dynamic Huffman codes */
  put_bits(b, (uint32_t)(hlit - 257), 5);
  put_bits(b, (uint32_t)(hdist - 1), 5);
  put_bits(b, (uint32_t)(hclen - 4), 4);
  for (int i = 0; i < hclen; i++) put_bits(b, cl[order[i]], 3);
  for (int i = 0; i < nr; i++) {
    put_bits(b, cc[rle[i]], cl[rle[i]]);
    if (rle[i] == 16) put_bits(b, extra[i], 2);
    if (rle[i] == 17) put_bits(b, extra[i], 3);
    if (rle[i] == 18) put_bits(b, extra[i], 7);
  }
  for (size_t i = 0; i < ns; i++) {
    if (s[i].dist == 0) {
      put_bits(b, lc[s[i].len], ll[s[i].len]);
      continue;
    }
    int c = len_code(s[i].len);
    put_bits(b, lc[257 + c], ll[257 + c]);
    put_bits(b, s[i].len - len_base[c], len_extra[c]);
    int d = dist_code(s[i].dist);
    put_bits(b, dc[d], dl[d]);
    put_bits(b, s[i].dist - dist_base[d], dist_extra[d]);
  }
  put_bits(b, lc[256], ll[256]);
}

static uint32_t hash3(const unsigned char *p) {
  uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
  return (v * 2654435761u) >> (32 - HBITS);
}

/* The longest match for position i (at least 3 bytes), its distance in *dist. */
static unsigned longest(const unsigned char *in, size_t n, size_t i, const int32_t *head,
                        const int32_t *prev, unsigned *dist) {
  unsigned best = 0, max = n - i < 258 ? (unsigned)(n - i) : 258;
  if (max < 3) return 0;
  int32_t j = head[hash3(in + i)];
  for (int chain = 0; j >= 0 && i - (size_t)j <= WSIZE - 1 && chain < MAXCHAIN; chain++) {
    const unsigned char *a = in + i, *c = in + j;
    if (c[best] == a[best] && c[0] == a[0]) {
      unsigned l = 0;
      while (l < max && a[l] == c[l]) l++;
      if (l > best) {
        best = l;
        *dist = (unsigned)(i - (size_t)j);
        if (l == max) break;
      }
    }
    int32_t k = prev[j & (WSIZE - 1)];
    if (k >= j) break;
    j = k;
  }
  return best >= 3 ? best : 0;
}

unsigned char *deflate_raw(const unsigned char *in, size_t n, size_t *outlen) {
  struct bits b = {0};
  int32_t *head = malloc(sizeof(int32_t) << HBITS), *prev = malloc(sizeof(int32_t) * WSIZE);
  struct sym *syms = malloc(sizeof *syms * (BLOCK_SYMS + 2));
  if (!head || !prev || !syms) {
    tool_error("deflate: out of memory");
    exit(1);
  }
  memset(head, 0xff, sizeof(int32_t) << HBITS);
  size_t ns = 0, i = 0;
  /* Inserts position p into the hash chains. */
#define INSERT(p)                                                                                  \
  do {                                                                                             \
    if ((p) + 3 <= n) {                                                                            \
      uint32_t h_ = hash3(in + (p));                                                               \
      prev[(p) & (WSIZE - 1)] = head[h_];                                                          \
      head[h_] = (int32_t)(p);                                                                     \
    }                                                                                              \
  } while (0)
  while (i < n) {
    unsigned d = 0, l = longest(in, n, i, head, prev, &d);
    if (l && l < 32 && i + 1 < n) { /* lazy: a longer match one byte on? */
      INSERT(i);
      unsigned d2 = 0, l2 = longest(in, n, i + 1, head, prev, &d2);
      if (l2 > l) {
        syms[ns++] = (struct sym){in[i], 0};
        i++;
        INSERT(i);
        l = l2;
        d = d2;
      } else {
        /* i already inserted */
        syms[ns++] = (struct sym){(uint16_t)l, (uint16_t)d};
        for (size_t k = i + 1; k < i + l; k++) INSERT(k);
        i += l;
        goto flush;
      }
    } else {
      INSERT(i);
    }
    if (l) {
      syms[ns++] = (struct sym){(uint16_t)l, (uint16_t)d};
      for (size_t k = i + 1; k < i + l; k++) INSERT(k);
      i += l;
    } else {
      syms[ns++] = (struct sym){in[i], 0};
      i++;
    }
  flush:
    if (ns >= BLOCK_SYMS) {
      write_block(&b, syms, ns, 0);
      ns = 0;
    }
  }
#undef INSERT
  write_block(&b, syms, ns, 1);
  if (b.n) put_bits(&b, 0, 8 - b.n);
  free(head);
  free(prev);
  free(syms);
  *outlen = b.len;
  if (!b.p) b.p = malloc(1);
  return b.p;
}
