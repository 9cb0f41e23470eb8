/* view.c - `hawk view`: the heap explorer.  Replays a trace once per policy
 * in a worker that records the library's events of every call (record.c),
 * has each policy's heap rebuilt from those events at every call
 * (view_model.c: never simulating a policy, each event says what the heap
 * did; checked against hawk_walk when asked: --check at every call, --walk N
 * prints what hawk_walk reported after N calls), and writes one
 * self-contained HTML page (tools/view/page.html with the data inline);
 * also the page of payloads only of hawk grade --view. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hawk.h"
#include "hawkalloc.h"
#include "view.h"

static const char view_usage[] =
    "usage: hawk view [--policy P,...] [--textbook] [--allocator A] [--out FILE.html]\n"
    "                 [--check] [--walk N] TRACE\n"
    "\n"
    "Replays TRACE (HawkAlloc or malloc-lab .rep) once per policy and writes one\n"
    "self-contained HTML page (script, style and data inline; it makes no network\n"
    "request) to explore it call by call: a scrubber with play, steps and jumps\n"
    "(peak, next arena growth, next call where the policies decide differently),\n"
    "the heaps side by side down to the bytes of each block, the explanation of\n"
    "each call from the events the library reported, the free lists, and charts of\n"
    "live bytes, footprint, free blocks and free space.  Open FILE.html#op=N (or\n"
    "#op=peak) to start at call N.\n"
    "\n"
    "  --policy P,...   policies to compare: first-fit, next-fit, best-fit,\n"
    "                   segregated, or all (default: segregated)\n"
    "  --textbook       textbook mode (HAWKALLOC_TCACHE=0): no thread cache, one heap\n"
    "  --allocator A    a HawkAlloc library to use instead of hawk's own (a path, or a\n"
    "                   name looked up like hawk replay's); it must report events\n"
    "  --out FILE.html  where the page goes (default: hawk-view.html in the current\n"
    "                   directory)\n"
    "  --check          compare the blocks rebuilt from the events with hawk_walk\n"
    "                   after every call (slower); any difference is an error\n"
    "  --walk N         print the blocks hawk_walk reports after N calls (1 to the\n"
    "                   trace's calls; first policy), one per line as\n"
    "                   REGION:+OFFSET SIZE STATE, then its free lists (list\n"
    "                   CLASS: REGION:+OFFSET ...) and next fit's rover (rover\n"
    "                   REGION:+OFFSET)\n";

#define VIEW_DEFAULT_OUT "hawk-view.html"

extern const char view_page[]; /* page.c */

/* --- the page ------------------------------------------------------------- */

static void put_base64(FILE *f, const unsigned char *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char line[4];
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16;
    if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
    if (i + 2 < n) v |= p[i + 2];
    line[0] = tab[v >> 18];
    line[1] = tab[(v >> 12) & 63];
    line[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
    line[3] = i + 2 < n ? tab[v & 63] : '=';
    fwrite(line, 1, 4, f);
  }
}

/* A string as a JSON string (what a trace's path may hold, escaped). */
static void put_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 32 || c == '<' || c == '>' || c == '&')
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* The live bytes after each call (the malloc-lab way, as trace_peak). */
static uint64_t *live_bytes(const struct optrace *t) {
  uint64_t *sizes = calloc((size_t)t->nslots + 1, sizeof *sizes), live = 0;
  uint64_t *v = calloc(t->nops + 1, sizeof *v);
  for (size_t i = 0; i < t->nops; i++) {
    const struct op *o = &t->ops[i];
    if (o->slot != SLOT_NULL) {
      live -= sizes[o->slot];
      sizes[o->slot] = o->kind == OP_FREE ? 0 : o->size;
      live += sizes[o->slot];
    }
    v[i + 1] = live;
  }
  free(sizes);
  return v;
}

/* The chunk length for trace t (view_chunk): VIEW_CHUNK, doubled while
 * its keyframes could hold more than VIEW_KEYFRAME_BLOCKS blocks, each
 * counted at the trace's most live blocks (an allocation into a live id
 * keeps the old block too) times two, for the free blocks between them,
 * plus one. */
