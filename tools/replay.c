/* replay.c - `hawk replay`: every trace under every allocator (and policy),
 * each pair in a fresh worker process (worker.c), and a table of the
 * results with the mean utilization per allocator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hawk.h"

static const char replay_usage[] =
    "usage: hawk replay [--policy P|all] [--textbook] [--allocator hawk|system|NAME|PATH.so]\n"
    "                   [--rounds N] [--tsv] FILE...\n"
    "\n"
    "Replays allocation traces and compares allocators.  A FILE is a HawkAlloc trace\n"
    "(hawk run --trace; docs/trace-format.md) or a classic malloc-lab .rep trace (both\n"
    "header variants).  Each trace runs in a fresh process per allocator: the calls\n"
    "of the trace and nothing else reach the allocator.  Every block is filled with a\n"
    "pattern, checked before it is freed or reallocated and after a realloc; a\n"
    "difference fails the replay.\n"
    "\n"
    "  --policy P       HawkAlloc's placement policy: first-fit, next-fit, best-fit,\n"
    "                   segregated, or all of them; repeat or separate with commas\n"
    "                   (default: the library's default).  A policy the library does\n"
    "                   not know is an error (exit status 2).\n"
    "  --textbook       HawkAlloc in textbook mode (HAWKALLOC_TCACHE=0): no thread\n"
    "                   cache and one heap, so every malloc and free goes through the\n"
    "                   placement policy.  Without it, small blocks freed and asked\n"
    "                   for again come from the thread cache, whatever the policy.\n"
    "  --allocator A    hawk (libhawkalloc.so), system (the C library's malloc), or\n"
    "                   a malloc library to preload: a path (with a slash), or a\n"
    "                   name looked up in the library directories only, not in the\n"
    "                   current directory (jemalloc finds libjemalloc.so*; a name\n"
    "                   not installed is an error, exit status 2); repeat or\n"
    "                   separate with commas (default: hawk)\n"
    "  --rounds N       timing rounds; throughput is the best (default 3)\n"
    "  --tsv            tab-separated output with raw numbers, for scripts\n"
    "\n"
    "Columns: ops replayed; peak live = the most requested bytes allocated at once\n"
    "(a realloc counts new minus old); footprint = HawkAlloc's peak footprint\n"
    "(hawk_stats: arena bytes up to the highest byte handed out, plus large\n"
    "mappings) or, for other allocators, the growth of peak resident memory during\n"
    "the replay; peak util (peak utilization) = peak live / footprint; ops/s =\n"
    "calls per second, best round;\n"
    "arenas and free blocks = HawkAlloc's, at the peak of live bytes.  The first\n"
    "pass verifies and measures; the timing rounds then replay the calls alone in\n"
    "the same process.  HawkAlloc's figures are the same every run; resident memory\n"
    "may differ by a few pages.\n"
    "\n"
    "A HawkAlloc trace is replayed in seq order on one thread.  Records naming no\n"
    "block the trace allocated (a free of memory allocated before tracing began)\n"
    "and failed calls are skipped, with a note on stderr.  A .rep trace that frees\n"
    "a block which is not allocated (a double free) is malformed: its replay fails\n"
    "with the line number, like any other malformed line.\n"
    "\n"
    "Exit status: 0 when every replay verified, 1 when one failed (or a trace is\n"
    "malformed), 2 on bad usage (an unknown option, policy or allocator).\n";

static const char *all_policies[] = {"first-fit", "next-fit", "best-fit", "segregated"};

struct config {
  struct alloc_choice a;
  char *label_alloc; /* table column "allocator" */
  char *label_policy;
  double util_sum;
  int util_n, traces, failed;
  double ops_total, seconds_total;
};

/* Splits a comma-separated value into the list. */
static void add_values(const char *value, char ***list, int *n) {
  char *copy = strdup(value), *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    *list = realloc(*list, (size_t)(*n + 1) * sizeof **list);
    (*list)[(*n)++] = strdup(tok);
  }
  free(copy);
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static char *human_rate(double r, char *buf, size_t n) {
  if (r >= 1e6)
    snprintf(buf, n, "%.1fM", r / 1e6);
  else if (r >= 1e3)
    snprintf(buf, n, "%.1fk", r / 1e3);
  else
    snprintf(buf, n, "%.0f", r);
  return buf;
}

