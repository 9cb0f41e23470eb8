/* main.c - `hawk`: the allocator lab's command.  Dispatches to a subcommand
 * and prints the overall help.  The hidden worker subcommand is dispatched
 * first and touches nothing else: it must not allocate before its replay. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hawk.h"
#include "hawkalloc.h"

static const char usage[] =
    "usage: hawk COMMAND [OPTIONS] [ARGS...]\n"
    "\n"
    "The HawkAlloc lab: run programs on HawkAlloc, record and replay their\n"
    "allocations, compare placement policies and allocators, draw the heap.\n"
    "\n"
    "commands:\n"
    "  run      run a program with HawkAlloc preloaded (statistics, trace, map, policy)\n"
    "  replay   replay HawkAlloc or malloc-lab traces; peak utilization and throughput\n"
    "           per policy and allocator, contents verified\n"
    "  map      an SVG picture of a program's heap, or of a trace at its peak\n"
    "  render   draw a heap snapshot (HAWKALLOC_MAP, hawk_map_write) as SVG\n"
    "  grade    grade a malloc-lab allocator (mm.c): correctness, utilization,\n"
    "           throughput against the C library, per trace and in total\n"
    "  view     explore a trace call by call in the browser: one HTML page with\n"
    "           the heap of each policy, the events of each call explained\n"
    "  help     this text, or `hawk help COMMAND` for a command's\n"
    "\n"
    "`hawk COMMAND --help` describes each command.  hawk finds libhawkalloc.so next\n"
    "to itself, in ../lib from it, or at $HAWK_LIB.\n";

void tool_error(const char *fmt, ...) {
  /* The line names files: a byte other than printable ASCII in a name (an
   * escape sequence that retitles or recolours the terminal) is shown as
   * '?', as the tables show it (shown_text). */
  char line[8192], shown[sizeof line];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fflush(stdout);
  fprintf(stderr, "hawk: %s\n", shown_text(shown, sizeof shown, line));
}

int output_close(FILE *f) {
  /* fclose alone may answer 0 after a write failed earlier (glibc drops the
   * buffer and keeps only the error indicator). */
  int failed = fflush(f) != 0 || ferror(f);
  int err = errno;
  if (fclose(f) != 0 && !failed) {
    failed = 1;
    err = errno;
  }
  if (!failed) return 0;
  errno = err ? err : EIO;
  return -1;
}

int is_help(const char *s) { return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0; }

struct sigaction tool_sigxfsz_given;

/* The command's status, or 1 when what it wrote on standard output did not
 * all get there (a full disk, /dev/full, the file-size limit): one line,
 * not a silent exit 0 with the output cut short. */
static int stdout_checked(int status) {
  if (fflush(stdout) == 0 && !ferror(stdout)) return status;
  int err = errno ? errno : EIO;
  fprintf(stderr, "hawk: cannot write the standard output: %s\n", strerror(err));
  return status == 0 ? 1 : status;
}

struct command {
  const char *name;
  int (*fn)(int, char **);
};

static const struct command commands[] = {
    {"run", cmd_run},       {"replay", cmd_replay}, {"map", cmd_map},
    {"render", cmd_render}, {"grade", cmd_grade},   {"view", cmd_view},
};

int main(int argc, char **argv) {
  /* A write past the file-size limit (ulimit -f) fails with EFBIG, which
   * every output of hawk's reports in one line; the SIGXFSZ that comes with
   * it would kill hawk first (status 153, no word, a page cut short).  The
   * program `hawk run` starts gets the disposition hawk was given. */
  struct sigaction ignore = {.sa_handler = SIG_IGN};
  sigaction(SIGXFSZ, &ignore, &tool_sigxfsz_given);
  if (argc > 1 && strcmp(argv[1], WORKER_COMMAND) == 0) return cmd_worker(argc - 1, argv + 1);
  if (argc < 2) {
    fputs(usage, stderr);
    return 2;
  }
  const char *name = argv[1];
  if (is_help(name) || strcmp(name, "help") == 0) {
    if (strcmp(name, "help") == 0 && argc > 2) {
      for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[2], commands[i].name) == 0) {
          char *args[] = {argv[2], "--help", NULL};
          return commands[i].fn(2, args);
        }
      tool_error("no command '%s' (see hawk --help)", argv[2]);
      return 2;
    }
    fputs(usage, stdout);
    return 0;
  }
  if (strcmp(name, "--version") == 0) {
    printf("hawk (HawkAlloc) %s\n", HAWKALLOC_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (strcmp(name, commands[i].name) == 0)
      return stdout_checked(commands[i].fn(argc - 1, argv + 1));
  tool_error("no command '%s' (see hawk --help)", name);
  return 2;
}