static size_t chunk_for(const struct optrace *t) {
  unsigned char *in = calloc((size_t)t->nslots + 1, 1);
  if (!in) {
    tool_error("view: out of memory");
    exit(1);
  }
  uint64_t live = 0, most = 0;
  for (size_t i = 0; i < t->nops; i++) {
    const struct op *o = &t->ops[i];
    if (o->slot == SLOT_NULL) continue;
    if (o->kind == OP_FREE) {
      live -= in[o->slot];
      in[o->slot] = 0;
    } else if (o->kind != OP_REALLOC || !in[o->slot]) {
      live++;
      in[o->slot] = 1;
    }
    if (live > most) most = live;
  }
  free(in);
  size_t chunk = VIEW_CHUNK;
  while (chunk < t->nops && (t->nops / chunk + 1) * (2 * most + 1) > VIEW_KEYFRAME_BLOCKS)
    chunk *= 2;
  return chunk;
}

/* The trace's calls first .. last (from 1) for a chunk: kind, size, block
 * id, source position and live bytes after the call (these two as the
 * difference from the previous call of the chunk, zigzag). */
static void calls_stream(const struct optrace *t, const uint64_t *live, size_t first, size_t last,
                         struct buf *b) {
  uint64_t where = 0, was = 0;
  for (size_t i = first; i <= last; i++) {
    const struct op *o = &t->ops[i - 1];
    put_u(b, o->kind);
    put_u(b, o->size);
    put_u(b, o->slot == SLOT_NULL ? 0 : (uint64_t)o->slot + 1);
    put_u(b, zigzag((int64_t)(o->where - where)));
    put_u(b, zigzag((int64_t)(live[i] - was)));
    where = o->where;
    was = live[i];
  }
}

/* The figures of the whole trace: live bytes after each call (differences,
 * zigzag), then the calls where the policies handed out blocks at different
 * places (count, differences). */
static void figures_stream(const struct optrace *t, const uint64_t *live,
                           const struct policy_run *runs, int nruns, struct buf *b) {
  for (size_t i = 1; i <= t->nops; i++) put_u(b, zigzag((int64_t)(live[i] - live[i - 1])));
  size_t ndiff = 0;
  for (size_t i = 1; i <= t->nops; i++)
    for (int p = 1; p < nruns; p++)
      if (runs[p].m.result[i] != runs[0].m.result[i]) {
        ndiff++;
        break;
      }
  put_u(b, ndiff);
  for (size_t i = 1, last = 0; i <= t->nops; i++)
    for (int p = 1; p < nruns; p++)
      if (runs[p].m.result[i] != runs[0].m.result[i]) {
        put_u(b, i - last);
        last = i;
        break;
      }
}

/* A policy's figures after each call (footprint, free blocks, bytes in use;
 * differences, zigzag) and the calls that grew its heap (count,
 * differences). */
static void series_stream(const struct model *m, struct buf *b) {
  uint64_t f = 0, n = 0, u = 0;
  for (size_t i = 0; i <= m->nops; i++) {
    put_u(b, zigzag((int64_t)(m->s_foot[i] - f)));
    put_u(b, zigzag((int64_t)(m->s_nfree[i] - n)));
    put_u(b, zigzag((int64_t)(m->s_inuse[i] - u)));
    f = m->s_foot[i];
    n = m->s_nfree[i];
    u = m->s_inuse[i];
  }
  put_u(b, m->ngrows);
  for (size_t i = 0, last = 0; i < m->ngrows; i++) {
    put_u(b, m->grows[i] - last);
    last = m->grows[i];
  }
}

/* The bytes of the page's streams, compressed and in base64 as a JS string. */
static void put_packed(FILE *f, const struct buf *b, size_t *packed) {
  size_t n;
  unsigned char *z = deflate_raw(b->p, b->len, &n);
  fputc('"', f);
  put_base64(f, z, n);
  fputc('"', f);
  *packed += n;
  free(z);
}

