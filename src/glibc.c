/* glibc.c - glibc's introspection and tuning calls: hawk_mallinfo2,
 * hawk_mallinfo, hawk_malloc_info and hawk_mallopt (override.c gives them
 * glibc's names).  The figures come from the statistics layer, in one walk
 * of the heaps; docs/glibc.md maps every field and every parameter, with
 * the reasons. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>

#include "debug.h"
#include "hawkalloc.h"
#include "large.h"
#include "process.h"
#include "report.h"
#include "stats.h"

/* glibc's M_MXFAST limit: 80 * sizeof(size_t) / 4 bytes. */
#define MXFAST_MAX (80 * sizeof(size_t) / 4)

struct mallinfo2 hawk_mallinfo2(void) {
  hawk_ensure_ready();
  struct hawk_stats s;
  struct stats_more m;
  stats_snapshot(&s, &m, NULL);
  struct mallinfo2 mi = {
      .arena = s.arenas * ARENA_SIZE, /* the heaps' arenas */
      .ordblks = s.free_blocks,       /* free blocks in them */
      .smblks = 0,                    /* glibc's fastbins: none here */
      .hblks = s.large_blocks,        /* blocks in a mapping of their own */
      .hblkhd = m.large_bytes,        /* the bytes of those mappings */
      .usmblks = 0,                   /* unused, as in glibc */
      .fsmblks = 0,                   /* fastbins again */
      .uordblks = m.heaps_in_use,     /* allocated arena blocks, cached ones too */
      .fordblks = s.free_bytes,       /* free arena blocks */
      .keepcost = s.cached_arenas * ARENA_SIZE + m.spare_bytes, /* what malloc_trim unmaps */
  };
  return mi;
}

