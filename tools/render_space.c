/* render_space.c - view 2 of a heap picture, the address space: the
 * snapshot's copy of /proc/self/maps read and grouped (a file's mappings
 * together), HawkAlloc's arenas and large mappings (from the strips), the
 * registry's empty cached arenas and its leaves, all placed on one address
 * axis in address order.  The axis is broken: each region's width grows
 * with the logarithm of its size and the unmapped gaps between regions are
 * cut out and labelled with their size, so the program, its brk heap, the
 * libraries, the arenas and the stack are all visible although they lie
 * terabytes apart. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawk.h"
#include "render.h"

static const char *const kind_word[K_COUNT] = {"program",
                                               "brk heap",
                                               "shared library",
                                               "other file",
                                               "anonymous mmap",
                                               "HawkAlloc arenas",
                                               "HawkAlloc large",
                                               "cached empty arenas",
                                               "HawkAlloc registry",
                                               "kernel (vdso)",
                                               "stack"};
static const char *const kind_class[K_COUNT] = {"k0", "k1", "k2", "k3", "k4", "k5",
                                                "k6", "k7", "k8", "k9", "k10"};

struct region {
  uintptr_t start, end;
  uint64_t bytes; /* bytes mapped (a group may have holes) */
  uint32_t name;  /* offset in the name pool; 0 for none */
  uint32_t count; /* files, mappings or arenas gathered here */
  uint16_t kind;
  uint16_t mixed; /* gathers regions of several kinds */
  uint16_t bss;   /* the anonymous mapping right after the program's own */
};

#define USER_TOP     ((uint64_t)1 << 47) /* the top of user space: 128 TiB */
#define MAPS_MAX     2048
#define NAMES_MAX    (1 << 16)
#define HAWK_MAX     512
#define ITEMS_MAX    (MAPS_MAX + 2 * HAWK_MAX + 4)
#define ITEMS_BUDGET 30  /* regions drawn before neighbours are grouped */
#define ITEMS_DRAWN  240 /* hard limit on boxes */

/* View 2's regions: the snapshot's maps, HawkAlloc's own regions, and the
 * items drawn (both merged in address order, neighbours grouped). */
static struct {
  const struct snapshot *s;
  struct region maps[MAPS_MAX];
  size_t n_maps;
  char names[NAMES_MAX];
  size_t names_len;
  struct region hawk[HAWK_MAX];
  size_t n_hawk;
  struct region items[ITEMS_MAX];
  size_t n_items;
} pic;

void space_begin(const struct snapshot *s) {
  memset(&pic, 0, sizeof pic);
  pic.s = s;
  pic.names_len = 1;
}

/* --- /proc/self/maps and the regions of view 2 ------------------------------ */

static uint32_t name_add(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || pic.names_len + n + 1 > NAMES_MAX) return 0;
  uint32_t at = (uint32_t)pic.names_len;
  memcpy(pic.names + at, s, n + 1);
  pic.names_len += n + 1;
  return at;
}

static const char *name_of(const struct region *r) { return pic.names + r->name; }

