/* trace.c - replays the classic malloc-lab traces.
 *
 *     trace [THREADS [REPS [DIR]]]
 *
 * Reads every DIR/NAME.rep (DIR: the argument, else $BENCH_TRACES), then each
 * thread replays every trace REPS / THREADS times (default REPS 40).  Both
 * header variants are accepted (four numbers, <heap size> <ids> <ops>
 * <weight> or <weight> <ids> <ops> <ignored>; only the lines after them
 * are used).  Operations: `a ID SIZE` malloc, `a ID` malloc of the
 * previous size, `r ID SIZE` realloc, `f ID` free, `f -1` free(NULL).
 * Every allocated block is filled with a byte of its own; the preserved
 * part of a realloc'ed block and every block about to be freed are checked.
 * The traces are parsed before the timing starts (the runner's wall time
 * includes the parse; it is the same for every allocator).
 */
#include "bench.h"

#include <ctype.h>
#include <dirent.h>

struct op {
  char kind; /* 'a', 'r', 'f' */
  long id;   /* -1 with 'f': free(NULL) */
  size_t size;
};

struct trace {
  char *name;
  struct op *ops;
  size_t nops;
  long nids;
};

struct block {
  unsigned char *p;
  size_t n;
  unsigned char byte;
};

static struct trace *traces;
static size_t ntraces;

static void parse_fail(const char *path, const char *why) {
  fprintf(stderr, "trace: %s: %s\n", path, why);
  exit(1);
}

static void load(const char *path, const char *name) {
  FILE *f = fopen(path, "r");
  char tok[64];
  struct trace *t;
  size_t cap = 1024, prev = 0;
  int header = 0;
  if (!f) parse_fail(path, strerror(errno));
  traces = realloc(traces, (ntraces + 1) * sizeof *traces);
  if (!traces) die("realloc returned NULL");
  t = &traces[ntraces++];
  t->name = strdup(name);
  t->ops = xmalloc(cap * sizeof *t->ops);
  t->nops = 0;
  t->nids = 0;
  if (fscanf(f, "%63s", tok) != 1) parse_fail(path, "empty");
  for (;;) {
    struct op o;
    char *end;
    if (isdigit((unsigned char)tok[0]) || tok[0] == '-') {
      if (t->nops || ++header > 4) parse_fail(path, "number where an operation was expected");
      if (fscanf(f, "%63s", tok) != 1) break;
      continue;
    }
    if (strcmp(tok, "a") && strcmp(tok, "r") && strcmp(tok, "f"))
      parse_fail(path, "unknown operation");
    o.kind = tok[0];
    if (fscanf(f, "%63s", tok) != 1) parse_fail(path, "operation without id");
    o.id = strtol(tok, &end, 10);
    if (*end || o.id < -1 || (o.id == -1 && o.kind != 'f')) parse_fail(path, "bad id");
    o.size = 0;
    if (fscanf(f, "%63s", tok) != 1) tok[0] = 0;
    if (o.kind != 'f') {
      if (isdigit((unsigned char)tok[0])) {
        o.size = (size_t)strtoull(tok, &end, 10);
        if (*end) parse_fail(path, "bad size");
        prev = o.size;
        if (fscanf(f, "%63s", tok) != 1) tok[0] = 0;
      } else if (o.kind == 'a') {
        o.size = prev;
      } else {
        parse_fail(path, "realloc without size");
      }
    }
    if (o.id + 1 > t->nids) t->nids = o.id + 1;
    if (t->nops == cap) {
      cap *= 2;
      t->ops = realloc(t->ops, cap * sizeof *t->ops);
      if (!t->ops) die("realloc returned NULL");
    }
    t->ops[t->nops++] = o;
    if (!tok[0]) break;
  }
  fclose(f);
  if (!t->nops) parse_fail(path, "no operations");
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const struct trace *)a)->name, ((const struct trace *)b)->name);
}

/* Checks the first and last 32 bytes and the middle byte of p[0..n). */
static uint64_t verify(const unsigned char *p, size_t n, unsigned char byte) {
  size_t i;
  for (i = 0; i < n && i < 32; i++)
    if (p[i] != byte) die("verify failed: trace block head overwritten");
  for (i = n > 32 ? n - 32 : 0; i < n; i++)
    if (p[i] != byte) die("verify failed: trace block tail overwritten");
  if (n && p[n / 2] != byte) die("verify failed: trace block middle overwritten");
  return n ? (uint64_t)p[n - 1] + n : 0;
}