/* Chunk c: each policy's keyframe and calls c * view_chunk + 1 .. on,
 * policy after policy in slices of VIEW_SLICE bytes (the lengths first), so
 * that the compressor finds what two policies did alike within its window. */
#define VIEW_SLICE 1024
static void chunk_stream(const struct policy_run *runs, int nruns, size_t c, struct buf *b) {
  size_t nops = runs[0].m.nops, first = c * view_chunk + 1;
  size_t last = first + view_chunk - 1 > nops ? nops : first + view_chunk - 1;
  struct buf *parts = calloc((size_t)nruns, sizeof *parts);
  size_t *at = calloc((size_t)nruns, sizeof *at), left = 0;
  for (int p = 0; p < nruns; p++) {
    const struct model *m = &runs[p].m;
    for (size_t k = m->kf_off[c]; k < m->kf_off[c + 1]; k++) buf_byte(&parts[p], m->kf.p[k]);
    if (first <= last)
      for (size_t k = m->op_off[first]; k < m->op_off[last + 1]; k++)
        buf_byte(&parts[p], m->out.p[k]);
    put_u(b, parts[p].len);
    left += parts[p].len;
  }
  while (left)
    for (int p = 0; p < nruns; p++) {
      size_t k = parts[p].len - at[p] < VIEW_SLICE ? parts[p].len - at[p] : VIEW_SLICE;
      for (size_t x = 0; x < k; x++) buf_byte(b, parts[p].p[at[p] + x]);
      at[p] += k;
      left -= k;
    }
  for (int p = 0; p < nruns; p++) free(parts[p].p);
  free(parts);
  free(at);
}

/* Nonzero: the page shows payloads only (no header, footer or rounding). */
static int view_payloads;
/* On such a page: the heap's size after mm_init, before the first call. */
static uint64_t view_init_heap;

static int write_page(const char *out, const char *trace, const struct optrace *t, int textbook,
                      struct policy_run *runs, int nruns) {
  FILE *f = fopen(out, "w");
  if (!f) {
    tool_error("view: cannot write %s: %s", out, strerror(errno));
    return 2;
  }
  size_t raw = 0, packed = 0;
  const char *mark = strstr(view_page, "/*HAWK_DATA*/");
  fwrite(view_page, 1, (size_t)(mark - view_page), f);
  const char *base = strrchr(trace, '/');
  fputs("const HAWK = {trace: ", f);
  put_json_string(f, base ? base + 1 : trace);
  fprintf(f, ", payloads: %s", view_payloads ? "true" : "false");
  if (view_payloads) fprintf(f, ", initHeap: %llu", (unsigned long long)view_init_heap);
  fprintf(f, ", textbook: %s, nops: %zu, peak: %lld, where: \"%s\", chunk: %zu, figures: ",
          textbook ? "true" : "false", t->nops, (long long)runs[0].peak_op + 1, t->where,
          view_chunk);
  uint64_t *live = live_bytes(t);
  struct buf b = {0};
  figures_stream(t, live, runs, nruns, &b);
  raw += b.len;
  put_packed(f, &b, &packed);
  fputs(", policies: [", f);
  for (int i = 0; i < nruns; i++) {
    fprintf(f, "%s{name: ", i ? ", " : "");
    put_json_string(f, runs[i].label);
    fprintf(f, ", rover: %s, regions: [", runs[i].m.rover ? "true" : "false");
    for (size_t r = 0; r < runs[i].m.nregions; r++)
      fprintf(f, "%s[%llu, %d]", r ? ", " : "", (unsigned long long)runs[i].m.regions[r].size,
              runs[i].m.regions[r].large);
    fputs("], series: ", f);
    b.len = 0;
    series_stream(&runs[i].m, &b);
    raw += b.len;
    put_packed(f, &b, &packed);
    fputs("}", f);
  }
  fputs("],\nchunks: [", f);
  for (size_t c = 0; c < runs[0].m.nkf; c++) {
    b.len = 0;
    chunk_stream(runs, nruns, c, &b);
    raw += b.len;
    fputs(c ? ",\n" : "", f);
    put_packed(f, &b, &packed);
  }
  fputs("],\ncalls: [", f);
  for (size_t c = 0; c < runs[0].m.nkf; c++) {
    b.len = 0;
    size_t first = c * view_chunk + 1, last = first + view_chunk - 1;
    calls_stream(t, live, first, last > t->nops ? t->nops : last, &b);
    raw += b.len;
    fputs(c ? ",\n" : "", f);
    put_packed(f, &b, &packed);
  }
  free(b.p);
  free(live);
  fprintf(f, "], raw: %zu, packed: %zu};\n", raw, packed);
  fputs(mark + strlen("/*HAWK_DATA*/"), f);
  if (output_close(f) != 0) {
    tool_error("view: cannot write %s: %s", out, strerror(errno));
    return 2;
  }
  return 0;
}

