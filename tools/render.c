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
 *  View 2, the address space: every mapping of the process on one broken
 *  address axis (render_space.c).  The SVG text itself is svg.c's.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawk.h"
#include "hawksnap.h"
#include "render.h"

/* --- the page ------------------------------------------------------------- */

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

/* The figures of the text block. */
struct figures {
  uint64_t in_use, mapped, footprint, thread_cached, arenas, cached_arenas, large_blocks, heaps;
  uint64_t free_bytes, free_blocks, largest_free;
  int exact; /* from hawk_stats (not from a walk made in a signal handler) */
};

/* What the drawing needs besides the snapshot (view 2's regions are
 * render_space.c's). */
static struct {
  const struct snapshot *s;
  const struct render_opts *opts;
  uint64_t zoom; /* bytes across a strip when zoomed in, else 0 */
  unsigned drawn, hidden_arenas, hidden_larges, arenas, larges;
} pic;

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
  space_begin(s);
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
