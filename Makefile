# throttlesim - one Makefile, C11, builds in build/<variant>/.
#   make run     install missing Debian packages, build, run the default scenario
#   make test    build and run every test: debug, sanitizer and stress builds
#   make bench   event-set hold benchmark against ns-3, end-to-end benchmark,
#                serve against Postfix's smtp-sink
#   make install the program, its plot scripts, man page and bash completion
#                under PREFIX (default /usr/local), staged under DESTDIR
# Variants: VARIANT=release (default for run/bench), debug, san, stress.

VERSION  := 0.1.0
VARIANT  ?= release
BUILD    := build/$(VARIANT)
CC       ?= cc
CXX      ?= c++

DEBS      := gcc make pkg-config libc6-dev libgsl-dev libsqlite3-dev libfyaml-dev libcmocka-dev gnuplot-nox valgrind tzdata libssl-dev openssl
# Real SMTP clients and a relay for serve's tests (tests/serve/): swaks with
# its TLS and SASL modules, msmtp, curl, Python's smtplib, Postfix.
SERVE_DEBS := swaks libnet-ssleay-perl libio-socket-ssl-perl libauthen-sasl-perl msmtp curl python3 \
              postfix libsasl2-modules util-linux openssl
DEBS      += $(SERVE_DEBS)
# The one-page HTML report is opened in a real browser (tests/report/).
DEBS      += chromium
# Sharded runs under the engines they are made for (tests/shard/): GNU
# parallel, and a single-node SLURM with munge, started by the test itself.
SHARD_DEBS := parallel slurm-wlm munge sqlite3
DEBS      += $(SHARD_DEBS)
BENCH_DEBS := g++ libns3-dev valgrind postfix

PKGS     := gsl sqlite3 libfyaml openssl
WARN     := -Wall -Wextra
CPPFLAGS := -D_DEFAULT_SOURCE -DTHROTTLESIM_VERSION='"$(VERSION)"' -DTHROTTLESIM_PLOTS_DIR='"$(or $(PLOTSDIR),$(CURDIR)/plots)"' -Isim/kernel -Imodels -Isim/program -Ibench
CFLAGS_base := -std=c11 $(WARN) -MMD -MP

# Release builds are optimised across files at link time: an event's path
# crosses the engine, the sender, the service and the limiters, each its
# own file, and only LTO lets GCC inline and specialise across them (the
# end-to-end day: 12 % fewer instructions, docs/PERFORMANCE.md).  LTO= turns
# it off; an LTO archive needs gcc-ar (GCC's ar with its plugin).
LTO ?= -flto=auto
ifeq ($(VARIANT),release)
  CFLAGS_v := -O2 -g -DNDEBUG $(LTO)
  AR_LIB   := $(if $(strip $(LTO)),gcc-ar,ar)
else ifeq ($(VARIANT),debug)
  CFLAGS_v := -O0 -g
else ifeq ($(VARIANT),san)
  CFLAGS_v := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS_v := -fsanitize=address,undefined
else ifeq ($(VARIANT),stress)
  CFLAGS_v := -O1 -g -DEVS_STRESS
else
  $(error unknown VARIANT '$(VARIANT)': release, debug, san or stress)
endif

# pkg-config is looked up lazily so that `make deps` works before it exists.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_CFLAGS = $(shell pkg-config --cflags cmocka 2>/dev/null)
TEST_LIBS   = $(shell pkg-config --libs cmocka 2>/dev/null)

ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS_base) $(CFLAGS_v) $(PKG_CFLAGS) $(CFLAGS)
LIBS       = $(PKG_LIBS) -lm -lpthread

