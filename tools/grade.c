/* grade.c - `hawk grade`: a teacher's kit for the classic malloc lab.  A
 * student's mm.c (mm_init, mm_malloc, mm_free, mm_realloc over mem_sbrk) is
 * compiled with cc against the memory system and grader of tools/grade/
 * (built into hawk), in a scratch directory; the grader then runs once per
 * trace, in a process of its own with a time limit, so that a crash or a
 * hang is one trace's result.  Per trace: correct or what went wrong, the
 * utilization (peak live payload / heap size), the throughput against the
 * C library's malloc, and a score; then the total. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "grade.h"
#include "grade/grade_ops.h"
#include "hawk.h"

/* The grader's sources, built into hawk from tools/grade/ (each ends with a
 * NUL byte). */
#define GRADE_EMBED(sym, file)                                                                     \
  __asm__(".section .rodata\n.balign 8\n" #sym ":\n.incbin \"tools/grade/" file "\"\n"             \
          ".byte 0\n.previous\n");                                                                 \
  extern const char sym[]
GRADE_EMBED(grade_src_driver, "driver.c");
GRADE_EMBED(grade_src_memlib_c, "memlib.c");
GRADE_EMBED(grade_src_memlib_h, "memlib.h");
GRADE_EMBED(grade_src_mm_h, "mm.h");
GRADE_EMBED(grade_src_ops_h, "grade_ops.h");

static const char grade_usage[] =
    "usage: hawk grade [--timeout S] [--rounds N] [--align N] [--map DIR] [--view DIR] MM.C\n"
    "                  [TRACE...]\n"
    "\n"
    "Grades an allocator written to the malloc-lab interface: mm_init, mm_malloc,\n"
    "mm_free and mm_realloc over mem_sbrk (with mem_heap_lo, mem_heap_hi,\n"
    "mem_heapsize, mem_pagesize; #include \"mm.h\" and \"memlib.h\", which hawk\n"
    "supplies).  MM.C is compiled with cc ($CC if set) in a scratch directory and\n"
    "run on each trace in a process of its own:\n"
    "  correct      every block aligned, inside the heap, overlapping no other,\n"
    "               its contents intact until freed and across mm_realloc; else\n"
    "               misaligned, outside heap, overlap, corrupted, NULL, crashed\n"
    "               (signal) or timeout, with the op where it happened; bad trace:\n"
    "               a trace that cannot be read, or has no call\n"
    "  utilization  the peak of live payload bytes / the heap size at the end\n"
    "  Kops/s       thousands of calls per second, best of the rounds, against\n"
    "               the C library's malloc on the same calls\n"
    "  score        60 x utilization + 40 x min(1, Kops/s / libc Kops/s); 0 when\n"
    "               not correct.  The total: 60 x the mean utilization + 40 x\n"
    "               min(1, all calls' throughput / the C library's)\n"
    "Without TRACE, the lab's 11 classic -bal traces, from $HAWK_TRACES or\n"
    "../shared/traces beside the repository hawk was built in.  Exits 0 when every\n"
    "trace is correct, 1 when one is not, 2 when MM.C could not be graded (MM.C\n"
    "must be a regular file of at most 4 MiB) or a picture or page asked for\n"
    "(--map, --view) could not be written; paths are never cut: a TMPDIR or an\n"
    "output past PATH_MAX (4096 bytes), or two TRACEs of one name with --map or\n"
    "--view, are refused (2) before any work.\n"
    "\n"
    "  --timeout S   seconds each trace may take, timing rounds included (default 60)\n"
    "  --rounds N    timing rounds per trace (default 3; 0: no timing, no score)\n"
    "  --align N     the alignment asked of payloads: 8 or 16 (default 16)\n"
    "  --map DIR     a picture of the student's heap at each trace's peak of live\n"
    "                payload, DIR/TRACE.svg: the payloads from the trace, every\n"
    "                other byte of the heap shown as overhead or free\n"
    "  --view DIR    a hawk view page of each trace, DIR/TRACE.html: the student's\n"
    "                heap call by call, the payloads from the trace placed where\n"
    "                mm_malloc put them, every other byte overhead or free space;\n"
    "                and DIR/TRACE.calls, the grader's record: OP OFFSET LENGTH\n"
    "                HEAP a line, OP 0 for mm_init, then each call from 1 (offset\n"
    "                -1: no payload placed)\n";

static const char *grade_viewdir; /* --view DIR, or NULL */

/* The largest MM.C copied into the scratch directory: a malloc-lab
 * allocator is tens of KiB; a bound, so that a file that never ends (or a
 * huge one) cannot fill the disk. */
