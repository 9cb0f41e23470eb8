/* launch.c - runs one benchmark program and measures it.
 *
 *     launch [-p PRELOAD] [-e VAR=VALUE]... [-t SECONDS] [-o FILE] -- PROGRAM [ARG...]
 *
 * Starts PROGRAM with LD_PRELOAD=PRELOAD in its environment (no -p: with
 * LD_PRELOAD removed) and each VAR=VALUE of -e (set in the child only, so
 * that LD_DEBUG, say, reports on the program and not on the launcher),
 * waits for it with wait4 and writes one line to FILE (default stdout):
 *
 *     wall=SECONDS maxrss_kb=KB status=exit:N|signal:NAME|timeout cpu=SECONDS
 *
 * wall is the time from fork to the end of wait4 (CLOCK_MONOTONIC), maxrss
 * the child's peak resident set from its rusage (the largest of the child
 * and the descendants it waited for), cpu its user plus system time
 * (descendants it waited for included).  After -t SECONDS (default 600)
 * the program's process group is killed with SIGKILL.  The
 * launcher itself runs without the preload, so it measures every allocator
 * the same way.  Exits 0 when it could run the program, whatever the
 * program's status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;
static pid_t child;

static void on_alarm(int sig) {
  (void)sig;
  timed_out = 1;
  if (child > 0) kill(-child, SIGKILL);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  const char *preload = NULL, *out = NULL;
  unsigned timeout = 600;
  struct rusage ru;
  struct sigaction sa;
  int opt, status;
  double t0, t1;
  pid_t got;
  FILE *f;
  char *envs[64];
  int nenv = 0;
  while ((opt = getopt(argc, argv, "+p:e:t:o:")) != -1) {
    switch (opt) {
    case 'p':
      preload = optarg;
      break;
    case 'e':
      if (nenv == (int)(sizeof envs / sizeof *envs) || !strchr(optarg, '=')) {
        fprintf(stderr, "launch: -e takes VAR=VALUE, at most 64 times\n");
        return 2;
      }
      envs[nenv++] = optarg;
      break;
    case 't':
      timeout = (unsigned)strtoul(optarg, NULL, 10);
      break;
    case 'o':
      out = optarg;
      break;
    default:
      fprintf(stderr, "usage: launch [-p PRELOAD] [-e VAR=VALUE]... [-t SECONDS] [-o FILE] -- "
                      "PROGRAM [ARG...]\n");
      return 2;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "launch: no program\n");
    return 2;
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  t0 = now();
  child = fork();
  if (child < 0) {
    perror("launch: fork");
    return 1;
  }
  if (child == 0) {
    setpgid(0, 0);
    if (preload && *preload)
      setenv("LD_PRELOAD", preload, 1);
    else
      unsetenv("LD_PRELOAD");
    for (int i = 0; i < nenv; i++) putenv(envs[i]);
    execvp(argv[optind], argv + optind);
    fprintf(stderr, "launch: %s: %s\n", argv[optind], strerror(errno));
    _exit(127);
  }
  setpgid(child, child);
  if (timeout) alarm(timeout);
  do got = wait4(child, &status, 0, &ru);
  while (got < 0 && errno == EINTR);
  t1 = now();
  alarm(0);
  if (got < 0) {
    perror("launch: wait4");
    return 1;
  }
  f = out ? fopen(out, "w") : stdout;
  if (!f) {
    perror("launch: output file");
    return 1;
  }
  fprintf(f, "wall=%.4f maxrss_kb=%ld status=", t1 - t0, ru.ru_maxrss);
  if (timed_out)
    fprintf(f, "timeout");
  else if (WIFSIGNALED(status))
    fprintf(f, "signal:%s", sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
  else
    fprintf(f, "exit:%d", WEXITSTATUS(status));
  fprintf(f, " cpu=%.4f\n",
          (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
              (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6);
  if (out) fclose(f);
  return 0;
}