# The three layers (see README, Layout): kernel, mail model, program.
LIB_SRC  := $(wildcard sim/kernel/*.c) $(wildcard models/*.c) \
            $(filter-out sim/program/main.c,$(wildcard sim/program/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BIN      := $(BUILD)/throttlesim
LIB      := $(BUILD)/libthrottlesim.a

DB       ?= throttlesim.db
SCENARIO ?= scenarios/printers.yaml

.PHONY: all run test test-one test-valgrind test-serve test-report test-shard test-clip bench deps bench-deps clean install uninstall
.DEFAULT_GOAL := all

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(or $(AR_LIB),ar) rcs $@ $^

$(BIN): $(BUILD)/sim/program/main.o $(LIB)
	$(CC) $(CFLAGS_v) $(LDFLAGS_v) $^ $(LIBS) -o $@

# Tests also link the hold model's increment distributions (bench/incr.c).
$(BUILD)/tests/%: tests/%.c $(LIB) $(BUILD)/bench/incr.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) $< $(BUILD)/bench/incr.o $(LIB) $(TEST_LIBS) $(LIBS) $(LDFLAGS_v) -o $@

# ---- set-up ------------------------------------------------------------
# Installs the Debian packages that are missing (as root), or names them.
deps:
	@missing=""; for p in $(DEBS) $(EXTRA_DEBS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)" >&2; exit 1; fi; \
	fi

# postfix is wanted only for its smtp-sink (/usr/sbin/smtp-sink); "No
# configuration" keeps its installer from asking questions or setting up a
# mail system.
bench-deps:
	@$(MAKE) --no-print-directory deps EXTRA_DEBS="$(BENCH_DEBS)"

# ---- the two commands ----------------------------------------------------
run: deps
	@$(MAKE) --no-print-directory VARIANT=release all
	build/release/throttlesim run $(SCENARIO) --db $(DB)

# Every test in the debug build, again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and the event-set, engine, service, clock,
# sender and model tests in the stress build (a calendar resize and every
# invariant checker on every operation; test_sender takes 0.1 s there,
# test_model 6 s).
test: deps
	@bash tests/check_layers.sh
	@bash tests/check_paths.sh
	@bash tests/check_install.sh
	@$(MAKE) --no-print-directory VARIANT=debug test-one
	@$(MAKE) --no-print-directory VARIANT=san test-one
	@$(MAKE) --no-print-directory VARIANT=stress test-one TEST_ONLY="test_evset test_engine test_service test_clock test_sender test_model"
	@$(MAKE) --no-print-directory VARIANT=debug test-valgrind
	@$(MAKE) --no-print-directory VARIANT=san test-serve
	@$(MAKE) --no-print-directory VARIANT=san test-report
	@$(MAKE) --no-print-directory VARIANT=san test-shard
	@$(MAKE) --no-print-directory VARIANT=release test-clip

# Every chart kind of every shipped scenario, whole and per entity: no
# text cut off or drawn over another (tests/plot/).
test-clip: $(BIN)
	bash tests/plot/check_clip.sh $(BIN)

# The one-page report, opened in headless Chromium (tests/report/).
test-report: $(BIN)
	bash tests/report/check_report.sh $(BIN)

# A run in shards under GNU parallel and under a real single-node SLURM
# (tests/shard/), each merged and compared with the run on one machine.
# SLURM may be skipped (status 77, the reason printed) where its daemons
# cannot run; GNU parallel may not.
test-shard: $(BIN)
	bash tests/shard/parallel.sh $(BIN)
	@st=0; bash tests/shard/slurm.sh $(BIN) || st=$$?; \
	if [ $$st = 77 ]; then echo "test-shard: SLURM SKIPPED (see the reason above)"; \
	elif [ $$st != 0 ]; then exit $$st; fi

# serve with real clients and hostile ones, through real sockets, under
# AddressSanitizer (tests/serve/).
test-serve: $(BIN)
	python3 tests/serve/robust.py $(BIN)
	bash tests/serve/clients.sh $(BIN)

# The engine, model and event-loop tests under valgrind: no errors, no leaks.
VALGRIND_TESTS := test_engine test_evset test_service test_clock test_evloop test_sender test_model
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible
test-valgrind: $(addprefix $(BUILD)/tests/,$(VALGRIND_TESTS))
	@set -e; for t in $^; do \
	  echo "== valgrind: $$t"; \
	  THROTTLESIM_VALGRIND=1 $(VALGRIND) $$t; \
	done

TEST_RUN = $(if $(TEST_ONLY),$(addprefix $(BUILD)/tests/,$(TEST_ONLY)),$(TEST_BIN))
test-one: $(TEST_RUN) $(BIN)
	@set -e; for t in $(TEST_RUN); do \
	  echo "== $(VARIANT): $$t"; \
	  THROTTLESIM_BIN=$(BIN) ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; \
	done

# ---- benchmarks ------------------------------------------------------------
$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/bench_hold: $(BUILD)/bench/hold.o $(BUILD)/bench/incr.o $(LIB)
	$(CC) $(CFLAGS_v) $(LDFLAGS_v) $^ $(LIBS) -o $@

$(BUILD)/bench_e2e: $(BUILD)/bench/e2e.o $(LIB)
	$(CC) $(CFLAGS_v) $(LDFLAGS_v) $^ $(LIBS) -o $@

# The SMTP load generator of bench/run_serve.sh (no library: it only speaks SMTP).
$(BUILD)/bench_smtp_load: $(BUILD)/bench/smtp_load.o
	$(CC) $(CFLAGS_v) $(LDFLAGS_v) $^ -o $@

$(BUILD)/bench_ns3: bench/ns3_hold.cc $(BUILD)/bench/incr.o
	$(CXX) -O2 -std=c++17 $(shell pkg-config --cflags ns3-core 2>/dev/null) $^ $(shell pkg-config --libs ns3-core 2>/dev/null) -o $@

bench: bench-deps
	@$(MAKE) --no-print-directory VARIANT=release build/release/bench_hold build/release/bench_ns3 build/release/bench_e2e build/release/bench_smtp_load build/release/throttlesim
	bash bench/run_hold.sh build/release
	build/release/bench_e2e bench/e2e.yaml --reps 3
	bash bench/run_e2e.sh $(E2E_BASE) build/release
	bash bench/run_jobs.sh build/release/throttlesim
	bash bench/run_serve.sh build/release

# ---- install ---------------------------------------------------------------
# The installed program finds its plot scripts at the directory compiled
# into it, $(PREFIX)/share/throttlesim/plots (THROTTLESIM_PLOTS_DIR), so it
# is built apart, in build/install, for that PREFIX: the objects are
# rebuilt when PREFIX changes (build/install/plotsdir records it).  DESTDIR
# only stages the files (packaging); it is not compiled in.  Failing the
# compiled-in directory, the program also looks beside itself
# (<bin>/../share/throttlesim/plots), so a staged or moved tree still works.
PREFIX      ?= /usr/local
DESTDIR     ?=
BINDIR      := $(PREFIX)/bin
SHAREDIR    := $(PREFIX)/share
PLOTS_INST  := $(SHAREDIR)/throttlesim/plots
MAN1DIR     := $(SHAREDIR)/man/man1
BASHCOMPDIR := $(SHAREDIR)/bash-completion/completions
INSTALL     ?= install

install:
	@case "$(PREFIX)" in /*) ;; *) echo "make install: PREFIX must be an absolute path, not '$(PREFIX)'" >&2; exit 2;; esac
	@mkdir -p build/install
	@if [ "$$(cat build/install/plotsdir 2>/dev/null)" != "$(PLOTS_INST)" ]; then \
	  find build/install -name '*.[oad]' -delete; rm -f build/install/throttlesim; \
	  printf '%s\n' "$(PLOTS_INST)" > build/install/plotsdir; fi
	@$(MAKE) --no-print-directory VARIANT=release BUILD=build/install PLOTSDIR="$(PLOTS_INST)" build/install/throttlesim
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(PLOTS_INST)" "$(DESTDIR)$(MAN1DIR)" "$(DESTDIR)$(BASHCOMPDIR)"
	$(INSTALL) -m 755 build/install/throttlesim "$(DESTDIR)$(BINDIR)/throttlesim"
	$(INSTALL) -m 644 plots/*.gp "$(DESTDIR)$(PLOTS_INST)/"
	$(INSTALL) -m 644 docs/throttlesim.1 "$(DESTDIR)$(MAN1DIR)/throttlesim.1"
	$(INSTALL) -m 644 contrib/throttlesim.bash "$(DESTDIR)$(BASHCOMPDIR)/throttlesim"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/throttlesim" "$(DESTDIR)$(MAN1DIR)/throttlesim.1" \
	      "$(DESTDIR)$(BASHCOMPDIR)/throttlesim"
	rm -f $(addprefix "$(DESTDIR)$(PLOTS_INST)/,$(addsuffix ",$(notdir $(wildcard plots/*.gp))))
	-rmdir "$(DESTDIR)$(PLOTS_INST)" "$(DESTDIR)$(SHAREDIR)/throttlesim" 2>/dev/null

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

-include tests/fuzz/fuzz.mk