/* An int field of struct mallinfo: INT_MAX when the figure is bigger. */
static int saturated(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

struct mallinfo hawk_mallinfo(void) {
  struct mallinfo2 m = hawk_mallinfo2();
  struct mallinfo mi = {
      .arena = saturated(m.arena),
      .ordblks = saturated(m.ordblks),
      .smblks = saturated(m.smblks),
      .hblks = saturated(m.hblks),
      .hblkhd = saturated(m.hblkhd),
      .usmblks = saturated(m.usmblks),
      .fsmblks = saturated(m.fsmblks),
      .uordblks = saturated(m.uordblks),
      .fordblks = saturated(m.fordblks),
      .keepcost = saturated(m.keepcost),
  };
  return mi;
}

/* Everything malloc_info prints, gathered before anything is written: the
 * FILE's writes may allocate, so no lock is held while they run. */
struct info {
  struct hawk_stats s;
  struct stats_more m;
  struct stats_heap heap[HEAP_MAX];
  unsigned heaps, spread;
  size_t threshold, cache_limit;
  int perturb;
  const char *policy;
};

static void info_gather(struct info *in) {
  hawk_ensure_ready();
  in->heaps = hawk_heap_count;
  stats_snapshot(&in->s, &in->m, in->heap);
  in->spread = hawk_heap_spread();
  in->threshold = large_threshold_now();
  in->cache_limit = arena_cache_limit();
  in->perturb = debug_perturb_now();
  in->policy = hawk_policy_name();
}

/* One heap as glibc prints an arena, then HawkAlloc's own figures. */
static void info_print_heap(FILE *fp, unsigned nr, const struct stats_heap *h) {
  unsigned long long now = h->arenas * ARENA_SIZE, max = h->arena_peak * ARENA_SIZE;
  fprintf(fp, "<heap nr=\"%u\">\n<sizes>\n", nr);
  for (unsigned c = 0; c < STATS_CLASSES; c++)
    if (h->class_count[c])
      fprintf(fp, "  <size from=\"%llu\" to=\"%llu\" total=\"%llu\" count=\"%llu\"/>\n",
              (unsigned long long)h->class_min[c], (unsigned long long)h->class_max[c],
              (unsigned long long)h->class_bytes[c], (unsigned long long)h->class_count[c]);
  fprintf(fp, "</sizes>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
  fprintf(fp, "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n",
          (unsigned long long)h->free_blocks, (unsigned long long)h->free_bytes);
  fprintf(fp, "<system type=\"current\" size=\"%llu\"/>\n", now);
  fprintf(fp, "<system type=\"max\" size=\"%llu\"/>\n", max);
  fprintf(fp, "<aspace type=\"total\" size=\"%llu\"/>\n", now);
  fprintf(fp, "<aspace type=\"mprotect\" size=\"%llu\"/>\n", now);
  fprintf(fp, "<aspace type=\"subheaps\" size=\"%llu\"/>\n", (unsigned long long)h->arenas);
  fprintf(fp, "<hawkalloc type=\"in_use\" size=\"%llu\"/>\n", (unsigned long long)h->in_use);
  fprintf(fp, "<hawkalloc type=\"largest_free\" size=\"%llu\"/>\n",
          (unsigned long long)h->largest_free);
  fprintf(fp, "<hawkalloc type=\"calls\" mallocs=\"%llu\" frees=\"%llu\"/>\n",
          (unsigned long long)h->mallocs, (unsigned long long)h->frees);
  fprintf(fp, "</heap>\n");
}

/* The totals as glibc prints them, then HawkAlloc's own figures. */
static void info_print_totals(FILE *fp, const struct info *in) {
  const struct hawk_stats *s = &in->s;
  unsigned long long now = s->arenas * ARENA_SIZE, max = 0;
  for (unsigned i = 0; i < in->heaps; i++) max += in->heap[i].arena_peak * ARENA_SIZE;
  fprintf(fp, "<total type=\"fast\" count=\"0\" size=\"0\"/>\n");
  fprintf(fp, "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n",
          (unsigned long long)s->free_blocks, (unsigned long long)s->free_bytes);
  fprintf(fp, "<total type=\"mmap\" count=\"%llu\" size=\"%llu\"/>\n",
          (unsigned long long)s->large_blocks, (unsigned long long)in->m.large_bytes);
  fprintf(fp, "<system type=\"current\" size=\"%llu\"/>\n", now);
  fprintf(fp, "<system type=\"max\" size=\"%llu\"/>\n", max);
  fprintf(fp, "<aspace type=\"total\" size=\"%llu\"/>\n", now);
  fprintf(fp, "<aspace type=\"mprotect\" size=\"%llu\"/>\n", now);
  fprintf(fp, "<hawkalloc type=\"in_use\" size=\"%llu\" peak=\"%llu\"/>\n",
          (unsigned long long)s->in_use, (unsigned long long)s->in_use_peak);
  fprintf(fp, "<hawkalloc type=\"mapped\" size=\"%llu\" peak=\"%llu\"/>\n",
          (unsigned long long)s->mapped, (unsigned long long)s->mapped_peak);
  fprintf(fp, "<hawkalloc type=\"footprint\" size=\"%llu\" peak=\"%llu\"/>\n",
          (unsigned long long)s->footprint, (unsigned long long)s->footprint_peak);
  fprintf(fp, "<hawkalloc type=\"thread_cached\" size=\"%llu\"/>\n",
          (unsigned long long)s->thread_cached);
  fprintf(fp, "<hawkalloc type=\"cached_arenas\" count=\"%llu\" size=\"%llu\" ",
          (unsigned long long)s->cached_arenas, (unsigned long long)s->cached_arenas * ARENA_SIZE);
  if (in->cache_limit == SIZE_MAX)
    fprintf(fp, "limit=\"none\"/>\n");
  else
    fprintf(fp, "limit=\"%llu\"/>\n", (unsigned long long)in->cache_limit);
  fprintf(fp, "<hawkalloc type=\"spare_mappings\" count=\"%llu\" size=\"%llu\"/>\n",
          (unsigned long long)in->m.spare_count, (unsigned long long)in->m.spare_bytes);
  fprintf(fp, "<hawkalloc type=\"heaps\" count=\"%u\" spread=\"%u\"/>\n", in->heaps, in->spread);
  fprintf(fp, "<hawkalloc type=\"mmap_threshold\" size=\"%llu\"/>\n",
          (unsigned long long)in->threshold);
  fprintf(fp, "<hawkalloc type=\"perturb\" value=\"%d\"/>\n", in->perturb);
  fprintf(fp,
          "<hawkalloc type=\"calls\" mallocs=\"%llu\" frees=\"%llu\" splits=\"%llu\" "
          "coalesces=\"%llu\"/>\n",
          (unsigned long long)s->mallocs, (unsigned long long)s->frees,
          (unsigned long long)s->splits, (unsigned long long)s->coalesces);
  fprintf(fp, "<hawkalloc type=\"policy\" name=\"%s\"/>\n", in->policy);
}

int hawk_malloc_info(int options, FILE *fp) {
  if (options != 0) { /* glibc returns EINVAL itself; errno says it too */
    errno = EINVAL;
    return EINVAL;
  }
  if (fp == NULL) report_misuse("malloc_info", fp, "invalid FILE (NULL)");
  struct info in;
  info_gather(&in);
  fprintf(fp, "<malloc version=\"1\">\n");
  for (unsigned i = 0; i < in.heaps; i++) info_print_heap(fp, i, &in.heap[i]);
  info_print_totals(fp, &in);
  fprintf(fp, "</malloc>\n");
  return 0;
}

int hawk_mallopt(int param, int value) {
  hawk_ensure_ready();
  switch (param) {
  case M_MMAP_THRESHOLD: /* the large-block threshold, 0 to 2 MiB */
    return value >= 0 && large_set_threshold((size_t)value);
  case M_ARENA_MAX: /* the heaps new threads are spread over */
    if (value <= 0) return 0;
    hawk_set_heap_spread(value > HEAP_MAX ? HEAP_MAX : (unsigned)value);
    return 1;
  case M_TRIM_THRESHOLD: /* the bytes of empty arenas kept; negative: all */
    arena_cache_set_limit(value < 0 ? SIZE_MAX : (size_t)value / ARENA_SIZE);
    return 1;
  case M_PERTURB:
    hawk_set_perturb(value);
    return 1;
  case M_MXFAST: /* no fastbins: checked as glibc checks it, then ignored */
    return value >= 0 && (size_t)value <= MXFAST_MAX;
  case M_CHECK_ACTION: /* misuse always gets its line and abort() */
  default:             /* M_TOP_PAD, M_MMAP_MAX, M_ARENA_TEST, any other */
    return 1;
  }
}
