/* map.c - `hawk map` and `hawk render`: SVG pictures of a heap, drawn from
 * the snapshots the library writes (hawk_map_write, HAWKALLOC_MAP).  Either
 * of a program (at exit, and a frame on each SIGUSR2) or of a trace
 * replayed in a worker, taken at its peak of live bytes; or of a snapshot
 * file given by name. */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hawk.h"

static const char map_usage[] =
    "usage: hawk map [--out FILE.svg] [--policy P] [--textbook] -- CMD [ARGS...]\n"
    "       hawk map --trace FILE.rep|FILE.trace [--policy P|all] [--textbook] [--at OP]\n"
    "                [--out FILE.svg]\n"
    "\n"
    "Draws the heap as SVG: every arena a strip, each block to scale and coloured by\n"
    "state (allocated, free, thread-cached, own mapping), the fragmentation figures,\n"
    "and the address space (stack, brk heap, libraries, arenas) on one axis.\n"
    "\n"
    "With CMD: runs it under HawkAlloc with HAWKALLOC_MAP=FILE.snap; the library\n"
    "writes a snapshot when CMD exits, and a frame (FILE-0001.snap, ...) each time\n"
    "CMD gets SIGUSR2 (kill -USR2 the hawk process: it passes the signal on); hawk\n"
    "draws them into FILE.svg, FILE-0001.svg, ...  Exits with CMD's status.\n"
    "\n"
    "With --trace: replays the trace (HawkAlloc or malloc-lab .rep) in a fresh\n"
    "process and draws the heap at the trace's peak of live bytes, or after op OP;\n"
    "the picture is titled with the trace, the policy and the op.  A small heap\n"
    "(every block not free within the first 1 MiB of its arena) is drawn zoomed in:\n"
    "the strips show the arenas' first 16 KiB to 1 MiB across their width.  Only\n"
    "the pictures are written: the replay's snapshot is scratch under $TMPDIR,\n"
    "removed at the end.\n"
    "\n"
    "  --out FILE.svg   where the picture goes (default: hawk-map.svg in the current\n"
    "                   directory)\n"
    "  --policy P       placement policy: first-fit, next-fit, best-fit, segregated;\n"
    "                   with --trace also a list (P,P...) or all: one picture per\n"
    "                   policy, FILE-POLICY.svg, and FILE.svg with them stacked\n"
    "  --at OP          with --trace: the heap after op OP (1 to the trace's ops)\n"
    "                   instead of at the peak of live bytes\n"
    "  --textbook       textbook mode (HAWKALLOC_TCACHE=0): no thread cache, one heap,\n"
    "                   so every malloc and free goes through the placement policy\n"
    "  --trace FILE     a trace to replay instead of running a command\n";

#define MAP_DEFAULT_OUT "hawk-map.svg"

