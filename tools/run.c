/* run.c - `hawk run`: a program with HawkAlloc preloaded and the options
 * turned into its HAWKALLOC_* variables.  hawk waits for it, passing on the
 * signals a user sends to hawk, and ends the way the program ended. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hawk.h"

static const char run_usage[] =
    "usage: hawk run [--stats] [--trace FILE] [--map FILE.svg] [--policy P] [--heaps N]\n"
    "                -- CMD [ARGS...]\n"
    "\n"
    "Runs CMD with HawkAlloc preloaded (LD_PRELOAD=libhawkalloc.so, found next to\n"
    "the hawk binary, in ../lib from it, or at $HAWK_LIB) and exits with CMD's status.\n"
    "\n"
    "  --stats          print the statistics and the heap picture on stderr at exit\n"
    "                   (HAWKALLOC_STATS=1)\n"
    "  --trace FILE     record every allocation call of every thread into FILE\n"
    "                   (HAWKALLOC_TRACE; docs/trace-format.md; replay it with\n"
    "                   hawk replay FILE)\n"
    "  --map FILE.svg   an SVG picture of the heap at exit, and FILE-0001.svg ...\n"
    "                   for each SIGUSR2: the library writes snapshots (FILE.snap,\n"
    "                   FILE-0001.snap; HAWKALLOC_MAP=FILE.snap), drawn by hawk\n"
    "                   when CMD has exited (hawk render draws one again)\n"
    "  --policy P       placement policy: first-fit, next-fit, best-fit, segregated\n"
    "                   (HAWKALLOC_POLICY)\n"
    "  --heaps N        number of heaps threads are spread over (HAWKALLOC_HEAPS)\n"
    "\n"
    "The same variables work for programs started some other way, e.g.\n"
    "  LD_PRELOAD=build/libhawkalloc.so HAWKALLOC_STATS=1 python3 -c 'print(1)'\n"
    "and the others are passed on as they are: HAWKALLOC_TCACHE=0 (textbook mode: no\n"
    "thread cache, one heap), HAWKALLOC_DEBUG=1, HAWKALLOC_CHECK_EVERY=N.\n";

static volatile pid_t child_pid; /* the program, or 0 */

/* Passes the signal on to the program while it runs.  Only a child not yet
 * reaped (waitid without reaping says it has not exited; a zombie's number
 * stays its own): the signal may come between the waitpid that reaps it
 * and child_pid = 0, when its number may be another process's by now (as
 * tools/scratch.c's handler). */
static void pass_on(int sig) {
  int saved = errno;
  pid_t pid = child_pid;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0)
    kill(pid, sig);
  errno = saved;
}

int exit_status_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    /* Die of the same signal, so that a shell sees what it would have seen
     * without hawk (without a second core dump). */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    fflush(NULL);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    return 128 + sig;
  }
  return 1;
}

/* Sets NAME=value in the environment; value NULL leaves it alone. */
static void set_env(const char *name, const char *value) {
  if (value) setenv(name, value, 1);
}

int run_preloaded(const struct run_options *o, char **argv) {
  char *lib = hawk_library_path();
  if (!lib) return W_EXITCODE(127, 0);
  /* Ours first, so that its malloc is the one programs get. */
  const char *old = getenv("LD_PRELOAD");
  size_t len = strlen(lib) + (old ? strlen(old) : 0) + 2;
  char *preload = malloc(len);
  if (old && *old)
    snprintf(preload, len, "%s:%s", lib, old);
  else
    snprintf(preload, len, "%s", lib);
  setenv("LD_PRELOAD", preload, 1);
  free(preload);
  free(lib);
  if (o->stats) setenv("HAWKALLOC_STATS", "1", 1);
  char *trace = o->trace ? absolute_path(o->trace) : NULL;
  char *svg = o->map ? absolute_path(o->map) : NULL;
  char *map = svg ? snap_path_for(svg) : NULL;
  free(svg);
  set_env("HAWKALLOC_TRACE", trace);
  set_env("HAWKALLOC_MAP", map);
  set_env("HAWKALLOC_POLICY", o->policy);
  set_env("HAWKALLOC_HEAPS", o->heaps);
  if (o->textbook) setenv("HAWKALLOC_TCACHE", "0", 1);
  free(trace);
  free(map);

  /* Like system(): the terminal's ^C and ^\ reach the program, which decides;
   * signals sent to hawk itself are passed on. */
  struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = pass_on}, oldint, oldquit;
  sigaction(SIGINT, &ign, &oldint);
  sigaction(SIGQUIT, &ign, &oldquit);
  int passed[] = {SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof passed / sizeof *passed; i++) sigaction(passed[i], &fwd, NULL);

  fflush(NULL);
  child_pid = fork();
  if (child_pid < 0) {
    tool_error("fork: %s", strerror(errno));
    return W_EXITCODE(127, 0);
  }
  if (child_pid == 0) {
    sigaction(SIGINT, &oldint, NULL);
    sigaction(SIGQUIT, &oldquit, NULL);
    for (size_t i = 0; i < sizeof passed / sizeof *passed; i++) signal(passed[i], SIG_DFL);
    sigaction(SIGXFSZ, &tool_sigxfsz_given, NULL);
    execvp(argv[0], argv);
    int err = errno;
    fprintf(stderr, "hawk: %s: %s\n", argv[0], strerror(err));
    _exit(err == ENOENT ? 127 : 126);
  }
  int status = 0;
  while (waitpid(child_pid, &status, 0) < 0) {
    if (errno != EINTR) {
      tool_error("waitpid: %s", strerror(errno));
      return W_EXITCODE(127, 0);
    }
  }
  child_pid = 0;
  return status;
}

int cmd_run(int argc, char **argv) {
  struct run_options o = {0};
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (is_help(a)) {
      fputs(run_usage, stdout);
      return 0;
    }
    if (a[0] != '-') break; /* the command, without "--" */
    const char **value = strcmp(a, "--trace") == 0    ? &o.trace
                         : strcmp(a, "--map") == 0    ? &o.map
                         : strcmp(a, "--policy") == 0 ? &o.policy
                         : strcmp(a, "--heaps") == 0  ? &o.heaps
                                                      : NULL;
    if (strcmp(a, "--stats") == 0) {
      o.stats = 1;
    } else if (value) {
      if (i + 1 >= argc) {
        tool_error("run: %s needs a value", a);
        return 2;
      }
      *value = argv[++i];
    } else {
      tool_error("run: unknown option %s (see hawk run --help)", a);
      return 2;
    }
  }
  if (i >= argc) {
    tool_error("run: no command given (see hawk run --help)");
    return 2;
  }
  if (o.heaps) {
    /* Digits only, as the library reads HAWKALLOC_HEAPS: strtol's leading
     * space or sign (" 5", "+5") passed here and the library then refused
     * the value, running with its default. */
    size_t len = strlen(o.heaps);
    long n = len && len <= 2 && strspn(o.heaps, "0123456789") == len ? atol(o.heaps) : 0;
    if (n < 1 || n > 16) {
      tool_error("run: --heaps takes a number from 1 to 16");
      return 2;
    }
  }
  long start = (long)time(NULL);
  int status = run_preloaded(&o, argv + i);
  if (o.map) render_run(o.map, start);
  return exit_status_of(status);
}
