# HawkAlloc build.  `make` builds the libraries; `make test` runs every test;
# `make demo` runs a real program under HawkAlloc.  See README.md.

CC       ?= cc
BUILD    := build

# The version lives in include/hawkalloc.h alone (HAWKALLOC_VERSION_*).
version_part = $(shell sed -n 's/^\#define HAWKALLOC_VERSION_$(1) \([0-9][0-9]*\)$$/\1/p' include/hawkalloc.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION  := $(VERSION_MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
SONAME   := libhawkalloc.so.$(VERSION_MAJOR)
LIBFILE  := libhawkalloc.so.$(VERSION)

# Where `make install` puts things (DESTDIR is prepended to each).
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR  ?= $(PREFIX)/share
MANDIR   ?= $(DATADIR)/man
DOCDIR   ?= $(DATADIR)/doc/hawkalloc
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR ?= $(LIBDIR)/cmake/hawkalloc
WARN     := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes
BASEFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -Iinclude -Isrc
LIBFLAGS := -O2 -fPIC -fvisibility=hidden -ftls-model=initial-exec -fno-builtin-malloc \
            -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc
CFLAGS   ?=
LDFLAGS  ?=
# Builds that compile the sources with the tests (unit tests, sanitizers,
# fault injection) turn every internal assertion on (src/config.h).
TESTFLAGS := -O1 -fno-builtin -Wno-unused-result -DHAWK_ASSERT_LEVEL=2

CORE_SRC := src/os.c src/lock.c src/block.c src/registry.c src/options.c src/report.c src/counters.c src/arena.c src/arena_clean.c \
            src/arena_walk.c \
            src/placement.c src/placement_segregated.c src/placement_first_fit.c \
            src/placement_next_fit.c src/placement_best_fit.c \
            src/events_hooks.c src/heap.c src/heap_give.c src/heap_check.c src/heap_used.c src/heap_old.c src/userheap.c src/events.c src/decay.c src/tcache.c src/remote.c src/large.c src/check.c src/stats.c src/walk.c src/snapshot.c src/trace.c src/debug.c src/api.c src/process.c \
            src/process_fork.c src/glibc.c src/api_heap.c
OVERRIDE_SRC := src/override.c src/override_dlopen.c
HEADERS  := $(wildcard src/*.h) include/hawkalloc.h include/hawksnap.h

CORE_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/obj/%.o)
OVERRIDE_OBJ := $(OVERRIDE_SRC:src/%.c=$(BUILD)/obj/%.o)

# Test programs: unit tests of the layers, API, misuse, stress, threads.
TESTS    := $(patsubst tests/%.c,%,$(wildcard tests/unit_*.c tests/test_*.c))
TEST_BIN := $(TESTS:%=$(BUILD)/tests/%)
# Tests that only make sense with the standard names replaced.
OVERRIDE_TESTS := test_override
# Left out of the sanitizer builds, which would run none of their cases:
# address-space limits cannot be set under the sanitizers' shadow memory, and
# the misuse and hostile-input programs run the library's own malloc in
# children that abort by design (the plain build runs them).
SAN_TESTS := $(filter-out $(OVERRIDE_TESTS) test_limits test_misuse test_hostile,$(TESTS))
TSAN_TESTS := $(filter test_threads test_stress test_tcache test_glibc test_userheap test_remote test_trace,$(TESTS))

.PHONY: all lib tests test test-unit test-preload asan tsan sanitize demo bench \
        bench-preload install uninstall clean format format-check deps tools test-lab test-grade test-map \
        layers \
        test-compat mutate mutate-quick mutate-ci

all: lib tools

lib: $(BUILD)/libhawkalloc.so $(BUILD)/$(SONAME) $(BUILD)/libhawkalloc.a

$(BUILD)/obj/%.o: src/%.c $(HEADERS) | $(BUILD)/obj
	$(CC) $(BASEFLAGS) $(LIBFLAGS) $(CFLAGS) -c $< -o $@

# The files that never run on an allocation's path (the heap snapshot, the
# statistics, the checks and the walk, the explorer's recorder, glibc's
# introspection, the options, the messages, the start-up and debug mode)
# are built for size, as every process maps them (docs/design.md).
COLD_SRC := snapshot stats check heap_check walk events glibc options report process debug
$(COLD_SRC:%=$(BUILD)/obj/%.o) $(COLD_SRC:%=$(BUILD)/nochecks/obj/%.o): LIBFLAGS += -Os

# Relative relocations packed (DT_RELR) where the linker and the C library
# support it (binutils 2.38, glibc 2.36): every process that loads the
# library reads them, and the registry's table alone has 1,024 (27 KiB as
# .rela.dyn, 408 bytes packed; docs/performance.md, "Peak RSS").
RELR_LDFLAGS := $(shell printf 'int x;' | $(CC) -shared -fPIC -x c - -o /dev/null \
                  -Wl,-z,pack-relative-relocs -Wl,--fatal-warnings 2>/dev/null && \
                  echo -Wl,-z,pack-relative-relocs)

# The real file is libhawkalloc.so.MAJOR.MINOR.PATCH; libhawkalloc.so.MAJOR
# (the soname, what programs load) and libhawkalloc.so (what -lhawkalloc and
# LD_PRELOAD=build/libhawkalloc.so find) are symbolic links to it.
#
# The kernel maps a library's pages 64 KiB around each read fault.  The
# code every process runs (start-up, the allocation paths, exit) is linked
# first, and the code starts on a 64 KiB boundary (max-page-size): it then
# lies in one 64 KiB window, and a program that never calls the observers
# (statistics, checks, walks, snapshots, traces, glibc's introspection,
# created heaps) never faults in the rest (docs/performance.md, "Fixed
# memory of a process").  large comes last of them: only a large block, a
# fork and the decay's epoch reach it, and the heap's paths of issue 13's
# fourth pass left less room in the window.  report comes after debug and
# begins with the one of its functions a process runs at start-up
# (report_stderr_init): the window ends in its misuse messages, which only
# a program that misuses the allocator runs.
LIB_FIRST := override api tcache heap heap_give placement placement_segregated arena registry block os \
             counters decay remote process options debug report events_hooks large
# The cold functions of the other files stay in their file's code (no
# .text.unlikely, which the linker gathers from every file at the start of
# the text, inside that window): their files come after it.
LIB_LATER := $(filter-out $(LIB_FIRST),$(CORE_SRC:src/%.c=%) $(OVERRIDE_SRC:src/%.c=%))
$(LIB_LATER:%=$(BUILD)/obj/%.o) $(LIB_LATER:%=$(BUILD)/nochecks/obj/%.o): LIBFLAGS += -fno-reorder-functions
LIB_LINK = $(LIB_FIRST:%=$(1)/%.o) \
           $(filter-out $(LIB_FIRST:%=$(1)/%.o),$(CORE_SRC:src/%.c=$(1)/%.o) $(OVERRIDE_SRC:src/%.c=$(1)/%.o))
# The C runtime's _fini (empty: the destructor is in .fini_array) is placed
# after all the code, in the last window: -fini naming no function leaves
# DT_FINI out, so that exit does not fault that window in.
LIB_LDFLAGS = -Wl,-z,max-page-size=0x10000 -Wl,-fini=hawkalloc_has_no_DT_FINI

$(BUILD)/$(LIBFILE): $(CORE_OBJ) $(OVERRIDE_OBJ)
	$(CC) -shared -Wl,-z,defs -Wl,-soname,$(SONAME) $(RELR_LDFLAGS) $(LIB_LDFLAGS) $(LDFLAGS) -o $@ \
	  $(call LIB_LINK,$(BUILD)/obj) -lpthread

$(BUILD)/$(SONAME) $(BUILD)/libhawkalloc.so: $(BUILD)/$(LIBFILE)
	ln -sfn $(LIBFILE) $@

$(BUILD)/libhawkalloc.a: $(CORE_OBJ) $(OVERRIDE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/obj $(BUILD)/tests $(BUILD)/asan $(BUILD)/tsan $(BUILD)/asan/obj $(BUILD)/tsan/obj \
$(BUILD)/nochecks/obj:
	mkdir -p $@

# The same library without its always-on misuse checks (-DHAWK_CHECKS=0),
# built only so `make bench-checks` can measure what the checks cost.
NOCHECKS_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/nochecks/obj/%.o) \
                $(OVERRIDE_SRC:src/%.c=$(BUILD)/nochecks/obj/%.o)

$(BUILD)/nochecks/obj/%.o: src/%.c $(HEADERS) | $(BUILD)/nochecks/obj
	$(CC) $(BASEFLAGS) $(LIBFLAGS) -DHAWK_CHECKS=0 $(CFLAGS) -c $< -o $@

$(BUILD)/nochecks/libhawkalloc.so: $(NOCHECKS_OBJ)
	$(CC) -shared -Wl,-z,defs -Wl,-soname,$(SONAME) $(RELR_LDFLAGS) $(LIB_LDFLAGS) $(LDFLAGS) -o $@ \
	  $(call LIB_LINK,$(BUILD)/nochecks/obj) -lpthread

# --- the lab's command, build/hawk ----------------------------------------
# Not linked with libhawkalloc: it preloads build/libhawkalloc.so into the
# programs it runs and reaches the hawk_* functions through dlsym.

TOOL_SRC := $(wildcard tools/*.c)
TOOL_OBJ := $(TOOL_SRC:tools/%.c=$(BUILD)/obj/tools/%.o)
TOOLFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -O2 -Iinclude

tools: $(BUILD)/hawk

$(BUILD)/obj/tools/page.o: tools/view/page.html
$(BUILD)/obj/tools/%.o: tools/%.c $(wildcard tools/*.h) include/hawkalloc.h | $(BUILD)/obj/tools
	$(CC) $(TOOLFLAGS) $(CFLAGS) -c $< -o $@

# hawk grade carries the grader's sources (.incbin, paths from the top).
$(BUILD)/obj/tools/grade.o: $(wildcard tools/grade/*)

$(BUILD)/hawk: $(TOOL_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ -ldl -lm

$(BUILD)/obj/tools:
	mkdir -p $@

# The lab's tests: hawk's commands, trace replays, SVG checks.
test-lab: lib tools
	@tests/lab/run.sh

# hawk grade: the reference examples/mm.c and broken variants of it.
.PHONY: test-grade
test-grade: tools
	@tests/grade/run.sh

# hawk map's pictures of small heaps: zoom, titles, --at, --policy all.
.PHONY: test-map
test-map: lib tools
	@tests/map/run.sh

# The heap explorer's tests: hawk view's events against hawk_walk, its pages
# in headless Chromium (screenshots in build/view/).
.PHONY: test-view
test-view: lib tools
	@tests/view/run.sh

# The tutorial's pictures and tables: regenerates docs/lab/ and the generated
# parts of docs/lab.md (scripts/lab-doc.sh builds what it needs; ~5 minutes).
.PHONY: lab-doc
lab-doc:
	@scripts/lab-doc.sh

# Only the deterministic tables of docs/lab.md (peak utilization per policy,
# with the thread cache and in textbook mode), from a fresh replay;
# tests/labdoc/run.sh checks them in make test.
.PHONY: lab-tables test-labdoc
lab-tables: lib tools
	@scripts/lab-tables.sh

test-labdoc: lib tools
	@tests/labdoc/run.sh

# --- tests --------------------------------------------------------------

tests: $(TEST_BIN) $(BUILD)/tests/test_faults $(BUILD)/tests/glibc_probe

# A plain program, not linked with HawkAlloc, that test_glibc runs with and
# without LD_PRELOAD to compare with glibc's own mallinfo2 and malloc_info.
$(BUILD)/tests/glibc_probe: tests/glibc_probe.c $(BUILD)/tests/glibc_probe_lib.so | $(BUILD)/tests
	$(CC) $(BASEFLAGS) $(TESTFLAGS) $(CFLAGS) $< -o $@ -lpthread -ldl

# The library glibc_probe opens with RTLD_DEEPBIND ("glibc_probe deepbind").
$(BUILD)/tests/glibc_probe_lib.so: tests/glibc_probe_lib.c | $(BUILD)/tests
	$(CC) $(BASEFLAGS) $(TESTFLAGS) -fPIC -shared $(CFLAGS) $< -o $@

# The OS layer with fault injection, the API reached through hawk_* only.
$(BUILD)/tests/test_faults: tests/faults/test_faults.c tests/harness.h $(CORE_SRC) $(HEADERS) | $(BUILD)/tests
	$(CC) $(BASEFLAGS) $(TESTFLAGS) -DHAWK_FAULT_INJECTION -DHAWK_NO_OVERRIDE $(CFLAGS) \
	  tests/faults/test_faults.c $(CORE_SRC) -o $@ -lpthread -ldl

# The unit tests of the layers: each links the sources of its layer and of
# the layers below it, nothing else (docs/design.md's table of layers, read
# by scripts/layers.py), built with every internal assertion on
# (TESTFLAGS), and runs with the C library's malloc.  UNIT_LAYER names each
# one's layer; `make layers` checks that every tests/unit_*.c is named here
# and builds them all, so that a layer reaching up fails to link.
UNIT_LAYER := unit_lock:OS unit_block:block unit_arena:arena unit_placement:placement unit_heap:heap \
              unit_check:heap
unit_layer = $(patsubst $(1):%,%,$(filter $(1):%,$(UNIT_LAYER)))
UNIT_BIN := $(patsubst %,$(BUILD)/tests/%,$(basename $(notdir $(wildcard tests/unit_*.c))))

$(UNIT_BIN): $(BUILD)/tests/unit_%: tests/unit_%.c tests/unit.h tests/harness.h $(CORE_SRC) $(HEADERS) \
                       docs/design.md scripts/layers.py | $(BUILD)/tests
	$(CC) $(BASEFLAGS) $(TESTFLAGS) $(CFLAGS) $< \
	  $(shell python3 scripts/layers.py --sources $(call unit_layer,unit_$*)) -o $@ -lpthread

$(BUILD)/tests/%: tests/%.c tests/harness.h tests/seeded.h $(BUILD)/libhawkalloc.a | $(BUILD)/tests
	$(CC) $(BASEFLAGS) $(TESTFLAGS) $(CFLAGS) $< -o $@ \
	  -Wl,--whole-archive $(BUILD)/libhawkalloc.a -Wl,--no-whole-archive -lpthread -ldl

test: deps lib tools tests examples bench-progs layers
	@scripts/run-tests.sh

# No file includes a header of a higher layer (docs/design.md's table), and
# each layer's unit test links with its layer and the layers below only.
layers: $(UNIT_BIN)
	@python3 scripts/layers.py --units "$(UNIT_LAYER)"

test-unit: lib tests
	@scripts/run-tests.sh --no-preload

test-preload: lib
	@tests/preload/run.sh

# The compatibility suite (tests/compat/README.md): CPython's own test
# modules, perl, sqlite3, git, xz -T2 and redis-server under HawkAlloc.
test-compat: deps lib
	@tests/compat/run.sh

# Sanitizers interpose malloc themselves, so these builds test the prefixed
# API with the override left out.
SANFLAGS := -O1 -fno-omit-frame-pointer -DHAWK_NO_OVERRIDE
# The library's sources are compiled once per sanitizer (build/asan/obj,
# build/tsan/obj: `make -j2 asan` compiles two at a time) and linked into
# each test program; before, each test program compiled every one of them
# again (CI's ASan stage spent about 200 of its 316 s compiling).
ASAN_CFLAGS := $(BASEFLAGS) $(SANFLAGS) $(TESTFLAGS) -fsanitize=address,undefined \
               -fno-sanitize-recover=all
TSAN_CFLAGS := $(BASEFLAGS) $(SANFLAGS) $(TESTFLAGS) -fsanitize=thread
ASAN_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/asan/obj/%.o)
TSAN_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/tsan/obj/%.o)
TEST_HEADERS := tests/harness.h tests/seeded.h tests/unit.h

# Kept between runs (make would delete them as intermediate files).
.SECONDARY: $(ASAN_OBJ) $(TSAN_OBJ)

$(BUILD)/asan/obj/%.o: src/%.c $(HEADERS) | $(BUILD)/asan/obj
	$(CC) $(ASAN_CFLAGS) -c $< -o $@

$(BUILD)/asan/%: tests/%.c $(TEST_HEADERS) $(ASAN_OBJ) | $(BUILD)/asan
	$(CC) $(ASAN_CFLAGS) $< $(ASAN_OBJ) -o $@ -lpthread -ldl

$(BUILD)/tsan/obj/%.o: src/%.c $(HEADERS) | $(BUILD)/tsan/obj
	$(CC) $(TSAN_CFLAGS) -c $< -o $@

$(BUILD)/tsan/%: tests/%.c $(TEST_HEADERS) $(TSAN_OBJ) | $(BUILD)/tsan
	$(CC) $(TSAN_CFLAGS) $< $(TSAN_OBJ) -o $@ -lpthread -ldl

# tools: test_map draws the snapshots it takes with build/hawk.
asan: tools $(BUILD)/tests/glibc_probe $(SAN_TESTS:%=$(BUILD)/asan/%)
	@ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  scripts/run-tests.sh --no-preload --dir $(BUILD)/asan $(SAN_TESTS)

# Fuzzing (tests/fuzz/): a libFuzzer harness over the prefixed API, built
# with clang, ASan and UBSan into build/fuzz/ and run under each placement
# policy.  `make fuzz SECONDS=N` (default 60) splits N seconds over the four
# policies; `make fuzz-smoke` is CI's short run.  Crashing inputs are kept in
# build/fuzz/crashes/.  Skipped (exit 0) where clang's libFuzzer is missing.
.PHONY: fuzz fuzz-smoke
fuzz:
	@CORE_SRC="$(CORE_SRC)" tests/fuzz/run.sh --seconds $(or $(SECONDS),60)

fuzz-smoke:
	@CORE_SRC="$(CORE_SRC)" tests/fuzz/run.sh --seconds 60

tsan: $(TSAN_TESTS:%=$(BUILD)/tsan/%)
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  scripts/run-tests.sh --no-preload --dir $(BUILD)/tsan $(TSAN_TESTS)

sanitize: asan tsan

# Mutation testing (tests/mutate/README.md): each mutation of
# tests/mutate/mutations.txt is applied to a scratch copy in build/mutate/,
# rebuilt and run against the tests it names; a survivor fails.
# `make mutate-ci` is CI's share (the mutations on lines the latest commits
# wrote and a third of the others, turning as commits land);
# `make mutate-quick` the few marked quick.
.PHONY: mutate mutate-quick mutate-ci
mutate: deps
	@python3 tests/mutate/run.py

mutate-ci: deps
	@python3 tests/mutate/run.py --ci

mutate-quick: deps
	@python3 tests/mutate/run.py --quick

# --- examples (examples/, quoted by docs/lab.md; tests/examples/run.sh) ---

EXAMPLES := $(BUILD)/examples/region
.PHONY: examples
examples: $(EXAMPLES)

$(BUILD)/examples/%: examples/%.c $(BUILD)/libhawkalloc.a
	@mkdir -p $(BUILD)/examples
	$(CC) $(BASEFLAGS) -O2 $(CFLAGS) $< -o $@ \
	  -Wl,--whole-archive $(BUILD)/libhawkalloc.a -Wl,--no-whole-archive -lpthread

# --- demo, bench --------------------------------------------------------

demo: deps lib
	@scripts/demo.sh

bench-preload: deps lib
	@bench/preload-ratio.sh

# The benchmark suite (bench/run.sh, docs/performance.md): the programs
# are built into build/bench/ and run under HawkAlloc, glibc, jemalloc,
# mimalloc and tcmalloc.  `make bench-quick` is a fast smoke run.
BENCH_PROGS := lifo random larson prodcons realloc mixed frag trace simple xfree pool cpu launch \
  decay bulk remote large mstress medium
BENCH_BIN := $(BENCH_PROGS:%=$(BUILD)/bench/%)
.PHONY: bench-progs bench-quick bench-checks bench-real deps-bench test-bench

$(BUILD)/bench:
	mkdir -p $@

$(BUILD)/bench/%: bench/%.c bench/bench.h | $(BUILD)/bench
	$(CC) $(BASEFLAGS) -O2 -pthread $(CFLAGS) $< -o $@ -ldl

# The region benchmark's three binaries too (tests/bench/run.sh runs them once).
bench-progs: $(BENCH_BIN) $(BUILD)/bench/region $(BUILD)/bench/region-mi $(BUILD)/bench/region-libc

# The region benchmark (bench/region.c, docs/performance.md): linked with
# libhawkalloc.a (hawk-heap, hawk-free), and with mimalloc where
# libmimalloc-dev is installed (mi-heap, mi-free), and with glibc's
# malloc alone (region-libc: libc-free).  bench/region.sh runs them interleaved.
.PHONY: bench-region
$(BUILD)/bench/region: bench/region.c $(BUILD)/libhawkalloc.a | $(BUILD)/bench
	$(CC) $(BASEFLAGS) -O2 -DWITH_HAWK $(CFLAGS) $< -o $@ \
	  -Wl,--whole-archive $(BUILD)/libhawkalloc.a -Wl,--no-whole-archive -lpthread

$(BUILD)/bench/region-mi: bench/region.c | $(BUILD)/bench
	$(CC) $(BASEFLAGS) -O2 $(if $(wildcard /usr/include/mimalloc.h),-DWITH_MIMALLOC) $(CFLAGS) \
	  $< -o $@ $(if $(wildcard /usr/include/mimalloc.h),-lmimalloc)

# glibc's malloc alone (region-mi's malloc is mimalloc's: it exports malloc).
$(BUILD)/bench/region-libc: bench/region.c | $(BUILD)/bench
	$(CC) $(BASEFLAGS) -O2 $(CFLAGS) $< -o $@

bench-region: lib $(BUILD)/bench/region $(BUILD)/bench/region-mi $(BUILD)/bench/region-libc
	@bench/region.sh

bench: deps deps-bench lib tools bench-progs
	@bench/run.sh

bench-quick: deps lib tools bench-progs
	@ROUNDS=1 BENCH_QUICK=1 bench/run.sh

# Real programs (python3, perl, sqlite3, redis-server, g++, clang++, jq) under
# every allocator, interleaved (bench/real.sh, docs/performance.md); about
# 10 minutes here.  ROUNDS=N (default 3), REAL_ONLY="perl jq", REAL_SCALE=N.
bench-real: deps deps-bench lib bench-progs
	@bench/real.sh

deps-bench:
	@scripts/install-deps.sh --bench

# The smoke test of the benchmark scripts (tests/bench/run.sh; in `make test`).
test-bench: lib tools bench-progs
	@tests/bench/run.sh

# What the always-on checks cost (docs/security.md): the suite under glibc,
# HawkAlloc and HawkAlloc built with -DHAWK_CHECKS=0, into build/bench-checks/.
bench-checks: deps lib bench-progs $(BUILD)/nochecks/libhawkalloc.so
	@ROUNDS=$${ROUNDS:-7} BENCH_ALLOCATORS="glibc hawkalloc hawkalloc-nochecks" BENCH_PRELOAD=0 \
	  BENCH_OUT=$(CURDIR)/$(BUILD)/bench-checks bench/run.sh

deps:
	@scripts/install-deps.sh

deps-package:
	@scripts/install-deps.sh --package

# --- install ------------------------------------------------------------

# PREFIX (default /usr/local), DESTDIR and the *DIR variables above choose
# the places.  hawk finds the library in ../lib from itself, so keep LIBDIR
# at $(PREFIX)/lib or set HAWK_LIB (docs/packaging.md).
MAN_PAGES := man/hawk.1 man/hawkalloc.3 man/hawkalloc.7
DOC_FILES := README.md $(wildcard docs/*.md)
# Fills in the @NAME@ placeholders of the pkg-config and CMake templates.
SUBST := sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
  -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
  -e 's|@VERSION_MAJOR@|$(VERSION_MAJOR)|g' -e 's|@SONAME@|$(SONAME)|g' -e 's|@LIBFILE@|$(LIBFILE)|g'

install: lib tools
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(MANDIR)/man1 \
	  $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)
	install -m 755 $(BUILD)/hawk $(DESTDIR)$(BINDIR)/hawk
	install -m 644 $(BUILD)/$(LIBFILE) $(DESTDIR)$(LIBDIR)/$(LIBFILE)
	ln -sfn $(LIBFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libhawkalloc.so
	install -m 644 $(BUILD)/libhawkalloc.a $(DESTDIR)$(LIBDIR)/libhawkalloc.a
	install -m 644 include/hawkalloc.h $(DESTDIR)$(INCLUDEDIR)/hawkalloc.h
	$(SUBST) hawkalloc.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/hawkalloc.pc
	$(SUBST) cmake/hawkallocConfig.cmake.in > $(DESTDIR)$(CMAKEDIR)/hawkallocConfig.cmake
	$(SUBST) cmake/hawkallocConfigVersion.cmake.in > $(DESTDIR)$(CMAKEDIR)/hawkallocConfigVersion.cmake
	install -m 644 man/hawk.1 $(DESTDIR)$(MANDIR)/man1/hawk.1
	install -m 644 man/hawkalloc.3 $(DESTDIR)$(MANDIR)/man3/hawkalloc.3
	install -m 644 man/hawkalloc.7 $(DESTDIR)$(MANDIR)/man7/hawkalloc.7
	install -m 644 completion/hawk $(DESTDIR)$(BASHCOMPDIR)/hawk
	install -m 644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hawk $(DESTDIR)$(LIBDIR)/$(LIBFILE) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libhawkalloc.so $(DESTDIR)$(LIBDIR)/libhawkalloc.a \
	  $(DESTDIR)$(INCLUDEDIR)/hawkalloc.h $(DESTDIR)$(PKGCONFIGDIR)/hawkalloc.pc \
	  $(DESTDIR)$(CMAKEDIR)/hawkallocConfig.cmake $(DESTDIR)$(CMAKEDIR)/hawkallocConfigVersion.cmake \
	  $(DESTDIR)$(MANDIR)/man1/hawk.1 $(DESTDIR)$(MANDIR)/man3/hawkalloc.3 \
	  $(DESTDIR)$(MANDIR)/man7/hawkalloc.7 $(DESTDIR)$(BASHCOMPDIR)/hawk \
	  $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES)))
	-rmdir $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(DOCDIR) 2>/dev/null

# The Debian package (docs/packaging.md): staged with `make install
# DESTDIR=build/deb/root PREFIX=/usr`, built with dpkg-deb into build/, then
# checked by lintian.
.PHONY: deb test-package test-man print-version deps-package
deb: deps-package
	@scripts/make-deb.sh

print-version:
	@echo $(VERSION)

# Builds the package, installs it with apt-get, uses it, removes it (root).
test-package: deps deps-package
	@tests/package/run.sh

# The man pages: lint, and every hawk option and HAWKALLOC_ variable named.
test-man: tools
	@tests/man/run.sh

format:
	clang-format -i src/*.c src/*.h include/*.h tests/*.c tests/*.h tests/*/*.c tools/*.c tools/*.h tools/grade/*.c tools/grade/*.h examples/*.c

format-check:
	clang-format --dry-run --Werror src/*.c src/*.h include/*.h tests/*.c tests/*.h tests/*/*.c tools/*.c tools/*.h tools/grade/*.c tools/grade/*.h examples/*.c

clean:
	rm -rf $(BUILD)
