/* svg.h - the SVG text of the heap pictures: numbers formatted for people,
 * escaped text, and the elements the pictures are made of (svg.c).  Only
 * render.c, render_space.c and grade_map.c include it.
 */
#ifndef HAWK_SVG_H
#define HAWK_SVG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where a picture's text goes. */
struct out {
  FILE *f;
};

void put_char(struct out *o, char c);
void put_str(struct out *o, const char *s);
void put_dec(struct out *o, uint64_t v);
/* 1234567 as "1,234,567". */
void put_grouped(struct out *o, uint64_t v);
/* 0x followed by lower-case hexadecimal digits. */
void put_hex(struct out *o, uint64_t v);
/* A number given in tenths: 125 as "12.5", 120 as "12". */
void put_tenths(struct out *o, int64_t t);
/* A byte count for people: "512 B", "96 KiB", "3.9 MiB". */
void put_bytes(struct out *o, uint64_t v);
/* num / den as a percentage with one decimal ("0%" when den is 0). */
void put_percent(struct out *o, uint64_t num, uint64_t den);
/* Text from outside (file names): XML-escaped, bytes other than printable
 * ASCII shown as '?', cut to max characters with an ellipsis. */
void put_text(struct out *o, const char *s, size_t max);
/* Seconds since 1970 as "2024-11-26 11:52:03 UTC" (no time zone files). */
void put_time(struct out *o, int64_t t);

/* <text x y class anchor>; the caller writes the content, then text_end. */
void text_at(struct out *o, int x, int y, const char *cls, const char *anchor);
void text_end(struct out *o);
/* A whole <text> element of plain text s. */
void text_line(struct out *o, int x, int y, const char *cls, const char *anchor, const char *s);
/* A rectangle; coordinates in tenths of a pixel, or in pixels. */
void rect_tenths(struct out *o, int64_t x, int64_t y, int64_t w, int64_t h, const char *cls);
void rect_px(struct out *o, int x, int y, int w, int h, const char *cls);
void line_px(struct out *o, int xa, int ya, int xb, int yb, const char *cls);

#endif /* HAWK_SVG_H */
