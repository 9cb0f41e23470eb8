/* map.c - `hawk map`: an SVG picture of a heap, written by the library's
 * hawk_map_write.  Either of a program (HAWKALLOC_MAP: at exit, and a frame
 * on each SIGUSR2) or of a trace replayed in a worker, taken at its peak of
 * live bytes. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "hawk.h"

static const char map_usage[] =
    "usage: hawk map [--out FILE.svg] [--policy P] [--textbook] -- CMD [ARGS...]\n"
    "       hawk map --trace FILE.rep|FILE.trace [--policy P] [--textbook] [--out FILE.svg]\n"
    "\n"
    "Draws the heap as SVG: every arena a strip, each block to scale and coloured by\n"
    "state (allocated, free, thread-cached, own mapping), the fragmentation figures,\n"
    "and the address space (stack, brk heap, libraries, arenas) on one axis.\n"
    "\n"
    "With CMD: runs it under HawkAlloc with HAWKALLOC_MAP=FILE.svg; the library\n"
    "writes the picture when CMD exits, and a frame each time CMD gets SIGUSR2\n"
    "(kill -USR2 the hawk process: it passes the signal on).  Exits with CMD's status.\n"
    "\n"
    "With --trace: replays the trace (HawkAlloc or malloc-lab .rep) in a fresh\n"
    "process and draws the heap at the trace's peak of live bytes.\n"
    "\n"
    "  --out FILE.svg   where the picture goes (default: hawk-map.svg in the current\n"
    "                   directory)\n"
    "  --policy P       placement policy: first-fit, next-fit, best-fit, segregated\n"
    "  --textbook       textbook mode (HAWKALLOC_TCACHE=0): no thread cache, one heap,\n"
    "                   so every malloc and free goes through the placement policy\n"
    "  --trace FILE     a trace to replay instead of running a command\n";

#define MAP_DEFAULT_OUT "hawk-map.svg"

static int map_trace(const char *trace, const char *policy, int textbook, const char *out) {
  char *lib = hawk_library_path();
  if (!lib) return 2;
  char *abs = absolute_path(out);
  struct alloc_choice a = {"hawk", lib, policy, 1, textbook};
  struct worker_outcome o;
  int rc = 1;
  if (worker_run(trace, &a, MODE_MAP, 0, abs, &o) != 0) {
    free(lib);
    free(abs);
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
  } else {
    printf("wrote %s: %s at its peak of %llu live bytes (%s %lld of %llu), policy %s%s\n", out,
           trace, (unsigned long long)o.result.peak_live,
           o.result.peak_op >= 0 ? "after op" : "no live bytes, at op",
           (long long)(o.result.peak_op >= 0 ? o.result.peak_op + 1 : 0),
           (unsigned long long)o.result.ops, o.result.policy[0] ? o.result.policy : "?",
           textbook ? ", textbook mode" : "");
    rc = 0;
  }
  worker_outcome_free(&o);
  free(lib);
  free(abs);
  return rc;
}

/* Names the frames written on SIGUSR2 during this run: PATH-0001.svg ...
 * (PATH without its ".svg"). */
static void report_frames(const char *path, time_t start) {
  size_t len = strlen(path);
  if (len > 4 && strcmp(path + len - 4, ".svg") == 0) len -= 4;
  char *pattern = malloc(len + 32);
  snprintf(pattern, len + 32, "%.*s-[0-9][0-9][0-9][0-9].svg", (int)len, path);
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
  const char *out = NULL, *policy = NULL, *trace = NULL;
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
    return map_trace(trace, policy, textbook, out ? out : MAP_DEFAULT_OUT);
  }
  if (i >= argc) {
    tool_error("map: no command given (see hawk map --help)");
    return 2;
  }
  struct run_options o = {
      .map = out ? out : MAP_DEFAULT_OUT, .policy = policy, .textbook = textbook};
  /* The picture is written when CMD exits; tell where it is (or is not). */
  remove(o.map);
  time_t start = time(NULL);
  int status = run_preloaded(&o, argv + i);
  struct stat st;
  if (stat(o.map, &st) == 0)
    fprintf(stderr, "hawk map: wrote %s\n", o.map);
  else
    fprintf(stderr, "hawk map: %s was not written (does the library support HAWKALLOC_MAP?)\n",
            o.map);
  report_frames(o.map, start);
  return exit_status_of(status);
}