const char *base_name(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

static int kind_of(const char *path) {
  const char *exe = pic.s->program;
  if (path[0] == 0 || strncmp(path, "[anon", 5) == 0) return K_ANON;
  if (strncmp(path, "[stack", 6) == 0) return K_STACK;
  if (strcmp(path, "[heap]") == 0) return K_BRK;
  if (path[0] == '[') return K_KERNEL;
  if (exe[0] && strcmp(path, exe) == 0) return K_PROGRAM;
  if (strstr(path, ".so")) return K_LIB;
  return K_FILE;
}

static uint64_t parse_hex(const char **p) {
  uint64_t v = 0;
  for (;;) {
    char c = **p;
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return v;
    v = v * 16 + (uint64_t)d;
    (*p)++;
  }
}

/* One line: "start-end perms offset dev inode   path".  A file's mappings
 * in a row become one region; so do touching anonymous mappings. */
static void maps_line(const char *line) {
  const char *p = line;
  uint64_t start = parse_hex(&p);
  if (*p++ != '-') return;
  uint64_t end = parse_hex(&p);
  for (int field = 0; field < 4; field++) {
    while (*p == ' ') p++;
    while (*p && *p != ' ') p++;
  }
  while (*p == ' ') p++;
  if (end <= start || start >= USER_TOP) return;
  if (end > USER_TOP) end = USER_TOP;
  int kind = kind_of(p);
  struct region *last = pic.n_maps ? &pic.maps[pic.n_maps - 1] : NULL;
  int same = last && last->kind == kind &&
             (kind == K_ANON ? last->end == start
                             : (kind == K_PROGRAM || kind == K_LIB || kind == K_FILE) &&
                                   strcmp(name_of(last), p) == 0);
  if (last && (same || pic.n_maps == MAPS_MAX)) {
    if (end > last->end) last->end = end;
    last->bytes += end - start;
    return;
  }
  struct region *r = &pic.maps[pic.n_maps++];
  *r = (struct region){.start = start, .end = end, .bytes = end - start, .count = 1};
  r->kind = (uint16_t)kind;
  r->name = kind == K_ANON ? 0 : name_add(p);
}

/* The snapshot's copy of /proc/self/maps, line by line. */
void maps_read(void) {
  static char line[4352];
  const char *p = pic.s->maps;
  pic.n_maps = 0;
  while (*p) {
    size_t n = strcspn(p, "\n");
    size_t k = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, p, k);
    line[k] = 0;
    if (k) maps_line(line);
    p += n + (p[n] == '\n');
  }
}

/* Adds HawkAlloc memory, kept sorted by address; touching regions of one
 * kind become one. */
void hawk_region_add(uintptr_t start, uint64_t size, int kind, uint32_t count) {
  uintptr_t end = start + size;
  struct region *h = pic.hawk;
  size_t n = pic.n_hawk, i = n;
  while (i > 0 && h[i - 1].start > start) i--;
  if (i > 0 && h[i - 1].kind == kind && (h[i - 1].end == start || n == HAWK_MAX)) {
    if (end > h[i - 1].end) h[i - 1].end = end;
    h[i - 1].bytes += size;
    h[i - 1].count += count;
    if (i < n && h[i].kind == kind && h[i].start == h[i - 1].end) {
      h[i - 1].end = h[i].end;
      h[i - 1].bytes += h[i].bytes;
      h[i - 1].count += h[i].count;
      memmove(&h[i], &h[i + 1], (n - i - 1) * sizeof *h);
      pic.n_hawk--;
    }
    return;
  }
  if (i < n && h[i].kind == kind && (h[i].start == end || n == HAWK_MAX)) {
    h[i].start = start;
    h[i].bytes += size;
    h[i].count += count;
    return;
  }
  if (n == HAWK_MAX) return;
  memmove(&h[i + 1], &h[i], (n - i) * sizeof *h);
  h[i] = (struct region){.start = start, .end = end, .bytes = size, .count = count};
  h[i].kind = (uint16_t)kind;
  pic.n_hawk++;
}

static int in_hawk_regions(uintptr_t a) {
  for (size_t i = 0; i < pic.n_hawk; i++)
    if (a >= pic.hawk[i].start && a < pic.hawk[i].end) return 1;
  return 0;
}

/* The registry's leaves and the empty arenas kept in the cache: ours,
 * but not among the strips. */
static void hawk_extra_regions(void) {
  const struct snapshot *s = pic.s;
  for (size_t i = 0; i < s->nleaves; i++)
    hawk_region_add(s->leaves[i].address, s->leaves[i].size, K_REGISTRY, 1);
  /* The library keeps a few empty arenas (ARENA_CACHE_MAX); a file that
   * claims millions of arena chunks is not followed that far. */
  uint64_t budget = 1 << 16;
  for (size_t i = 0; i < s->nchunks; i++) {
    const struct snap_chunks *c = &s->chunks[i];
    if (c->kind != 1) continue;
    for (uint64_t k = 0; k < c->count && budget > 0; k++, budget--) {
      uint64_t a = c->address + k * ARENA_BYTES;
      if (!in_hawk_regions(a)) hawk_region_add(a, ARENA_BYTES, K_CACHED, 1);
    }
  }
}

static void item_add(const struct region *r) {
  if (pic.n_items < ITEMS_MAX) pic.items[pic.n_items++] = *r;
}

static void anon_piece(uintptr_t start, uintptr_t end) {
  struct region r = {.start = start, .end = end, .bytes = end - start, .count = 1};
  r.kind = K_ANON;
  item_add(&r);
}