/* The file name of a trace, for titles. */
static const char *trace_base(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Draws snap into svg with the trace's title and, when the worker left
 * them (snap.blocks), the blocks to zoom with; the blocks file is removed. */
static int render_trace_picture(const char *snap, const char *svg, const char *title,
                                const char *subtitle) {
  size_t n = strlen(snap);
  char *blocks_path = malloc(n + 8);
  if (!blocks_path) abort();
  memcpy(blocks_path, snap, n);
  memcpy(blocks_path + n, ".blocks", 8);
  struct render_opts opts = {title, subtitle, NULL, 0};
  struct hawk_block_info *blocks = NULL;
  if (blocks_read(blocks_path, &blocks, &opts.nblocks) == 0) opts.blocks = blocks;
  remove(blocks_path);
  free(blocks_path);
  struct snapshot s;
  char err[600];
  if (snap_read(snap, &s, err, sizeof err) != 0) {
    tool_error("render: %s", err);
    free(blocks);
    return 2;
  }
  FILE *f = fopen(svg, "w");
  int r = f ? render_svg_opts(&s, &opts, f) : -1;
  if (f && output_close(f) != 0) r = -1;
  int werr = errno;
  snap_free(&s);
  free(blocks);
  if (r != 0) {
    tool_error("render: cannot write %s: %s", svg, strerror(werr));
    return 2;
  }
  return 0;
}

/* A snapshot path in a directory of its own under $TMPDIR
 * (hawk-map-XXXXXX/heap.snap): the worker's snapshot and blocks file are
 * hawk's scratch, and the only file hawk map --trace leaves is the picture
 * the user named.  malloc'ed, or NULL after printing why. */
static char *scratch_snap_path(void) {
  const char *tmpdir = getenv("TMPDIR");
  if (!tmpdir || !*tmpdir) tmpdir = "/tmp";
  size_t len = strlen(tmpdir) + sizeof "/hawk-map-XXXXXX/heap.snap.blocks";
  char *path = malloc(len);
  if (!path) abort();
  snprintf(path, len, "%s/hawk-map-XXXXXX", tmpdir);
  if (!mkdtemp(path)) {
    tool_error("map: cannot make a directory in %s: %s", tmpdir, strerror(errno));
    free(path);
    return NULL;
  }
  scratch_add(path, 1);
  strcat(path, "/heap.snap");
  return path;
}

/* Removes what the worker left in the directory of scratch_snap_path (the
 * snapshot and its blocks file) and the directory; frees snap. */
static void scratch_remove(char *snap) {
  size_t n = strlen(snap);
  char *blocks = malloc(n + 8);
  if (!blocks) abort();
  memcpy(blocks, snap, n);
  memcpy(blocks + n, ".blocks", 8);
  unlink(blocks);
  unlink(snap);
  *strrchr(snap, '/') = 0;
  rmdir(snap);
  scratch_drop(snap);
  free(blocks);
  free(snap);
}

/* 1 after one line when out is a directory: no picture can go there. */
static int out_is_directory(const char *out) {
  struct stat st;
  if (stat(out, &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  tool_error("map: cannot write %s: %s", out, strerror(EISDIR));
  return 1;
}

/* Removes an earlier run's file at path when it is a regular file; a link,
 * a device or a directory there is the user's and stays. */
static void remove_regular(const char *path) {
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) unlink(path);
}

/* One picture of trace under one policy (NULL: the library's default). */
static int map_trace(const char *trace, const char *policy, int textbook, long at,
                     const char *out) {
  char *lib = hawk_library_path();
  if (!lib) return 2;
  char *abs = absolute_path(out);
  char *snap = scratch_snap_path();
  if (!snap) {
    free(lib);
    free(abs);
    return 2;
  }
  struct alloc_choice a = {"hawk", lib, policy, 1, textbook};
  struct worker_outcome o;
  int rc = 1;
  worker_set_map_at(at);
  int started = worker_run(trace, &a, MODE_MAP, 0, snap, &o);
  worker_set_map_at(-1);
  if (started != 0) {
    free(lib);
    free(abs);
    scratch_remove(snap);
    return 2;
  }
  if (o.errtext[0]) fprintf(stderr, "%s", o.errtext);
  if (o.policy_rejected) { /* a misspelt policy: bad usage, as in hawk replay */
    tool_error("map: the library does not know the policy '%s'", policy);
    rc = 2;
  } else if (!o.got_result) {
    if (WIFSIGNALED(o.status))
      tool_error("map: the replay died of signal %d (%s)", WTERMSIG(o.status),
                 strsignal(WTERMSIG(o.status)));
    else
      tool_error("map: the replay ended without a result");
  } else if (o.result.failed) {
    tool_error("map: %s: %s", trace, o.result.message);
    if (strncmp(o.result.message, "--at ", 5) == 0) rc = 2;
  } else {
    const char *pol = o.result.policy[0] ? o.result.policy : "?";
    char title[512], subtitle[512];
    long long op = at >= 0 ? at : o.result.peak_op >= 0 ? o.result.peak_op + 1 : 0;
    snprintf(title, sizeof title, "%s, %s%s, after op %lld of %llu%s", trace_base(trace), pol,
             textbook ? " (textbook)" : "", op, (unsigned long long)o.result.ops,
             at >= 0 ? "" : ", the peak of live bytes");
    snprintf(subtitle, sizeof subtitle, "trace %s replayed by hawk map", trace_base(trace));
    if ((rc = render_trace_picture(snap, abs, title, subtitle)) == 0) {
      if (at >= 0)
        printf("wrote %s: %s after op %ld of %llu, policy %s%s\n", out, trace, at,
               (unsigned long long)o.result.ops, pol, textbook ? ", textbook mode" : "");
      else
        printf("wrote %s: %s at its peak of %llu live bytes (%s %lld of %llu), policy %s%s\n", out,
               trace, (unsigned long long)o.result.peak_live,
               o.result.peak_op >= 0 ? "after op" : "no live bytes, at op", op,
               (unsigned long long)o.result.ops, pol, textbook ? ", textbook mode" : "");
    }
  }
  worker_outcome_free(&o);
  free(lib);
  free(abs);
  scratch_remove(snap);
  return rc;
}

/* The policies of --policy with --trace: "all", a comma list, or one. */
static const char *const all_policies[] = {"first-fit", "next-fit", "best-fit", "segregated"};

/* FILE.svg -> FILE-POLICY.svg (malloc'ed). */
static char *policy_out(const char *out, const char *policy, size_t plen) {
  size_t len = strlen(out);
  if (len > 4 && strcmp(out + len - 4, ".svg") == 0) len -= 4;
  char *p = malloc(len + plen + 6);
  if (!p) abort();
  snprintf(p, len + plen + 6, "%.*s-%.*s.svg", (int)len, out, (int)plen, policy);
  return p;
}

/* The pictures files[0..n) stacked into out, a row each (nested <svg>
 * elements one below the other, each keeping its own size and title).
 * Returns 0, or 2 after printing why. */
static int stack_pictures(char **files, int n, const char *out) {
  FILE *o = fopen(out, "w");
  if (!o) {
    tool_error("map: cannot write %s: %s", out, strerror(errno));
    return 2;
  }
  char **body = calloc((size_t)n, sizeof *body);
  double *h = calloc((size_t)n, sizeof *h), width = 0, total = 0;
  int rc = 0;
  for (int k = 0; k < n && rc == 0; k++) {
    FILE *f = fopen(files[k], "r");
    if (!f) {
      tool_error("map: cannot read %s: %s", files[k], strerror(errno));
      rc = 2;
      break;
    }
    size_t cap = 1 << 16, len = 0, got;
    char *p = malloc(cap + 1);
    while (p && (got = fread(p + len, 1, cap - len, f)) > 0)
      if ((len += got) == cap) p = realloc(p, (cap *= 2) + 1);
    fclose(f);
    if (!p) abort();
    p[len] = 0;
    char *svg = strstr(p, "<svg"), *wv = svg ? strstr(svg, " width=\"") : NULL;
    char *hv = svg ? strstr(svg, " height=\"") : NULL;
    if (!wv || !hv) {
      tool_error("map: %s: not a picture of hawk map", files[k]);
      free(p);
      rc = 2;
      break;
    }
    double w = strtod(wv + 8, NULL);
    h[k] = strtod(hv + 9, NULL);
    if (w > width) width = w;
    body[k] = p;
    total += h[k];
  }
  if (rc == 0) {
    fprintf(o,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%g\" "
            "height=\"%g\" viewBox=\"0 0 %g %g\">\n<title>",
            width, total, width, total);
    for (int k = 0; k < n; k++) {
      char *t = strstr(body[k], "<title>"), *e = t ? strstr(t, "</title>") : NULL;
      if (t && e) fprintf(o, "%s%.*s", k ? "; " : "", (int)(e - t - 7), t + 7);
    }
    fputs("</title>\n", o);
    double y = 0;
    for (int k = 0; k < n; k++) {
      /* the row: the picture's root element, placed at y */
      char *svg = strstr(body[k], "<svg");
      fprintf(o, "<svg y=\"%g\"%s", y, svg + 4);
      fputc('\n', o);
      y += h[k];
    }
    fputs("</svg>\n", o);
  }
  for (int k = 0; k < n; k++) free(body[k]);
  free(body);
  free(h);
  if (output_close(o) != 0 && rc == 0) {
    tool_error("map: cannot write %s: %s", out, strerror(errno));
    rc = 2;
  }
  if (rc == 0) printf("wrote %s: the %d pictures stacked, a row each\n", out, n);
  return rc;
}

/* hawk map --trace: one picture, or one per policy of a list (and then all
 * of them stacked in out). */
static int map_trace_policies(const char *trace, const char *policy, int textbook, long at,
                              const char *out) {
  if (out_is_directory(out)) return 2;
  int several = policy && (strcmp(policy, "all") == 0 || strchr(policy, ','));
  if (!several) return map_trace(trace, policy, textbook, at, out);
  int rc = 0, nfiles = 0;
  char *files[16];
  size_t n = strcmp(policy, "all") == 0 ? 4 : 0;
  for (size_t k = 0; n ? k < n : *policy; k++) {
    const char *p = n ? all_policies[k] : policy;
    size_t plen = n ? strlen(p) : strcspn(p, ",");
    if (!n) policy += plen + (policy[plen] == ',');
    if (plen == 0) continue;
    char *name = strndup(p, plen);
    char *file = policy_out(out, p, plen);
    if (!name) abort();
    int r = map_trace(trace, name, textbook, at, file);
    free(name);
    if (r == 0 && nfiles < 16)
      files[nfiles++] = file;
    else
      free(file);
    if (r > rc) rc = r;
    if (r == 2) break;
  }
  if (rc == 0 && nfiles > 1) rc = stack_pictures(files, nfiles, out);
  for (int k = 0; k < nfiles; k++) free(files[k]);
  return rc;
}

/* A glob pattern: path[0..len) with glob's special characters escaped, so
 * that it matches only itself, then the pattern tail.  malloc'ed. */
static char *glob_pattern(const char *path, size_t len, const char *tail) {
  char *p = malloc(2 * len + strlen(tail) + 1), *w = p;
  if (!p) abort();
  for (size_t k = 0; k < len; k++) {
    if (strchr("*?[]\\", path[k])) *w++ = '\\';
    *w++ = path[k];
  }
  strcpy(w, tail);
  return p;
}

/* Names the frames written on SIGUSR2 during this run: PATH-0001.svg ...
 * (PATH without its ".svg"). */
static void report_frames(const char *path, time_t start) {
  size_t len = strlen(path);
  if (len > 4 && strcmp(path + len - 4, ".svg") == 0) len -= 4;
  char *pattern = glob_pattern(path, len, "-[0-9][0-9][0-9][0-9].svg");
  glob_t g;
  size_t n = 0;
  const char *first = NULL, *last = NULL;
  if (glob(pattern, 0, NULL, &g) == 0) {
    for (size_t k = 0; k < g.gl_pathc; k++) {
      struct stat st;
      if (stat(g.gl_pathv[k], &st) != 0 || st.st_mtime < start) continue;
      if (!first) first = g.gl_pathv[k];
      last = g.gl_pathv[k];
      n++;
    }
    if (n == 1) fprintf(stderr, "hawk map: and a frame taken on SIGUSR2: %s\n", first);
    if (n > 1)
      fprintf(stderr, "hawk map: and %zu frames taken on SIGUSR2: %s ... %s\n", n, first, last);
  }
  globfree(&g);
  free(pattern);
}

int cmd_map(int argc, char **argv) {
  const char *out = NULL, *policy = NULL, *trace = NULL, *at_text = NULL;
  int i = 1, textbook = 0;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (is_help(a)) {
      fputs(map_usage, stdout);
      return 0;
    }
    if (a[0] != '-') break;
    if (strcmp(a, "--textbook") == 0) {
      textbook = 1;
      continue;
    }
    const char **value = strcmp(a, "--out") == 0      ? &out
                         : strcmp(a, "--policy") == 0 ? &policy
                         : strcmp(a, "--trace") == 0  ? &trace
                         : strcmp(a, "--at") == 0     ? &at_text
                                                      : NULL;
    if (!value) {
      tool_error("map: unknown option %s (see hawk map --help)", a);
      return 2;
    }
    if (i + 1 >= argc) {
      tool_error("map: %s needs a value", a);
      return 2;
    }
    *value = argv[++i];
  }
  if (trace) {
    if (i < argc) {
      tool_error("map: give either --trace FILE or -- CMD, not both");
      return 2;
    }
    long at = -1;
    if (at_text) {
      char *end;
      errno = 0;
      at = strtol(at_text, &end, 10);
      if (*end || errno || at < 1 || end == at_text) {
        tool_error("map: --at %s: give an op number, 1 or more", at_text);
        return 2;
      }
    }
    return map_trace_policies(trace, policy, textbook, at, out ? out : MAP_DEFAULT_OUT);
  }
  if (i >= argc) {
    tool_error("map: no command given (see hawk map --help)");
    return 2;
  }
  if (at_text) {
    tool_error("map: --at needs --trace (a program's heap is drawn at its exit)");
    return 2;
  }
  struct run_options o = {
      .map = out ? out : MAP_DEFAULT_OUT, .policy = policy, .textbook = textbook};
  /* The snapshot is written when CMD exits; tell where the picture is (or
   * is not): an earlier run's regular files go first. */
  if (out_is_directory(o.map)) return 2;
  char *snap = snap_path_for(o.map);
  remove_regular(o.map);
  remove_regular(snap);
  free(snap);
  time_t start = time(NULL);
  int status = run_preloaded(&o, argv + i);
  if (render_run(o.map, (long)start) == 0) fprintf(stderr, "hawk map: wrote %s\n", o.map);
  report_frames(o.map, start);
  return exit_status_of(status);
}

/* --- drawing snapshots ------------------------------------------------------ */

char *snap_path_for(const char *svg) {
  size_t len = strlen(svg);
  if (len > 4 && strcmp(svg + len - 4, ".svg") == 0) len -= 4;
  char *p = malloc(len + 6);
  if (!p) abort();
  memcpy(p, svg, len);
  memcpy(p + len, ".snap", 6);
  return p;
}

int render_file(const char *snap, const char *svg) {
  struct snapshot s;
  char err[600];
  if (snap_read(snap, &s, err, sizeof err) != 0) {
    tool_error("render: %s", err);
    return 2;
  }
  FILE *f = fopen(svg, "w");
  int r = f ? render_svg(&s, f) : -1;
  if (f && output_close(f) != 0) r = -1;
  int werr = errno;
  snap_free(&s);
  if (r != 0) {
    tool_error("render: cannot write %s: %s", svg, strerror(werr));
    return 2;
  }
  return 0;
}

int render_run(const char *svg, long start) {
  char *snap = snap_path_for(svg);
  struct stat st;
  int rc = 2;
  if (stat(snap, &st) == 0)
    rc = render_file(snap, svg);
  else
    tool_error("%s was not written (does the library support HAWKALLOC_MAP?)", snap);
  /* The frames: FILE-0001.snap ... (and FILE-PID-0001.snap of forked
   * children) written during this run. */
  char *pattern = glob_pattern(snap, strlen(snap) - 5, "-*.snap");
  glob_t g;
  if (glob(pattern, 0, NULL, &g) == 0) {
    for (size_t k = 0; k < g.gl_pathc; k++) {
      const char *f = g.gl_pathv[k];
      if (stat(f, &st) != 0 || st.st_mtime < start) continue;
      size_t n = strlen(f) - 5;
      char *out = malloc(n + 5);
      if (!out) abort();
      snprintf(out, n + 5, "%.*s.svg", (int)n, f);
      render_file(f, out);
      free(out);
    }
  }
  globfree(&g);
  free(pattern);
  free(snap);
  return rc;
}

static const char render_usage[] =
    "usage: hawk render [--out FILE.svg] [--summary] FILE.snap\n"
    "\n"
    "Draws a heap snapshot (written by the library for HAWKALLOC_MAP=FILE.snap, on\n"
    "SIGUSR2, or by hawk_map_write; docs/snapshot-format.md) as the SVG picture of\n"
    "hawk map.  A snapshot that is truncated, corrupt or of another version gets\n"
    "one line on stderr and exit status 2.\n"
    "\n"
    "  --out FILE.svg   where the picture goes (default: FILE.svg next to FILE.snap)\n"
    "  --summary        print the snapshot's header and figures as NAME VALUE lines\n"
    "                   on stdout instead of drawing it\n";

/* NAME VALUE lines: what a test compares with hawk_stats and hawk_walk. */
static void print_summary(const struct snapshot *s) {
  const struct snap_figures *f = &s->fig;
  uint64_t bytes[SNAP_ST_COUNT] = {0}, free_blocks = 0, largest = 0, pieces = 0;
  for (size_t i = 0; i < s->nstrips; i++) {
    const struct snap_strip_read *r = &s->strips[i];
    for (int k = 0; k < SNAP_ST_COUNT; k++) bytes[k] += r->sums.bytes[k];
    free_blocks += r->sums.free_blocks;
    if (r->sums.largest_free > largest) largest = r->sums.largest_free;
    pieces += r->npieces;
  }
  printf("version %u\npid %d\ncause %u\nframe %u\nfrom_signal %u\n", s->h.version, s->h.pid,
         s->h.cause, s->h.frame, s->h.flags & SNAP_FROM_SIGNAL);
  printf("program %s\npolicy %s\n", s->program, s->policy);
  printf("in_use %llu\nmapped %llu\nfootprint %llu\nthread_cached %llu\narenas %llu\n"
         "cached_arenas %llu\nlarge_blocks %llu\nheaps %llu\nfree_bytes %llu\n"
         "free_blocks %llu\nlargest_free %llu\n",
         (unsigned long long)f->in_use, (unsigned long long)f->mapped,
         (unsigned long long)f->footprint, (unsigned long long)f->thread_cached,
         (unsigned long long)f->arenas, (unsigned long long)f->cached_arenas,
         (unsigned long long)f->large_blocks, (unsigned long long)f->heaps,
         (unsigned long long)f->free_bytes, (unsigned long long)f->free_blocks,
         (unsigned long long)f->largest_free);
  printf("strips %zu\npieces %llu\nwalk_free_bytes %llu\nwalk_allocated_bytes %llu\n"
         "walk_cached_bytes %llu\nwalk_large_bytes %llu\nwalk_free_blocks %llu\n"
         "walk_largest_free %llu\nchunk_runs %zu\nleaves %zu\nmaps_bytes %zu\n",
         s->nstrips, (unsigned long long)pieces, (unsigned long long)bytes[SNAP_ST_FREE],
         (unsigned long long)bytes[SNAP_ST_ALLOC], (unsigned long long)bytes[SNAP_ST_CACHED],
         (unsigned long long)bytes[SNAP_ST_LARGE], (unsigned long long)free_blocks,
         (unsigned long long)largest, s->nchunks, s->nleaves, s->maps_len);
  /* The chunks of each kind, and the strips of created heaps (id 16 up). */
  uint64_t kinds[9] = {0};
  size_t created = 0;
  for (size_t i = 0; i < s->nchunks; i++)
    if (s->chunks[i].kind < 9) kinds[s->chunks[i].kind] += s->chunks[i].count;
  for (size_t i = 0; i < s->nstrips; i++) created += s->strips[i].head.heap >= 16;
  for (int k = 1; k < 9; k++)
    if (k < 4 || k > 5) printf("chunks_%d %llu\n", k, (unsigned long long)kinds[k]);
  printf("created_strips %zu\n", created);
}

int cmd_render(int argc, char **argv) {
  const char *out = NULL, *in = NULL;
  int summary = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (is_help(a)) {
      fputs(render_usage, stdout);
      return 0;
    }
    if (strcmp(a, "--summary") == 0) {
      summary = 1;
    } else if (strcmp(a, "--out") == 0) {
      if (i + 1 >= argc) {
        tool_error("render: --out needs a value");
        return 2;
      }
      out = argv[++i];
    } else if (a[0] == '-' || in) {
      tool_error("render: unexpected argument %s (see hawk render --help)", a);
      return 2;
    } else {
      in = a;
    }
  }
  if (!in) {
    tool_error("render: no snapshot given (see hawk render --help)");
    return 2;
  }
  if (summary) {
    struct snapshot s;
    char err[600];
    if (snap_read(in, &s, err, sizeof err) != 0) {
      tool_error("render: %s", err);
      return 2;
    }
    print_summary(&s);
    snap_free(&s);
    return 0;
  }
  char *def = NULL;
  if (!out) {
    size_t len = strlen(in);
    if (len > 5 && strcmp(in + len - 5, ".snap") == 0) len -= 5;
    def = malloc(len + 5);
    if (!def) abort();
    snprintf(def, len + 5, "%.*s.svg", (int)len, in);
    out = def;
  }
  int rc = render_file(in, out);
  free(def);
  return rc;
}
