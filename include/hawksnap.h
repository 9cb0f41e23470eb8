/* hawksnap.h - the heap snapshot's file format (docs/snapshot-format.md).
 *
 * The library writes snapshots (src/snapshot.c: hawk_map_write,
 * HAWKALLOC_MAP at exit and on SIGUSR2); the hawk tool reads and draws them
 * (tools/snapfile.c, tools/render.c).  Both take the layout from here, so
 * it is written down once.  Every integer is in the writer's byte order,
 * little-endian on the machines HawkAlloc runs on; a reader on another
 * order sees a wrong version and stops.
 *
 * A file is a header, then records, each an 8-byte record header and
 * `len` bytes of payload, and last a SNAP_END record (len 0).  A reader
 * skips a record type it does not know.
 */
#ifndef HAWKSNAP_H
#define HAWKSNAP_H

#include <stdint.h>

#define SNAP_MAGIC   "HAWKSNAP"
#define SNAP_VERSION 2

/* header.flags */
#define SNAP_FROM_SIGNAL 1u /* taken in a SIGUSR2 handler: figures from the walk */

/* header.cause */
enum snap_cause { SNAP_CALL = 0, SNAP_EXIT = 1, SNAP_SIGNAL = 2 };

struct snap_header {
  char magic[8];        /* SNAP_MAGIC, no NUL */
  uint32_t version;     /* SNAP_VERSION */
  uint32_t header_size; /* sizeof(struct snap_header): records start here */
  uint32_t flags;       /* SNAP_FROM_SIGNAL */
  uint32_t cause;       /* enum snap_cause */
  uint32_t frame;       /* SIGUSR2 frame number, else 0 */
  int32_t pid;          /* the process */
  int64_t time;         /* CLOCK_REALTIME seconds when taken */
};

struct snap_record {
  uint32_t type; /* enum snap_type */
  uint32_t len;  /* payload bytes that follow */
};

enum snap_type {
  SNAP_PROGRAM = 1,   /* payload: /proc/self/exe's target, no NUL */
  SNAP_POLICY = 2,    /* payload: the placement policy's name, no NUL */
  SNAP_FIGURES = 3,   /* struct snap_figures */
  SNAP_STRIP = 4,     /* struct snap_strip: an arena or a large mapping begins */
  SNAP_PIECE = 5,     /* struct snap_piece: a rectangle of the strip begun last */
  SNAP_STRIP_END = 6, /* struct snap_strip_end: the sums of the strip begun last */
  SNAP_CHUNKS = 7,    /* struct snap_chunks: a run of registry chunks */
  SNAP_LEAF = 8,      /* struct snap_range: a page table of the registry */
  SNAP_MAPS = 9,      /* payload: the next bytes of /proc/self/maps */
  SNAP_END = 0xffff,  /* len 0: the snapshot is complete */
};

/* The statistics' figures (hawk_stats; from the walk in a SIGUSR2 frame). */
struct snap_figures {
  uint64_t in_use, mapped, footprint, thread_cached, arenas, cached_arenas, large_blocks, heaps;
  uint64_t free_bytes, free_blocks, largest_free;
};

/* Block states of a piece and of the sums. */
enum snap_state {
  SNAP_ST_FREE,
  SNAP_ST_ALLOC,
  SNAP_ST_CACHED,
  SNAP_ST_LARGE,
  SNAP_ST_HEADER, /* an arena's header, a large mapping's header */
  SNAP_ST_COUNT
};

struct snap_strip {
  uint64_t region, region_size;
  uint64_t span; /* bytes the strip's SNAP_STRIP_PX tenths of a pixel stand for */
  int32_t heap;  /* -1 for a large mapping */
  uint32_t large;
};

/* A strip is SNAP_STRIP_PX tenths of a pixel wide (1024 px for an arena).
 * Only the first SNAP_STRIPS_DRAWN strips have pieces; the others have
 * their SNAP_STRIP and SNAP_STRIP_END records only. */
#define SNAP_STRIP_PX     10240
#define SNAP_STRIPS_DRAWN 64

/* [x0, x1) in tenths of a pixel, in one state.  Blocks three pixels wide
 * or more are pieces of their own (alone = 1, with their address and
 * size); narrower ones are gathered into columns of at least a pixel
 * coloured by the state holding most of their bytes, and neighbouring
 * columns of one state are merged. */
struct snap_piece {
  uint16_t x0, x1;
  uint8_t state, alone;
  uint16_t pad;
  uint64_t address, size;
};

struct snap_strip_end {
  uint64_t bytes[SNAP_ST_COUNT];
  uint64_t free_blocks, largest_free;
};

struct snap_chunks {
  uint64_t address; /* of the first chunk (ARENA_SIZE bytes each) */
  uint64_t count;
  uint32_t kind; /* 1 arena, 2 large block's first chunk, 3 its later chunks;
                    version 2: 6 a created heap's arena, 7 a chunk of a created
                    heap's large mapping, 8 the created heaps' descriptors */
  uint32_t pad;
};

struct snap_range {
  uint64_t address, size;
};

#endif /* HAWKSNAP_H */