/* --- a page of payloads only (hawk grade --view) -------------------------- */

/* Records one call of the model: the figures after it and its stream. */
static void payload_call(struct model *m, size_t j, uint64_t result) {
  call_record(m, j, result);
  if (j % view_chunk == 0) chunk_start(m);
}

int view_payload_page(const char *out, const char *trace, const struct optrace *t,
                      const char *calls) {
  FILE *in = fopen(calls, "r");
  if (!in) {
    tool_error("grade: %s: %s", calls, strerror(errno));
    return 1;
  }
  size_t nops = t->nops;
  view_chunk = chunk_for(t);
  long long *off = calloc(nops + 1, sizeof *off);
  unsigned long long *len = calloc(nops + 1, sizeof *len), *heap = calloc(nops + 1, sizeof *heap);
  uint64_t *at = calloc((size_t)t->nslots + 1, sizeof *at), maxheap = 1;
  size_t got = 0; /* lines read: mm_init's (0), then one per call (1 ..) */
  unsigned long long op, l, h;
  long long o;
  while (got <= nops && fscanf(in, "%llu %lld %llu %llu", &op, &o, &l, &h) == 4 && op == got) {
    off[got] = o;
    len[got] = l;
    heap[got] = h;
    if (h > maxheap) maxheap = h;
    got++;
  }
  fclose(in);
  if (got != nops + 1) {
    tool_error("grade: %s: the grader recorded %zu calls of %zu", calls, got ? got - 1 : 0, nops);
    free(off), free(len), free(heap), free(at);
    return 1;
  }
  struct policy_run run;
  memset(&run, 0, sizeof run);
  run.policy = "student";
  snprintf(run.label, sizeof run.label, "student's mm.c");
  struct model *m = &run.m;
  m->nops = nops;
  m->op_off = calloc(nops + 2, sizeof *m->op_off);
  m->s_foot = calloc(nops + 1, sizeof *m->s_foot);
  m->s_nfree = calloc(nops + 1, sizeof *m->s_nfree);
  m->s_inuse = calloc(nops + 1, sizeof *m->s_inuse);
  m->result = calloc(nops + 1, sizeof *m->result);
  m->grows = calloc(nops + 1, sizeof *m->grows);
  m->kf_off = calloc(nops / view_chunk + 3, sizeof *m->kf_off);
  const uint64_t base = (uint64_t)1 << 20; /* mem_heap_lo(), for the model */
  region_add(m, base, maxheap, 0);
  uint64_t was = heap[0], live = 0; /* the heap mm_init asked for */
  m->footprint = was;
  payload_call(m, 0, 0);
  for (size_t i = 0; i < nops; i++) {
    const struct op *x = &t->ops[i];
    uint64_t slot = x->slot == SLOT_NULL ? t->nslots : x->slot;
    if (x->kind == OP_FREE || x->kind == OP_REALLOC) {
      if (at[slot]) {
        struct blk *b = bmap_get(&m->blocks, at[slot]);
        ev(m, EV_PAYLOAD_FREED, "au", norm(m, at[slot]), b ? b->size : 0);
        if (b) live -= b->size;
        set_block(m, at[slot], 0, 0, 0);
        at[slot] = 0;
      }
    }
    uint64_t result = 0;
    if (off[i + 1] >= 0 && len[i + 1]) {
      at[slot] = base + (uint64_t)off[i + 1];
      set_block(m, at[slot], len[i + 1], ST_ALLOC, len[i + 1]);
      ev(m, EV_PAYLOAD_PLACED, "auu", norm(m, at[slot]), (uint64_t)len[i + 1],
         (uint64_t)off[i + 1]);
      result = norm(m, at[slot]);
      live += len[i + 1];
      if (live > run.peak_live) {
        run.peak_live = live;
        run.peak_op = (int64_t)i;
      }
    }
    if (heap[i + 1] > was) {
      ev(m, EV_HEAP_GREW, "uu", (uint64_t)was, (uint64_t)heap[i + 1]);
      m->grew = 1;
      was = heap[i + 1];
    }
    m->footprint = was;
    payload_call(m, i + 1, result);
  }
  m->regions[0].high = was;
  view_payloads = 1;
  view_init_heap = heap[0];
  int rc = write_page(out, trace, t, 0, &run, 1);
  view_payloads = 0;
  model_free(m);
  free(off), free(len), free(heap), free(at);
  return rc;
}

