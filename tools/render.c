/* render.c - a heap snapshot drawn as SVG (`hawk render`, `hawk run --map`,
 * `hawk map`).  The library only takes the snapshot (src/snapshot.c,
 * docs/snapshot-format.md); the picture is drawn here, with stdio.
 *
 * The picture has two views under a block of figures and a legend.
 *
 *  View 1, the arenas: every arena (and every large block's own mapping) is
 *  a horizontal strip drawn to scale, 1024 pixels for the 4 MiB of an arena
 *  (4 KiB a pixel), from the snapshot's pieces: blocks three pixels (12 KiB)
 *  wide or more one by one with a thin line between them, narrower ones in
 *  one-pixel columns coloured by the state holding most of their bytes.
 *
 *  A small heap, when the blocks of the heap are given with the snapshot
 *  (hawk map --trace), is drawn zoomed in: every arena strip then shows the
 *  arena's first bytes, a power of two from 16 KiB to 1 MiB that holds every
 *  block not free, across the same 1024 pixels, binned here the way the
 *  library bins its pieces.
 *
 *  View 2, the address space: the snapshot's copy of /proc/self/maps read
 *  and grouped (a file's mappings together), HawkAlloc's arenas and large
 *  mappings taken from the strips, the registry's empty cached arenas and
 *  its leaves, all placed on one address axis in address order.  The axis
 *  is broken: each region's width grows with the logarithm of its size and
 *  the unmapped gaps between regions are cut out and labelled with their
 *  size, so the program, its brk heap, the libraries, the arenas and the
 *  stack are all visible although they lie terabytes apart.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawk.h"
#include "hawksnap.h"

/* --- output: numbers formatted for people --------------------------------- */

struct out {
  FILE *f;
};

static void put_char(struct out *o, char c) { fputc(c, o->f); }

static void put_str(struct out *o, const char *s) { fputs(s, o->f); }

/* v in base 10 or 16, most significant digit first; in base 10 with a
 * comma between groups of three digits when grouped. */
