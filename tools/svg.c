/* svg.c - the SVG text of the heap pictures (render.c, render_space.c):
 * numbers formatted for people, escaped text, and the few elements the
 * pictures are made of, written with stdio. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "svg.h"

/* --- numbers formatted for people ----------------------------------------- */

void put_char(struct out *o, char c) { fputc(c, o->f); }

void put_str(struct out *o, const char *s) { fputs(s, o->f); }

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

void put_dec(struct out *o, uint64_t v) { put_digits(o, v, 10, 0); }

/* 1234567 as "1,234,567". */
void put_grouped(struct out *o, uint64_t v) { put_digits(o, v, 10, 1); }

void put_hex(struct out *o, uint64_t v) {
  put_str(o, "0x");
  put_digits(o, v, 16, 0);
}

/* A number given in tenths: 125 as "12.5", 120 as "12". */
void put_tenths(struct out *o, int64_t t) {
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
void put_bytes(struct out *o, uint64_t v) {
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
void put_percent(struct out *o, uint64_t num, uint64_t den) {
  uint64_t t = den ? (num * 1000 + den / 2) / den : 0;
  put_tenths(o, (int64_t)t);
  put_char(o, '%');
}

/* Text from outside (file names): XML-escaped, bytes other than printable
 * ASCII shown as '?', cut to max characters with an ellipsis. */
void put_text(struct out *o, const char *s, size_t max) {
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
void put_time(struct out *o, int64_t t) {
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
void text_at(struct out *o, int x, int y, const char *cls, const char *anchor) {
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

void text_end(struct out *o) { put_str(o, "</text>\n"); }

void text_line(struct out *o, int x, int y, const char *cls, const char *anchor, const char *s) {
  text_at(o, x, y, cls, anchor);
  put_str(o, s);
  text_end(o);
}

/* A rectangle; coordinates in tenths of a pixel. */
void rect_tenths(struct out *o, int64_t x, int64_t y, int64_t w, int64_t h, const char *cls) {
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

void rect_px(struct out *o, int x, int y, int w, int h, const char *cls) {
  rect_tenths(o, (int64_t)x * 10, (int64_t)y * 10, (int64_t)w * 10, (int64_t)h * 10, cls);
}

void line_px(struct out *o, int xa, int ya, int xb, int yb, const char *cls) {
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
