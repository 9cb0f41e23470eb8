/* options.c - the table of HAWKALLOC_* variables.  See options.h.
 *
 * Every value is checked once, here, at the first malloc: a number that is
 * not a decimal number or is out of range, and a switch that is not 0 or 1,
 * get one line on stderr naming the value used instead.  In secure
 * execution (a setuid, setgid or file-capability program: AT_SECURE) every
 * HAWKALLOC_* variable is ignored.  docs/security.md says why. */
#include "options.h"

#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "os.h"
#include "report.h"

extern char **environ;

enum option_kind {
  KIND_TEXT,   /* taken as it is */
  KIND_SWITCH, /* 0 or 1 */
  KIND_NUMBER, /* a decimal number from 0 to max */
};

struct option {
  const char *name;      /* the environment variable */
  enum option_kind kind; /* how the value is checked */
  uint64_t preset;       /* KIND_SWITCH, KIND_NUMBER: the value when the variable
                            is not set (or is empty) */
  uint64_t max;          /* KIND_NUMBER: the largest value accepted */
  const char *value;     /* points into the environment (the paths: into a copy,
                            keep_path); NULL when the variable is not set */
  uint64_t number;       /* KIND_SWITCH, KIND_NUMBER: the value in use */
};

#define LONG_MAX_U ((uint64_t)(~0ul >> 1))

/* The defaults are numbers, not text: the names and the defaults are the
 * only constants start-up would read from the library's read-only data,
 * and a process that sets no variable reads none of it (options_load;
 * docs/performance.md, "Fixed memory of a process").  HAWKALLOC_POLICY's
 * default, the segregated policy, is process.c's. */
static struct option options[OPTION_COUNT] = {
    [OPTION_POLICY] = {"HAWKALLOC_POLICY", KIND_TEXT, 0, 0, NULL, 0},
    [OPTION_STATS] = {"HAWKALLOC_STATS", KIND_SWITCH, 0, 1, NULL, 0},
    [OPTION_HEAPS] = {"HAWKALLOC_HEAPS", KIND_NUMBER, 0, HEAP_MAX, NULL, 0},
    [OPTION_TRACE] = {"HAWKALLOC_TRACE", KIND_TEXT, 0, 0, NULL, 0},
    [OPTION_MAP] = {"HAWKALLOC_MAP", KIND_TEXT, 0, 0, NULL, 0},
    [OPTION_DEBUG] = {"HAWKALLOC_DEBUG", KIND_SWITCH, 0, 1, NULL, 0},
    [OPTION_CHECK_EVERY] = {"HAWKALLOC_CHECK_EVERY", KIND_NUMBER, 0, LONG_MAX_U, NULL, 0},
    [OPTION_TCACHE] = {"HAWKALLOC_TCACHE", KIND_SWITCH, 1, 1, NULL, 0},
    [OPTION_DECAY_MS] = {"HAWKALLOC_DECAY_MS", KIND_NUMBER, 500, DECAY_MS_MAX, NULL, 0},
};

_Static_assert(OPTION_COUNT <= 32, "options_load marks the options it met in an unsigned");

/* Whether entry starts with "HAWKALLOC_", tested a character at a time
 * against constants in the code, so that the other variables of the
 * environment never bring the option names' page in. */
static int hawk_prefixed(const char *e) {
  return e[0] == 'H' && e[1] == 'A' && e[2] == 'W' && e[3] == 'K' && e[4] == 'A' && e[5] == 'L' &&
         e[6] == 'L' && e[7] == 'O' && e[8] == 'C' && e[9] == '_';
}

/* If entry is "NAME=value", returns value. */
static const char *env_match(const char *entry, const char *name) {
  size_t n = strlen(name);
  return strncmp(entry, name, n) == 0 && entry[n] == '=' ? entry + n + 1 : NULL;
}

/* Two heaps per CPU this process may run on, at most HEAP_MAX: what
 * HAWKALLOC_HEAPS=0 (and no HAWKALLOC_HEAPS) means.  The system call
 * itself, and the bits counted here: the C library's sched_getaffinity
 * and CPU_COUNT lie where nothing else a small program runs does, and
 * cost it 64 KiB of resident code each (docs/performance.md, "Fixed memory
 * of a process"); syscall is the one os.c calls for getrandom. */
static uint64_t heaps_automatic(void) {
  unsigned long mask[1024 / (8 * sizeof(unsigned long))] = {0};
  long got = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
  uint64_t cpus = 0;
  for (long i = 0; got > 0 && i < got / (long)sizeof mask[0]; i++)
    for (unsigned long m = mask[i]; m != 0; m &= m - 1) cpus++; /* no libgcc call */
  uint64_t n = got > 0 ? 2 * cpus : 2;
  return n < 1 ? 1 : n > HEAP_MAX ? HEAP_MAX : n;
}

/* The number an option's value stands for, once checked. */
static uint64_t meaning(enum option_id id, uint64_t n) {
  return id == OPTION_HEAPS && n == 0 ? heaps_automatic() : n;
}

enum parsed { PARSED_OK, PARSED_NOT_A_NUMBER, PARSED_TOO_BIG };

