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
 * close, unlink, unlinkat, rmdir, strcmp, memcpy, sigaction, raise) and
 * getdents64 through syscall (a system call and nothing else) to list a
 * directory, whose files are removed but not its directories. */
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

static const int scratch_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM};

/* The files of directory path (not its subdirectories), then path. */
static void remove_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    /* struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type
     * (1), then the name and its NUL. */
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
      long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
      if (n <= 0) break;
      for (long at = 0; at < n;) {
        unsigned short reclen;
        memcpy(&reclen, buf + at + 16, sizeof reclen);
        const char *name = buf + at + 19;
        if (reclen == 0) break;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) unlinkat(fd, name, 0);
        at += reclen;
      }
    }
    close(fd);
  }
  rmdir(path);
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

void scratch_child(pid_t pid, int group) {
  grouped = 0;
  scratch_pid = pid;
  grouped = group;
}