#define GRADE_SOURCE_MAX ((off_t)4 << 20)

static const char *const grade_default_traces[] = {
    "amptjp-bal", "binary-bal", "binary2-bal", "cccp-bal",    "coalescing-bal", "cp-decl-bal",
    "expr-bal",   "random-bal", "random2-bal", "realloc-bal", "realloc2-bal"};
#define GRADE_NDEFAULT (sizeof grade_default_traces / sizeof *grade_default_traces)

/* What one trace's grading came to. */
struct grade_result {
  const char *name; /* the trace's file name without directory and .rep */
  uint64_t ops;
  int correct;
  char verdict[32];  /* "correct", "misaligned", ... */
  char detail[1200]; /* why not, for the lines under the table */
  uint64_t peak, heap, mm_ns, libc_ns;
  char picture[PATH_MAX]; /* --map: the picture written, or "" */
};

/* dir/name into path (PATH_MAX bytes): 0, or -1 (errno ENAMETOOLONG) when
 * it does not fit.  A path is never cut: a cut one names another directory
 * (a TMPDIR of "/home/u/./././..." would become "/home/u"). */
static int grade_path(char *path, const char *dir, const char *name) {
  int n = snprintf(path, PATH_MAX, "%s/%s", dir, name);
  if (n < 0 || n >= PATH_MAX) {
    path[0] = 0;
    errno = ENAMETOOLONG;
    return -1;
  }
  return 0;
}

static int write_file(const char *dir, const char *name, const char *text, size_t len) {
  char path[PATH_MAX];
  if (grade_path(path, dir, name) != 0) return -1;
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  size_t n = fwrite(text, 1, len, f);
  return output_close(f) == 0 && n == len ? 0 : -1;
}

/* The C compiler: $CC, else cc; NULL when it is not on PATH. */
static const char *grade_compiler(void) {
  const char *cc = getenv("CC");
  if (!cc || !*cc) cc = "cc";
  if (strchr(cc, '/')) return access(cc, X_OK) == 0 ? cc : NULL;
  const char *path = getenv("PATH");
  if (!path) path = "/usr/bin:/bin";
  while (*path) {
    size_t n = strcspn(path, ":");
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%.*s/%s", (int)n, path, cc);
    if (n && access(full, X_OK) == 0) return cc;
    path += n + (path[n] == ':');
  }
  return NULL;
}

/* Runs the compiler's argv with TMPDIR set to the scratch directory dir
 * (its temporary files go there, and with it when hawk is killed) and
 * waits; its exit status, or -1. */
