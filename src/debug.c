/* debug.c - canaries, fill patterns and periodic checks.  See debug.h. */
#include "debug.h"

#include <string.h>

#include "options.h"
#include "report.h"

int debug_enabled;
long debug_check_every;
int debug_perturb;

void debug_init(void) {
  debug_enabled = option_long(OPTION_DEBUG) == 1;
  debug_check_every = option_long(OPTION_CHECK_EVERY);
}

void debug_mark(void *p, size_t n, size_t usable, int zeroed) {
  unsigned char *c = p;
  if (!zeroed) memset(c, DEBUG_ALLOC_FILL, n);
  memset(c + n, DEBUG_CANARY, 8);
  uint64_t size = n;
  memcpy(c + usable - sizeof size, &size, sizeof size);
}

size_t debug_requested(const void *p, size_t usable, const char *call) {
  const unsigned char *c = p;
  uint64_t n;
  memcpy(&n, c + usable - sizeof n, sizeof n);
  if (usable < DEBUG_EXTRA || n > usable - DEBUG_EXTRA)
    report_misuse(call, p,
                  "heap corruption (the debug size word at the block's end was overwritten)");
  for (size_t i = 0; i < 8; i++) {
    if (c[n + i] == DEBUG_CANARY) continue;
    struct line l = {.len = 0};
    line_str(&l, "buffer overflow (the canary after the ");
    line_dec(&l, n);
    line_str(&l, " bytes asked for was overwritten)");
    l.buf[l.len] = 0;
    report_misuse(call, p, l.buf);
  }
  return (size_t)n;
}

size_t debug_find_write(const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++)
    if (c[i] != DEBUG_FREE_FILL) return i;
  return n;
}