struct worker {
  long reps;
  uint64_t ops, sum;
  char pad[64];
};

static void *work(void *arg) {
  struct worker *w = arg;
  long maxids = 0, r;
  size_t ti, i;
  struct block *b;
  for (ti = 0; ti < ntraces; ti++)
    if (traces[ti].nids > maxids) maxids = traces[ti].nids;
  b = calloc((size_t)maxids + 1, sizeof *b);
  if (!b) die("calloc returned NULL");
  for (r = 0; r < w->reps; r++) {
    for (ti = 0; ti < ntraces; ti++) {
      const struct trace *t = &traces[ti];
      for (i = 0; i < t->nops; i++) {
        const struct op *o = &t->ops[i];
        struct block *x = o->id >= 0 ? &b[o->id] : NULL;
        unsigned char *q;
        switch (o->kind) {
        case 'a':
          if (x->p) { /* a malformed trace reusing a live id */
            w->sum += verify(x->p, x->n, x->byte);
            free(x->p);
            w->ops++;
          }
          x->p = xmalloc(o->size ? o->size : 1);
          x->n = o->size;
          x->byte = (unsigned char)(o->id * 7 + r + i + 1);
          memset(x->p, x->byte, x->n);
          break;
        case 'r':
          if (o->size == 0) { /* realloc(p, 0): free it, the same way for everyone */
            if (x->p) w->sum += verify(x->p, x->n, x->byte);
            free(x->p);
            x->p = NULL;
            x->n = 0;
            break;
          }
          q = realloc(x->p, o->size);
          if (!q) die("realloc returned NULL");
          if (!x->p) x->byte = (unsigned char)(o->id * 7 + r + i + 1);
          w->sum += verify(q, x->n < o->size ? x->n : o->size, x->byte);
          if (o->size > x->n) memset(q + x->n, x->byte, o->size - x->n);
          x->p = q;
          x->n = o->size;
          break;
        default:
          if (x && x->p) {
            w->sum += verify(x->p, x->n, x->byte);
            free(x->p);
            x->p = NULL;
            x->n = 0;
          } else {
            free(NULL);
          }
        }
        w->ops++;
      }
      for (i = 0; i < (size_t)t->nids; i++) /* what an unbalanced trace left */
        if (b[i].p) {
          w->sum += verify(b[i].p, b[i].n, b[i].byte);
          free(b[i].p);
          b[i].p = NULL;
          w->ops++;
        }
    }
  }
  free(b);
  return NULL;
}

int main(int argc, char **argv) {
  int threads, i;
  long reps;
  const char *dir = argc > 3 ? argv[3] : getenv("BENCH_TRACES");
  uint64_t ops = 0, sum = 0;
  struct worker w[BENCH_MAX_THREADS];
  struct dirent *e;
  DIR *d;
  double t0;
  bench_args(argc > 3 ? 3 : argc, argv, &threads, &reps, 40);
  if (!dir) {
    fprintf(stderr, "trace: give the trace directory as the third argument or in BENCH_TRACES\n");
    return 2;
  }
  d = opendir(dir);
  if (!d) {
    fprintf(stderr, "trace: %s: %s\n", dir, strerror(errno));
    return 1;
  }
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    char path[4096];
    if (len < 5 || strcmp(e->d_name + len - 4, ".rep")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    load(path, e->d_name);
  }
  closedir(d);
  if (!ntraces) {
    fprintf(stderr, "trace: no *.rep file in %s\n", dir);
    return 1;
  }
  qsort(traces, ntraces, sizeof *traces, by_name);
  for (i = 0; i < threads; i++) {
    w[i].reps = reps / threads + (i < reps % threads);
    w[i].ops = w[i].sum = 0;
  }
  t0 = now_secs();
  run_threads(threads, work, w, sizeof w[0]);
  for (i = 0; i < threads; i++) ops += w[i].ops, sum += w[i].sum;
  report("trace", threads, ops, sum, now_secs() - t0);
  for (i = 0; i < (int)ntraces; i++) free(traces[i].ops), free(traces[i].name);
  free(traces);
  return 0;
}
