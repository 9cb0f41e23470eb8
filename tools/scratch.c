/* scratch.c - the scratch files and directories of hawk's commands (hawk
 * view's record of a worker, hawk map --trace's snapshot directory, hawk
 * grade's build directory), removed also when hawk is killed.
 *
 * A command registers each one as it makes it (scratch_add) and removes it
 * itself on every return (then scratch_drop).  A handler of SIGHUP, SIGINT,
 * SIGQUIT and SIGTERM (installed by the first scratch_add, not over a
 * disposition of SIG_IGN) stops the child hawk is waiting for (scratch_child:
 * the same signal, to its process group when it leads one, as the compiler
 * does, then SIGKILL, at once or after 2 s; once dead it writes nothing),
 * removes what is registered, then dies of the same signal.  hawk has one
 * thread: while the handler runs, nothing else reaps the child.  The handler
 * calls only async-signal-safe functions (kill, waitpid, nanosleep, open,
 * openat, read, close, unlink, unlinkat, rmdir, getpid, strcmp, strlen,
 * strspn, memcpy, sigaction, raise) and
 * getdents64 through syscall (a system call and nothing else) to list a
 * directory, whose files are removed but not its directories.  When hawk
 * is a child subreaper (hawk grade: scratch_reaper), the handler also kills
 * every child hawk has, a grader's leftover in a session of its own among
 * them (kill_children, read from /proc with the same calls). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hawk.h"

#define SCRATCH_MAX 4

static struct {
  char path[PATH_MAX];
  int dir;
  volatile sig_atomic_t used; /* set after path, cleared before it changes */
} scratch[SCRATCH_MAX];
static volatile pid_t scratch_pid;    /* the child being waited for, or 0 */
static volatile sig_atomic_t grouped; /* it leads a process group of its own */
static volatile sig_atomic_t reaper;  /* hawk adopts its children's orphans */

static const int scratch_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};

/* Calls fn(fd, name, ctx) for each name in the directory open as fd but
 * "." and "..", listed with getdents64. */
static void each_name(int fd, void (*fn)(int fd, const char *name, void *ctx), void *ctx) {
  /* struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1),
   * then the name and its NUL. */
  char buf[4096] __attribute__((aligned(8)));
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n <= 0) break;
    for (long at = 0; at < n;) {
      unsigned short reclen;
      memcpy(&reclen, buf + at + 16, sizeof reclen);
      const char *name = buf + at + 19;
      if (reclen == 0) break;
      if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) fn(fd, name, ctx);
      at += reclen;
    }
  }
}

static void unlink_name(int fd, const char *name, void *ctx) {
  (void)ctx;
  unlinkat(fd, name, 0);
}

/* The files of directory path (not its subdirectories), then path. */
static void remove_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    each_name(fd, unlink_name, NULL);
    close(fd);
  }
  rmdir(path);
}

/* The decimal number that starts s (up to a byte that is no digit), or -1
 * when s starts with none or it is too big for a pid. */
static long leading_number(const char *s) {
  long v = -1;
  for (; *s >= '0' && *s <= '9'; s++) {
    v = (v < 0 ? 0 : v * 10) + (*s - '0');
    if (v > 1L << 30) return -1;
  }
  return v;
}

/* For /proc's entry name: kills the process if its parent is *self.
 * /proc/PID/stat is "PID (NAME) STATE PPID ...", the name may hold spaces
 * and ')'; the last ')' ends it. */