static void put_digits(struct out *o, uint64_t v, unsigned base, int grouped) {
  char d[20];
  int n = 0;
  do {
    d[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (n > 0) {
    put_char(o, d[--n]);
    if (grouped && n > 0 && n % 3 == 0) put_char(o, ',');
  }
}

static void put_dec(struct out *o, uint64_t v) { put_digits(o, v, 10, 0); }

/* 1234567 as "1,234,567". */
static void put_grouped(struct out *o, uint64_t v) { put_digits(o, v, 10, 1); }

static void put_hex(struct out *o, uint64_t v) {
  put_str(o, "0x");
  put_digits(o, v, 16, 0);
}

/* A number given in tenths: 125 as "12.5", 120 as "12". */
static void put_tenths(struct out *o, int64_t t) {
  if (t < 0) {
    put_char(o, '-');
    t = -t;
  }
  put_dec(o, (uint64_t)t / 10);
  if (t % 10) {
    put_char(o, '.');
    put_char(o, (char)('0' + t % 10));
  }
}

/* A byte count for people: "512 B", "96 KiB", "3.9 MiB". */
static void put_bytes(struct out *o, uint64_t v) {
  static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (v < 1024) {
    put_dec(o, v);
    put_str(o, " B");
    return;
  }
  int u = 0;
  uint64_t scale = 1024;
  while (u < 4 && v >= scale * 1024) {
    scale *= 1024;
    u++;
  }
  uint64_t t = v / scale * 10 + (v % scale * 10 + scale / 2) / scale;
  put_tenths(o, (int64_t)t);
  put_char(o, ' ');
  put_str(o, units[u]);
}

/* num / den as a percentage with one decimal ("0%" when den is 0). */
static void put_percent(struct out *o, uint64_t num, uint64_t den) {
  uint64_t t = den ? (num * 1000 + den / 2) / den : 0;
  put_tenths(o, (int64_t)t);
  put_char(o, '%');
}

/* Text from outside (file names): XML-escaped, bytes other than printable
 * ASCII shown as '?', cut to max characters with an ellipsis. */
static void put_text(struct out *o, const char *s, size_t max) {
  size_t n = strlen(s), keep = n <= max ? n : max > 1 ? max - 1 : 0;
  for (size_t i = 0; i < keep; i++) {
    char c = s[i];
    if (c == '&')
      put_str(o, "&amp;");
    else if (c == '<')
      put_str(o, "&lt;");
    else if (c == '>')
      put_str(o, "&gt;");
    else if (c == '"')
      put_str(o, "&quot;");
    else
      put_char(o, c >= 32 && c < 127 ? c : '?');
  }
  if (keep < n) put_str(o, "…");
}

static void put_2digits(struct out *o, unsigned v) {
  put_char(o, (char)('0' + v / 10 % 10));
  put_char(o, (char)('0' + v % 10));
}

/* Seconds since 1970 as "2024-11-26 11:52:03 UTC" (no time zone files). */
static void put_time(struct out *o, int64_t t) {
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    days--;
  }
  /* Howard Hinnant's civil_from_days. */
  int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
  int64_t year = yoe + era * 400 + (month <= 2);
  put_dec(o, (uint64_t)year);
  put_char(o, '-');
  put_2digits(o, (unsigned)month);
  put_char(o, '-');
  put_2digits(o, (unsigned)day);
  put_char(o, ' ');
  put_2digits(o, (unsigned)(secs / 3600));
  put_char(o, ':');
  put_2digits(o, (unsigned)(secs / 60 % 60));
  put_char(o, ':');
  put_2digits(o, (unsigned)(secs % 60));
  put_str(o, " UTC");
}

/* <text x y class anchor>; the caller writes the content, then text_end. */
static void text_at(struct out *o, int x, int y, const char *cls, const char *anchor) {
  put_str(o, "<text x=\"");
  put_dec(o, (uint64_t)x);
  put_str(o, "\" y=\"");
  put_dec(o, (uint64_t)y);
  if (cls) {
    put_str(o, "\" class=\"");
    put_str(o, cls);
  }
  if (anchor) {
    put_str(o, "\" text-anchor=\"");
    put_str(o, anchor);
  }
  put_str(o, "\">");
}

static void text_end(struct out *o) { put_str(o, "</text>\n"); }

static void text_line(struct out *o, int x, int y, const char *cls, const char *anchor,
                      const char *s) {
  text_at(o, x, y, cls, anchor);
  put_str(o, s);
  text_end(o);
}

/* A rectangle; coordinates in tenths of a pixel. */
static void rect_tenths(struct out *o, int64_t x, int64_t y, int64_t w, int64_t h,
                        const char *cls) {
  put_str(o, "<rect x=\"");
  put_tenths(o, x);
  put_str(o, "\" y=\"");
  put_tenths(o, y);
  put_str(o, "\" width=\"");
  put_tenths(o, w);
  put_str(o, "\" height=\"");
  put_tenths(o, h);
  put_str(o, "\" class=\"");
  put_str(o, cls);
  put_str(o, "\"/>\n");
}

static void rect_px(struct out *o, int x, int y, int w, int h, const char *cls) {
  rect_tenths(o, (int64_t)x * 10, (int64_t)y * 10, (int64_t)w * 10, (int64_t)h * 10, cls);
}

static void line_px(struct out *o, int xa, int ya, int xb, int yb, const char *cls) {
  put_str(o, "<line x1=\"");
  put_dec(o, (uint64_t)xa);
  put_str(o, "\" y1=\"");
  put_dec(o, (uint64_t)ya);
  put_str(o, "\" x2=\"");
  put_dec(o, (uint64_t)xb);
  put_str(o, "\" y2=\"");
  put_dec(o, (uint64_t)yb);
  put_str(o, "\" class=\"");
  put_str(o, cls);
  put_str(o, "\"/>\n");
}
/* --- the page ------------------------------------------------------------- */

#define CANVAS_W 1500

#define PANEL_Y 74
#define PANEL_H 178

#define STRIP_X     190
#define STRIP_W     1024 /* pixels for the 4 MiB of an arena: 4 KiB a pixel */
#define STRIP_H     22
#define STRIP_PITCH 28
#define STRIPS_TOP  344
#define STRIPS_MAX  64
#define LABEL_X     (STRIP_X + STRIP_W + 12)

/* Strip coordinates are in tenths of a pixel. */
#define PX     10
#define ALONE  (3 * PX) /* blocks this wide get a rectangle of their own */
#define TITLED (8 * PX) /* ... and from this width a tooltip */

/* Colours and fonts; the classes are short because there are many rects. */
static const char style[] =
    "<style>\n"
    "text{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;font-size:12px;fill:#222}\n"
    ".m{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace}\n"
    ".t{font-size:24px;font-weight:bold}.st{font-size:12px;fill:#555}\n"
    ".hd{font-size:16px;font-weight:bold}.ph{font-size:14px;font-weight:bold}\n"
    ".nt{font-size:11px;fill:#555}.b{font-weight:bold}.v{font-weight:bold}\n"
    ".x{font-weight:normal;font-size:11px;fill:#777}.sl{font-size:11px}\n"
    ".sr{font-size:11px;fill:#333}.sm{font-size:10px}.g{font-size:10px;fill:#666}\n"
    ".pn{fill:#f6f7f9;stroke:#d5d9df}\n"
    ".a{fill:#2f6fd0}.f{fill:#5cb85c}.c{fill:#f2a33a}.l{fill:#8e4fc2}.o{fill:#8a8a8a}\n"
    ".bg{fill:#fff}.e{fill:none;stroke:#555;stroke-width:0.8}\n"
    ".ax{stroke:#888;stroke-width:1}.gl{stroke:#999;stroke-width:1;stroke-dasharray:3,3}\n"
    ".br{stroke:#444;stroke-width:1.5;fill:none}.kb{stroke:#333;stroke-width:0.6}\n"
    ".k0{fill:#16a085}.k1{fill:#e67e22}.k2{fill:#7f8fa6}.k3{fill:#c3cbd3}\n"
    ".k4{fill:#dedede}.k5{fill:#2f6fd0}.k6{fill:#8e4fc2}.k7{fill:#9fbdf0}\n"
    ".k8{fill:#a3c9bc}.k9{fill:#555}.k10{fill:#c0392b}\n"
    "</style>\n";

/* The <?xml?> line and the <svg> tag for a page of this height. */
static void put_header(struct out *o, unsigned height) {
  put_str(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"");
  put_dec(o, CANVAS_W);
  put_str(o, "\" height=\"");
  put_dec(o, height);
  put_str(o, "\" viewBox=\"0 0 ");
  put_dec(o, CANVAS_W);
  put_char(o, ' ');
  put_dec(o, height);
  put_str(o, "\">\n");
}

/* --- view 1: the strips ---------------------------------------------------- */

enum { ST_FREE, ST_ALLOC, ST_CACHED, ST_LARGE, ST_HEADER, ST_COUNT };
static const char *const st_class[ST_COUNT] = {"f", "a", "c", "l", "o"};
static const char *const st_word[ST_COUNT] = {"free", "allocated", "thread-cached",
                                              "large (own mapping)", "mapping header"};

#define ARENA_BYTES ((uint64_t)4 << 20) /* an arena: what a strip is drawn to */

/* The figures of the text block. */
struct figures {
  uint64_t in_use, mapped, footprint, thread_cached, arenas, cached_arenas, large_blocks, heaps;
  uint64_t free_bytes, free_blocks, largest_free;
  int exact; /* from hawk_stats (not from a walk made in a signal handler) */
};

/* View 2: a region of the address space. */
enum region_kind {
  K_PROGRAM,
  K_BRK,
  K_LIB,
  K_FILE,
  K_ANON,
  K_ARENA,
  K_LARGE,
  K_CACHED,
  K_REGISTRY,
  K_KERNEL,
  K_STACK,
  K_COUNT
};
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

/* What the drawing needs besides the snapshot: the regions of view 2. */
static struct {
  const struct snapshot *s;
  const struct render_opts *opts;
  uint64_t zoom; /* bytes across a strip when zoomed in, else 0 */
  unsigned drawn, hidden_arenas, hidden_larges, arenas, larges;
  struct region maps[MAPS_MAX];
  size_t n_maps;
  char names[NAMES_MAX];
  size_t names_len;
  struct region hawk[HAWK_MAX];
  size_t n_hawk;
  struct region items[ITEMS_MAX];
  size_t n_items;
} pic;

static void hawk_region_add(uintptr_t start, uint64_t size, int kind, uint32_t count);

static int strip_y(int row) { return STRIPS_TOP + row * STRIP_PITCH; }

/* The x of a byte offset in a strip, in tenths of a pixel. */
static int64_t strip_x(const struct snap_strip *s, uint64_t off) {
  if (off >= s->span) return STRIP_W * PX;
  return (int64_t)((off * (STRIP_W * PX) + s->span / 2) / s->span);
}

/* One piece: blocks alone lose half a pixel each side (a line between
 * them), and from eight pixels get a tooltip. */
static void piece_draw(struct out *o, const struct snap_piece *p) {
  int32_t xa = p->x0, xb = p->x1;
  if (p->alone) {
    xa += PX / 2;
    xb -= PX / 2;
  }
  if (xb <= xa) return;
  put_str(o, "<rect x=\"");
  put_tenths(o, xa);
  put_str(o, "\" width=\"");
  put_tenths(o, xb - xa);
  put_str(o, "\" height=\"");
  put_dec(o, STRIP_H);
  put_str(o, "\" class=\"");
  put_str(o, st_class[p->state]);
  if (p->alone && p->x1 - p->x0 >= TITLED) {
    put_str(o, "\"><title>");
    put_str(o, st_word[p->state]);
    put_str(o, " block, ");
    put_bytes(o, p->size);
    put_str(o, ", at ");
    put_hex(o, p->address);
    put_str(o, "</title></rect>\n");
  } else {
    put_str(o, "\"/>\n");
  }
}

/* The first id of a heap made with hawk_heap_create (hawk_heap_id). */
#define HEAP_CREATED_FIRST 16

/* --- zooming in on a small heap ------------------------------------------ */

#define ZOOM_MIN ((uint64_t)16 << 10)
#define ZOOM_MAX ((uint64_t)1 << 20)

/* The bytes a zoomed strip shows: the least power of two from ZOOM_MIN that
 * holds every block not free of every arena; 0 (no zoom) when the blocks
 * are not given or more than ZOOM_MAX is needed. */
static uint64_t zoom_span(const struct render_opts *opts) {
  if (!opts || !opts->blocks) return 0;
  uint64_t need = 0;
  for (size_t i = 0; i < opts->nblocks; i++) {
    const struct hawk_block_info *b = &opts->blocks[i];
    if (b->heap < 0 || b->state == HAWK_BLOCK_FREE || b->state == HAWK_BLOCK_LARGE ||
        b->address < b->region)
      continue;
    uint64_t end = b->address + b->size - b->region;
    if (end > need) need = end;
  }
  uint64_t span = ZOOM_MIN;
  while (span < need) span <<= 1;
  return span <= ZOOM_MAX ? span : 0;
}

static uint64_t zoom_cols[STRIP_W][SNAP_ST_COUNT]; /* bytes per pixel and state */

/* The pieces of the arena at region, zoomed to span bytes: blocks of three
 * pixels or more alone, smaller ones in one-pixel columns coloured by the
 * state holding most of their bytes.  Returns the number written to out
 * (room for STRIP_W + nblocks). */
static size_t zoom_pieces(uint64_t region, uint64_t span, struct snap_piece *out) {
  const struct render_opts *opts = pic.opts;
  size_t n = 0;
  memset(zoom_cols, 0, sizeof zoom_cols);
  for (size_t i = 0; i < opts->nblocks; i++) {
    const struct hawk_block_info *b = &opts->blocks[i];
    if (b->region != region || b->address < region || b->state < 0 || b->state > 3) continue;
    uint64_t off = b->address - region, end = off + b->size;
    if (off >= span) continue;
    if (end > span) end = span;
    uint64_t x0 = off * (STRIP_W * PX) / span, x1 = end * (STRIP_W * PX) / span;
    if (x1 - x0 >= ALONE) {
      out[STRIP_W + n++] = (struct snap_piece){(uint16_t)x0, (uint16_t)x1, (uint8_t)b->state, 1, 0,
                                               b->address,   b->size};
      continue;
    }
    uint64_t per = span / STRIP_W; /* bytes a pixel */
    for (uint64_t a = off; a < end;) {
      uint64_t px = a / per, stop = (px + 1) * per < end ? (px + 1) * per : end;
      zoom_cols[px][b->state] += stop - a;
      a = stop;
    }
  }
  /* The columns first, then the blocks alone over them. */
  size_t m = 0;
  for (int px = 0; px < STRIP_W; px++) {
    int best = -1;
    uint64_t most = 0;
    for (int k = 0; k < SNAP_ST_COUNT; k++)
      if (zoom_cols[px][k] > most) {
        most = zoom_cols[px][k];
        best = k;
      }
    if (best < 0) continue;
    if (m && out[m - 1].state == best && out[m - 1].x1 == px * PX)
      out[m - 1].x1 = (uint16_t)((px + 1) * PX);
    else
      out[m++] = (struct snap_piece){
          (uint16_t)(px * PX), (uint16_t)((px + 1) * PX), (uint8_t)best, 0, 0, 0, 0};
  }
  memmove(out + m, out + STRIP_W, n * sizeof *out);
  return m + n;
}

/* A strip: its pieces, its outline and its two labels. */
static void strip_draw(struct out *o, const struct snap_strip_read *given) {
  struct snap_strip_read zoomed;
  const struct snap_strip_read *r = given;
  if (pic.zoom && !given->head.large) {
    zoomed = *given;
    zoomed.head.span = pic.zoom;
    zoomed.pieces = malloc((STRIP_W + pic.opts->nblocks) * sizeof *zoomed.pieces);
    if (!zoomed.pieces) abort();
    zoomed.npieces = zoom_pieces(given->head.region, pic.zoom, zoomed.pieces);
    r = &zoomed;
  }
  const struct snap_strip *s = &r->head;
  int row = (int)pic.drawn++, y = strip_y(row);
  put_str(o, s->large ? "<g class=\"strip large\"" : "<g class=\"strip arena\"");
  put_str(o, " transform=\"translate(");
  put_dec(o, STRIP_X);
  put_char(o, ',');
  put_dec(o, (uint64_t)y);
  put_str(o, ")\">\n");
  rect_tenths(o, 0, 0, strip_x(s, s->region_size), STRIP_H * PX, "bg");
  for (size_t i = 0; i < r->npieces; i++) piece_draw(o, &r->pieces[i]);
  put_str(o, "</g>\n");
  rect_tenths(o, STRIP_X * PX, (int64_t)y * PX, strip_x(s, s->region_size), STRIP_H * PX, "e");
  text_at(o, STRIP_X - 8, y + 15, "sl", "end");
  if (s->large && s->heap < HEAP_CREATED_FIRST) {
    put_str(o, "<tspan class=\"b\">large</tspan> ");
  } else {
    put_str(o, s->large ? "<tspan class=\"b\">large · heap " : "<tspan class=\"b\">heap ");
    put_dec(o, (uint64_t)s->heap);
    /* 0-15 the default heaps; 16 and up made with hawk_heap_create */
    if (s->heap >= HEAP_CREATED_FIRST) put_str(o, " (created)");
    put_str(o, "</tspan> ");
  }
  put_str(o, "<tspan class=\"m\">");
  put_hex(o, s->region);
  put_str(o, "</tspan>");
  text_end(o);
  text_at(o, LABEL_X, y + 15, "sr", NULL);
  const struct snap_strip_end *e = &r->sums;
  if (s->large) {
    put_str(o, "own mapping of ");
    put_bytes(o, s->region_size);
    if (s->span > ARENA_BYTES) {
      put_str(o, ", drawn at 1/");
      put_tenths(o, (int64_t)((s->span * 10 + ARENA_BYTES / 2) / ARENA_BYTES));
      put_str(o, " scale");
    }
  } else {
    put_percent(o, e->bytes[ST_ALLOC] + e->bytes[ST_CACHED], s->region_size);
    put_str(o, " used · ");
    put_dec(o, e->free_blocks);
    put_str(o, " free");
    if (e->free_blocks) {
      put_str(o, " · largest ");
      put_bytes(o, e->largest_free);
    }
  }
  text_end(o);
  if (r != given) free(r->pieces);
}

/* Every strip: drawn (the first STRIPS_MAX), counted, and its region added
 * to view 2. */
static void strips_draw(struct out *o) {
  const struct snapshot *s = pic.s;
  for (size_t i = 0; i < s->nstrips; i++) {
    const struct snap_strip *h = &s->strips[i].head;
    hawk_region_add(h->region, h->region_size, h->large ? K_LARGE : K_ARENA, 1);
    if (h->large)
      pic.larges++;
    else
      pic.arenas++;
    if (pic.drawn < STRIPS_MAX)
      strip_draw(o, &s->strips[i]);
    else if (h->large)
      pic.hidden_larges++;
    else
      pic.hidden_arenas++;
  }
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

static const char *base_name(const char *path) {
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
static void maps_read(void) {
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
static void hawk_region_add(uintptr_t start, uint64_t size, int kind, uint32_t count) {
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
static int view2(struct out *o, int top) {
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

/* --- the figures and the legend ------------------------------------------ */

static void fig_bytes(struct out *o, int x, int y, const char *label, uint64_t v) {
  text_line(o, x + 14, y, NULL, NULL, label);
  text_at(o, x + 200, y, "v", NULL);
  put_bytes(o, v);
  put_str(o, "<tspan class=\"x\" dx=\"6\">(");
  put_grouped(o, v);
  put_str(o, " bytes)</tspan>");
  text_end(o);
}

static void fig_count(struct out *o, int x, int y, const char *label, uint64_t v,
                      const char *note) {
  text_line(o, x + 14, y, NULL, NULL, label);
  text_at(o, x + 200, y, "v", NULL);
  put_grouped(o, v);
  if (note) {
    put_str(o, "<tspan class=\"x\" dx=\"6\">");
    put_str(o, note);
    put_str(o, "</tspan>");
  }
  text_end(o);
}

static void fig_percent(struct out *o, int x, int y, const char *label, uint64_t num, uint64_t den,
                        const char *note) {
  text_line(o, x + 14, y, NULL, NULL, label);
  text_at(o, x + 200, y, "v", NULL);
  put_percent(o, num, den);
  put_str(o, "<tspan class=\"x\" dx=\"6\">");
  put_str(o, note);
  put_str(o, "</tspan>");
  text_end(o);
}

static void panel(struct out *o, int x, int w, const char *title) {
  rect_px(o, x, PANEL_Y, w, PANEL_H, "pn");
  text_line(o, x + 14, PANEL_Y + 22, "ph", NULL, title);
}

static void draw_figures(struct out *o, const struct figures *f) {
  int x = 20, y = PANEL_Y + 46;
  panel(o, x, 470, "Memory");
  fig_bytes(o, x, y, "bytes in use", f->in_use);
  fig_bytes(o, x, y + 20, "mapped from the OS", f->mapped);
  fig_bytes(o, x, y + 40, "footprint", f->footprint);
  fig_bytes(o, x, y + 60, "in thread caches", f->thread_cached);
  text_line(o, x + 14, y + 80, NULL, NULL, "arenas");
  text_at(o, x + 200, y + 80, "v", NULL);
  put_dec(o, f->arenas);
  put_str(o, "<tspan class=\"x\" dx=\"6\">(4 MiB each");
  if (f->exact && f->cached_arenas) {
    put_str(o, ", + ");
    put_dec(o, f->cached_arenas);
    put_str(o, " empty in the cache");
  }
  put_str(o, ")</tspan>");
  text_end(o);
  fig_count(o, x, y + 100, "large blocks", f->large_blocks, "(own mappings, 1 MiB and up)");
  fig_count(o, x, y + 120, "heaps", f->heaps, "(each with its own lock and arenas)");

  x = 500;
  panel(o, x, 470, "Fragmentation");
  fig_bytes(o, x, y, "free bytes", f->free_bytes);
  fig_count(o, x, y + 20, "free blocks", f->free_blocks, NULL);
  fig_bytes(o, x, y + 40, "largest free block", f->largest_free);
  uint64_t lost = f->free_bytes > f->largest_free ? f->free_bytes - f->largest_free : 0;
  fig_percent(o, x, y + 60, "external fragmentation", lost, f->free_bytes,
              "= 1 − largest free / free bytes");
  fig_percent(o, x, y + 80, "occupancy", f->in_use, f->mapped, "= in use / mapped");
  text_line(o, x + 14, y + 104, "nt", NULL,
            "External fragmentation 0%: all free memory is one block; near 100%: it is");
  text_line(o, x + 14, y + 118, "nt", NULL,
            "crumbs, and a big request needs a new arena although enough bytes are free.");

  x = 980;
  panel(o, x, CANVAS_W - 20 - x, "Legend (view 1)");
  static const char *const what[4] = {"allocated: handed out by malloc, in use",
                                      "free: on a free list, ready to be reused",
                                      "thread-cached: freed, kept by a thread for reuse",
                                      "large block: own mapping (1 MiB and up)"};
  static const int order[4] = {ST_ALLOC, ST_FREE, ST_CACHED, ST_LARGE};
  for (int i = 0; i < 4; i++) {
    rect_px(o, x + 14, y - 11 + 20 * i, 26, 13, st_class[order[i]]);
    text_line(o, x + 48, y + 20 * i, NULL, NULL, what[i]);
  }
  if (pic.zoom) {
    text_at(o, x + 14, y + 84, "nt", NULL);
    put_str(o, "Zoomed in: a strip is an arena's first ");
    put_bytes(o, pic.zoom);
    put_str(o, ",");
    text_end(o);
    text_at(o, x + 14, y + 98, "nt", NULL);
    put_str(o, "1 px = ");
    put_bytes(o, pic.zoom / STRIP_W);
    put_str(o, ". Blocks of ");
    put_bytes(o, 3 * pic.zoom / STRIP_W);
    put_str(o, " and up drawn one by one, a white line");
    text_end(o);
  } else {
    text_line(o, x + 14, y + 84, "nt", NULL, "A strip is one 4 MiB arena, 1 px = 4 KiB. Blocks of");
    text_line(o, x + 14, y + 98, "nt", NULL, "12 KiB and up are drawn one by one, a white line");
  }
  text_line(o, x + 14, y + 112, "nt", NULL, "between them; smaller blocks share 1-px columns");
  text_line(o, x + 14, y + 126, "nt", NULL, "coloured by the state holding most of their bytes.");
}

/* The scale above the strips: a tick every 256 KiB, a label every MiB. */
static void draw_ruler(struct out *o) {
  int y = STRIPS_TOP - 6;
  line_px(o, STRIP_X, y, STRIP_X + STRIP_W, y, "ax");
  for (int i = 0; i <= 16; i++) {
    int x = STRIP_X + i * STRIP_W / 16;
    line_px(o, x, y - (i % 4 ? 3 : 6), x, y, "ax");
    if (i % 4 == 0) {
      text_at(o, x, y - 9, "g", i == 0 ? "start" : i == 16 ? "end" : "middle");
      if (i == 0) {
        put_str(o, "+0");
      } else if (pic.zoom) {
        put_char(o, '+');
        put_bytes(o, pic.zoom / 16 * (uint64_t)i);
      } else {
        put_char(o, '+');
        put_dec(o, (uint64_t)i / 4);
        put_str(o, " MiB");
      }
      text_end(o);
    }
  }
  text_line(o, STRIP_X - 8, y - 2, "g", "end", "offset in the arena");
}

/* The picture's title: the caller's (a trace and its op), else the
 * program and when the snapshot was taken. */
static void put_title(struct out *o) {
  const struct snapshot *s = pic.s;
  if (pic.opts && pic.opts->title) {
    put_text(o, pic.opts->title, 110);
    return;
  }
  put_str(o, "HawkAlloc heap map: ");
  put_text(o, s->program[0] ? base_name(s->program) : "?", 60);
  if (s->h.cause == SNAP_SIGNAL) {
    put_str(o, ", SIGUSR2 frame ");
    put_dec(o, s->h.frame);
  } else {
    put_str(o, s->h.cause == SNAP_EXIT ? " at exit" : ", hawk_map_write()");
  }
}

static void draw_top(struct out *o, const struct figures *f) {
  const struct snapshot *s = pic.s;
  const struct render_opts *opts = pic.opts;
  text_at(o, 20, 36, "t", NULL);
  put_title(o);
  text_end(o);
  text_at(o, 20, 58, "st", NULL);
  if (opts && opts->subtitle) {
    put_text(o, opts->subtitle, 120);
  } else {
    put_str(o, "program ");
    put_text(o, s->program[0] ? base_name(s->program) : "?", 60);
    put_str(o, " (pid ");
    put_dec(o, (uint64_t)s->h.pid);
    put_str(o, ")");
  }
  put_str(o, " · policy ");
  put_text(o, s->policy[0] ? s->policy : "?", 40);
  put_str(o, " · ");
  put_dec(o, f->heaps);
  put_str(o, f->heaps == 1 ? " heap · " : " heaps · ");
  put_time(o, s->h.time);
  put_str(o, " · ");
  if (opts && opts->title) {
    put_str(o, "hawk_map_write() in the replay");
  } else if (s->h.cause == SNAP_SIGNAL) {
    put_str(o, "SIGUSR2 frame ");
    put_dec(o, s->h.frame);
    put_str(o, " (figures from the walk and the counters)");
  } else {
    put_str(o, s->h.cause == SNAP_EXIT ? "at exit" : "hawk_map_write()");
  }
  text_end(o);
  draw_figures(o, f);
  text_line(o, 20, STRIPS_TOP - 52, "hd", NULL, "View 1 — the arenas");
  text_at(o, 20, STRIPS_TOP - 34, "nt", NULL);
  put_dec(o, pic.arenas);
  put_str(o, pic.arenas == 1 ? " arena and " : " arenas and ");
  put_dec(o, pic.larges);
  put_str(o, pic.larges == 1 ? " large block" : " large blocks");
  if (pic.zoom) {
    put_str(o, ", in the order the walk meets them. Zoomed in, the heap being small: every strip "
               "shows the first ");
    put_bytes(o, pic.zoom);
    put_str(o, " of its 4 MiB arena across 1024 px (");
    put_bytes(o, pic.zoom / STRIP_W);
    put_str(o, " a pixel); the rest of the arena is free.");
  } else {
    put_str(o, ", in the order the walk meets them (heap by heap). Every strip is drawn to scale: "
               "the 4 MiB of an arena across 1024 px, low addresses on the left.");
  }
  text_end(o);
  draw_ruler(o);
}

/* --- the page ------------------------------------------------------------- */

/* The page below the header; returns its height. */
static unsigned page_body(struct out *o) {
  const struct snapshot *s = pic.s;
  const struct snap_figures *g = &s->fig;
  struct figures f = {.in_use = g->in_use,
                      .mapped = g->mapped,
                      .footprint = g->footprint,
                      .thread_cached = g->thread_cached,
                      .arenas = g->arenas,
                      .cached_arenas = g->cached_arenas,
                      .large_blocks = g->large_blocks,
                      .heaps = g->heaps,
                      .free_bytes = g->free_bytes,
                      .free_blocks = g->free_blocks,
                      .largest_free = g->largest_free,
                      .exact = !(s->h.flags & SNAP_FROM_SIGNAL)};
  put_str(o, "<title>");
  put_title(o);
  put_str(o, "</title>\n");
  put_str(o, style);
  put_str(o, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
  strips_draw(o);
  draw_top(o, &f);
  int y = strip_y((int)pic.drawn) + 4;
  if (pic.drawn == 0) {
    text_line(o, STRIP_X, STRIPS_TOP + 16, "nt", NULL, "(no arenas yet: nothing allocated)");
    y += STRIP_PITCH;
  }
  if (pic.hidden_arenas + pic.hidden_larges) {
    text_at(o, STRIP_X, y + 8, "nt", NULL);
    put_str(o, "… ");
    if (pic.hidden_arenas) {
      put_dec(o, pic.hidden_arenas);
      put_str(o, pic.hidden_larges ? " more arenas and " : " more arenas");
    }
    if (pic.hidden_larges) {
      put_dec(o, pic.hidden_larges);
      put_str(o, " more large blocks");
    }
    put_str(o, ", not drawn (");
    put_dec(o, STRIPS_MAX);
    put_str(o, " strips at most)");
    text_end(o);
    y += 20;
  }
  maps_read();
  unsigned height = (unsigned)view2(o, y + 24) + 10;
  put_str(o, "</svg>\n");
  return height;
}

int render_svg(const struct snapshot *s, FILE *out) { return render_svg_opts(s, NULL, out); }

int render_svg_opts(const struct snapshot *s, const struct render_opts *opts, FILE *out) {
  memset(&pic, 0, sizeof pic);
  pic.s = s;
  pic.opts = opts;
  pic.zoom = zoom_span(opts);
  pic.names_len = 1;
  /* The height is known at the end: the body goes to memory first. */
  char *body = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&body, &len);
  if (!mem) return -1;
  struct out b = {mem}, o = {out};
  unsigned height = page_body(&b);
  if (fclose(mem) != 0) {
    free(body);
    return -1;
  }
  put_header(&o, height);
  fwrite(body, 1, len, out);
  free(body);
  return ferror(out) ? -1 : 0;
}