/* Merges the maps (sorted) with HawkAlloc's regions (sorted): anonymous
 * mappings lose the parts that are HawkAlloc's. */
static void items_build(void) {
  size_t h = 0;
  pic.n_items = 0;
  for (size_t i = 0; i < pic.n_maps; i++) {
    const struct region *m = &pic.maps[i];
    if (m->kind != K_ANON) {
      while (h < pic.n_hawk && pic.hawk[h].start < m->start) item_add(&pic.hawk[h++]);
      item_add(m);
      continue;
    }
    uintptr_t cut = m->start;
    while (h < pic.n_hawk && pic.hawk[h].start < m->end) {
      if (pic.hawk[h].start > cut) anon_piece(cut, pic.hawk[h].start);
      if (pic.hawk[h].end > cut) cut = pic.hawk[h].end;
      item_add(&pic.hawk[h++]);
    }
    if (cut < m->end) anon_piece(cut, m->end);
  }
  while (h < pic.n_hawk) item_add(&pic.hawk[h++]);
}

/* Which regions may be drawn as one box: 0 never (program, brk heap, stack,
 * registry), else the same number. */
static int kind_group(int kind) {
  switch (kind) {
  case K_LIB:
  case K_FILE:
    return 1;
  case K_ANON:
  case K_KERNEL:
    return 2;
  case K_ARENA:
  case K_LARGE:
  case K_CACHED:
    return 3;
  default:
    return 0;
  }
}

static uint64_t merge_cost(const struct region *a, const struct region *b) {
  int ga = kind_group(a->kind), gb = kind_group(b->kind);
  if (ga == 0 || gb == 0) return UINT64_MAX;
  uint64_t gap = b->start > a->end ? b->start - a->end : 0;
  if (a->kind == b->kind) return ga == 3 ? gap / 16 : gap; /* arenas first */
  if (ga == gb) return gap + ((uint64_t)1 << 48);
  if (ga != 3 && gb != 3) return gap + ((uint64_t)1 << 52);
  return UINT64_MAX;
}

/* Groups neighbours, closest first, until there are at most budget regions
 * (regions that are never grouped may keep it above). */
static void items_reduce(size_t budget) {
  while (pic.n_items > budget) {
    size_t best = 0;
    uint64_t best_cost = UINT64_MAX;
    for (size_t i = 0; i + 1 < pic.n_items; i++) {
      uint64_t c = merge_cost(&pic.items[i], &pic.items[i + 1]);
      if (c < best_cost) {
        best_cost = c;
        best = i;
      }
    }
    if (best_cost == UINT64_MAX) return;
    struct region *a = &pic.items[best], *b = &pic.items[best + 1];
    if (a->kind != b->kind) {
      a->mixed = 1;
      if (kind_group(a->kind) != kind_group(b->kind))
        a->kind = K_ANON;
      else if (b->bytes > a->bytes)
        a->kind = b->kind;
    }
    a->mixed |= b->mixed;
    if (b->end > a->end) a->end = b->end;
    a->bytes += b->bytes;
    a->count += b->count;
    if (!a->name) a->name = b->name;
    memmove(b, b + 1, (pic.n_items - best - 2) * sizeof *b);
    pic.n_items--;
  }
}
/* --- view 2: drawing ------------------------------------------------------- */

#define V2_X0   24
#define V2_X1   (CANVAS_W - 24)
#define V2_ROW  96
#define GAP_W   74
#define LABEL_W 100

struct layout {
  int x, top, rows;
};

static int axis_y(const struct layout *l) { return l->top + 34; }

/* Reserves w pixels on the current row, starting a new row when full. */
static int place(struct layout *l, int w) {
  if (l->x + w > V2_X1 && l->x > V2_X0) {
    l->x = V2_X0;
    l->top += V2_ROW;
    l->rows++;
  }
  int x = l->x;
  l->x += w;
  return x;
}

/* Width of a region's box: 4 px for a page, 8 px more per doubling. */
static int log_width(uint64_t size) {
  if (size < 4096) size = 4096;
  int msb = 63 - __builtin_clzll(size);
  int l16 = msb * 16 + (int)((size >> (msb - 4)) & 15); /* log2(size) in 1/16 */
  int w = 4 + (l16 - 12 * 16) / 2;
  return w > 320 ? 320 : w;
}

