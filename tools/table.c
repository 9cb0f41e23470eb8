/* table.c - a table printed with aligned columns, or as tab-separated values
 * for scripts. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hawk.h"

const char *shown_text(char *buf, size_t len, const char *s) {
  size_t k = 0;
  for (; len && k < len - 1 && s[k]; k++)
    buf[k] = (unsigned char)s[k] >= 0x20 && (unsigned char)s[k] < 0x7f ? s[k] : '?';
  if (len) buf[k] = 0;
  return buf;
}

void table_init(struct table *t, int ncols, const char **heads, const char *align) {
  memset(t, 0, sizeof *t);
  t->ncols = ncols;
  t->heads = heads;
  t->align = align;
}

static char **new_row(struct table *t) {
  if (t->nrows == t->cap) {
    t->cap = t->cap ? 2 * t->cap : 16;
    t->cells = realloc(t->cells, (size_t)t->cap * (size_t)t->ncols * sizeof *t->cells);
  }
  return &t->cells[(size_t)t->nrows++ * (size_t)t->ncols];
}

void table_row(struct table *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text = NULL;
  if (vasprintf(&text, fmt, ap) < 0) text = NULL;
  va_end(ap);
  char **row = new_row(t);
  char *p = text ? text : "";
  for (int c = 0; c < t->ncols; c++) {
    char *tab = strchr(p, '\t');
    size_t len = tab ? (size_t)(tab - p) : strlen(p);
    row[c] = strndup(p, len);
    p += len + (tab ? 1 : 0);
  }
  free(text);
}

void table_rule(struct table *t) {
  char **row = new_row(t);
  for (int c = 0; c < t->ncols; c++) row[c] = NULL;
}

void table_print(const struct table *t, int tsv) {
  if (tsv) {
    for (int c = 0; c < t->ncols; c++) printf("%s%s", c ? "\t" : "", t->heads[c]);
    printf("\n");
    for (int r = 0; r < t->nrows; r++) {
      char **row = &t->cells[(size_t)r * (size_t)t->ncols];
      if (!row[0]) continue;
      for (int c = 0; c < t->ncols; c++) printf("%s%s", c ? "\t" : "", row[c]);
      printf("\n");
    }
    return;
  }
  size_t *width = calloc((size_t)t->ncols, sizeof *width);
  size_t total = 0;
  for (int c = 0; c < t->ncols; c++) width[c] = strlen(t->heads[c]);
  for (int r = 0; r < t->nrows; r++)
    for (int c = 0; c < t->ncols; c++) {
      const char *cell = t->cells[(size_t)r * (size_t)t->ncols + (size_t)c];
      if (cell && strlen(cell) > width[c]) width[c] = strlen(cell);
    }
  for (int c = 0; c < t->ncols; c++) total += width[c] + (c ? 2 : 0);
  for (int r = -1; r < t->nrows; r++) {
    char **row = r < 0 ? (char **)t->heads : &t->cells[(size_t)r * (size_t)t->ncols];
    if (!row[0]) {
      for (size_t k = 0; k < total; k++) putchar('-');
      putchar('\n');
      continue;
    }
    for (int c = 0; c < t->ncols; c++) {
      int w = (int)width[c];
      int last = c == t->ncols - 1;
      if (t->align[c] == 'r')
        printf("%s%*s", c ? "  " : "", w, row[c]);
      else
        printf("%s%-*s", c ? "  " : "", last ? 0 : w, row[c]);
    }
    putchar('\n');
    if (r < 0) {
      for (size_t k = 0; k < total; k++) putchar('-');
      putchar('\n');
    }
  }
  free(width);
}

void table_free(struct table *t) {
  for (int i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
  free(t->cells);
  t->cells = NULL;
  t->nrows = t->cap = 0;
}
