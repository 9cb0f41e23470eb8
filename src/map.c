/* map.c - hawk_map_write: an SVG picture of the heap and of the address space.
 *
 * The picture has two views under a block of figures and a legend.
 *
 *  View 1, the arenas: every arena (and every large block's own mapping) is
 *  a horizontal strip drawn to scale, 1024 pixels for the 4 MiB of an arena
 *  (4 KiB a pixel), each block a rectangle coloured by its state.
 *
 *  View 2, the address space: /proc/self/maps read and grouped (a file's
 *  mappings together), HawkAlloc's arenas and large mappings taken from the
 *  walk, all placed on one address axis in address order.  The axis is
 *  broken: each region's width grows with the logarithm of its size and the
 *  unmapped gaps between regions are cut out and labelled with their size,
 *  so the program, its brk heap, the libraries, the arenas and the stack are
 *  all visible although they lie terabytes apart.
 *
 * Nothing here allocates: this runs at exit, from a signal handler and while
 * the program is calling malloc in other threads.  The SVG goes through one
 * static 64 KiB buffer to write(2); /proc/self/maps is read with read(2) into
 * static tables; numbers are formatted by hand.  The picture streams: the
 * walk's visitor draws each arena as it meets its blocks, so the memory used
 * does not grow with the heap.  The figures and view 2 are drawn after the
 * walk (their place on the page is fixed in advance or follows the strips),
 * and the height of the page, known only at the end, is written over a
 * fixed-size header with pwrite.  The file goes to PATH.PID.tmp (new, 0600)
 * and is renamed over PATH (the pid keeps two processes sharing
 * HAWKALLOC_MAP apart), or copied into what is at PATH when that is not the
 * library's to replace: see map_put.
 *
 * Size: blocks narrower than a pixel are gathered into one-pixel columns
 * coloured by the state holding most of their bytes, and neighbouring
 * rectangles of one colour are merged, so a strip has at most about a
 * thousand rectangles and a picture (64 strips at most) stays under a few
 * MB.  Blocks three pixels (12 KiB) wide or more are drawn one by one with a
 * thin line between them.
 *
 * SIGUSR2 frames (HAWKALLOC_MAP=PATH): PATH-0001.svg, PATH-0002.svg, ...
 *  The handler may interrupt a thread that holds a heap lock, and taking that
 *  lock again would deadlock.  hawk_walk and hawk_stats also take locks only
 *  their own files can see (the large-block list, the thread-cache list, the
 *  arena cache), so it cannot even be checked that they are free.  Decision:
 *  the frame is written by the handler itself, but without hawk_walk and
 *  hawk_stats.  It takes each heap lock with trylock only (spinning briefly,
 *  as another thread's hold is short), walks the arenas with the same arena
 *  walker, finds large mappings through the registry (one byte per 4 MiB
 *  chunk, read without a lock), and reads the other figures from the global
 *  counters.  It never waits for a lock it cannot give up on.  When a heap
 *  lock stays busy (most likely the interrupted thread holds it) or another
 *  picture is being written, the frame is put off: a POSIX timer (made with
 *  raw syscalls, which allocate nothing) raises SIGUSR2 again 5 ms later,
 *  when the interrupted code has moved on, for up to two seconds.  Signals
 *  that come while a frame is pending do not add frames, so frames are
 *  numbered without gaps.  A forked child (which inherits the handler but
 *  not the timer) makes its own timer and names its frames PATH-PID-0001.svg.
 *  hawk_map_write and the exit picture, which run in ordinary code, use
 *  hawk_walk and hawk_stats.
 */
#include "map.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h> /* rename only: no stdio stream is used */
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hawk.h"
#include "hawkalloc.h"
#include "options.h"
#include "registry.h"
#include "report.h"
#include "stats.h"
#include "tcache.h"

/* --- output: a buffer flushed to a file, numbers formatted by hand ------- */

struct out {
  char *buf;
  size_t cap, len;
  int fd;  /* where a full buffer goes; -1: text past cap is dropped */
  int err; /* the first write error (an errno value), 0 if none */
};

static void out_flush(struct out *o) {
  size_t done = 0;
  while (done < o->len && o->fd >= 0 && o->err == 0) {
    ssize_t n = write(o->fd, o->buf + done, o->len - done);
    if (n > 0)
      done += (size_t)n;
    else if (n < 0 && errno == EINTR)
      continue;
    else
      o->err = n < 0 ? errno : EIO;
  }
  o->len = 0;
}

static void put_char(struct out *o, char c) {
  if (o->len == o->cap) {
    if (o->fd < 0) return;
    out_flush(o);
  }
  o->buf[o->len++] = c;
}

static void put_str(struct out *o, const char *s) {
  while (*s) put_char(o, *s++);
}