static void v2_gap(struct out *o, struct layout *l, uint64_t size) {
  int x = place(l, GAP_W), ay = axis_y(l), cx = x + GAP_W / 2;
  line_px(o, x + 3, ay, x + GAP_W - 3, ay, "gl");
  put_str(o, "<path d=\"M");
  put_dec(o, (uint64_t)cx - 6);
  put_char(o, ' ');
  put_dec(o, (uint64_t)ay + 8);
  put_str(o, " L");
  put_dec(o, (uint64_t)cx - 1);
  put_char(o, ' ');
  put_dec(o, (uint64_t)ay - 8);
  put_str(o, " M");
  put_dec(o, (uint64_t)cx + 1);
  put_char(o, ' ');
  put_dec(o, (uint64_t)ay + 8);
  put_str(o, " L");
  put_dec(o, (uint64_t)cx + 6);
  put_char(o, ' ');
  put_dec(o, (uint64_t)ay - 8);
  put_str(o, "\" class=\"br\"/>\n");
  text_at(o, cx, ay - 13, "g", "middle");
  put_bytes(o, size);
  text_end(o);
  text_line(o, cx, ay + 24, "g", "middle", "unmapped");
}

/* The first line of a region's label. */
static void put_item_name(struct out *o, const struct region *r, size_t max) {
  const char *name = name_of(r);
  if (r->bss) {
    put_text(o, base_name(name), max > 5 ? max - 5 : 1);
    put_str(o, " .bss");
  } else if (r->mixed && r->kind == K_ANON) {
    put_dec(o, r->count);
    put_str(o, " mappings");
  } else if (r->mixed) {
    put_dec(o, r->count);
    put_str(o, " files");
  } else if ((r->kind == K_LIB || r->kind == K_FILE) && r->count > 1) {
    put_dec(o, r->count);
    put_str(o, r->kind == K_LIB ? " libraries" : " files");
  } else if (r->kind == K_LIB || r->kind == K_FILE || r->kind == K_PROGRAM) {
    put_text(o, base_name(name), max);
  } else if (r->kind == K_ANON || r->kind == K_KERNEL) {
    if (r->count > 1) {
      put_str(o, r->kind == K_ANON ? "anonymous ×" : "kernel ×");
      put_dec(o, r->count);
    } else {
      put_text(o, r->kind == K_KERNEL && *name ? name : "anonymous", max);
    }
  } else if (r->kind == K_BRK) {
    put_str(o, "[heap] (brk)");
  } else if (r->kind == K_STACK) {
    put_str(o, "[stack]");
  } else if (r->kind == K_ARENA) {
    put_str(o, "HawkAlloc arenas");
  } else if (r->kind == K_LARGE) {
    put_str(o, r->count > 1 ? "large blocks" : "large block");
  } else if (r->kind == K_CACHED) {
    put_str(o, "cached arenas");
  } else {
    put_str(o, "registry");
  }
}

static void v2_item(struct out *o, struct layout *l, const struct region *r) {
  int bw = log_width(r->bytes), sw = (bw > LABEL_W ? bw : LABEL_W) + 10;
  int x = place(l, sw), ay = axis_y(l), cx = x + sw / 2;
  put_str(o, "<g><title>");
  put_str(o, kind_word[r->kind]);
  put_str(o, ": ");
  put_item_name(o, r, 200);
  if (r->name && r->count == 1 && !r->mixed) {
    put_str(o, " (");
    put_text(o, name_of(r), 300);
    put_str(o, ")");
  }
  put_str(o, ", ");
  put_hex(o, r->start);
  put_str(o, "-");
  put_hex(o, r->end);
  put_str(o, ", ");
  put_bytes(o, r->bytes);
  put_str(o, "</title>");
  put_str(o, "<rect x=\"");
  put_dec(o, (uint64_t)(cx - bw / 2));
  put_str(o, "\" y=\"");
  put_dec(o, (uint64_t)ay - 13);
  put_str(o, "\" width=\"");
  put_dec(o, (uint64_t)bw);
  put_str(o, "\" height=\"26\" class=\"kb ");
  put_str(o, kind_class[r->kind]);
  put_str(o, "\"/></g>\n");
  text_at(o, cx, ay + 26, "sm b", "middle");
  put_item_name(o, r, (size_t)(sw - 6) / 6);
  text_end(o);
  text_at(o, cx, ay + 38, "sm m", "middle");
  put_hex(o, r->start);
  text_end(o);
  text_at(o, cx, ay + 50, "sm", "middle");
  put_bytes(o, r->bytes);
  if (r->kind == K_ARENA || r->kind == K_CACHED) {
    put_str(o, " · ");
    put_dec(o, r->count);
    put_str(o, r->count == 1 ? " arena" : " arenas");
  }
  text_end(o);
}