static int run_wait(char **argv, const char *dir) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    /* A process group of its own, so that a signal that stops hawk stops
     * the compiler's children too (scratch.c); its messages still reach a
     * terminal with `stty tostop` (SIGTTOU ignored). */
    setpgid(0, 0);
    signal(SIGTTOU, SIG_IGN);
    setenv("TMPDIR", dir, 1);
    dup2(2, 1);
    execvp(argv[0], argv);
    fprintf(stderr, "hawk: grade: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);
  scratch_child(pid, 1);
  int status, got = waitpid(pid, &status, 0);
  scratch_child(0, 0);
  if (got < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Opens the student's file mm for reading: a regular file only.  The
 * descriptor, or -1 after saying why. */
static int grade_source_open(const char *mm) {
  /* O_NONBLOCK: a FIFO with no writer would block the open for ever. */
  int fd = open(mm, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    tool_error("grade: cannot read %s: %s", mm, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    tool_error("grade: %s: not a regular file", mm);
    close(fd);
    return -1;
  }
  if (st.st_size > GRADE_SOURCE_MAX) {
    tool_error("grade: %s: %lld bytes, more than the 4 MiB an mm.c may have", mm,
               (long long)st.st_size);
    close(fd);
    return -1;
  }
  return fd;
}

/* Writes the grader's sources and the student's file (open as mmfd, which
 * is closed) into dir and compiles them into dir/grader.  0, or 2 after
 * saying why. */
static int grade_build(const char *dir, const char *mm, int mmfd, const char *cc) {
  struct {
    const char *name, *text;
  } files[] = {{"driver.c", grade_src_driver},
               {"memlib.c", grade_src_memlib_c},
               {"memlib.h", grade_src_memlib_h},
               {"mm.h", grade_src_mm_h},
               {"grade_ops.h", grade_src_ops_h}};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    if (write_file(dir, files[i].name, files[i].text, strlen(files[i].text)) != 0) {
      tool_error("grade: cannot write %s/%s: %s", dir, files[i].name, strerror(errno));
      close(mmfd);
      return 2;
    }
  /* The student's file is copied next to our headers, so that its
   * #include "mm.h" and "memlib.h" find them; #line keeps the compiler's
   * messages pointing at the original. */
  FILE *in = fdopen(mmfd, "r");
  if (!in) {
    tool_error("grade: cannot read %s: %s", mm, strerror(errno));
    close(mmfd);
    return 2;
  }
  char *abs = absolute_path(mm);
  char path[PATH_MAX];
  FILE *out = grade_path(path, dir, "student.c") == 0 ? fopen(path, "w") : NULL;
  if (!out) {
    tool_error("grade: cannot write %s: %s", path, strerror(errno));
    fclose(in);
    free(abs);
    return 2;
  }
  fputs("#line 1 \"", out);
  for (const char *c = mm; *c; c++) {
    if (*c == '"' || *c == '\\') fputc('\\', out);
    fputc(*c == '\n' ? '?' : *c, out);
  }
  fputs("\"\n", out);
  char buf[8192];
  size_t n;
  off_t copied = 0;
  int werr = 0;
  while (!werr && copied <= GRADE_SOURCE_MAX && (n = fread(buf, 1, sizeof buf, in)) > 0) {
    werr = fwrite(buf, 1, n, out) != n;
    copied += (off_t)n;
  }
  fclose(in);
  werr |= output_close(out) != 0;
  if (copied > GRADE_SOURCE_MAX) { /* it grew since it was opened */
    tool_error("grade: %s: more than the 4 MiB an mm.c may have", mm);
    free(abs);
    return 2;
  }
  char incdir[PATH_MAX];
  snprintf(incdir, sizeof incdir, "-I%s", abs);
  char *slash = strrchr(incdir, '/');
  if (slash && slash > incdir + 2) *slash = 0;
  free(abs);
  if (werr != 0) {
    tool_error("grade: cannot write %s", path);
    return 2;
  }
  char student[PATH_MAX], driver[PATH_MAX], memlib[PATH_MAX], exe[PATH_MAX], inc[PATH_MAX + 2];
  if (grade_path(student, dir, "student.c") != 0 || grade_path(driver, dir, "driver.c") != 0 ||
      grade_path(memlib, dir, "memlib.c") != 0 || grade_path(exe, dir, "grader") != 0) {
    tool_error("grade: cannot write in %s: %s", dir, strerror(ENAMETOOLONG));
    return 2;
  }
  snprintf(inc, sizeof inc, "-I%s", dir);
  char *argv[] = {(char *)cc, "-std=gnu11", "-O2",   "-g",   "-Wall", inc, incdir,
                  "-o",       exe,          student, driver, memlib,  NULL};
  int rc = run_wait(argv, dir);
  if (rc != 0) {
    tool_error("grade: %s does not compile with %s (exit %d): see the compiler's messages above",
               mm, cc, rc);
    return 2;
  }
  return 0;
}

/* The trace's ops as grade_ops.h records in dir/ops; 0, or -1 with why in
 * err. */
static int grade_ops_file(const char *file, const struct optrace *t, size_t align, int64_t map_op,
                          char *err, size_t errlen) {
  FILE *f = fopen(file, "w");
  if (!f) {
    snprintf(err, errlen, "cannot write %.300s: %s", file, strerror(errno));
    return -1;
  }
  struct grade_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, GRADE_MAGIC, 8);
  h.nops = t->nops;
  h.nslots = t->nslots;
  h.map_op = map_op >= 0 ? (uint64_t)map_op : UINT64_MAX;
  h.calls = grade_viewdir != NULL;
  fwrite(&h, sizeof h, 1, f);
  for (size_t i = 0; i < t->nops; i++) {
    const struct op *o = &t->ops[i];
    struct grade_op g = {0, o->slot, o->size};
    switch (o->kind) {
    case OP_MALLOC:
    case OP_CALLOC:
      g.kind = GRADE_MALLOC;
      break;
    case OP_FREE:
      g.kind = GRADE_FREE;
      break;
    case OP_REALLOC:
      g.kind = GRADE_REALLOC;
      break;
    default:
      if (o->align > align) {
        fclose(f);
        snprintf(err, errlen,
                 "%s %llu asks for %llu-byte alignment, which the malloc-lab interface "
                 "cannot give",
                 t->where, (unsigned long long)o->where, (unsigned long long)o->align);
        return -1;
      }
      g.kind = GRADE_MALLOC;
    }
    fwrite(&g, sizeof g, 1, f);
  }
  if (output_close(f) != 0) {
    snprintf(err, errlen, "cannot write %.300s", file);
    return -1;
  }
  return 0;
}

/* "op N (line L: a 5 448)" for the op at index i. */
static void grade_op_text(const struct optrace *t, uint64_t i, char *buf, size_t len) {
  if (i >= t->nops) {
    snprintf(buf, len, "the end of the trace");
    return;
  }
  const struct op *o = &t->ops[i];
  char call[64];
  if (o->kind == OP_FREE)
    snprintf(call, sizeof call, "f %u", o->slot);
  else
    snprintf(call, sizeof call, "%c %u %llu", o->kind == OP_REALLOC ? 'r' : 'a', o->slot,
             (unsigned long long)o->size);
  snprintf(buf, len, "op %llu (%s %llu: %s)", (unsigned long long)i + 1, t->where,
           (unsigned long long)o->where, call);
}

static const char *phase_text(uint64_t phase) {
  return phase == GRADE_TIMING ? "while timing mm_*"
         : phase == GRADE_LIBC ? "while timing the C library"
         : phase == GRADE_DONE ? "after the trace"
                               : "while checking";
}

/* Whether an output the user asked for (a picture, a page, the grader's
 * record beside it) could not be written: the grade then exits 2. */
static int grade_outputs_failed;

static void grade_unwritten(const char *path) {
  tool_error("grade: cannot write %s", path);
  grade_outputs_failed = 1;
}

/* DIR/NAME.EXT, an output of --map or --view, into path (PATH_MAX bytes):
 * 0, or -1 when it does not fit (then path is ""). */
static int grade_output(char *path, const char *dir, const char *name, const char *ext) {
  int n = snprintf(path, PATH_MAX, "%s/%s%s", dir, name, ext);
  if (n < 0 || n >= PATH_MAX) {
    path[0] = 0;
    return -1;
  }
  return 0;
}

/* Runs the grader on one trace file; fills r. */
static void grade_trace(const char *dir, const char *trace, size_t align, int rounds,
                        double timeout, const char *mapdir, const char *mm,
                        struct grade_result *r) {
  struct optrace t;
  char err[600];
  if (trace_load(trace, &t, err, sizeof err) != 0) {
    snprintf(r->verdict, sizeof r->verdict, "bad trace");
    snprintf(r->detail, sizeof r->detail, "%s", err);
    return;
  }
  if (t.nops == 0) {
    /* Nothing to grade: its utilization and throughput would be 0/0 (a
     * score of 40 of 100 for no call at all). */
    snprintf(r->verdict, sizeof r->verdict, "bad trace");
    snprintf(r->detail, sizeof r->detail, "%s: no calls to grade", trace);
    trace_unload(&t);
    return;
  }
  r->ops = t.nops;
  /* cmd_grade checked that every path in dir fits */
  char ops[PATH_MAX], heapfile[PATH_MAX], callsfile[PATH_MAX], exe[PATH_MAX];
  if (grade_path(ops, dir, "ops") != 0 || grade_path(heapfile, dir, "ops.heap") != 0 ||
      grade_path(callsfile, dir, "ops.calls") != 0 || grade_path(exe, dir, "grader") != 0) {
    snprintf(r->verdict, sizeof r->verdict, "not run");
    snprintf(r->detail, sizeof r->detail, "%s", strerror(ENAMETOOLONG));
    trace_unload(&t);
    return;
  }
  unlink(heapfile);
  unlink(callsfile);
  uint64_t peak_live = 0;
  int64_t peak_op = -1;
  if (mapdir && trace_peak(&t, &peak_live, &peak_op) != 0) peak_op = -1;
  if (grade_ops_file(ops, &t, align, mapdir ? peak_op : -1, err, sizeof err) != 0) {
    snprintf(r->verdict, sizeof r->verdict, "not gradable");
    snprintf(r->detail, sizeof r->detail, "%s", err);
    trace_unload(&t);
    return;
  }
  int pfd[2];
  if (pipe(pfd) != 0) {
    snprintf(r->verdict, sizeof r->verdict, "not run");
    snprintf(r->detail, sizeof r->detail, "pipe: %s", strerror(errno));
    trace_unload(&t);
    return;
  }
  char fdtext[16], aligntext[16], roundstext[16];
  snprintf(fdtext, sizeof fdtext, "%d", pfd[1]);
  snprintf(aligntext, sizeof aligntext, "%zu", align);
  snprintf(roundstext, sizeof roundstext, "%d", rounds);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    snprintf(r->verdict, sizeof r->verdict, "not run");
    snprintf(r->detail, sizeof r->detail, "fork: %s", strerror(errno));
    close(pfd[0]);
    close(pfd[1]);
    trace_unload(&t);
    return;
  }
  if (pid == 0) {
    /* A process group of its own: a timeout kills what the student's
     * allocator started too (a child of mm_init holding the result pipe
     * kept hawk reading it past the time limit); its messages still reach
     * a terminal with `stty tostop`. */
    setpgid(0, 0);
    signal(SIGTTOU, SIG_IGN);
    close(pfd[0]);
    dup2(2, 1); /* the student's own output goes to stderr, not into the table */
    unsetenv("LD_PRELOAD");
    char *argv[] = {exe, ops, fdtext, aligntext, roundstext, NULL};
    execv(exe, argv);
    _exit(127);
  }
  setpgid(pid, pid);
  close(pfd[1]);
  scratch_child(pid, 1);
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  /* The trace's time bounds the grader and whatever holds its pipe: until
   * the grader has exited (seen, not reaped: its number and its group's
   * stay its own) and the pipe is at its end, or the deadline. */
  int status = 0, timed_out = 0, exited = 0, eof = 0;
  char line[1100] = "";
  size_t got = 0;
  while (!exited || !eof) {
    if (!exited) {
      siginfo_t si;
      memset(&si, 0, sizeof si);
      exited = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    double s = (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
    if (s > timeout) {
      timed_out = 1;
      break;
    }
    if (eof) {
      struct timespec nap = {0, 5 * 1000 * 1000};
      nanosleep(&nap, NULL);
      continue;
    }
    struct pollfd pf = {pfd[0], POLLIN, 0};
    if (poll(&pf, 1, 5) <= 0) continue;
    char drop[512];
    ssize_t n = got < sizeof line - 1 ? read(pfd[0], line + got, sizeof line - 1 - got)
                                      : read(pfd[0], drop, sizeof drop);
    if (n > 0 && got < sizeof line - 1)
      got += (size_t)n;
    else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
      eof = 1;
  }
  line[got] = 0;
  close(pfd[0]);
  /* The group's every process, the grader's leftovers included. */
  kill(-pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  scratch_child(0, 0);
  /* What a grader left behind: a process the student's allocator started in
   * a session of its own (setsid) is out of the grader's group; once the
   * grader is gone it comes to hawk, a child subreaper (cmd_grade), and is
   * found in /proc by its parent's number.  At most about 2 s. */
  if (scratch_end_children(400) != 0)
    tool_error("grade: %s: processes the allocator started still running after 2 s of killing them",
               trace);
  char *nl = strchr(line, '\n');
  if (nl) *nl = 0;
  /* Where the grader was, from the ops file's header. */
  struct grade_header h;
  memset(&h, 0, sizeof h);
  FILE *f = fopen(ops, "r");
  if (f) {
    if (fread(&h, sizeof h, 1, f) != 1) memset(&h, 0, sizeof h);
    fclose(f);
  }
  char at[160];
  grade_op_text(&t, h.at, at, sizeof at);
  unsigned long long peak, heap, mm_ns, libc_ns, opi;
  char kind[32];
  int pos = 0;
  if (!timed_out && sscanf(line, "ok %llu %llu %llu %llu", &peak, &heap, &mm_ns, &libc_ns) == 4) {
    r->correct = 1;
    snprintf(r->verdict, sizeof r->verdict, "correct");
    r->peak = peak;
    r->heap = heap;
    r->mm_ns = mm_ns;
    r->libc_ns = libc_ns;
  } else if (!timed_out && sscanf(line, "fail %31s %llu %n", kind, &opi, &pos) == 2 && pos > 0) {
    static const char *const names[][2] = {{"misaligned", "misaligned"},
                                           {"outside", "outside heap"},
                                           {"overlap", "overlap"},
                                           {"corrupted", "corrupted"},
                                           {"null", "NULL"},
                                           {"init", "mm_init failed"}};
    snprintf(r->verdict, sizeof r->verdict, "%s", kind);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
      if (strcmp(kind, names[i][0]) == 0)
        snprintf(r->verdict, sizeof r->verdict, "%s", names[i][1]);
    grade_op_text(&t, opi, at, sizeof at);
    snprintf(r->detail, sizeof r->detail, "at %s: %s", at, line + pos);
  } else if (timed_out) {
    snprintf(r->verdict, sizeof r->verdict, "timeout");
    if (exited) /* the grader ended; a process it started held its pipe */
      snprintf(r->detail, sizeof r->detail,
               "a process the allocator started still running after %g s (the grader ended at "
               "%s %s); killed",
               timeout, at, phase_text(h.phase));
    else
      snprintf(r->detail, sizeof r->detail, "still running after %g s, at %s %s", timeout, at,
               phase_text(h.phase));
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char *what = "";
    int sn = 0;
    if (sscanf(line, "crash %d %n", &sn, &pos) == 1 && pos > 0) what = line + pos;
    snprintf(r->verdict, sizeof r->verdict, "crashed (%s)",
             sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
    snprintf(r->detail, sizeof r->detail, "signal %d (%s) at %s %s%s%s", sig, strsignal(sig), at,
             phase_text(h.phase), *what ? ": " : "", what);
  } else {
    snprintf(r->verdict, sizeof r->verdict, "exited");
    snprintf(r->detail, sizeof r->detail, "the grader exited with status %d at %s %s",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1, at, phase_text(h.phase));
  }
  if (mapdir && access(heapfile, R_OK) == 0) {
    char svg[PATH_MAX], title[600];
    grade_output(svg, mapdir, r->name, ".svg"); /* fits: checked by cmd_grade */
    const char *base = strrchr(mm, '/');
    snprintf(title, sizeof title,
             "%.100s on %.200s, after op %lld of %llu, the peak of live payload",
             base ? base + 1 : mm, r->name, (long long)peak_op + 1, (unsigned long long)t.nops);
    if (grade_draw(heapfile, svg, title, peak_live) == 0)
      snprintf(r->picture, sizeof r->picture, "%s", svg);
    else
      grade_unwritten(svg);
  }
  if (grade_viewdir && r->correct) {
    char html[PATH_MAX];
    grade_output(html, grade_viewdir, r->name, ".html");
    if (view_payload_page(html, trace, &t, callsfile) != 0) grade_outputs_failed = 1;
    /* and the grader's record beside it: "OP OFFSET LENGTH HEAP" a line */
    grade_output(html, grade_viewdir, r->name, ".calls");
    FILE *in = fopen(callsfile, "r"), *out = fopen(html, "w");
    char chunk[4096];
    size_t k;
    while (in && out && (k = fread(chunk, 1, sizeof chunk, in)) > 0) fwrite(chunk, 1, k, out);
    if (in) fclose(in);
    if (!out || output_close(out) != 0) grade_unwritten(html);
  }
  trace_unload(&t);
}

/* A trace's short name: its file name without the directory and ".rep". */
static const char *short_name(const char *path) {
  const char *s = strrchr(path, '/');
  s = s ? s + 1 : path;
  size_t n = strlen(s);
  char *name = strdup(s);
  if (!name) abort();
  if (n > 4 && strcmp(name + n - 4, ".rep") == 0) name[n - 4] = 0;
  return name;
}

/* The directory of the lab's traces: $HAWK_TRACES, else ../shared/traces
 * from the repository of this hawk (build/hawk); NULL when neither is. */
static char *traces_dir(void) {
  const char *env = getenv("HAWK_TRACES");
  if (env && *env) return strdup(env);
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return NULL;
  self[n] = 0;
  char *slash = strrchr(self, '/');
  if (slash) *slash = 0;
  char dir[PATH_MAX + 32];
  snprintf(dir, sizeof dir, "%s/../../shared/traces", self);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
  return realpath(dir, NULL);
}

/* The longest name hawk or the compiler puts in the scratch directory
 * (grade_ops.h, the compiler's ccXXXXXX.s), with its slash, and room. */
#define GRADE_NAME_MAX 32

/* Checks, before any work, the outputs --map and --view will write: each
 * path fits in PATH_MAX (one too long is refused, never cut), and no two
 * traces share a name (their outputs would overwrite each other).  0, or 2
 * after saying why. */
static int grade_outputs_check(char **traces, const char **names, size_t n, const char *mapdir) {
  const char *dirs[] = {mapdir, grade_viewdir}, *opts[] = {"--map", "--view"},
             *exts[] = {".svg", ".calls"};
  char one[PATH_MAX], other[PATH_MAX], name[256]; /* file names, for the terminal */
  for (size_t d = 0; d < 2; d++) {
    if (!dirs[d]) continue;
    for (size_t k = 0; k < n; k++) {
      char path[PATH_MAX];
      if (grade_output(path, dirs[d], names[k], exts[d]) != 0) {
        tool_error("grade: %s: the output for %s would be %zu bytes long, more than PATH_MAX "
                   "(%d bytes)",
                   opts[d], shown_text(one, sizeof one, traces[k]),
                   strlen(dirs[d]) + 1 + strlen(names[k]) + strlen(exts[d]), PATH_MAX);
        return 2;
      }
      for (size_t j = 0; j < k; j++)
        if (strcmp(names[j], names[k]) == 0) {
          tool_error("grade: %s: %s and %s would both write %s%s: give traces of different file "
                     "names",
                     opts[d], shown_text(other, sizeof other, traces[j]),
                     shown_text(one, sizeof one, traces[k]),
                     shown_text(name, sizeof name, names[k]), exts[d]);
          return 2;
        }
    }
  }
  return 0;
}

/* Removes the scratch directory's files and the directory. */
static void grade_cleanup(const char *dir) {
  const char *names[] = {"driver.c",  "memlib.c", "memlib.h", "mm.h",     "grade_ops.h",
                         "student.c", "grader",   "ops",      "ops.heap", "ops.calls"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[PATH_MAX];
    if (grade_path(path, dir, names[i]) == 0) unlink(path);
  }
  rmdir(dir);
  scratch_drop(dir);
}

static double score_of(double util, double ratio) {
  return 60.0 * util + 40.0 * (ratio < 1.0 ? ratio : 1.0);
}

/* Prints the table, the reasons and the total. */
static void grade_report(struct grade_result *res, size_t n, int rounds) {
  const char *heads[] = {"trace",       "ops",    "result",      "peak payload", "heap bytes",
                         "utilization", "Kops/s", "libc Kops/s", "score"};
  struct table tb;
  table_init(&tb, 9, heads, "lrlrrrrrr");
  double util_sum = 0, mm_ns = 0, libc_ns = 0, ops_timed = 0;
  size_t ncorrect = 0;
  char name[256], detail[sizeof res->detail], picture[sizeof res->picture];
  for (size_t i = 0; i < n; i++) {
    struct grade_result *r = &res[i];
    shown_text(name, sizeof name, r->name); /* a file name, for the terminal */
    if (!r->correct) {
      table_row(&tb, "%s\t%llu\t%s\t-\t-\t-\t-\t-\t%s", name, (unsigned long long)r->ops,
                r->verdict, rounds ? "0.0" : "-");
      continue;
    }
    ncorrect++;
    double util = r->heap ? (double)r->peak / (double)r->heap : 0.0;
    util_sum += util;
    if (rounds) {
      double mk = (double)r->ops / ((double)r->mm_ns / 1e6);
      double lk = (double)r->ops / ((double)r->libc_ns / 1e6);
      mm_ns += (double)r->mm_ns;
      libc_ns += (double)r->libc_ns;
      ops_timed += (double)r->ops;
      table_row(&tb, "%s\t%llu\t%s\t%llu\t%llu\t%.1f%%\t%.0f\t%.0f\t%.1f", name,
                (unsigned long long)r->ops, r->verdict, (unsigned long long)r->peak,
                (unsigned long long)r->heap, 100.0 * util, mk, lk, score_of(util, mk / lk));
    } else {
      table_row(&tb, "%s\t%llu\t%s\t%llu\t%llu\t%.1f%%\t-\t-\t-", name, (unsigned long long)r->ops,
                r->verdict, (unsigned long long)r->peak, (unsigned long long)r->heap, 100.0 * util);
    }
  }
  table_print(&tb, 0);
  table_free(&tb);
  for (size_t i = 0; i < n; i++)
    if (!res[i].correct)
      printf("%s: %s: %s\n", shown_text(name, sizeof name, res[i].name), res[i].verdict,
             shown_text(detail, sizeof detail, res[i].detail));
  for (size_t i = 0; i < n; i++)
    if (res[i].picture[0])
      printf("%s: the heap at its peak: %s\n", shown_text(name, sizeof name, res[i].name),
             shown_text(picture, sizeof picture, res[i].picture));
  double mean = n ? util_sum / (double)n : 0;
  printf("total: %zu of %zu traces correct, mean utilization %.1f%%", ncorrect, n, 100.0 * mean);
  if (rounds && mm_ns > 0 && libc_ns > 0) {
    double mk = ops_timed / (mm_ns / 1e6), lk = ops_timed / (libc_ns / 1e6);
    printf(", %.0f Kops/s against the C library's %.0f (%.0f%%), score %.1f/100\n", mk, lk,
           100.0 * mk / lk, score_of(mean, mk / lk));
  } else if (rounds) {
    printf(", score %.1f/100\n", score_of(mean, 0));
  } else {
    printf(" (no timing: --rounds 0)\n");
  }
}

int cmd_grade(int argc, char **argv) {
  double timeout = 60;
  const char *mapdir = NULL;
  int rounds = 3;
  size_t align = 16;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (is_help(a)) {
      fputs(grade_usage, stdout);
      return 0;
    }
    if (a[0] != '-') break;
    if (i + 1 >= argc) {
      tool_error("grade: %s needs a value (see hawk grade --help)", a);
      return 2;
    }
    const char *v = argv[++i];
    char *end;
    errno = 0;
    if (strcmp(a, "--timeout") == 0) {
      timeout = strtod(v, &end);
      if (*end || errno || !(timeout > 0) || timeout > 86400) {
        tool_error("grade: --timeout %s: give seconds, more than 0", v);
        return 2;
      }
    } else if (strcmp(a, "--rounds") == 0) {
      long r = strtol(v, &end, 10);
      if (*end || errno || r < 0 || r > 100) {
        tool_error("grade: --rounds %s: give 0 to 100", v);
        return 2;
      }
      rounds = (int)r;
    } else if (strcmp(a, "--map") == 0) {
      struct stat st;
      if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tool_error("grade: --map %s: not a directory", v);
        return 2;
      }
      mapdir = v;
    } else if (strcmp(a, "--view") == 0) {
      struct stat st;
      if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) {
        tool_error("grade: --view %s: not a directory", v);
        return 2;
      }
      grade_viewdir = v;
    } else if (strcmp(a, "--align") == 0) {
      if (strcmp(v, "8") != 0 && strcmp(v, "16") != 0) {
        tool_error("grade: --align %s: give 8 or 16", v);
        return 2;
      }
      align = (size_t)atoi(v);
    } else {
      tool_error("grade: unknown option %s (see hawk grade --help)", a);
      return 2;
    }
  }
  if (i >= argc) {
    tool_error("grade: no mm.c given (see hawk grade --help)");
    return 2;
  }
  const char *mm = argv[i++];
  int mmfd = grade_source_open(mm);
  if (mmfd < 0) return 2;
  size_t ntraces = (size_t)(argc - i);
  char **traces;
  char *dir = NULL;
  if (ntraces) {
    traces = argv + i;
  } else {
    dir = traces_dir();
    if (!dir) {
      tool_error("grade: no trace given and no trace directory: give TRACE files, or set "
                 "HAWK_TRACES to the directory of the lab's traces");
      close(mmfd);
      return 2;
    }
    ntraces = GRADE_NDEFAULT;
    traces = calloc(ntraces, sizeof *traces);
    for (size_t k = 0; k < ntraces; k++) {
      size_t len = strlen(dir) + strlen(grade_default_traces[k]) + 8;
      traces[k] = malloc(len);
      snprintf(traces[k], len, "%s/%s.rep", dir, grade_default_traces[k]);
    }
  }
  const char *cc = grade_compiler();
  if (!cc) {
    const char *want = getenv("CC");
    tool_error("grade: no C compiler: %s is not on PATH (install one, e.g. apt-get install "
               "gcc, or set CC)",
               want && *want ? want : "cc");
    close(mmfd);
    return 2;
  }
  const char **names = calloc(ntraces, sizeof *names);
  if (!names) abort();
  for (size_t k = 0; k < ntraces; k++) names[k] = short_name(traces[k]);
  int rc = grade_outputs_check(traces, names, ntraces, mapdir);
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  char scratch[PATH_MAX];
  if (rc == 0) {
    /* room for the longest name put in it (hawk's, the compiler's) */
    int len = snprintf(scratch, sizeof scratch, "%s/hawk-grade-XXXXXX", tmp);
    if (len < 0 || len + GRADE_NAME_MAX >= PATH_MAX) {
      tool_error("grade: TMPDIR is %zu bytes long: a path in a scratch directory under it would "
                 "be longer than PATH_MAX (%d bytes)",
                 strlen(tmp), PATH_MAX);
      rc = 2;
    }
  }
  if (rc != 0) {
    close(mmfd);
  } else if (!mkdtemp(scratch)) {
    tool_error("grade: cannot make a scratch directory %s: %s", scratch, strerror(errno));
    close(mmfd);
    rc = 2;
  } else {
    scratch_add(scratch, 1);
    /* What a grader's processes leave behind comes to hawk, which kills it
     * (scratch_end_children, also when hawk is killed); not inherited by the
     * grader itself. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0) scratch_reaper();
    rc = grade_build(scratch, mm, mmfd, cc);
    if (rc == 0) {
      struct grade_result *res = calloc(ntraces, sizeof *res);
      if (!res) abort();
      for (size_t k = 0; k < ntraces; k++) {
        res[k].name = names[k];
        grade_trace(scratch, traces[k], align, rounds, timeout, mapdir, mm, &res[k]);
        if (!res[k].correct) rc = 1;
      }
      if (grade_outputs_failed) rc = 2; /* a picture, page or record the user asked for */
      grade_report(res, ntraces, rounds);
      free(res);
    }
    grade_cleanup(scratch);
  }
  for (size_t k = 0; k < ntraces; k++) free((char *)names[k]);
  free(names);
  if (dir) {
    for (size_t k = 0; k < ntraces; k++) free(traces[k]);
    free(traces);
    free(dir);
  }
  return rc;
}