static void put_dec(struct out *o, uint64_t v) {
  char d[20];
  int n = 0;
  do {
    d[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n > 0) put_char(o, d[--n]);
}

/* 1234567 as "1,234,567". */
static void put_grouped(struct out *o, uint64_t v) {
  char d[20];
  int n = 0;
  do {
    d[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n > 0) {
    put_char(o, d[--n]);
    if (n > 0 && n % 3 == 0) put_char(o, ',');
  }
}

static void put_hex(struct out *o, uint64_t v) {
  char d[16];
  int n = 0;
  do {
    d[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  put_str(o, "0x");
  while (n > 0) put_char(o, d[--n]);
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

#define CANVAS_W   1500
#define HEADER_LEN 256 /* the <?xml?> line and <svg> start tag, padded */

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
    ".a{fill:#2f6fd0}.f{fill:#b5e0a8}.c{fill:#f2a33a}.l{fill:#8e4fc2}.o{fill:#8a8a8a}\n"
    ".bg{fill:#fff}.e{fill:none;stroke:#555;stroke-width:0.8}\n"
    ".ax{stroke:#888;stroke-width:1}.gl{stroke:#999;stroke-width:1;stroke-dasharray:3,3}\n"
    ".br{stroke:#444;stroke-width:1.5;fill:none}.kb{stroke:#333;stroke-width:0.6}\n"
    ".k0{fill:#16a085}.k1{fill:#e67e22}.k2{fill:#7f8fa6}.k3{fill:#c3cbd3}\n"
    ".k4{fill:#dedede}.k5{fill:#2f6fd0}.k6{fill:#8e4fc2}.k7{fill:#9fbdf0}\n"
    ".k8{fill:#a3c9bc}.k9{fill:#555}.k10{fill:#c0392b}\n"
    "</style>\n";

/* The <?xml?> line and the <svg> tag for a page of this height, padded with
 * spaces inside the tag to exactly HEADER_LEN bytes. */
static void put_header(struct out *o, unsigned height) {
  size_t start = o->len;
  put_str(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"");
  put_dec(o, CANVAS_W);
  put_str(o, "\" height=\"");
  put_dec(o, height);
  put_str(o, "\" viewBox=\"0 0 ");
  put_dec(o, CANVAS_W);
  put_char(o, ' ');
  put_dec(o, height);
  put_char(o, '"');
  while (o->len - start < HEADER_LEN - 2) put_char(o, ' ');
  put_str(o, ">\n");
}

/* --- the walk: strips of view 1 and the totals ----------------------------- */

enum { ST_FREE, ST_ALLOC, ST_CACHED, ST_LARGE, ST_HEADER, ST_COUNT };
static const char *const st_class[ST_COUNT] = {"f", "a", "c", "l", "o"};
static const char *const st_word[ST_COUNT] = {"free", "allocated", "thread-cached",
                                              "large (own mapping)", "mapping header"};

/* One strip being drawn: an arena, or a large block's mapping. */
struct strip {
  uintptr_t region;
  uint64_t region_size;
  uint64_t span; /* bytes the strip's 1024 pixels stand for */
  int heap, large, drawn, row;
  uint64_t next_off; /* end of the last block seen, from the region's start */
  uint64_t bytes[ST_COUNT];
  uint64_t free_blocks, largest_free;
  /* a column of blocks narrower than a pixel being gathered */
  int run_open;
  int32_t run_x0, run_x1;
  uint64_t run_bytes[ST_COUNT];
  /* the rectangle being extended */
  int rect_open, rect_alone, rect_state;
  int32_t rect_x0, rect_x1;
  uintptr_t rect_addr;
  uint64_t rect_size;
};

/* What the walk adds up, over every block (drawn or not). */
struct totals {
  uint64_t bytes[ST_COUNT];
  uint64_t free_blocks, largest_free, arenas, larges, large_mapped;
};

enum map_mode { MODE_CALL, MODE_EXIT, MODE_SIGNAL };

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

/* Everything a picture needs, in static storage: the handler may run on a
 * small stack.  One picture at a time (map_busy). */
static struct {
  struct out o;
  char buf[1 << 16];
  char header[HEADER_LEN + 8];
  char tmp[4200];
  char frame[4200];
  char exe[4096];
  char line[4352];
  char chunk[8192];
  enum map_mode mode;
  unsigned frame_no;
  struct totals tot;
  struct strip s;
  int in_strip;
  unsigned drawn, hidden_arenas, hidden_larges;
  struct region maps[MAPS_MAX];
  size_t n_maps;
  char names[NAMES_MAX];
  size_t names_len;
  struct region hawk[HAWK_MAX];
  size_t n_hawk;
  struct region items[ITEMS_MAX];
  size_t n_items;
} pic;

static int map_busy; /* a picture is being written (pic is in use) */

static int strip_y(int row) { return STRIPS_TOP + row * STRIP_PITCH; }

static int32_t strip_x(const struct strip *s, uint64_t off) {
  if (off >= s->span) return STRIP_W * PX;
  return (int32_t)((off * (STRIP_W * PX) + s->span / 2) / s->span);
}

/* Writes the rectangle being extended. */
static void strip_emit(struct strip *s) {
  if (!s->rect_open) return;
  s->rect_open = 0;
  int32_t xa = s->rect_x0, xb = s->rect_x1;
  if (s->rect_alone) { /* half a pixel off each side: a line between blocks */
    xa += PX / 2;
    xb -= PX / 2;
  }
  if (xb <= xa) return;
  struct out *o = &pic.o;
  put_str(o, "<rect x=\"");
  put_tenths(o, xa);
  put_str(o, "\" width=\"");
  put_tenths(o, xb - xa);
  put_str(o, "\" height=\"");
  put_dec(o, STRIP_H);
  put_str(o, "\" class=\"");
  put_str(o, st_class[s->rect_state]);
  if (s->rect_alone && s->rect_x1 - s->rect_x0 >= TITLED) {
    put_str(o, "\"><title>");
    put_str(o, st_word[s->rect_state]);
    put_str(o, " block, ");
    put_bytes(o, s->rect_size);
    put_str(o, ", at ");
    put_hex(o, s->rect_addr);
    put_str(o, "</title></rect>\n");
  } else {
    put_str(o, "\"/>\n");
  }
}

/* Adds [xa, xb) in one state: extends the current rectangle when it can. */
static void strip_piece(struct strip *s, int32_t xa, int32_t xb, int state, int alone,
                        uintptr_t addr, uint64_t size) {
  if (s->rect_open && !alone && !s->rect_alone && s->rect_state == state && s->rect_x1 == xa) {
    s->rect_x1 = xb;
    return;
  }
  strip_emit(s);
  s->rect_open = 1;
  s->rect_alone = alone;
  s->rect_state = state;
  s->rect_x0 = xa;
  s->rect_x1 = xb;
  s->rect_addr = addr;
  s->rect_size = size;
}

/* Ends a column of narrow blocks: one piece in the state with most bytes. */
static void strip_run_flush(struct strip *s) {
  if (!s->run_open) return;
  int best = 0;
  for (int i = 1; i < ST_COUNT; i++)
    if (s->run_bytes[i] > s->run_bytes[best]) best = i;
  s->run_open = 0;
  memset(s->run_bytes, 0, sizeof s->run_bytes);
  strip_piece(s, s->run_x0, s->run_x1, best, 0, 0, 0);
}

static void strip_block(struct strip *s, uint64_t off, uint64_t size, int state, uintptr_t addr) {
  int32_t xa = strip_x(s, off), xb = strip_x(s, off + size);
  if (xb - xa >= PX) {
    strip_run_flush(s);
    strip_piece(s, xa, xb, state, xb - xa >= ALONE, addr, size);
    return;
  }
  if (!s->run_open) {
    s->run_open = 1;
    s->run_x0 = xa;
  }
  s->run_x1 = xb;
  s->run_bytes[state] += size;
  if (s->run_x1 - s->run_x0 >= PX) strip_run_flush(s);
}

static void hawk_region_add(uintptr_t start, uint64_t size, int kind, uint32_t count);

static void strip_begin(struct strip *s, const struct hawk_block_info *b) {
  memset(s, 0, sizeof *s);
  s->region = b->region;
  s->region_size = b->region_size;
  s->large = b->state == HAWK_BLOCK_LARGE;
  s->span = s->large && b->region_size > ARENA_SIZE ? b->region_size : ARENA_SIZE;
  s->heap = b->heap;
  hawk_region_add(b->region, b->region_size, s->large ? K_LARGE : K_ARENA, 1);
  if (s->large) {
    pic.tot.larges++;
    pic.tot.large_mapped += b->region_size;
  } else {
    pic.tot.arenas++;
  }
  if (pic.drawn >= STRIPS_MAX) {
    if (s->large)
      pic.hidden_larges++;
    else
      pic.hidden_arenas++;
    return;
  }
  s->drawn = 1;
  s->row = (int)pic.drawn++;
  struct out *o = &pic.o;
  put_str(o, s->large ? "<g class=\"strip large\"" : "<g class=\"strip arena\"");
  put_str(o, " transform=\"translate(");
  put_dec(o, STRIP_X);
  put_char(o, ',');
  put_dec(o, (uint64_t)strip_y(s->row));
  put_str(o, ")\">\n");
  rect_tenths(o, 0, 0, strip_x(s, s->region_size), STRIP_H * PX, "bg");
}

/* Closes a strip: the last rectangles, its outline and its two labels. */
static void strip_end(struct strip *s) {
  if (!s->drawn) return;
  strip_run_flush(s);
  strip_emit(s);
  struct out *o = &pic.o;
  int y = strip_y(s->row);
  put_str(o, "</g>\n");
  rect_tenths(o, STRIP_X * PX, (int64_t)y * PX, strip_x(s, s->region_size), STRIP_H * PX, "e");
  text_at(o, STRIP_X - 8, y + 15, "sl", "end");
  if (s->large) {
    put_str(o, "<tspan class=\"b\">large</tspan> ");
  } else {
    put_str(o, "<tspan class=\"b\">heap ");
    put_dec(o, (uint64_t)s->heap);
    put_str(o, "</tspan> ");
  }
  put_str(o, "<tspan class=\"m\">");
  put_hex(o, s->region);
  put_str(o, "</tspan>");
  text_end(o);
  text_at(o, LABEL_X, y + 15, "sr", NULL);
  if (s->large) {
    put_str(o, "own mapping of ");
    put_bytes(o, s->region_size);
    if (s->span > ARENA_SIZE) {
      put_str(o, ", drawn at 1/");
      put_tenths(o, (int64_t)((s->span * 10 + ARENA_SIZE / 2) / ARENA_SIZE));
      put_str(o, " scale");
    }
  } else {
    put_percent(o, s->bytes[ST_ALLOC] + s->bytes[ST_CACHED], s->region_size);
    put_str(o, " used · ");
    put_dec(o, s->free_blocks);
    put_str(o, " free");
    if (s->free_blocks) {
      put_str(o, " · largest ");
      put_bytes(o, s->largest_free);
    }
  }
  text_end(o);
}

/* The visitor: one block of hawk_walk (or of the signal-time walk). */
static void map_visit(void *ctx, const struct hawk_block_info *b) {
  (void)ctx;
  struct strip *s = &pic.s;
  if (!pic.in_strip || b->region != s->region) {
    if (pic.in_strip) strip_end(s);
    strip_begin(s, b);
    pic.in_strip = 1;
  }
  int st = b->state == HAWK_BLOCK_ALLOCATED ? ST_ALLOC
           : b->state == HAWK_BLOCK_CACHED  ? ST_CACHED
           : b->state == HAWK_BLOCK_LARGE   ? ST_LARGE
                                            : ST_FREE;
  uint64_t off = b->address > b->region ? b->address - b->region : 0;
  pic.tot.bytes[st] += b->size;
  s->bytes[st] += b->size;
  if (st == ST_FREE) {
    pic.tot.free_blocks++;
    s->free_blocks++;
    if (b->size > pic.tot.largest_free) pic.tot.largest_free = b->size;
    if (b->size > s->largest_free) s->largest_free = b->size;
  }
  if (s->drawn) {
    /* The arena header, the prologue, a large mapping's header. */
    if (off > s->next_off)
      strip_block(s, s->next_off, off - s->next_off, ST_HEADER, s->region + s->next_off);
    strip_block(s, off, b->size, st, b->address);
  }
  s->next_off = off + b->size;
}

static void walk_finish(void) {
  if (pic.in_strip) strip_end(&pic.s);
  pic.in_strip = 0;
}

/* --- the walk made from a signal handler --------------------------------- */

/* Takes a heap lock without ever blocking: another thread holds a heap lock
 * for a short while, so retry a little; the interrupted thread never lets
 * go while the handler runs, so give up after that. */
static int lock_try(pthread_mutex_t *m) {
  for (int i = 0; i < 512; i++) {
    if (pthread_mutex_trylock(m) == 0) return 1;
    if (i % 16 == 15) sched_yield();
  }
  return 0;
}

/* Whether every heap lock can be taken now. */
static int heaps_lockable(void) {
  for (unsigned i = 0; i < hawk_heap_count; i++) {
    if (!lock_try(&hawk_heaps[i].lock)) return 0;
    pthread_mutex_unlock(&hawk_heaps[i].lock);
  }
  return 1;
}

struct signal_walk {
  int heap;
  const struct arena *arena;
};

/* Describes an arena block as hawk_walk does (src/walk.c). */
static void signal_visit(void *ctx, const block *b) {
  const struct signal_walk *w = ctx;
  struct hawk_block_info info = {
      .address = (uintptr_t)b,
      .size = block_size(b),
      .payload = (uintptr_t)block_payload(b),
      .state = HAWK_BLOCK_FREE,
      .heap = w->heap,
      .region = (uintptr_t)w->arena,
      .region_size = ARENA_SIZE,
  };
  if (block_is_alloc(b))
    info.state = block_size(b) <= TCACHE_MAX_BLOCK && tcache_marked(block_payload(b))
                     ? HAWK_BLOCK_CACHED
                     : HAWK_BLOCK_ALLOCATED;
  map_visit(NULL, &info);
}

/* Anonymous mappings larger than this are not searched for HawkAlloc chunks
 * (sanitizer shadow memory spans terabytes). */
#define SCAN_LIMIT ((uint64_t)1 << 40)

/* Large blocks found through the registry in the anonymous mappings: a
 * CHUNK_LARGE chunk starts one, CHUNK_LARGE_MORE chunks continue it. */
static void signal_large_blocks(void) {
  for (size_t i = 0; i < pic.n_maps; i++) {
    const struct region *m = &pic.maps[i];
    if (m->kind != K_ANON || m->end - m->start > SCAN_LIMIT) continue;
    for (uintptr_t c = align_up(m->start, ARENA_SIZE); c < m->end; c += ARENA_SIZE) {
      if (registry_lookup((void *)c) != CHUNK_LARGE) continue;
      uintptr_t e = c + ARENA_SIZE;
      while (e < m->end && registry_lookup((void *)e) == CHUNK_LARGE_MORE) e += ARENA_SIZE;
      if (e > m->end) e = m->end;
      struct hawk_block_info info = {.address = c,
                                     .size = e - c,
                                     .payload = c,
                                     .state = HAWK_BLOCK_LARGE,
                                     .heap = -1,
                                     .region = c,
                                     .region_size = e - c};
      map_visit(NULL, &info);
      c = e - ARENA_SIZE;
    }
  }
}

/* Walks every heap with trylock; -1 if a lock stayed busy. */
static int signal_walk(void) {
  for (unsigned i = 0; i < hawk_heap_count; i++) {
    struct heap *h = &hawk_heaps[i];
    if (!lock_try(&h->lock)) return -1;
    struct signal_walk w = {.heap = (int)i};
    for (const struct arena *a = h->arenas; a; a = a->next) {
      w.arena = a;
      arena_walk(a, signal_visit, &w);
    }
    pthread_mutex_unlock(&h->lock);
  }
  signal_large_blocks();
  return 0;
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
  if (path[0] == 0 || strncmp(path, "[anon", 5) == 0) return K_ANON;
  if (strncmp(path, "[stack", 6) == 0) return K_STACK;
  if (strcmp(path, "[heap]") == 0) return K_BRK;
  if (path[0] == '[') return K_KERNEL;
  if (pic.exe[0] && strcmp(path, pic.exe) == 0) return K_PROGRAM;
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

static void maps_read(void) {
  pic.n_maps = 0;
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, pic.chunk, sizeof pic.chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; i++) {
      char c = pic.chunk[i];
      if (c == '\n') {
        pic.line[len] = 0;
        maps_line(pic.line);
        len = 0;
      } else if (len < sizeof pic.line - 1) {
        pic.line[len++] = c;
      }
    }
  }
  if (len) {
    pic.line[len] = 0;
    maps_line(pic.line);
  }
  close(fd);
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
 * but not met by the walk. */
static void registry_region(void *ctx, const void *leaf, size_t len) {
  (void)ctx;
  hawk_region_add((uintptr_t)leaf, len, K_REGISTRY, 1);
}

static void hawk_extra_regions(void) {
  registry_leaves(registry_region, NULL);
  for (size_t i = 0; i < pic.n_maps; i++) {
    const struct region *m = &pic.maps[i];
    if (m->kind != K_ANON || m->end - m->start > SCAN_LIMIT) continue;
    for (uintptr_t c = align_up(m->start, ARENA_SIZE); c + ARENA_SIZE <= m->end; c += ARENA_SIZE)
      if (registry_lookup((void *)c) == CHUNK_ARENA && !in_hawk_regions(c))
        hawk_region_add(c, ARENA_SIZE, K_CACHED, 1);
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

static void figures_from_stats(struct figures *f) {
  struct hawk_stats s;
  memset(&s, 0, sizeof s);
  hawk_stats(&s, sizeof s);
  *f = (struct figures){.in_use = s.in_use,
                        .mapped = s.mapped,
                        .footprint = s.footprint,
                        .thread_cached = s.thread_cached,
                        .arenas = s.arenas,
                        .cached_arenas = s.cached_arenas,
                        .large_blocks = s.large_blocks,
                        .heaps = s.heaps,
                        .free_bytes = s.free_bytes,
                        .free_blocks = s.free_blocks,
                        .largest_free = s.largest_free,
                        .exact = 1};
}

/* In a signal handler hawk_stats may not run (see the top of the file): the
 * walk's sums and the lock-free counters. */
static void figures_from_walk(struct figures *f) {
  const struct totals *t = &pic.tot;
  *f = (struct figures){
      .in_use = t->bytes[ST_ALLOC] + t->bytes[ST_CACHED] + t->large_mapped,
      .mapped = __atomic_load_n(&counters.mapped, __ATOMIC_RELAXED),
      .footprint = __atomic_load_n(&counters.footprint, __ATOMIC_RELAXED),
      .thread_cached = t->bytes[ST_CACHED],
      .arenas = t->arenas,
      .large_blocks = t->larges,
      .heaps = hawk_heap_count,
      .free_bytes = t->bytes[ST_FREE],
      .free_blocks = t->free_blocks,
      .largest_free = t->largest_free,
  };
}

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
  fig_percent(o, x, y + 80, "utilization", f->in_use, f->mapped, "= in use / mapped");
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
  text_line(o, x + 14, y + 84, "nt", NULL, "A strip is one 4 MiB arena, 1 px = 4 KiB. Blocks of");
  text_line(o, x + 14, y + 98, "nt", NULL, "12 KiB and up are drawn one by one, a white line");
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
      if (i == 0)
        put_str(o, "+0");
      else {
        put_char(o, '+');
        put_dec(o, (uint64_t)i / 4);
        put_str(o, " MiB");
      }
      text_end(o);
    }
  }
  text_line(o, STRIP_X - 8, y - 2, "g", "end", "offset in the arena");
}

static void draw_top(struct out *o, const struct figures *f, int64_t when) {
  text_line(o, 20, 36, "t", NULL, "HawkAlloc heap map");
  text_at(o, 20, 58, "st", NULL);
  put_str(o, "program ");
  put_text(o, pic.exe[0] ? base_name(pic.exe) : "?", 60);
  put_str(o, " (pid ");
  put_dec(o, (uint64_t)getpid());
  put_str(o, ") · policy ");
  put_text(o, hawk_policy_name(), 40);
  put_str(o, " · ");
  put_dec(o, f->heaps);
  put_str(o, f->heaps == 1 ? " heap · " : " heaps · ");
  put_time(o, when);
  put_str(o, " · ");
  if (pic.mode == MODE_SIGNAL) {
    put_str(o, "SIGUSR2 frame ");
    put_dec(o, pic.frame_no);
    put_str(o, " (figures from the walk and the counters)");
  } else {
    put_str(o, pic.mode == MODE_EXIT ? "at exit" : "hawk_map_write()");
  }
  text_end(o);
  draw_figures(o, f);
  text_line(o, 20, STRIPS_TOP - 52, "hd", NULL, "View 1 — the arenas");
  text_at(o, 20, STRIPS_TOP - 34, "nt", NULL);
  put_dec(o, pic.tot.arenas);
  put_str(o, pic.tot.arenas == 1 ? " arena and " : " arenas and ");
  put_dec(o, pic.tot.larges);
  put_str(o, pic.tot.larges == 1 ? " large block" : " large blocks");
  put_str(o, ", in the order the walk meets them (heap by heap). Every strip is drawn to scale: "
             "the 4 MiB of an arena across 1024 px, low addresses on the left.");
  text_end(o);
  draw_ruler(o);
}

/* --- writing a picture ----------------------------------------------------- */

#define MAP_BUSY (-1) /* a heap lock stayed busy (signal mode only) */

static int append_pid_tmp(char *dst, size_t cap, const char *path) {
  size_t n = strlen(path);
  if (n + 32 > cap) return 0;
  memcpy(dst, path, n);
  struct out o = {.buf = dst + n, .cap = cap - n - 1, .fd = -1};
  put_char(&o, '.');
  put_dec(&o, (uint64_t)getpid());
  put_str(&o, ".tmp");
  dst[n + o.len] = 0;
  return 1;
}

#define MAP_REFUSED (-2) /* the path names something that is not for pictures */

/* Makes the temporary file: new (O_EXCL: never through a symbolic link or
 * into a file someone else put there), 0600.  A file of that name left by a
 * process of the same pid that died is removed once. */
static int open_tmp(const char *tmp) {
  for (int tries = 0;; tries++) {
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0 || errno != EEXIST || tries > 0 || unlink(tmp) != 0) return fd;
  }
}

/* Puts the finished picture in tmp (open as fd) at path (docs/security.md,
 * "What is at the path").  Where nothing is, or a regular file this user
 * owns with no other link: renamed over it, so a reader never sees half a
 * picture.  A symbolic link, a device, a FIFO, or someone else's or a
 * hard-linked regular file is never replaced: the picture is copied into
 * what is there (opened without O_CREAT; O_NONBLOCK, so that a FIFO with no
 * reader fails rather than waits).  Anything else is refused (MAP_REFUSED).
 * Returns 0 or an errno value; tmp is gone either way. */
static int map_put(int fd, const char *tmp, const char *path) {
  struct stat l, st;
  int r = 0, exists = lstat(path, &l) == 0;
  if (!exists && errno != ENOENT) {
    r = errno;
  } else if (!exists || (S_ISREG(l.st_mode) && l.st_uid == geteuid() && l.st_nlink == 1)) {
    if (rename(tmp, path) == 0) return 0;
    r = errno;
  } else if (stat(path, &st) != 0) {
    r = errno;
  } else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    r = S_ISDIR(st.st_mode) ? EISDIR : MAP_REFUSED;
  } else {
    int to = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (to < 0 || fstat(to, &st) != 0) {
      r = errno;
    } else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
      r = MAP_REFUSED; /* changed since the stat */
    } else {
      fcntl(to, F_SETFL, fcntl(to, F_GETFL) & ~O_NONBLOCK);
      pic.o = (struct out){.buf = pic.buf, .cap = sizeof pic.buf, .fd = to};
      ssize_t n = 0;
      off_t at = 0;
      while (pic.o.err == 0 && (n = pread(fd, pic.buf, sizeof pic.buf, at)) > 0) {
        pic.o.len = (size_t)n;
        at += n;
        out_flush(&pic.o);
      }
      r = pic.o.err ? pic.o.err : n < 0 ? errno : 0;
    }
    if (to >= 0 && close(to) != 0 && r == 0) r = errno;
  }
  unlink(tmp);
  return r;
}

/* Writes the picture to path; the caller holds map_busy.  Returns 0, an
 * errno value, MAP_BUSY or MAP_REFUSED. */
static int map_write(const char *path, enum map_mode mode, unsigned frame_no) {
  if (mode == MODE_SIGNAL && !heaps_lockable()) return MAP_BUSY;
  if (!append_pid_tmp(pic.tmp, sizeof pic.tmp, path)) return ENAMETOOLONG;
  int fd = open_tmp(pic.tmp);
  if (fd < 0) return errno;
  struct timespec now = {0, 0};
  clock_gettime(CLOCK_REALTIME, &now);
  ssize_t n = readlink("/proc/self/exe", pic.exe, sizeof pic.exe - 1);
  pic.exe[n > 0 ? n : 0] = 0;
  pic.mode = mode;
  pic.frame_no = frame_no;
  memset(&pic.tot, 0, sizeof pic.tot);
  pic.in_strip = 0;
  pic.drawn = pic.hidden_arenas = pic.hidden_larges = 0;
  pic.n_hawk = 0;
  pic.names_len = 1;
  pic.names[0] = 0;
  pic.o = (struct out){.buf = pic.buf, .cap = sizeof pic.buf, .fd = fd};
  struct out *o = &pic.o;
  maps_read();

  struct figures f = {.exact = 0};
  if (mode != MODE_SIGNAL) figures_from_stats(&f);
  put_header(o, 0);
  put_str(o, style);
  put_str(o, "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
  int result = 0;
  if (mode == MODE_SIGNAL) {
    result = signal_walk() == 0 ? 0 : MAP_BUSY;
  } else {
    hawk_walk(map_visit, NULL);
  }
  walk_finish();
  if (mode == MODE_SIGNAL) figures_from_walk(&f);

  unsigned height = 0;
  if (result == 0) {
    draw_top(o, &f, now.tv_sec);
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
    height = (unsigned)view2(o, y + 24) + 10;
    put_str(o, "</svg>\n");
    out_flush(o);
    result = o->err;
  }
  if (result == 0) {
    struct out h = {.buf = pic.header, .cap = sizeof pic.header, .fd = -1};
    put_header(&h, height);
    if (pwrite(fd, pic.header, HEADER_LEN, 0) != HEADER_LEN) result = errno ? errno : EIO;
  }
  if (result == 0) {
    result = map_put(fd, pic.tmp, path);
    close(fd);
  } else {
    close(fd);
    unlink(pic.tmp);
  }
  return result;
}

/* Takes map_busy, waiting for another thread's picture (up to 10 s). */
static int busy_wait(void) {
  for (int i = 0; __atomic_exchange_n(&map_busy, 1, __ATOMIC_ACQUIRE); i++) {
    if (i >= 10000) return 0;
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  return 1;
}

static void busy_release(void) { __atomic_store_n(&map_busy, 0, __ATOMIC_RELEASE); }

int hawk_map_write(const char *path) {
  if (path == NULL || path[0] == 0) {
    errno = path ? ENOENT : EINVAL;
    return -1;
  }
  hawk_ensure_init();
  int saved = errno;
  if (!busy_wait()) {
    errno = EBUSY;
    return -1;
  }
  int r = map_write(path, MODE_CALL, 0);
  busy_release();
  if (r != 0) {
    errno = r == MAP_REFUSED ? EINVAL : r;
    return -1;
  }
  errno = saved;
  return 0;
}

/* "hawkalloc: cannot write the heap picture PATH (errno N)" on stderr, if
 * descriptor 2 still is the stderr of start-up (report.h). */
static void report_failure(const char *path, int err) {
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: cannot write the heap picture ");
  line_str(&l, path);
  if (err == MAP_REFUSED) {
    line_str(&l, ": not a regular file, a character device or a FIFO; left alone");
  } else {
    line_str(&l, " (errno ");
    line_dec(&l, (uint64_t)err);
    line_str(&l, ")");
  }
  line_write_stderr(&l);
}

void map_on_exit(void) {
  const char *path = option_text(OPTION_MAP);
  if (path == NULL || path[0] == 0) return;
  int saved = errno;
  /* exit() called from a signal handler that interrupted malloc would find
   * this thread holding a heap lock: check first rather than deadlock.  A
   * lock another thread holds is given back soon, so look a few times. */
  int lockable = 0;
  for (int i = 0; i < 20 && !(lockable = heaps_lockable()); i++) {
    struct timespec ms = {0, 5000000};
    nanosleep(&ms, NULL);
  }
  int r = EDEADLK;
  if (lockable) {
    r = EBUSY;
    if (busy_wait()) {
      r = map_write(path, MODE_EXIT, 0);
      busy_release();
    }
  }
  if (r != 0) report_failure(path, r);
  errno = saved;
}

/* --- SIGUSR2 frames (see the top of the file) ------------------------------ */

#define RETRY_COOKIE 0x4d4150 /* si_value of the retry timer's signals */
#define RETRY_NS     5000000  /* 5 ms */
#define RETRY_MAX    400      /* two seconds */

static int signal_installed;
static int retry_timer = -1; /* the kernel's id of the retry timer */
static int frame_pending;    /* a frame was asked for and not written yet */
static int frame_retries;
static unsigned frame_count; /* frames written */
static int frames_pid;       /* the process frame_count and retry_timer belong to */
static int frames_forked;    /* this process is a fork of the one that installed */

/* PATH-0001.svg for frame 1 (a ".svg" ending of PATH taken off first);
 * PATH-PID-0001.svg in a forked child, whose frames would else overwrite
 * its parent's. */
static int frame_path(char *dst, size_t cap, const char *path, unsigned n, int pid) {
  size_t len = strlen(path);
  if (len >= 4 && strcmp(path + len - 4, ".svg") == 0) len -= 4;
  if (len + 48 > cap) return 0;
  memcpy(dst, path, len);
  struct out o = {.buf = dst + len, .cap = cap - len - 1, .fd = -1};
  put_char(&o, '-');
  if (pid) {
    put_dec(&o, (uint64_t)pid);
    put_char(&o, '-');
  }
  for (unsigned d = 1000; d > 1 && n < d; d /= 10) put_char(&o, '0');
  put_dec(&o, n);
  put_str(&o, ".svg");
  dst[len + o.len] = 0;
  return 1;
}

static void retry_later(void) {
  int tries = __atomic_add_fetch(&frame_retries, 1, __ATOMIC_RELAXED);
  if (retry_timer >= 0 && tries <= RETRY_MAX) {
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = RETRY_NS;
    if (syscall(SYS_timer_settime, retry_timer, 0, &its, NULL) == 0) return;
  }
  __atomic_store_n(&frame_pending, 0, __ATOMIC_RELAXED);
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: SIGUSR2 heap picture skipped: the heap stayed locked");
  line_write_stderr(&l);
}

/* The retry timer: SIGUSR2 carrying RETRY_COOKIE.  Raw syscalls, as glibc's
 * timer_create may allocate; the id is the kernel's.  -1 if none. */
static int retry_timer_make(void) {
  struct sigevent ev;
  memset(&ev, 0, sizeof ev);
  ev.sigev_notify = SIGEV_SIGNAL;
  ev.sigev_signo = SIGUSR2;
  ev.sigev_value.sival_int = RETRY_COOKIE;
  int id = -1;
  return syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &id) == 0 ? id : -1;
}

static void take_frame(void) {
  if (__atomic_exchange_n(&map_busy, 1, __ATOMIC_ACQUIRE)) {
    retry_later(); /* another picture is being written */
    return;
  }
  int pid = (int)getpid();
  if (pid != frames_pid) { /* a forked child: timers are not inherited */
    frames_pid = pid;
    frames_forked = 1;
    frame_count = 0;
    retry_timer = retry_timer_make();
  }
  const char *path = option_text(OPTION_MAP);
  unsigned n = frame_count + 1;
  int r = frame_path(pic.frame, sizeof pic.frame, path, n, frames_forked ? pid : 0)
              ? map_write(pic.frame, MODE_SIGNAL, n)
              : ENAMETOOLONG;
  if (r == MAP_BUSY) {
    busy_release();
    retry_later();
    return;
  }
  if (r == 0) frame_count = n;
  __atomic_store_n(&frame_pending, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&frame_retries, 0, __ATOMIC_RELAXED);
  busy_release();
  if (r != 0) report_failure(pic.frame, r);
}

static void on_sigusr2(int sig, siginfo_t *info, void *uctx) {
  (void)sig;
  (void)uctx;
  int saved = errno;
  int retry = info && info->si_code == SI_TIMER && info->si_value.sival_int == RETRY_COOKIE;
  if (!retry && !__atomic_exchange_n(&frame_pending, 1, __ATOMIC_RELAXED))
    __atomic_store_n(&frame_retries, 0, __ATOMIC_RELAXED);
  if (__atomic_load_n(&frame_pending, __ATOMIC_RELAXED)) take_frame();
  errno = saved;
}

void map_install_signal(void) {
  const char *path = option_text(OPTION_MAP);
  if (path == NULL || path[0] == 0) return;
  if (__atomic_exchange_n(&signal_installed, 1, __ATOMIC_RELAXED)) return;
  int saved = errno;
  frames_pid = (int)getpid();
  retry_timer = retry_timer_make();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigusr2;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, NULL);
  errno = saved;
}
