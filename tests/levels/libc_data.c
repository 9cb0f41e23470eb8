/* libc_data.c - run by tests/levels/run.sh with and without the library
 * preloaded: a process with one thread that allocates and frees a little
 * prints the resident kilobytes of the C library's read-only data (its
 * largest read-only mapping that does not start the file), from
 * /proc/self/smaps.  It reads and parses with read(2) alone: stdio would
 * touch that data itself.  Exit status 3 if it finds no such mapping. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char buf[1 << 20];

/* The number at s in base 16 or 10; *end is set past it. */
static unsigned long number(const char *s, unsigned base, const char **end) {
  unsigned long v = 0;
  for (;; s++) {
    unsigned d = *s >= '0' && *s <= '9'                 ? (unsigned)(*s - '0')
                 : base == 16 && *s >= 'a' && *s <= 'f' ? (unsigned)(*s - 'a' + 10)
                                                        : base;
    if (d >= base) break;
    v = v * base + d;
  }
  *end = s;
  return v;
}

/* Writes v in decimal and a newline on descriptor 1. */
static void print(unsigned long v) {
  char out[32];
  int i = sizeof out;
  out[--i] = '\n';
  do out[--i] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  (void)!write(1, out + i, sizeof out - (size_t)i);
}

int main(void) {
  void *volatile p[16];
  for (int i = 0; i < 16; i++) p[i] = malloc((size_t)(16 + 100 * i));
  for (int i = 0; i < 16; i++) free(p[i]);
  int fd = open("/proc/self/smaps", O_RDONLY);
  if (fd < 0) return 2;
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
    len += (size_t)n;
  close(fd);
  buf[len] = 0;
  unsigned long best_size = 0, best_rss = 0, size = 0;
  int candidate = 0, found = 0;
  for (char *line = buf; line && *line;) {
    char *next = strchr(line, '\n');
    if (next) *next++ = 0;
    const char *e;
    unsigned long lo = number(line, 16, &e);
    if (e != line && *e == '-') { /* a mapping: lo-hi perms offset dev inode path */
      unsigned long hi = number(e + 1, 16, &e);
      const char *perms = e + 1;
      unsigned long off = number(perms + 5, 16, &e);
      candidate = strncmp(perms, "r--p", 4) == 0 && off != 0 && strstr(e, "/libc.so") != NULL;
      size = hi - lo;
    } else if (candidate && strncmp(line, "Rss:", 4) == 0) {
      const char *s = line + 4;
      while (*s == ' ') s++;
      unsigned long rss = number(s, 10, &e);
      if (size > best_size) best_size = size, best_rss = rss, found = 1;
      candidate = 0;
    }
    line = next;
  }
  if (!found) return 3;
  print(best_rss);
  return 0;
}