static void kill_if_child(int proc, const char *name, void *self) {
  size_t len = strspn(name, "0123456789");
  long pid = leading_number(name);
  if (pid <= 0 || pid == *(pid_t *)self || name[len] != 0) return;
  char path[32], buf[512];
  memcpy(path, name, len); /* at most 10 digits: leading_number's bound */
  memcpy(path + len, "/stat", 6);
  int fd = openat(proc, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return;
  buf[n] = 0;
  const char *after = NULL;
  for (const char *s = buf; *s; s++)
    if (*s == ')') after = s;
  /* ") S PPID": the state is one byte after the space. */
  if (after == NULL || after[1] != ' ' || after[2] == 0 || after[3] != ' ') return;
  if (leading_number(after + 4) == (long)*(pid_t *)self) {
    kill((pid_t)pid, SIGKILL);
  }
}

/* Kills (SIGKILL) every process whose parent is hawk, found in /proc. */
static void kill_children(void) {
  pid_t self = getpid();
  int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc < 0) return;
  each_name(proc, kill_if_child, &self);
  close(proc);
}

/* Reaps every child that has ended, then kills those left, in rounds of
 * 5 ms until none is left (each kill may bring the killed one's own
 * children), at most rounds rounds; 0 when none was left, -1 if some were
 * still alive. */
int scratch_end_children(int rounds) {
  for (int round = 0; round < rounds; round++) {
    pid_t w;
    while ((w = waitpid(-1, NULL, WNOHANG)) > 0) {
    }
    if (w < 0 && errno == ECHILD) return 0;
    kill_children();
    struct timespec nap = {0, 5 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
  return -1;
}

static void on_signal(int sig) {
  int saved = errno;
  pid_t pid = scratch_pid;
  /* Only a child not yet reaped (waitpid says it runs): the number of one
   * reaped may be another process's by now. */
  if (pid > 0 && waitpid(pid, NULL, WNOHANG) == 0) {
    /* The same signal first: the compiler's driver removes its own
     * temporary files on it and stops its children; 2 s, then SIGKILL. */
    pid_t to = grouped ? -pid : pid;
    kill(to, sig);
    int gone = 0;
    for (int k = 0; k < 200 && !gone; k++) {
      if (waitpid(pid, NULL, WNOHANG) != 0) {
        gone = 1;
        break;
      }
      struct timespec nap = {0, 10 * 1000 * 1000};
      nanosleep(&nap, NULL);
    }
    /* The group's others too (cc1, as); a lone child only while unreaped,
     * as above. */
    if (grouped || !gone) kill(to, SIGKILL);
    if (!gone)
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
  }
  /* What the child's own children left in sessions of their own came to
   * hawk, the subreaper, once the child died. */
  if (reaper) scratch_end_children(400);
  for (int i = 0; i < SCRATCH_MAX; i++) {
    if (!scratch[i].used) continue;
    if (scratch[i].dir)
      remove_dir(scratch[i].path);
    else
      unlink(scratch[i].path);
    scratch[i].used = 0;
  }
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigaction(sig, &dfl, NULL);
  errno = saved;
  raise(sig); /* delivered when the handler returns: hawk dies of sig */
}

static void install(void) {
  static int done;
  if (done) return;
  done = 1;
  for (size_t i = 0; i < sizeof scratch_signals / sizeof *scratch_signals; i++) {
    struct sigaction old, sa;
    if (sigaction(scratch_signals[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN) continue;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask); /* one handler at a time */
    sigaction(scratch_signals[i], &sa, NULL);
  }
}

void scratch_add(const char *path, int dir) {
  install();
  for (int i = 0; i < SCRATCH_MAX; i++) {
    if (scratch[i].used) continue;
    if (strlen(path) >= sizeof scratch[i].path) return; /* never made: mkdtemp's bound */
    strcpy(scratch[i].path, path);
    scratch[i].dir = dir;
    scratch[i].used = 1;
    return;
  }
}

void scratch_drop(const char *path) {
  for (int i = 0; i < SCRATCH_MAX; i++)
    if (scratch[i].used && strcmp(scratch[i].path, path) == 0) scratch[i].used = 0;
}

void scratch_reaper(void) { reaper = 1; }

void scratch_child(pid_t pid, int group) {
  grouped = 0;
  scratch_pid = pid;
  grouped = group;
}
