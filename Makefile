# HawkAlloc build.  `make` builds the libraries; `make test` runs every test;
# `make demo` runs a real program under HawkAlloc.  See README.md.

CC       ?= cc
PREFIX   ?= /usr/local
BUILD    := build
WARN     := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes
BASEFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -Iinclude -Isrc
LIBFLAGS := -O2 -fPIC -fvisibility=hidden -ftls-model=initial-exec -fno-builtin-malloc \
            -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc
CFLAGS   ?=
TESTFLAGS := -O1 -fno-builtin -Wno-unused-result

CORE_SRC := src/os.c src/registry.c src/options.c src/report.c src/arena.c \
            src/placement.c src/placement_segregated.c src/placement_first_fit.c \
            src/placement_next_fit.c src/placement_best_fit.c \
            src/heap.c src/tcache.c src/large.c src/check.c src/stats.c src/walk.c src/map.c src/trace.c src/debug.c src/api.c \
            src/glibc.c
OVERRIDE_SRC := src/override.c
HEADERS  := $(wildcard src/*.h) include/hawkalloc.h

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
TSAN_TESTS := $(filter test_threads test_stress test_tcache test_glibc,$(TESTS))

.PHONY: all lib tests test test-unit test-preload asan tsan sanitize demo bench \
        bench-preload install uninstall clean format format-check deps tools test-lab \
        test-compat mutate mutate-quick

all: lib tools

lib: $(BUILD)/libhawkalloc.so $(BUILD)/libhawkalloc.a

$(BUILD)/obj/%.o: src/%.c $(HEADERS) | $(BUILD)/obj
	$(CC) $(BASEFLAGS) $(LIBFLAGS) $(CFLAGS) -c $< -o $@

# The heap pictures (map.c) never run on an allocation's path: built for size,
# they are 22 KiB of code instead of 50, which every process maps
# (docs/design.md).
$(BUILD)/obj/map.o $(BUILD)/nochecks/obj/map.o: LIBFLAGS += -Os

$(BUILD)/libhawkalloc.so: $(CORE_OBJ) $(OVERRIDE_OBJ)
	$(CC) -shared -Wl,-z,defs -Wl,-soname,libhawkalloc.so -o $@ $^ -lpthread

$(BUILD)/libhawkalloc.a: $(CORE_OBJ) $(OVERRIDE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/obj $(BUILD)/tests $(BUILD)/asan $(BUILD)/tsan $(BUILD)/nochecks/obj:
	mkdir -p $@

# The same library without its always-on misuse checks (-DHAWK_CHECKS=0),
# built only so `make bench-checks` can measure what the checks cost.
NOCHECKS_OBJ := $(CORE_SRC:src/%.c=$(BUILD)/nochecks/obj/%.o) \
                $(OVERRIDE_SRC:src/%.c=$(BUILD)/nochecks/obj/%.o)

$(BUILD)/nochecks/obj/%.o: src/%.c $(HEADERS) | $(BUILD)/nochecks/obj
	$(CC) $(BASEFLAGS) $(LIBFLAGS) -DHAWK_CHECKS=0 $(CFLAGS) -c $< -o $@

$(BUILD)/nochecks/libhawkalloc.so: $(NOCHECKS_OBJ)
	$(CC) -shared -Wl,-z,defs -Wl,-soname,libhawkalloc.so -o $@ $^ -lpthread

# --- the lab's command, build/hawk ----------------------------------------
# Not linked with libhawkalloc: it preloads build/libhawkalloc.so into the
# programs it runs and reaches the hawk_* functions through dlsym.

TOOL_SRC := $(wildcard tools/*.c)
TOOL_OBJ := $(TOOL_SRC:tools/%.c=$(BUILD)/obj/tools/%.o)
TOOLFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -O2 -Iinclude

tools: $(BUILD)/hawk

$(BUILD)/obj/tools/%.o: tools/%.c $(wildcard tools/*.h) include/hawkalloc.h | $(BUILD)/obj/tools
	$(CC) $(TOOLFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/hawk: $(TOOL_OBJ)
	$(CC) -o $@ $^ -ldl -lm

$(BUILD)/obj/tools:
	mkdir -p $@

# The lab's tests: hawk's commands, trace replays, SVG checks.
test-lab: lib tools
	@tests/lab/run.sh

# The tutorial's pictures and tables: regenerates docs/lab/ and the generated
# parts of docs/lab.md (scripts/lab-doc.sh builds what it needs; ~5 minutes).
.PHONY: lab-doc
lab-doc:
	@scripts/lab-doc.sh

# --- tests --------------------------------------------------------------

tests: $(TEST_BIN) $(BUILD)/tests/test_faults $(BUILD)/tests/glibc_probe

# A plain program, not linked with HawkAlloc, that test_glibc runs with and
# without LD_PRELOAD to compare with glibc's own mallinfo2 and malloc_info.
$(BUILD)/tests/glibc_probe: tests/glibc_probe.c | $(BUILD)/tests
	$(CC) $(BASEFLAGS) $(TESTFLAGS) $(CFLAGS) $< -o $@ -lpthread

# The OS layer with fault injection, the API reached through hawk_* only.
$(BUILD)/tests/test_faults: tests/faults/test_faults.c tests/harness.h $(CORE_SRC) $(HEADERS) | $(BUILD)/tests
	$(CC) $(BASEFLAGS) $(TESTFLAGS) -DHAWK_FAULT_INJECTION -DHAWK_NO_OVERRIDE $(CFLAGS) \
	  tests/faults/test_faults.c $(CORE_SRC) -o $@ -lpthread -ldl

$(BUILD)/tests/%: tests/%.c tests/harness.h tests/seeded.h $(BUILD)/libhawkalloc.a | $(BUILD)/tests
	$(CC) $(BASEFLAGS) $(TESTFLAGS) $(CFLAGS) $< -o $@ \
	  -Wl,--whole-archive $(BUILD)/libhawkalloc.a -Wl,--no-whole-archive -lpthread -ldl

test: deps lib tools tests
	@scripts/run-tests.sh

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
asan: $(BUILD)/tests/glibc_probe | $(BUILD)/asan
	@set -e; for t in $(SAN_TESTS); do \
	  $(CC) $(BASEFLAGS) $(SANFLAGS) $(TESTFLAGS) -fsanitize=address,undefined \
	    -fno-sanitize-recover=all tests/$$t.c $(CORE_SRC) -o $(BUILD)/asan/$$t -lpthread -ldl; \
	done
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

tsan: | $(BUILD)/tsan
	@set -e; for t in $(TSAN_TESTS); do \
	  $(CC) $(BASEFLAGS) $(SANFLAGS) $(TESTFLAGS) -fsanitize=thread \
	    tests/$$t.c $(CORE_SRC) -o $(BUILD)/tsan/$$t -lpthread -ldl; \
	done
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  scripts/run-tests.sh --no-preload --dir $(BUILD)/tsan $(TSAN_TESTS)

sanitize: asan tsan

# Mutation testing (tests/mutate/README.md): each mutation of
# tests/mutate/mutations.txt is applied to a scratch copy in build/mutate/,
# rebuilt and run against the tests it names; a survivor fails.
# `make mutate-quick` is CI's subset.
.PHONY: mutate mutate-quick
mutate: deps
	@python3 tests/mutate/run.py

mutate-quick: deps
	@python3 tests/mutate/run.py --quick

# --- demo, bench --------------------------------------------------------

demo: deps lib
	@scripts/demo.sh

bench-preload: deps lib
	@bench/preload-ratio.sh

# The benchmark suite (bench/run.sh, docs/performance.md): the programs
# are built into build/bench/ and run under HawkAlloc, glibc, jemalloc,
# mimalloc and tcmalloc.  `make bench-quick` is a fast smoke run.
BENCH_PROGS := lifo random larson prodcons realloc mixed frag trace cpu launch
BENCH_BIN := $(BENCH_PROGS:%=$(BUILD)/bench/%)
.PHONY: bench-progs bench-quick bench-checks

$(BUILD)/bench:
	mkdir -p $@

$(BUILD)/bench/%: bench/%.c bench/bench.h | $(BUILD)/bench
	$(CC) $(BASEFLAGS) -O2 -pthread $(CFLAGS) $< -o $@ -ldl

bench-progs: $(BENCH_BIN)

bench: deps lib bench-progs
	@bench/run.sh

bench-quick: deps lib bench-progs
	@ROUNDS=1 BENCH_QUICK=1 bench/run.sh

# What the always-on checks cost (docs/security.md): the suite under glibc,
# HawkAlloc and HawkAlloc built with -DHAWK_CHECKS=0, into build/bench-checks/.
bench-checks: deps lib bench-progs $(BUILD)/nochecks/libhawkalloc.so
	@BENCH_ALLOCATORS="glibc hawkalloc hawkalloc-nochecks" BENCH_PRELOAD=0 \
	  BENCH_OUT=$(CURDIR)/$(BUILD)/bench-checks bench/run.sh

deps:
	@scripts/install-deps.sh

# --- install ------------------------------------------------------------

install: lib tools
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BUILD)/hawk $(DESTDIR)$(PREFIX)/bin/
	install -m 644 include/hawkalloc.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(BUILD)/libhawkalloc.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(BUILD)/libhawkalloc.a $(DESTDIR)$(PREFIX)/lib/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|0.1|g' hawkalloc.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/hawkalloc.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/hawk
	rm -f $(DESTDIR)$(PREFIX)/lib/libhawkalloc.so $(DESTDIR)$(PREFIX)/lib/libhawkalloc.a \
	  $(DESTDIR)$(PREFIX)/include/hawkalloc.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/hawkalloc.pc

format:
	clang-format -i src/*.c src/*.h include/*.h tests/*.c tests/*.h tests/*/*.c tools/*.c tools/*.h

format-check:
	clang-format --dry-run --Werror src/*.c src/*.h include/*.h tests/*.c tests/*.h tests/*/*.c tools/*.c tools/*.h

clean:
	rm -rf $(BUILD)
