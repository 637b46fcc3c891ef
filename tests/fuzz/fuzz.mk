# tests/fuzz/fuzz.mk - libFuzzer harnesses for the scenario loader and the
# trace reader (included by the Makefile).
#   make fuzz-build   build/fuzz/fuzz_scenario and build/fuzz/fuzz_trace
#   make fuzz-replay  every file of tests/fuzz/regressions/ through its harness
#   make fuzz-smoke   fuzz-replay, then each harness 30 s from its seed corpus
#                     (CI; about 80 s in all)
#   make fuzz         the long run: FUZZ_SECONDS (default 1800) per harness
# The harnesses run from the repository root: relative trace paths in the
# scenario inputs resolve against tests/fuzz/data/.

FUZZ_DEBS    := clang libclang-rt-14-dev
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_SECONDS ?= 1800
FUZZ_SMOKE_SECONDS ?= 30
FUZZ_OPTS    := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_CFLAGS   = -std=c11 -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                $(CPPFLAGS) $(PKG_CFLAGS)
# Each harness links only what it reaches, so a half-edited file elsewhere
# cannot stop CI's fuzz-smoke and the build takes seconds: the loader for
# fuzz_scenario and fuzz_trace; the loader and the model's run (engine,
# event sets, random streams, statistics, service, limiters, mailboxes,
# senders, results) for fuzz_run, never sim/program/.
FUZZ_LOAD_SRC := $(wildcard models/scn_*.c) models/scenario.c sim/kernel/yaml.c sim/kernel/units.c \
                 sim/kernel/alloc.c sim/kernel/status.c models/presets.c models/replies.c
FUZZ_RUN_SRC  := models/run.c $(wildcard models/sender*.c) models/service.c models/limiter.c \
                 models/mailbox.c models/clock_engine.c models/results.c \
                 sim/kernel/engine.c sim/kernel/evset.c sim/kernel/cq.c sim/kernel/heap.c \
                 sim/kernel/rng.c sim/kernel/stats.c
FUZZ_SRC      := $(FUZZ_LOAD_SRC) $(FUZZ_RUN_SRC)
FUZZ_LOAD_OBJ := $(FUZZ_LOAD_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_RUN_OBJ  := $(FUZZ_RUN_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_HARNESS := fuzz_scenario fuzz_trace fuzz_run
FUZZ_BIN     := $(addprefix $(FUZZ_DIR)/,$(FUZZ_HARNESS))
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz-deps fuzz-build fuzz-replay fuzz-smoke fuzz

fuzz-deps:
	@$(MAKE) --no-print-directory deps EXTRA_DEBS="$(FUZZ_DEBS)"

# Objects for libFuzzer: -fsanitize=fuzzer on the library only adds
# coverage; the harness brings LLVMFuzzerTestOneInput, libFuzzer main().
$(FUZZ_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_scenario $(FUZZ_DIR)/fuzz_trace: $(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LOAD_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $^ $(PKG_LIBS) -lm -lpthread -o $@

# fuzz_run counts and caps the run's events by wrapping the engine's
# sim_schedule_at and sim_schedule_in (see the harness's opening comment).
$(FUZZ_DIR)/fuzz_run: tests/fuzz/fuzz_run.c $(FUZZ_LOAD_OBJ) $(FUZZ_RUN_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wl,--wrap=sim_schedule_at,--wrap=sim_schedule_in $^ $(PKG_LIBS) -lm -lpthread -o $@

# The objects are kept between builds (make would delete them as
# intermediate files of the pattern rule).
.SECONDARY: $(FUZZ_LOAD_OBJ) $(FUZZ_RUN_OBJ)
-include $(FUZZ_LOAD_OBJ:.o=.d) $(FUZZ_RUN_OBJ:.o=.d)

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

# Replay every kept finding (tests/fuzz/regressions/<harness>/*): each must
# pass the harness's checks, within the timeout and memory limit.
fuzz-replay: fuzz-build
	@for h in $(FUZZ_HARNESS); do k=$${h#fuzz_}; \
	  if ls tests/fuzz/regressions/$$k/* >/dev/null 2>&1; then \
	    echo "== $$h: replaying tests/fuzz/regressions/$$k"; \
	    $(FUZZ_ENV) $(FUZZ_DIR)/$$h -timeout=10 -rss_limit_mb=2048 tests/fuzz/regressions/$$k/* 2>&1 | \
	      grep -v '^Running: \|^Executed ' ; \
	    test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	  fi; done

# $(1) seconds per harness, one harness at a time (the machines are shared;
# libFuzzer's default is one process: -jobs/-workers would only add a
# supervising parent and fuzz-N.log files in the working directory).
# $(2) the corpus directory prefix: new inputs go there, never into
# tests/fuzz/corpus; the seed corpus is read as a second directory.
define fuzz_run
	@for h in $(FUZZ_HARNESS); do \
	  k=$${h#fuzz_}; mkdir -p $(2)$$k; \
	  echo "== $$h: $(1) s"; \
	  $(FUZZ_ENV) $(FUZZ_DIR)/$$h $(FUZZ_OPTS) -max_total_time=$(1) \
	    -dict=tests/fuzz/$$k.dict -artifact_prefix=$(FUZZ_DIR)/$$k- \
	    $(2)$$k tests/fuzz/corpus/$$k 2>&1 | grep -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse) ' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done
endef

# CI: a fresh scratch corpus each time, so the run is the same everywhere.
fuzz-smoke: fuzz-replay
	@rm -rf $(FUZZ_DIR)/corpus-*
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS),$(FUZZ_DIR)/corpus-)

# The long run keeps its corpus in build/fuzz/work-<harness> between runs.
fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_SECONDS),$(FUZZ_DIR)/work-)

# ${PIPESTATUS[0]}: the harness's status through the output filter.
fuzz-replay fuzz-smoke fuzz: SHELL := /bin/bash