/* Prints the worker's stderr (minus the policy warning), each line prefixed. */
static void show_errtext(const char *prefix, const char *text) {
  const char *line = text;
  while (*line) {
    const char *end = strchr(line, '\n');
    int len = end ? (int)(end - line) : (int)strlen(line);
    fprintf(stderr, "%s: %.*s\n", prefix, len, line);
    line += len + (end ? 1 : 0);
  }
}

int cmd_replay(int argc, char **argv) {
  char **policies = NULL, **allocators = NULL, **files = NULL;
  int npolicies = 0, nallocators = 0, nfiles = 0, rounds = 3, tsv = 0, textbook = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (is_help(a)) {
      fputs(replay_usage, stdout);
      return 0;
    }
    if (strcmp(a, "--tsv") == 0) {
      tsv = 1;
    } else if (strcmp(a, "--textbook") == 0) {
      textbook = 1;
    } else if (strcmp(a, "--policy") == 0 || strcmp(a, "--allocator") == 0 ||
               strcmp(a, "--rounds") == 0) {
      if (i + 1 >= argc) {
        tool_error("replay: %s needs a value", a);
        return 2;
      }
      const char *v = argv[++i];
      if (a[2] == 'p') {
        add_values(v, &policies, &npolicies);
      } else if (a[2] == 'a') {
        add_values(v, &allocators, &nallocators);
      } else {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end || n < 0 || n > 1000) {
          tool_error("replay: --rounds takes a number from 0 to 1000");
          return 2;
        }
        rounds = (int)n;
      }
    } else if (strcmp(a, "--") == 0) {
      for (i++; i < argc; i++) {
        files = realloc(files, (size_t)(nfiles + 1) * sizeof *files);
        files[nfiles++] = strdup(argv[i]);
      }
    } else if (a[0] == '-' && a[1]) {
      tool_error("replay: unknown option %s (see hawk replay --help)", a);
      return 2;
    } else {
      files = realloc(files, (size_t)(nfiles + 1) * sizeof *files);
      files[nfiles++] = strdup(a);
    }
  }
  if (nfiles == 0) {
    tool_error("replay: no trace given (see hawk replay --help)");
    return 2;
  }
  for (int f = 0; f < nfiles; f++)
    if (access(files[f], R_OK) != 0) {
      tool_error("replay: %s: cannot read it", files[f]);
      return 2;
    }
  if (nallocators == 0) add_values("hawk", &allocators, &nallocators);

  /* The configurations: hawk once per policy, the others once each. */
  struct config *cfg = NULL;
  int ncfg = 0, uses_hawk = 0;
  char *hawk_lib = NULL;
  for (int k = 0; k < nallocators; k++) {
    const char *name = allocators[k];
    if (strcmp(name, "hawk") == 0) {
      uses_hawk = 1;
      if (!hawk_lib && !(hawk_lib = hawk_library_path())) return 2;
      int n = npolicies ? npolicies : 1;
      for (int p = 0; p < n; p++) {
        int is_all = npolicies && strcmp(policies[p], "all") == 0;
        int m = is_all ? (int)(sizeof all_policies / sizeof *all_policies) : 1;
        for (int q = 0; q < m; q++) {
          const char *policy = is_all ? all_policies[q] : npolicies ? policies[p] : NULL;
          cfg = realloc(cfg, (size_t)(ncfg + 1) * sizeof *cfg);
          cfg[ncfg] = (struct config){.a = {"hawk", hawk_lib, policy, 1, textbook}};
          cfg[ncfg].label_alloc = strdup("hawk");
          cfg[ncfg].label_policy = policy ? strdup(policy) : NULL;
          ncfg++;
        }
      }
    } else {
      char *lib = NULL;
      if (strcmp(name, "system") != 0) {
        lib = allocator_path(name);
        if (!lib) {
          tool_error("replay: the allocator '%s' is not installed (no %s, lib%s.so* or lib%s*.so* "
                     "in %s); install it, or give the path of its .so",
                     name, name, name, name, allocator_dirs());
          return 2;
        }
        if (preload_path_ok(lib) != 0) return 2;
      }
      cfg = realloc(cfg, (size_t)(ncfg + 1) * sizeof *cfg);
      cfg[ncfg] = (struct config){.a = {name, lib, NULL, 0}};
      cfg[ncfg].label_alloc = strdup(!lib ? "system" : strchr(name, '/') ? base_name(lib) : name);
      cfg[ncfg].label_policy = strdup("-");
      ncfg++;
    }
  }
  if ((npolicies || textbook) && !uses_hawk) {
    tool_error("replay: %s applies to --allocator hawk only",
               npolicies ? "--policy" : "--textbook");
    return 2;
  }

  static const char *heads[] = {"trace",     "allocator", "policy", "ops",    "peak live",
                                "footprint", "peak util", "ops/s",  "arenas", "free blocks"};
  struct table t;
  table_init(&t, 10, heads, "lllrrrrrrr");
  int failures = 0;
  int progress = isatty(2); /* a line saying what is being replayed */
  for (int f = 0; f < nfiles; f++) {
    for (int c = 0; c < ncfg; c++) {
      struct config *g = &cfg[c];
      struct worker_outcome o;
      char name[256], message[sizeof o.result.message + 1];
      shown_text(name, sizeof name, base_name(files[f]));
      char what[480], prefix[512];
      snprintf(what, sizeof what, "%s (%s%s%s)", name, g->label_alloc, g->a.policy ? " " : "",
               g->a.policy ? g->a.policy : "");
      snprintf(prefix, sizeof prefix, "hawk replay: %s", what);
      if (progress) fprintf(stderr, "\r\033[K%s ...", what);
      int started = worker_run(files[f], &g->a, MODE_REPLAY, rounds, NULL, &o);
      if (progress) fprintf(stderr, "\r\033[K");
      if (started != 0) return 2;
      const struct worker_result *r = &o.result;
      if (!g->label_policy)
        g->label_policy = strdup(o.got_result && r->policy[0] ? r->policy : "default");
      g->traces++;
      if (o.policy_rejected && g->a.is_hawk) { /* a misspelt policy: bad usage */
        show_errtext(prefix, o.errtext);
        tool_error("replay: the library does not know the policy '%s' (see hawk replay --help)",
                   g->a.policy);
        return 2;
      }
      show_errtext(prefix, o.errtext);
      if (!o.got_result || r->failed || !WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0) {
        failures++;
        g->failed++;
        if (o.got_result && r->failed)
          fprintf(stderr, "%s: FAILED: %s\n", prefix,
                  shown_text(message, sizeof message, r->message));
        else if (WIFSIGNALED(o.status))
          fprintf(stderr, "%s: FAILED: the worker died of signal %d (%s)\n", prefix,
                  WTERMSIG(o.status), strsignal(WTERMSIG(o.status)));
        else
          fprintf(stderr, "%s: FAILED: the worker exited with status %d without a result\n", prefix,
                  WIFEXITED(o.status) ? WEXITSTATUS(o.status) : -1);
        table_row(&t, "%s\t%s\t%s\tFAIL\t-\t-\t-\t-\t-\t-", name, g->label_alloc, g->label_policy);
        worker_outcome_free(&o);
        continue;
      }
      if (g->a.is_hawk && g->a.policy && strcmp(r->policy, g->a.policy) != 0)
        fprintf(stderr, "%s: warning: the library says its policy is '%s'\n", prefix, r->policy);
      if (r->skipped || r->repaired || r->leaked)
        fprintf(stderr,
                "%s: note: %llu records skipped (no known block, or a failed call), %llu "
                "repaired (pointer handed out again while live), %llu allocations into a "
                "live id\n",
                prefix, (unsigned long long)r->skipped, (unsigned long long)r->repaired,
                (unsigned long long)r->leaked);
      double util = r->footprint ? (double)r->peak_live / (double)r->footprint : 0;
      double rate = r->best_seconds > 0 ? (double)r->ops / r->best_seconds : 0;
      char ubuf[32], rbuf[32], abuf[32], fbuf[32];
      if (r->footprint) {
        g->util_sum += util;
        g->util_n++;
        snprintf(ubuf, sizeof ubuf, tsv ? "%.6f" : "%.1f%%", tsv ? util : util * 100);
      } else {
        snprintf(ubuf, sizeof ubuf, "n/a");
      }
      if (r->best_seconds > 0) {
        g->ops_total += (double)r->ops;
        g->seconds_total += r->best_seconds;
        if (tsv)
          snprintf(rbuf, sizeof rbuf, "%.0f", rate);
        else
          human_rate(rate, rbuf, sizeof rbuf);
      } else {
        snprintf(rbuf, sizeof rbuf, "-");
      }
      if (r->have_stats && r->footprint_kind == 1) {
        snprintf(abuf, sizeof abuf, "%llu", (unsigned long long)r->arenas);
        snprintf(fbuf, sizeof fbuf, "%llu", (unsigned long long)r->free_blocks);
      } else {
        snprintf(abuf, sizeof abuf, "-");
        snprintf(fbuf, sizeof fbuf, "-");
      }
      table_row(&t, "%s\t%s\t%s\t%llu\t%llu\t%llu%s\t%s\t%s\t%s\t%s", name, g->label_alloc,
                g->label_policy, (unsigned long long)r->ops, (unsigned long long)r->peak_live,
                (unsigned long long)r->footprint, r->footprint_kind == 2 && !tsv ? "*" : "", ubuf,
                rbuf, abuf, fbuf);
      worker_outcome_free(&o);
    }
  }
  table_rule(&t);
  int any_rss = 0;
  for (int c = 0; c < ncfg; c++) {
    struct config *g = &cfg[c];
    char ubuf[32], rbuf[32], label[48];
    if (g->util_n)
      snprintf(ubuf, sizeof ubuf, tsv ? "%.6f" : "%.1f%%",
               g->util_sum / g->util_n * (tsv ? 1 : 100));
    else
      snprintf(ubuf, sizeof ubuf, "n/a");
    double rate = g->seconds_total > 0 ? g->ops_total / g->seconds_total : 0;
    if (rate > 0 && tsv)
      snprintf(rbuf, sizeof rbuf, "%.0f", rate);
    else if (rate > 0)
      human_rate(rate, rbuf, sizeof rbuf);
    else
      snprintf(rbuf, sizeof rbuf, "-");
    snprintf(label, sizeof label, "mean of %d", g->util_n);
    table_row(&t, "%s\t%s\t%s\t-\t-\t-\t%s\t%s\t-\t-", label, g->label_alloc,
              g->label_policy ? g->label_policy : "-", ubuf, rbuf);
    if (!g->a.is_hawk) any_rss = 1;
  }
  table_print(&t, tsv);
  if (!tsv) {
    if (any_rss)
      printf("* footprint measured as resident memory (VmHWM growth during the replay)\n");
    if (textbook)
      printf("textbook mode: HawkAlloc without its thread cache, one heap (HAWKALLOC_TCACHE=0)\n");
    printf("mean: peak utilization averaged over the traces; ops/s: all ops / all best times\n");
  }
  fflush(stdout);
  table_free(&t);
  for (int c = 0; c < ncfg; c++) {
    free(cfg[c].label_alloc);
    free(cfg[c].label_policy);
    if (!cfg[c].a.is_hawk) free((char *)cfg[c].a.preload);
  }
  free(cfg);
  free(hawk_lib);
  for (int i = 0; i < npolicies; i++) free(policies[i]);
  for (int i = 0; i < nallocators; i++) free(allocators[i]);
  for (int i = 0; i < nfiles; i++) free(files[i]);
  free(policies);
  free(allocators);
  free(files);
  return failures ? 1 : 0;
}