/* --- the command ---------------------------------------------------------- */

struct view_trace {
  const char *path;
  struct optrace t;
};

static const char *const all_policies[] = {"first-fit", "next-fit", "best-fit", "segregated"};

int cmd_view(int argc, char **argv) {
  const char *out = VIEW_DEFAULT_OUT, *policies = "segregated", *allocator = NULL, *trace = NULL;
  int textbook = 0, check = 0;
  unsigned long long walk_at = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (is_help(a)) {
      fputs(view_usage, stdout);
      return 0;
    }
    int has = i + 1 < argc;
    if (strcmp(a, "--textbook") == 0)
      textbook = 1;
    else if (strcmp(a, "--check") == 0)
      check = 1;
    else if (strcmp(a, "--policy") == 0 && has)
      policies = argv[++i];
    else if (strcmp(a, "--allocator") == 0 && has)
      allocator = argv[++i];
    else if (strcmp(a, "--out") == 0 && has)
      out = argv[++i];
    else if (strcmp(a, "--walk") == 0 && has) {
      /* read whole: a value past 64 bits is refused, not cut down */
      const char *v = argv[++i];
      char *end;
      errno = 0;
      walk_at = strtoull(v, &end, 10);
      if (*v < '0' || *v > '9' || *end || errno || walk_at < 1) {
        tool_error("view: --walk takes a number of calls (1 or more), not '%s'", argv[i]);
        return 2;
      }
    } else if (a[0] == '-' && a[1]) {
      tool_error("view: unknown option or missing value: %s (see hawk view --help)", a);
      return 2;
    } else if (trace) {
      tool_error("view: one trace at a time (%s and %s)", trace, a);
      return 2;
    } else {
      trace = a;
    }
  }
  if (!trace) {
    fputs(view_usage, stderr);
    return 2;
  }
  /* The policies, checked here: a misspelt one is bad usage. */
  const char *chosen[8];
  int nchosen = 0;
  char *list = strdup(policies);
  for (char *save = NULL, *w = strtok_r(list, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
    if (strcmp(w, "all") == 0) {
      for (int k = 0; k < 4; k++)
        if (nchosen < 8) chosen[nchosen++] = all_policies[k];
      continue;
    }
    int known = -1;
    for (int k = 0; k < 4; k++)
      if (strcmp(w, all_policies[k]) == 0) known = k;
    if (known < 0) {
      tool_error("view: unknown policy '%s' (first-fit, next-fit, best-fit, segregated, all)", w);
      free(list);
      return 2;
    }
    if (nchosen < 8) chosen[nchosen++] = all_policies[known];
  }
  free(list);
  if (nchosen == 0) {
    tool_error("view: --policy names no policy");
    return 2;
  }
  char *lib = allocator ? allocator_path(allocator) : hawk_library_path();
  if (!lib) {
    if (allocator)
      tool_error("view: no allocator '%s' is installed (looked in %s)", allocator,
                 allocator_dirs());
    return 2;
  }
  if (access(lib, R_OK) != 0) {
    tool_error("view: %s: %s", lib, strerror(errno));
    free(lib);
    return 2;
  }
  if (!library_exports(lib, "hawk_events")) {
    tool_error("view: %s reports no events (hawk view needs HawkAlloc's hawk_events)", lib);
    free(lib);
    return 2;
  }
  struct view_trace vt = {trace, {0}};
  char err[512];
  if (trace_load(trace, &vt.t, err, sizeof err) != 0) {
    tool_error("view: %s", err);
    free(lib);
    return 2;
  }
  if (walk_at > vt.t.nops) {
    tool_error("view: --walk %llu: the trace has calls 1 to %zu", walk_at, vt.t.nops);
    trace_unload(&vt.t);
    free(lib);
    return 2;
  }
  view_chunk = chunk_for(&vt.t);
  if (walk_at) {
    char text[32];
    snprintf(text, sizeof text, "%llu", walk_at);
    setenv("HAWK_VIEW_WALK_AT", text, 1);
  }
  const char *tmpdir = getenv("TMPDIR");
  if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
  struct policy_run *runs = calloc((size_t)nchosen, sizeof *runs);
  int rc = 0;
  for (int i = 0; i < nchosen && rc == 0; i++) {
    runs[i].policy = chosen[i];
    runs[i].m.rover = strcmp(chosen[i], "next-fit") == 0;
    snprintf(runs[i].label, sizeof runs[i].label, "%s", chosen[i]);
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/hawk-view-XXXXXX", tmpdir);
    int fd = mkstemp(tmp);
    if (fd < 0) {
      tool_error("view: cannot make a file in %s: %s", tmpdir, strerror(errno));
      rc = 2;
      break;
    }
    close(fd);
    scratch_add(tmp, 0);
    struct alloc_choice a = {"hawk", lib, chosen[i], 1, textbook};
    struct worker_outcome o;
    if (worker_run(trace, &a, check ? MODE_EVENTS_CHECK : MODE_EVENTS, 0, tmp, &o) != 0) {
      unlink(tmp);
      scratch_drop(tmp);
      rc = 2;
      break;
    }
    if (o.errtext[0]) fprintf(stderr, "%s", o.errtext);
    if (o.policy_rejected) {
      tool_error("view: the library does not know the policy '%s'", chosen[i]);
      rc = 2;
    } else if (!o.got_result) {
      if (WIFSIGNALED(o.status))
        tool_error("view: the replay died of signal %d (%s)", WTERMSIG(o.status),
                   strsignal(WTERMSIG(o.status)));
      else
        tool_error("view: the replay ended without a result");
      rc = 1;
    } else if (o.result.failed) {
      tool_error("view: %s: %s", trace, o.result.message);
      rc = 1;
    } else {
      runs[i].peak_op = o.result.peak_op;
      runs[i].peak_live = o.result.peak_live;
      if (walk_at && i > 0) unsetenv("HAWK_VIEW_WALK_AT");
      if (walk_at && i == 0) {
        rc = rebuild(&runs[i], &vt.t, tmp, walk_at, check);
        unsetenv("HAWK_VIEW_WALK_AT");
      } else {
        rc = rebuild(&runs[i], &vt.t, tmp, 0, check);
      }
    }
    worker_outcome_free(&o);
    unlink(tmp);
    scratch_drop(tmp);
  }
  if (rc == 0) rc = write_page(out, trace, &vt.t, textbook, runs, nchosen);
  if (rc == 0 && !walk_at) {
    struct stat st;
    long long size = stat(out, &st) == 0 ? (long long)st.st_size : -1;
    printf("wrote %s: %s, %zu calls, policies ", out, trace, vt.t.nops);
    for (int i = 0; i < nchosen; i++) printf("%s%s", i ? ", " : "", chosen[i]);
    printf("%s%s; %lld bytes\n", textbook ? ", textbook mode" : "",
           check ? ", every call checked against hawk_walk" : "", size);
  }
  for (int i = 0; i < nchosen; i++) model_free(&runs[i].m);
  free(runs);
  trace_unload(&vt.t);
  free(lib);
  return rc;
}