/* An end of the axis: a tick and an address. */
static void v2_end(struct out *o, struct layout *l, uint64_t addr, const char *note) {
  int x = place(l, note ? 130 : 44), ay = axis_y(l), cx = x + (note ? 65 : 22);
  line_px(o, cx, ay - 10, cx, ay + 10, "ax");
  text_at(o, cx, ay + 26, "sm m", "middle");
  put_hex(o, addr);
  text_end(o);
  if (note) text_line(o, cx, ay + 38, "sm", "middle", note);
}

/* Draws view 2 from y = top; returns the y below it. */
int view2(struct out *o, int top) {
  hawk_extra_regions();
  items_build();
  items_reduce(ITEMS_BUDGET);
  /* The kernel maps a program's zero-initialised data (.bss) anonymously,
   * right after the program's file mappings. */
  for (size_t i = 1; i < pic.n_items; i++) {
    struct region *r = &pic.items[i];
    if (r->kind == K_ANON && !r->mixed && r->count == 1 && pic.items[i - 1].kind == K_PROGRAM &&
        pic.items[i - 1].end == r->start) {
      r->bss = 1;
      r->name = pic.items[i - 1].name;
    }
  }
  text_line(o, 20, top + 20, "hd", NULL, "View 2 — the address space, from /proc/self/maps");
  text_at(o, 20, top + 40, "nt", NULL);
  put_str(o, "Every mapping of the process in address order, left to right and row by row: ");
  put_dec(o, pic.n_items);
  put_str(o, " regions (a file's mappings, and close neighbours when there are many, grouped).");
  text_end(o);
  text_line(o, 20, top + 55, "nt", NULL,
            "The axis would span 128 TiB, so it is broken: a box's width grows with log2 of its "
            "size (8 px per doubling), and the unmapped gaps are cut out and labelled with "
            "their size.");
  int lx = 20, ly = top + 78;
  for (int k = 0; k < K_COUNT; k++) {
    put_str(o, "<rect x=\"");
    put_dec(o, (uint64_t)lx);
    put_str(o, "\" y=\"");
    put_dec(o, (uint64_t)ly - 10);
    put_str(o, "\" width=\"12\" height=\"12\" class=\"kb ");
    put_str(o, kind_class[k]);
    put_str(o, "\"/>\n");
    text_line(o, lx + 17, ly, "sl", NULL, kind_word[k]);
    lx += k == K_FILE || k == K_ANON || k == K_CACHED || k == K_REGISTRY ? 142 : 124;
  }
  struct layout l = {.x = V2_X0, .top = top + 94, .rows = 1};
  v2_end(o, &l, 0, NULL);
  uintptr_t prev_end = 0;
  size_t drawn = pic.n_items < ITEMS_DRAWN ? pic.n_items : ITEMS_DRAWN;
  for (size_t i = 0; i < drawn; i++) {
    const struct region *r = &pic.items[i];
    if (r->start > prev_end) v2_gap(o, &l, r->start - prev_end);
    v2_item(o, &l, r);
    if (r->end > prev_end) prev_end = r->end;
  }
  if (drawn < pic.n_items) {
    int x = place(&l, 200);
    text_at(o, x, axis_y(&l) + 4, "nt", NULL);
    put_str(o, "… ");
    put_dec(o, pic.n_items - drawn);
    put_str(o, " more regions");
    text_end(o);
  } else {
    if (prev_end < USER_TOP) v2_gap(o, &l, USER_TOP - prev_end);
    v2_end(o, &l, USER_TOP, "top of user space");
  }
  return l.top + V2_ROW;
}
