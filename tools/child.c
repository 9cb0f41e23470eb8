/* child.c - starts one replay worker (`hawk __worker`, this same binary
 * through /proc/self/exe) with the chosen allocator in its environment,
 * collects its result from a pipe and its stderr from a memfd, and tells a
 * policy the library rejected ("hawkalloc: unknown HAWKALLOC_POLICY") from a
 * real failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hawk.h"

extern char **environ;

#define POLICY_REJECTED "hawkalloc: unknown HAWKALLOC_POLICY"

/* The worker's environment: ours without LD_PRELOAD and HAWKALLOC_*, plus
 * the allocator's (and HAWKALLOC_TCACHE=0 in textbook mode).  HawkAlloc's
 * decay is off (HAWKALLOC_DECAY_MS=0): it runs by the clock, and a replay's
 * figures must not depend on how busy the machine is.
 * HAWKALLOC_HEAPS is kept: it is the user's choice and does not change a
 * single-threaded replay's figures. */
static char **worker_env(const struct alloc_choice *a) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 5, sizeof *env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(environ[i], "LD_PRELOAD=", 11) == 0) continue;
    if (strncmp(environ[i], "HAWKALLOC_", 10) == 0 &&
        strncmp(environ[i], "HAWKALLOC_HEAPS=", 16) != 0)
      continue;
    env[k++] = environ[i];
  }
  if (a->preload) {
    size_t len = strlen(a->preload) + 12;
    env[k] = malloc(len);
    snprintf(env[k++], len, "LD_PRELOAD=%s", a->preload);
  }
  if (a->policy) {
    size_t len = strlen(a->policy) + 18;
    env[k] = malloc(len);
    snprintf(env[k++], len, "HAWKALLOC_POLICY=%s", a->policy);
  }
  if (a->textbook && a->is_hawk) env[k++] = "HAWKALLOC_TCACHE=0";
  if (a->is_hawk) env[k++] = "HAWKALLOC_DECAY_MS=0";
  env[k] = NULL;
  return env;
}

/* Reads all of fd from offset 0 into a malloc'ed string. */
static char *slurp(int fd) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  lseek(fd, 0, SEEK_SET);
  for (;;) {
    if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  buf[len] = 0;
  return buf;
}

/* Takes the policy warning out of text; returns 1 if it was there. */
static int remove_policy_warning(char *text) {
  int found = 0;
  char *line = text;
  while (*line) {
    char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line + 1) : strlen(line);
    if (strncmp(line, POLICY_REJECTED, strlen(POLICY_REJECTED)) == 0) {
      found = 1;
      memmove(line, line + len, strlen(line + len) + 1);
    } else {
      line += len;
    }
  }
  return found;
}

static int64_t map_at = -1;

void worker_set_map_at(int64_t op) { map_at = op; }

int worker_run(const char *trace, const struct alloc_choice *a, enum worker_mode mode, int rounds,
               const char *out, struct worker_outcome *o) {
  memset(o, 0, sizeof *o);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    tool_error("pipe: %s", strerror(errno));
    return -1;
  }
  int errfd = memfd_create("hawk-worker-stderr", MFD_CLOEXEC);
  if (errfd < 0) {
    tool_error("memfd_create: %s", strerror(errno));
    close(pipefd[0]);
    close(pipefd[1]);
    return -1;
  }
  char **env = worker_env(a);
  /* Whether the worker may look up hawk_stats: a failing dlsym allocates
   * (its error message), and nothing but the replay should. */
  int api = a->preload && library_exports(a->preload, "hawk_stats");
  char fdtext[16], roundtext[16], modetext[32];
  snprintf(roundtext, sizeof roundtext, "%d", rounds);
  /* "map@N": the snapshot after op N instead of at the peak. */
  if (mode == MODE_MAP && map_at >= 0)
    snprintf(modetext, sizeof modetext, "map@%lld", (long long)map_at);
  else
    snprintf(modetext, sizeof modetext, "%s",
             mode == MODE_MAP            ? "map"
             : mode == MODE_EVENTS       ? "events"
             : mode == MODE_EVENTS_CHECK ? "events-check"
                                         : "replay");
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    tool_error("fork: %s", strerror(errno));
    close(pipefd[0]);
    close(pipefd[1]);
    close(errfd);
    return -1;
  }
  if (pid == 0) {
    /* The result pipe keeps its number, without close-on-exec. */
    int w = pipefd[1];
    fcntl(w, F_SETFD, 0);
    snprintf(fdtext, sizeof fdtext, "%d", w);
    dup2(errfd, 2);
    char *args[] = {"hawk",
                    WORKER_COMMAND,
                    fdtext,
                    modetext,
                    roundtext,
                    (char *)(out ? out : "-"),
                    (char *)trace,
                    (char *)(a->preload ? a->preload : "-"),
                    api ? "hawk" : "-",
                    NULL};
    execve("/proc/self/exe", args, env);
    dprintf(2, "hawk: cannot start the worker: /proc/self/exe: %s\n", strerror(errno));
    _exit(127);
  }
  for (char **e = env; *e; e++)
    if (strncmp(*e, "LD_PRELOAD=", 11) == 0 || strncmp(*e, "HAWKALLOC_POLICY=", 17) == 0) free(*e);
  free(env);
  close(pipefd[1]);
  scratch_child(pid, 0);

  char *p = (char *)&o->result;
  size_t got = 0;
  while (got < sizeof o->result) {
    ssize_t n = read(pipefd[0], p + got, sizeof o->result - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(pipefd[0]);
  while (waitpid(pid, &o->status, 0) < 0 && errno == EINTR) {
  }
  scratch_child(0, 0);
  o->got_result = got == sizeof o->result && o->result.magic == RESULT_MAGIC;
  o->errtext = slurp(errfd);
  close(errfd);
  o->policy_rejected = remove_policy_warning(o->errtext);
  return 0;
}

void worker_outcome_free(struct worker_outcome *o) {
  free(o->errtext);
  o->errtext = NULL;
}
