# poolshim: one non-recursive GNU Makefile. Everything builds into build/.
#   make            shim + analyzer + fixtures
#   make demo       install deps if missing, build, run the bundled demo under the shim
#   make test       install deps if missing, build, run unit + integration tests
#   make bench      per-call costs and whole-run overheads (see bench/README.md)
#   make truth      real programs under the shim against an outside observer (docs/truth.md)
#   make SAN=asan   (or tsan) sanitizer build into build-asan/ / build-tsan/
SHELL   := /bin/bash
CC      ?= cc
SAN     ?=
B       := build$(if $(SAN),-$(SAN))
CFLAGS_BASE := -O2 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter -D_GNU_SOURCE -fexceptions
# Sanitizers (docs/support.md): SANFLAGS instrument the analyzer; RUNNER_SANFLAGS
# the unit tests (with the shim modules they link) and the integration runner;
# the preloaded shim gets SHIM_SANFLAGS. An ASan or TSan runtime must come first
# in a process, which a shim preloaded into uninstrumented programs (python3,
# pigz, ...) cannot be; UBSan has no such rule, so the shim is built with UBSan
# only (trapping on any report) in both sanitizer builds. Criterion cannot run
# under TSan (its inheritable arena clashes with TSan's memory layout, Criterion
# issue #274), so under SAN=tsan the runners stay uninstrumented.
# Fixtures are built with the plain compiler in every build: they stand for the
# user's uninstrumented programs (and clang folds some of their malloc checks).
PLAIN_CC := $(CC)
PLAIN_CXX := $(CXX)
ifeq ($(SAN),asan)
  CC := clang
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
  RUNNER_SANFLAGS := $(SANFLAGS)
  SHIM_SANFLAGS := -fsanitize=undefined -fsanitize-trap=undefined
else ifeq ($(SAN),tsan)
  CC := clang
  SANFLAGS := -fsanitize=thread
  RUNNER_SANFLAGS :=
  SHIM_SANFLAGS := -fsanitize=undefined -fsanitize-trap=undefined
endif

# The shim's folders are layers (README's Layout; tests/scripts/layers.sh keeps
# includes pointing one way); a file names a header by its name alone.
SHIM_DIRS := base record capture control output wrap
SHIM_INC  := -Ishim $(addprefix -Ishim/,$(SHIM_DIRS))
SHIM_HDR  := $(wildcard shim/*.h shim/*/*.h)
SHIM_SRC  := $(sort $(wildcard shim/*.c shim/*/*.c))
SHIM_OBJ  := $(patsubst shim/%.c,$(B)/shim/%.o,$(SHIM_SRC))
SHIM_LIB  := $(B)/libpoolshim.so
SHIM_CFLAGS := $(CFLAGS_BASE) $(SHIM_INC) -fPIC -fvisibility=hidden -ftls-model=initial-exec -pthread
SHIM_LDFLAGS := -shared -Wl,--version-script=shim/exports.map -Wl,-z,now -Wl,-z,nodelete \
                -pthread -ldl -ljemalloc

