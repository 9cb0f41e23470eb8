/* options.c - the table of HAWKALLOC_* variables.  See options.h. */
#include "options.h"

#include <string.h>

extern char **environ;

struct option {
  const char *name;     /* the environment variable */
  const char *fallback; /* used when the variable is not set */
  const char *value;    /* points into the environment, or at fallback */
};

static struct option options[OPTION_COUNT] = {
    [OPTION_POLICY] = {"HAWKALLOC_POLICY", "segregated", NULL},
    [OPTION_STATS] = {"HAWKALLOC_STATS", "0", NULL},
    [OPTION_HEAPS] = {"HAWKALLOC_HEAPS", "0", NULL},
    [OPTION_TRACE] = {"HAWKALLOC_TRACE", "", NULL},
    [OPTION_MAP] = {"HAWKALLOC_MAP", "", NULL},
    [OPTION_DEBUG] = {"HAWKALLOC_DEBUG", "0", NULL},
    [OPTION_CHECK_EVERY] = {"HAWKALLOC_CHECK_EVERY", "0", NULL},
};

/* If entry is "NAME=value", returns value. */
static const char *env_match(const char *entry, const char *name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=' ? entry + n + 1 : NULL;
}

void options_load(void) {
  for (int i = 0; i < OPTION_COUNT; i++) {
    options[i].value = options[i].fallback;
    for (char **e = environ; e && *e; e++) {
      const char *v = env_match(*e, options[i].name);
      if (v) options[i].value = v;
    }
  }
}

const char *option_text(enum option_id id) {
  return options[id].value ? options[id].value : options[id].fallback;
}

long option_long(enum option_id id) {
  long n = 0;
  for (const char *s = option_text(id); *s >= '0' && *s <= '9'; s++) n = n * 10 + (*s - '0');
  return n;
}
