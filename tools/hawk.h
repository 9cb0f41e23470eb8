/* hawk.h - the declarations shared by the files of the `hawk` command.
 *
 * hawk is not linked with libhawkalloc: it starts programs (and its own
 * replay workers) with the library in LD_PRELOAD, and a worker reaches the
 * library's hawk_* functions through dlsym.  Files, one concept each:
 *
 *   main.c     dispatch to the subcommands, `hawk --help`
 *   libpath.c  where libhawkalloc.so is (next to the binary, or HAWK_LIB)
 *   run.c      `hawk run`: a program with the library preloaded
 *   map.c      `hawk map` and `hawk render`: pictures of a program's heap or
 *              of a replay, drawn from the library's snapshots
 *   snapfile.c a heap snapshot file read and checked (docs/snapshot-format.md)
 *   render.c   a snapshot drawn as SVG: the page, its figures, the arenas
 *   render_space.c  the picture's address space (render.h: what they share)
 *   svg.c      the pictures' SVG text: numbers for people, escaped text
 *   replay.c   `hawk replay`: workers per (trace, allocator), the table
 *   child.c    starting one worker and collecting its result
 *   worker.c   the hidden worker: replays one trace, verifies, measures
 *   load.c     a trace file into mmap'ed memory, whatever its format
 *   trace.c    the HawkAlloc binary trace (docs/trace-format.md)
 *   rep.c      the classic malloc-lab .rep trace
 *   mapmem.c   memory straight from mmap, for the worker
 *   table.c    printing aligned tables
 *   blocks.c   a heap's blocks (hawk_walk) beside a replay's snapshot, for
 *              pictures of small heaps drawn zoomed in
 *   grade.c    `hawk grade`: a malloc-lab allocator (mm.c) compiled against
 *              the grader of tools/grade/ (built in) and run on traces
 *   grade_map.c  `hawk grade --map`: the student's heap as a picture
 *   record.c   the worker's recorder of the library's events (hawk view)
 *   view.c     `hawk view`: the policies' replays written as one HTML page
 *   view_model.c  one policy's heap rebuilt from its events at every call,
 *              checked against hawk_walk (view.h: what the two share)
 *   page.c     the page's script and style (generated from tools/view/)
 *   deflate.c  a small raw deflate compressor for the page's data
 *   scratch.c  the commands' scratch files, removed also when hawk is killed
 */
#ifndef HAWK_TOOL_H
#define HAWK_TOOL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* --- subcommands (each parses its own arguments; argv[0] is its name) --- */