/* Reads s as a decimal number of digits only (no sign, no spaces), at most
 * max; *n is the number, or max when it is bigger (however many digits). */
static enum parsed parse_number(const char *s, uint64_t max, uint64_t *n) {
  uint64_t v = 0;
  int over = 0;
  if (*s == 0) return PARSED_NOT_A_NUMBER;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return PARSED_NOT_A_NUMBER;
    unsigned d = (unsigned)(*s - '0');
    if (over || d > max || v > (max - d) / 10)
      over = 1;
    else
      v = v * 10 + d;
  }
  *n = over || v > max ? max : v;
  return over || v > max ? PARSED_TOO_BIG : PARSED_OK;
}

/* "hawkalloc: NAME=VALUE: PROBLEM; using N" (at start-up: on stderr). */
static void complain(const struct option *o, const char *problem, uint64_t used) {
  struct line l = {.len = 0};
  line_str(&l, "hawkalloc: ");
  line_str(&l, o->name);
  line_str(&l, "=");
  line_quote(&l, o->value);
  line_str(&l, ": ");
  line_str(&l, problem);
  line_str(&l, "; using ");
  line_dec(&l, used);
  line_write(&l, 2);
}

/* Checks a switch or a number; sets o->number. */
static void check_value(enum option_id id) {
  struct option *o = &options[id];
  uint64_t n = 0;
  if (o->value == NULL) {
    o->number = meaning(id, o->preset);
    return;
  }
  enum parsed p = parse_number(o->value, o->max, &n);
  if (o->kind == KIND_SWITCH && p != PARSED_OK) {
    o->number = o->preset;
    complain(o, "not 0 or 1", o->number);
  } else if (p == PARSED_NOT_A_NUMBER) {
    o->number = meaning(id, o->preset);
    complain(o, "not a number", o->number);
  } else if (p == PARSED_TOO_BIG) {
    o->number = n;
    struct line l = {.len = 0};
    line_str(&l, "out of range (most ");
    line_dec(&l, o->max);
    line_str(&l, ")");
    l.buf[l.len] = 0;
    complain(o, l.buf, o->number);
  } else {
    o->number = meaning(id, n);
  }
}

/* HAWKALLOC_TRACE and HAWKALLOC_MAP name files the library writes later: at
 * exit, on SIGUSR2, when it opens the trace again by its path.  So the path
 * is copied at start-up into a page of the library's own: the environment's
 * text is the program's, and programs that set their process title (nginx,
 * postgres, sendmail) copy environ elsewhere and write the title over it,
 * which made the snapshot at exit a file named after the title in the
 * current directory (2026-12-06).  A relative path is taken against the
 * directory the program started in, not the one it moved to since (a
 * daemon's "/", a build tool's every directory): found at a412513, where
 * the snapshot at exit went into the directory the program had moved to.
 * Left as it is when the page cannot be mapped, the directory cannot be
 * read, or the whole path would not fit (no file can have such a path). */
#define PATH_CAP 4096 /* a page of its own, mapped only when the variable is set */

static void keep_path(enum option_id id) {
  const char *v = options[id].value;
  void *p;
  if (v == NULL || os_map(PATH_CAP, os_page_size(), &p) != 0) return;
  char *buf = p;
  size_t n = 0, m = strlen(v);
  int relative = v[0] != '/';
  if (relative) {
    /* The system call (no PLT entry in the start-up code's window): its
     * length with the NUL, or a path that is not one ("(unreachable)"). */
    long got = syscall(SYS_getcwd, buf, PATH_CAP);
    n = got > 1 && buf[0] == '/' ? strlen(buf) : 0;
    if (n > 0 && buf[n - 1] != '/') buf[n++] = '/';
  }
  if ((relative && n == 0) || n + m + 1 > PATH_CAP) {
    os_unmap(p, PATH_CAP);
    return;
  }
  memcpy(buf + n, v, m + 1);
  options[id].value = buf;
}

void options_load(void) {
  /* Secure execution: the program runs with more privilege than whoever
   * set its environment, who could else have it write a trace or a snapshot
   * over any file, or turn its checks off.  Every variable is ignored. */
  int secure = getauxval(AT_SECURE) != 0, ignored = 0;
  unsigned seen = 0; /* the options whose first entry was met: it decides, as for getenv */
  for (char **e = environ; e && *e; e++) {
    if (!hawk_prefixed(*e)) continue;
    ignored |= secure;
    for (int i = 0; i < OPTION_COUNT && !secure; i++) {
      const char *v = env_match(*e, options[i].name);
      if (v == NULL || (seen >> i & 1)) continue;
      seen |= 1u << i;
      if (v[0]) options[i].value = v; /* empty: as if not set */
    }
  }
  if (ignored) {
    struct line l = {.len = 0};
    line_str(&l, "hawkalloc: secure execution: HAWKALLOC_* variables ignored");
    line_write(&l, 2);
  }
  for (int i = 0; i < OPTION_COUNT; i++)
    if (options[i].kind != KIND_TEXT) check_value((enum option_id)i);
  keep_path(OPTION_TRACE);
  keep_path(OPTION_MAP);
}

const char *option_text(enum option_id id) { return options[id].value; }

long option_long(enum option_id id) { return (long)options[id].number; }