AN_SRC    := $(sort $(wildcard analyzer/*.c))
AN_OBJ    := $(patsubst analyzer/%.c,$(B)/analyzer/%.o,$(AN_SRC))
AN_BIN    := $(B)/poolshim
AN_CFLAGS := $(CFLAGS_BASE) $(SANFLAGS) $(shell pkg-config --cflags jansson 2>/dev/null)
AN_LIBS   := $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson) -lm -lz
# libdw (elfutils): the symbolizer's DWARF reader; libstdc++: its C++ demangler (analyzer/symbolize.c)
AN_LIBS   += $(shell pkg-config --libs libdw 2>/dev/null || echo -ldw -lelf) -lstdc++

# lib*.c are shared libraries a fixture loads (libdlpool.so: dlopen_pool);
# *.cc are C++ programs (g++: their start routines have mangled names; pools
# written with the standard library's own primitives)
FIX_LIB_SRC := $(sort $(wildcard tests/fixtures/lib*.c))
FIX_SRC   := $(filter-out $(FIX_LIB_SRC),$(sort $(wildcard tests/fixtures/*.c)))
FIX_CXX_SRC := $(sort $(wildcard tests/fixtures/*.cc))
FIX_BIN   := $(patsubst tests/fixtures/%.c,$(B)/fixtures/%,$(FIX_SRC)) \
             $(patsubst tests/fixtures/%.c,$(B)/fixtures/%.so,$(FIX_LIB_SRC)) \
             $(patsubst tests/fixtures/%.cc,$(B)/fixtures/%,$(FIX_CXX_SRC))
# *.go: Go programs built with cgo (the shim meets Go's own runtime threads),
# only where a Go toolchain is (scripts/deps.sh installs golang-go)
GO_CMD     := $(shell command -v go 2>/dev/null)
FIX_GO_SRC := $(sort $(wildcard tests/fixtures/*.go))
FIX_BIN   += $(if $(GO_CMD),$(patsubst tests/fixtures/%.go,$(B)/fixtures/%,$(FIX_GO_SRC)))
# the truth suite's OpenMP loop and oneTBB task group (tests/truth/pools), for
# the integration tests too; oneTBB only where its headers are (libtbb-dev)
FIX_BIN   += $(B)/fixtures/omp_pool
TBB_HDR   := $(wildcard /usr/include/tbb/task_group.h /usr/include/oneapi/tbb/task_group.h)
FIX_BIN   += $(if $(TBB_HDR),$(B)/fixtures/tbb_pool)
# -rdynamic so start routines are named without debug info, like most real programs' exports
FIX_CFLAGS := -O1 -g -std=gnu11 -Wall -D_GNU_SOURCE -pthread -rdynamic

UNIT_SRC  := $(sort $(wildcard tests/unit/*.c))
UNIT_BIN  := $(B)/tests/unit_tests
INT_SRC   := $(sort $(wildcard tests/integration/*.c))
INT_BIN   := $(B)/tests/integration_tests
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_BIN := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))

.PHONY: all deps demo test unit integration bench bench-overhead bench-peers bench-controller clean torture torture-fixtures truth
all: $(SHIM_LIB) $(if $(AN_SRC),$(AN_BIN)) $(FIX_BIN) torture-fixtures

deps:
	@bash scripts/deps.sh

# stacks.c runs in the dump signal's handler: no sanitizer instrumentation
# there (a UBSan check that fires in a handler has nowhere safe to go).
$(B)/shim/%.o: shim/%.c $(SHIM_HDR)
	@mkdir -p $(@D)
	$(CC) $(SHIM_CFLAGS) $(if $(filter capture/stacks,$*),,$(SHIM_SANFLAGS)) -c $< -o $@
$(SHIM_LIB): $(SHIM_OBJ) shim/exports.map
	$(CC) $(SHIM_SANFLAGS) -o $@ $(SHIM_OBJ) $(SHIM_LDFLAGS)

$(B)/analyzer/%.o: analyzer/%.c $(wildcard analyzer/*.h) | $(B)/analyzer
	$(CC) $(AN_CFLAGS) -c $< -o $@
AN_BIN_LIBS := -ldw -lelf   # elfutils: `poolshim dump` unwinds ptrace captures offline
$(AN_BIN): $(AN_OBJ)
	$(CC) $(SANFLAGS) -o $@ $(AN_OBJ) $(AN_LIBS) $(AN_BIN_LIBS)

$(B)/fixtures/%: tests/fixtures/%.c $(wildcard tests/fixtures/*.h) | $(B)/fixtures
	$(PLAIN_CC) $(FIX_CFLAGS) -o $@ $< -lm $(FIX_LIBS)
$(B)/fixtures/%: tests/fixtures/%.cc tests/fixtures/blocked.h | $(B)/fixtures
	$(PLAIN_CXX) -O1 -g -std=c++20 -Wall -pthread -rdynamic -o $@ $<
$(B)/fixtures/%: tests/fixtures/%.go | $(B)/fixtures
	cd tests/fixtures && GO111MODULE=off CGO_ENABLED=1 GOCACHE=$(abspath $(B))/gocache $(GO_CMD) build -o $(abspath $@) $(notdir $<)
$(B)/fixtures/lib%.so: tests/fixtures/lib%.c | $(B)/fixtures
	$(PLAIN_CC) -O1 -g -std=gnu11 -Wall -D_GNU_SOURCE -shared -fPIC -o $@ $<
$(B)/fixtures/dlopen_pool: FIX_LIBS = -ldl
$(B)/fixtures/apr_pool: FIX_LIBS = -ldl $(shell pkg-config --libs apr-1)
$(B)/fixtures/apr_pool: FIX_CFLAGS += $(shell pkg-config --cflags apr-1)
# inline_lock is the symbolizer's truth: at -O2 its static inline helper is inlined.
$(B)/fixtures/inline_lock: FIX_CFLAGS += -O2
$(B)/fixtures/omp_phases: FIX_CFLAGS += -fopenmp
$(B)/fixtures/omp_pool: tests/truth/pools/omp_pool.c tests/truth/pools/work.h | $(B)/fixtures
	$(PLAIN_CC) $(FIX_CFLAGS) -Wno-unused-function -fopenmp -o $@ $< -lm
$(B)/fixtures/tbb_pool: tests/truth/pools/tbb_pool.cc tests/truth/pools/work.h | $(B)/fixtures
	$(PLAIN_CXX) -O1 -g -std=c++17 -Wall -Wno-unused-function -pthread -rdynamic -o $@ $< -ltbb
$(B)/fixtures/jemalloc_program: FIX_LIBS = -ljemalloc

# Unit tests link the shim's objects directly (never preload into the runner).
# Without init.o (no constructor) and the wrappers of wrap/ (they would
# interpose libc inside the runner itself); jansson checks the JSON writer.
# machine.o and throttle.o too: the controller's tests give it a machine and
# a throttle of their own (tests/unit/test_controller.c), so that nothing
# test-only is built into the library.
UNIT_OBJ  := $(filter-out $(B)/shim/init.o $(B)/shim/wrap/%.o $(B)/shim/control/machine.o \
                          $(B)/shim/control/throttle.o,$(SHIM_OBJ))
# The throttle's own tests park real threads on the real throttle: their own
# binary, with machine.o and throttle.o (tests/unit/throttle/).
THR_SRC   := $(sort $(wildcard tests/unit/throttle/*.c))
THR_BIN   := $(B)/tests/throttle_tests
THR_OBJ   := $(filter-out $(B)/shim/init.o $(B)/shim/wrap/%.o,$(SHIM_OBJ))
# Under SAN the unit tests get the shim's modules built with the full sanitizer
# (the preloaded library gets UBSan only, see above).
ifneq ($(RUNNER_SANFLAGS),)
  UNIT_OBJ := $(patsubst $(B)/shim/%.o,$(B)/unit-shim/%.o,$(UNIT_OBJ))
  THR_OBJ := $(patsubst $(B)/shim/%.o,$(B)/unit-shim/%.o,$(THR_OBJ))
endif
$(B)/unit-shim/%.o: shim/%.c $(SHIM_HDR)
	@mkdir -p $(@D)
	$(CC) $(SHIM_CFLAGS) $(RUNNER_SANFLAGS) -c $< -o $@
$(UNIT_BIN): $(UNIT_SRC) $(wildcard tests/unit/*.h) $(UNIT_OBJ) | $(B)/tests
	$(CC) $(CFLAGS_BASE) $(RUNNER_SANFLAGS) $(SHIM_INC) -pthread -o $@ $(UNIT_SRC) $(UNIT_OBJ) -lcriterion -ldl -ljemalloc $(AN_LIBS)
$(THR_BIN): $(THR_SRC) $(THR_OBJ) | $(B)/tests
	$(CC) $(CFLAGS_BASE) $(RUNNER_SANFLAGS) $(SHIM_INC) -pthread -o $@ $(THR_SRC) $(THR_OBJ) -lcriterion -ldl -ljemalloc $(AN_LIBS)
$(INT_BIN): $(INT_SRC) $(wildcard tests/integration/*.h) | $(B)/tests
	$(CC) $(CFLAGS_BASE) $(RUNNER_SANFLAGS) -Itests/integration -pthread -o $@ $(INT_SRC) -lcriterion $(AN_LIBS)

# DWARF 4: Debian's coz-profiler (bench/peers.sh) cannot read gcc 12's DWARF 5.
$(B)/bench/%: bench/%.c | $(B)/bench
	$(CC) -O2 -gdwarf-4 -std=gnu11 -D_GNU_SOURCE -pthread -o $@ $< -lm

$(B)/analyzer $(B)/fixtures $(B)/tests $(B)/bench:
	@mkdir -p $@

demo: deps all
	@bash scripts/demo.sh $(B)

unit: $(UNIT_BIN) $(THR_BIN)
	$(UNIT_BIN) --jobs 2
	$(THR_BIN)
integration: all $(INT_BIN)
	POOLSHIM_BUILD=$(abspath $(B)) $(INT_BIN) --jobs 1

test: deps
	@$(MAKE) --no-print-directory all $(if $(UNIT_SRC),$(UNIT_BIN)) $(if $(THR_SRC),$(THR_BIN)) $(if $(INT_SRC),$(INT_BIN))
	@bash scripts/test.sh $(B)

truth: deps all $(B)/bench/memc_load
	@bash scripts/deps.sh truth
	@bash tests/truth/run.sh $(B)

bench: deps all $(BENCH_BIN)
	@bash scripts/bench.sh $(B)
# issue 13's tables, tens of minutes each: bench/README.md
bench-overhead: deps all $(BENCH_BIN)
	@bash bench/overhead.sh $(B)
bench-peers: deps all $(BENCH_BIN)
	@bash bench/peers.sh $(B)
# issue 12's real-program controller table, about 15 minutes: bench/RESULTS-controller.md
bench-controller: deps all $(B)/bench/memc_load
	@bash bench/controller_real.sh $(B)

clean:
	rm -rf build build-asan build-tsan

# Torture fixtures (tests/torture/, run by tests/scripts/torture.sh): each
# tests/torture/NAME.c is a program build/torture/NAME, each lib*.c a shared
# library; plain.c is also built static (the shim cannot load into it).
# Built without sanitizers: they exercise the (preloaded) shim, not themselves.
TORT_LIB_SRC := $(sort $(wildcard tests/torture/lib*.c))
TORT_SRC  := $(filter-out $(TORT_LIB_SRC),$(sort $(wildcard tests/torture/*.c)))
TORT_BIN  := $(patsubst tests/torture/%.c,$(B)/torture/%,$(TORT_SRC)) \
             $(patsubst tests/torture/%.c,$(B)/torture/%.so,$(TORT_LIB_SRC)) \
             $(if $(filter tests/torture/plain.c,$(TORT_SRC)),$(B)/torture/plain_static)
TORT_CFLAGS := -O1 -g -std=gnu11 -Wall -D_GNU_SOURCE -pthread -rdynamic
torture-fixtures: $(TORT_BIN)
$(B)/torture/%: tests/torture/%.c tests/torture/torture.h | $(B)/torture
	$(PLAIN_CC) $(TORT_CFLAGS) $(TORT_XCFLAGS) -o $@ $< -ldl $(TORT_LIBS)
# the expansion cases run real pool runtimes (libuv, GLib, libgomp)
$(B)/torture/expand_uv: TORT_LIBS = -luv
$(B)/torture/expand_glib: TORT_XCFLAGS = $(shell pkg-config --cflags glib-2.0)
$(B)/torture/expand_glib: TORT_LIBS = $(shell pkg-config --libs glib-2.0)
$(B)/torture/expand_omp: TORT_XCFLAGS = -fopenmp
$(B)/torture/lib%.so: tests/torture/lib%.c | $(B)/torture
	$(PLAIN_CC) -O1 -g -std=gnu11 -Wall -D_GNU_SOURCE -pthread -shared -fPIC -o $@ $<
$(B)/torture/plain_static: tests/torture/plain.c tests/torture/torture.h | $(B)/torture
	$(PLAIN_CC) $(TORT_CFLAGS) -static -o $@ $<
$(B)/torture:
	@mkdir -p $@
torture: all
	@bash tests/scripts/torture.sh $(B)
