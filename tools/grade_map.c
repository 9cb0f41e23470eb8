/* grade_map.c - `hawk grade --map`: the student's heap at a trace's peak of
 * live payload as an SVG picture, from the grader's heap file (grade_ops.h):
 * the payloads the trace asked for, every other byte of the heap overhead
 * or free. */
#include <stdlib.h>

#include "grade.h"
#include "hawk.h"
#include "svg.h"

/* A title longer than this is cut with an ellipsis (svg.h, put_text). */
#define TITLE_MAX 200

#define HEAP_W    1024 /* pixels a row */
#define HEAP_ROWS 8    /* rows at most */

/* One payload of the heap file. */
struct heap_piece {
  unsigned long off, len, slot;
};

/* Reads the heap file (grade_ops.h): the heap's size and its payloads
 * (malloc'ed).  0, or -1. */
static int heap_read(const char *file, unsigned long *heap, struct heap_piece **out, size_t *n) {
  FILE *in = fopen(file, "r");
  if (!in) return -1;
  size_t cap = 256;
  struct heap_piece *p = malloc(cap * sizeof *p), q;
  *n = 0;
  if (!p || fscanf(in, "heap %lu", heap) != 1) {
    fclose(in);
    free(p);
    return -1;
  }
  while (fscanf(in, "%lu %lu %lu", &q.off, &q.len, &q.slot) == 3) {
    if (*n == cap) {
      cap *= 2;
      struct heap_piece *np = realloc(p, cap * sizeof *p);
      if (!np) abort();
      p = np;
    }
    p[(*n)++] = q;
  }
  fclose(in);
  *out = p;
  return 0;
}

/* One row of the picture: bytes [start, end) of the heap. */
static void heap_row(FILE *f, const struct heap_piece *p, size_t n, unsigned long start,
                     unsigned long end, double px, int y) {
  fprintf(f, "<g class=\"row\" transform=\"translate(150,%d)\">\n", y);
  fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%.1f\" height=\"22\" class=\"o\"/>\n",
          (double)(end - start) * px);
  for (size_t i = 0; i < n; i++) {
    unsigned long a = p[i].off, b = p[i].off + p[i].len;
    if (b <= start || a >= end) continue;
    if (a < start) a = start;
    if (b > end) b = end;
    double x0 = (double)(a - start) * px, x1 = (double)(b - start) * px;
    if (x1 - x0 >= 3)
      fprintf(f,
              "<rect x=\"%.1f\" width=\"%.1f\" height=\"22\" class=\"p\"><title>block %lu, "
              "%lu bytes at heap+0x%lx</title></rect>\n",
              x0 + 0.5, x1 - x0 - 1, p[i].slot, p[i].len, p[i].off);
    else
      fprintf(f, "<rect x=\"%.2f\" width=\"%.2f\" height=\"22\" class=\"p\"/>\n", x0, x1 - x0);
  }
  fprintf(f, "</g>\n<rect x=\"150\" y=\"%d\" width=\"%.1f\" height=\"22\" class=\"e\"/>\n", y,
          (double)(end - start) * px);
  fprintf(f, "<text x=\"142\" y=\"%d\" text-anchor=\"end\" class=\"n\">heap+0x%lx</text>\n", y + 15,
          start);
}

/* Draws the heap file as SVG into svg: rows of HEAP_W pixels, payloads
 * blue, every other byte grey (the allocator's headers, padding and free
 * blocks: the grader cannot tell them apart).  0, or -1. */
int grade_draw(const char *heapfile, const char *svg, const char *title, uint64_t live) {
  unsigned long heap = 0;
  size_t n = 0;
  struct heap_piece *p = NULL;
  if (heap_read(heapfile, &heap, &p, &n) != 0) return -1;
  FILE *f = fopen(svg, "w");
  if (!f) {
    free(p);
    return -1;
  }
  struct out o = {f};
  unsigned long rows = heap <= (unsigned long)HEAP_W * 64 ? 1 : HEAP_ROWS;
  unsigned long row_bytes = (heap + rows - 1) / rows;
  if (row_bytes < HEAP_W) row_bytes = HEAP_W;
  double px = (double)HEAP_W / (double)row_bytes; /* pixels a byte */
  int height = 130 + (int)rows * 34;
  fprintf(f,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"1200\" "
          "height=\"%d\" viewBox=\"0 0 1200 %d\">\n<title>",
          height, height);
  put_text(&o, title, TITLE_MAX);
  fputs("</title>\n<style>\n"
        "text{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;font-size:12px;fill:#222}\n"
        ".t{font-size:20px;font-weight:bold}.n{font-size:11px;fill:#555}\n"
        ".p{fill:#2f6fd0}.o{fill:#c8c8c8}.e{fill:none;stroke:#555;stroke-width:0.8}\n"
        "</style>\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n"
        "<text x=\"20\" y=\"32\" class=\"t\">",
        f);
  put_text(&o, title, TITLE_MAX);
  fputs("</text>\n", f);
  fprintf(f,
          "<text x=\"20\" y=\"56\">%zu live payloads, %llu bytes, in a heap of %lu bytes: "
          "%.1f%% of the heap is payload</text>\n",
          n, (unsigned long long)live, heap, heap ? 100.0 * (double)live / (double)heap : 0.0);
  fprintf(f,
          "<rect x=\"20\" y=\"70\" width=\"26\" height=\"13\" class=\"p\"/>"
          "<text x=\"52\" y=\"81\">payload (what the trace asked for)</text>\n"
          "<rect x=\"300\" y=\"70\" width=\"26\" height=\"13\" class=\"o\"/>"
          "<text x=\"332\" y=\"81\">overhead or free (headers, padding, free blocks)</text>\n"
          "<text x=\"20\" y=\"104\" class=\"n\">Each row is %lu bytes of the heap across %d px, "
          "from mem_heap_lo() on; payloads of 3 px and more are drawn one by one, a white line "
          "between them.</text>\n",
          row_bytes, HEAP_W);
  for (unsigned long r = 0; r < rows && (r == 0 || r * row_bytes < heap); r++) {
    unsigned long start = r * row_bytes;
    unsigned long end = start + row_bytes < heap ? start + row_bytes : heap;
    heap_row(f, p, n, start, end, px, 116 + (int)r * 34);
  }
  fprintf(f, "</svg>\n");
  free(p);
  return output_close(f) == 0 ? 0 : -1;
}