int cmd_run(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_map(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_grade(int argc, char **argv);
int cmd_worker(int argc, char **argv); /* hidden: started by replay and map */

/* The name of the hidden worker subcommand. */
#define WORKER_COMMAND "__worker"

/* Prints "hawk: " and the formatted message on stderr. */
/* SIGXFSZ's disposition when hawk started (main.c ignores it for its own
 * writes): what the program `hawk run` starts gets back. */
extern struct sigaction tool_sigxfsz_given;

void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Closes an output file: 0, or -1 with errno set when any write to it
 * failed (checked with fflush and ferror, not only fclose). */
int output_close(FILE *f);

/* True when s is "--help" or "-h". */
int is_help(const char *s);

/* scratch.c: a scratch file (dir 0) or directory (dir 1) that the command
 * made and removes on every return, registered as made and dropped once
 * removed, so that a SIGHUP, SIGINT, SIGQUIT or SIGTERM removes it too
 * (the handler then lets the signal kill hawk); scratch_child names the
 * child hawk waits for (0: none), which the handler stops first, with its
 * process group when group is 1. */
void scratch_add(const char *path, int dir);
void scratch_drop(const char *path);
void scratch_child(pid_t pid, int group);
/* hawk has made itself a child subreaper (prctl): the handler also kills
 * every child hawk has (scratch_end_children). */
void scratch_reaper(void);
/* Reaps hawk's ended children and kills the others, round after round of
 * 5 ms until it has none, at most rounds rounds: 0, or -1 when some were
 * still alive.  Async-signal-safe. */
int scratch_end_children(int rounds);

/* --- libpath.c ------------------------------------------------------------ */

/* Finds libhawkalloc.so: $HAWK_LIB, else next to the hawk binary
 * (build/hawk -> build/libhawkalloc.so), else ../lib from it (PREFIX/bin/hawk
 * -> PREFIX/lib/libhawkalloc.so.0, then PREFIX/lib/libhawkalloc.so).  Returns
 * a malloc'ed absolute path, the links resolved, or NULL after printing why. */
char *hawk_library_path(void);

/* Checks that path can go into LD_PRELOAD (absolute, no space or colon) and
 * is a readable file.  Returns 0, or -1 after printing why. */
int preload_path_ok(const char *path);

/* The library an --allocator value names: a path (malloc'ed, absolute; the
 * file may not exist), or a name looked up in the usual library directories
 * (NAME, libNAME.so*, libNAME*.so*): malloc'ed, or NULL when no library of
 * that name is installed. */
char *allocator_path(const char *name);

/* 1 when the ELF shared library at path defines the dynamic symbol. */
int library_exports(const char *path, const char *symbol);

/* The directories searched for an allocator given by name, for messages:
 * "/usr/local/lib, /usr/lib/x86_64-linux-gnu, ..." (static). */
const char *allocator_dirs(void);

/* An absolute version of path (relative ones are taken from the current
 * directory; the file need not exist).  malloc'ed. */
char *absolute_path(const char *path);

/* --- run.c ---------------------------------------------------------------- */

/* What `hawk run` and `hawk map -- CMD` set for the program. */
struct run_options {
  int stats;
  const char *trace; /* HAWKALLOC_TRACE, or NULL */
  const char *map;   /* the SVG picture; HAWKALLOC_MAP is its snapshot */
  const char *policy;
  const char *heaps;
  int textbook; /* HAWKALLOC_TCACHE=0 */
};

/* Runs argv with libhawkalloc.so preloaded and the options in its
 * environment, and waits for it.  Returns its wait status (as from waitpid;
 * exit status 127 when it could not be started). */
int run_preloaded(const struct run_options *o, char **argv);

/* The exit status hawk ends with for a child's wait status: the child's own,
 * or, when it died of a signal, that signal raised again in this process. */
int exit_status_of(int status);

/* --- snapfile.c and render.c: heap snapshots ------------------------------ */

#include "hawkalloc.h"
#include "hawksnap.h"

/* One strip of a snapshot: its record, its pieces and its sums. */
struct snap_strip_read {
  struct snap_strip head;
  struct snap_strip_end sums;
  struct snap_piece *pieces; /* malloc'ed */
  size_t npieces;
};

/* A snapshot read into memory; every field checked by snap_read. */
struct snapshot {
  struct snap_header h;
  struct snap_figures fig;
  char *program; /* NUL-terminated, malloc'ed ("" if none) */
  char *policy;  /* likewise */
  struct snap_strip_read *strips;
  size_t nstrips;
  struct snap_chunks *chunks;
  size_t nchunks;
  struct snap_range *leaves;
  size_t nleaves;
  char *maps; /* the bytes of /proc/self/maps, NUL-terminated */
  size_t maps_len;
};

/* Reads and checks the snapshot in path.  Returns 0, or -1 with one line
 * saying what is wrong in err (no newline). */
int snap_read(const char *path, struct snapshot *s, char *err, size_t errlen);
void snap_free(struct snapshot *s);

/* Draws s as SVG into out.  Returns 0, or -1 when out could not be
 * written. */
int render_svg(const struct snapshot *s, FILE *out);

/* What a picture says besides the snapshot, and the blocks to zoom with. */
struct render_opts {
  const char *title;    /* the heading: the trace (or program) and op; NULL: the default */
  const char *subtitle; /* the line under it; NULL: program, pid, policy, time */
  const struct hawk_block_info *blocks; /* the heap's blocks at the snapshot, or NULL */
  size_t nblocks;
};

/* render_svg with options: a small heap whose blocks are given is drawn
 * zoomed in (the strips show the arenas' used part across their width). */
int render_svg_opts(const struct snapshot *s, const struct render_opts *opts, FILE *out);

/* blocks.c: writes every block hawk_walk visits into path (the worker, at
 * the snapshot; allocates nothing); reads them back (malloc'ed).  0 or -1. */
int blocks_write(const char *path, size_t (*walk)(hawk_visit_fn, void *));
int blocks_read(const char *path, struct hawk_block_info **out, size_t *n);

/* map.c: renders the snapshot at snap into the SVG file svg; 0, or 2 after
 * printing one line on stderr. */
int render_file(const char *snap, const char *svg);

/* The snapshot path that goes with a picture: FILE.svg -> FILE.snap (any
 * other name gets ".snap" added).  malloc'ed. */
char *snap_path_for(const char *svg);

/* After a program ran with HAWKALLOC_MAP=snap_path_for(svg): draws its exit
 * snapshot into svg and each SIGUSR2 snapshot written since start
 * (FILE-0001.snap, ...) into the same name ending in .svg.  Returns 0 when
 * the exit snapshot was drawn. */
int render_run(const char *svg, long start);

/* --- the operations of a trace, as the worker replays them ---------------- */

enum op_kind {
  OP_MALLOC = 1,
  OP_FREE = 2,
  OP_CALLOC = 3,
  OP_REALLOC = 4,
  OP_ALIGNED = 5,
};

#define SLOT_NULL UINT32_MAX /* free(NULL): the op names no block */

/* The largest alignment an aligned op may ask for: 2^47, the most that any
 * nonzero address below 2^48 has (the address space of the library and of
 * the kernel's user space on x86-64 and aarch64), so no allocator can serve
 * more.  A trace that asks for more, or for one that is not a power of two,
 * is refused when it is loaded. */
#define OP_ALIGN_MAX ((uint64_t)1 << 47)

/* One call to replay.  Blocks are named by slot: a .rep trace's id, or one
 * slot per allocation of a HawkAlloc trace (a realloc keeps its slot). */
struct op {
  uint8_t kind;      /* enum op_kind */
  uint8_t onto_live; /* an allocation into a slot whose block is still live (a
                        .rep's `a` of an id in use): the old block stays
                        allocated, and the worker keeps it to free it later */
  uint8_t pad[2];
  uint32_t slot;  /* or SLOT_NULL */
  uint64_t size;  /* bytes asked for (calloc: the product) */
  uint64_t align; /* OP_ALIGNED: the alignment, a power of two up to OP_ALIGN_MAX */
  uint64_t where; /* source position for messages: line, or record number */
};

/* A trace loaded into memory from mmap. */
struct optrace {
  struct op *ops;
  size_t nops;
  uint32_t nslots;
  const char *format; /* "rep" or "hawk" (static strings) */
  const char *where;  /* "line" or "record": what op.where counts */
  uint64_t skipped;   /* records that named no known block, and failed calls */
  uint64_t leaked;    /* ops marked onto_live */
  uint64_t repaired;  /* HawkAlloc traces: a pointer handed out again while live */
  size_t ops_bytes;   /* size of the ops mapping */
};

/* load.c: maps path, recognises its format and fills *t (all in mmap'ed
 * memory, nothing from malloc).  Returns 0, or -1 with a message in err. */
int trace_load(const char *path, struct optrace *t, char *err, size_t errlen);
void trace_unload(struct optrace *t);

/* view.c: a hawk view page of payloads only (hawk grade --view) for trace t,
 * from the grader's OPS_FILE.calls (grade_ops.h).  0, or 1 with a message. */
int view_payload_page(const char *out, const char *trace, const struct optrace *t,
                      const char *calls);

/* trace.c: the HawkAlloc binary format. */
#define HAWK_TRACE_MAGIC "HAWKTRC"
int hawk_trace_parse(const unsigned char *data, size_t len, struct optrace *t, char *err,
                     size_t errlen);

/* rep.c: the malloc-lab text format (both header variants). */
int rep_parse(const char *data, size_t len, struct optrace *t, char *err, size_t errlen);

/* Computes the peak of live requested bytes the malloc-lab way (a realloc
 * counts new minus old) and the index of the op after which it is first
 * reached (-1 for a trace that never has a live byte).  Needs no allocator
 * (uses a scratch array of nslots sizes, mmap'ed). */
int trace_peak(const struct optrace *t, uint64_t *peak, int64_t *peak_op);

/* --- mapmem.c: memory for the worker, never from malloc ------------------- */

/* Zeroed anonymous memory of at least n bytes, or NULL. */
void *mm_alloc(size_t n);
void mm_free(void *p, size_t n);
/* Writes to every page of [p, p+n) so that it is resident now. */
void mm_touch(void *p, size_t n);

/* --- child.c: one worker ------------------------------------------------- */

/* The allocator a worker runs on. */
struct alloc_choice {
  const char *label;   /* as printed in the table */
  const char *preload; /* absolute path for LD_PRELOAD, or NULL (system) */
  const char *policy;  /* HAWKALLOC_POLICY, or NULL */
  int is_hawk;         /* the preload is libhawkalloc */
  int textbook;        /* HawkAlloc in textbook mode: HAWKALLOC_TCACHE=0 (no thread
                          cache, one heap), so every call meets the policy */
};

enum worker_mode { MODE_REPLAY = 0, MODE_MAP = 1, MODE_EVENTS = 2, MODE_EVENTS_CHECK = 3 };

/* What a worker reports through its pipe (one write). */
#define RESULT_MAGIC 0x4841574bu /* "HAWK" */
struct worker_result {
  uint32_t magic;
  int32_t failed; /* 0: replayed and verified; else message says why */
  char message[1024];
  char format[8];  /* "rep", "hawk" */
  char policy[32]; /* hawk_policy_name(), or "" */
  uint64_t ops;
  uint64_t skipped, leaked, repaired;
  uint64_t peak_live;     /* bytes */
  int64_t peak_op;        /* index of the op at the peak, or -1 */
  int32_t footprint_kind; /* 0: none, 1: hawk footprint_peak, 2: resident memory */
  int32_t have_stats;     /* arenas/free_blocks below are meaningful */
  uint64_t footprint;     /* bytes */
  uint64_t arenas, free_blocks, free_bytes, largest_free; /* at the peak */
  uint64_t mallocs_before; /* allocations the library saw before the replay */
  double best_seconds;     /* fastest timing round, or 0 */
  int32_t rounds;
  int32_t map_written; /* MODE_MAP: 1 when hawk_map_write succeeded */
};

/* What happened to a worker: its result, or how it died, and its stderr. */
struct worker_outcome {
  int got_result; /* result is valid */
  struct worker_result result;
  int status;          /* from waitpid */
  int policy_rejected; /* stderr had "hawkalloc: unknown HAWKALLOC_POLICY" */
  char *errtext;       /* the rest of its stderr (malloc'ed, may be "") */
};

/* The op after which the next MODE_MAP worker takes its snapshot (1 to the
 * trace's ops), or -1 for the peak of live bytes (the default). */
void worker_set_map_at(int64_t op);

/* Runs `hawk __worker` on one trace under one allocator and waits for it.
 * Returns 0 when the worker could be started. */
int worker_run(const char *trace, const struct alloc_choice *a, enum worker_mode mode, int rounds,
               const char *out, struct worker_outcome *o);
void worker_outcome_free(struct worker_outcome *o);

/* --- record.c: the worker's side of hawk view --------------------------- */

/* One record of the events file: a struct hawk_event, or one of these. */
#define REC_OP                                                                                     \
  100 /* end of call a: block the old pointer, size the result, heap                               \
         the number of free blocks the policy examined (only the first                             \
         EXAMINED_KEPT are recorded); in check mode d = 1 and b, c the                             \
         count and digest of hawk_walk */
#define EXAMINED_KEPT 8
#define REC_WALK                                                                                   \
  101                   /* a block before the replay: a its state, b its region, c the             \
                           region's size */
#define REC_WALK_AT 102 /* a block hawk_walk reports after HAWK_VIEW_WALK_AT calls */
#define REC_LIST_AT                                                                                \
  103 /* a listed free block the library reports after HAWK_VIEW_WALK_AT                           \
          calls (as HAWK_EV_LISTED: each list from its tail to its head) */
struct rec {
  int32_t kind, heap;
  uint64_t block, size, a, b, c, d;
};

/* The digest of one block (summed over all blocks). */
static inline uint64_t rec_block_hash(uint64_t address, uint64_t size, unsigned state) {
  uint64_t x = address * 0x9e3779b97f4a7c15ull ^ size * 0xbf58476d1ce4e5b9ull ^ state;
  x ^= x >> 31;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 29);
}

/* Installs the recorder (after recording the blocks there are); NULL, or
 * why not.  check: a digest of hawk_walk after every call. */
const char *record_start(int check);
/* Ends call index (old: the pointer it freed or resized, result: what it
 * returned). */
void record_op(uint64_t index, const void *old, const void *result);
/* Stops the recorder and writes the records to path; 0 or -1 (errno). */
int record_write(const char *path);

/* --- table.c --------------------------------------------------------------- */

struct table {
  int ncols;
  const char **heads;
  const char *align; /* per column: 'l' or 'r' */
  int nrows;
  int cap;
  char **cells; /* nrows * ncols, malloc'ed strings; NULL row = separator */
};

void table_init(struct table *t, int ncols, const char **heads, const char *align);
/* Adds a row of ncols printf-formatted cells: fmt holds one format per cell,
 * separated by '\t'. */
void table_row(struct table *t, const char *fmt, ...);
void table_rule(struct table *t); /* a separating line */
/* Prints aligned with spaces, or tab-separated (tsv: no rules). */
void table_print(const struct table *t, int tsv);
void table_free(struct table *t);
/* s into buf (len bytes, cut to fit), each byte other than printable ASCII
 * as '?': a file name or a message quoting one, for the terminal (an
 * escape sequence in a name would reach it raw).  Returns buf. */
const char *shown_text(char *buf, size_t len, const char *s);

/* --- deflate.c ------------------------------------------------------------ */

/* in[0..n) compressed as raw deflate (RFC 1951, no zlib or gzip wrapper):
 * a malloc'ed buffer of *outlen bytes. */
unsigned char *deflate_raw(const unsigned char *in, size_t n, size_t *outlen);

#endif /* HAWK_TOOL_H */
