# tests/fuzz/fuzz.mk - libFuzzer harnesses for the scenario loader, the
# trace reader, the run of a loaded scenario and the SMTP protocol layer
# (included by the Makefile;
# tests/fuzz/README.md says what each covers and its budgets).
#   make fuzz-build    build/fuzz/fuzz_scenario, fuzz_trace, fuzz_run and fuzz_smtp
#   make fuzz-replay   every file of tests/fuzz/regressions/ through its harness
#   make fuzz-pending  every file of tests/fuzz/pending/ (findings not fixed
#                      yet): says which still fail, never fails itself
#   make fuzz-smoke    fuzz-replay, then each harness FUZZ_SMOKE_SECONDS (30 s)
#                      from its seed corpus (CI; about 110 s in all)
#   make fuzz          the long run: FUZZ_SECONDS (default 1200) per harness,
#                      an hour in all; it goes on past findings, which are
#                      left as build/fuzz/<harness>-{crash,timeout,oom}-*
# The harnesses run from the repository root: relative trace paths in the
# scenario inputs resolve against tests/fuzz/data/.  Inputs up to
# FUZZ_MAX_LEN (1 MiB); the seeds are tests/fuzz/corpus/ and the larger
# files tests/fuzz/gen_seeds.sh writes into build/fuzz/seeds/.

FUZZ_DEBS    := clang libclang-rt-14-dev
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_SECONDS ?= 1200
FUZZ_SMOKE_SECONDS ?= 30
FUZZ_MAX_LEN ?= 1048576
FUZZ_OPTS    := -timeout=10 -rss_limit_mb=2048 -max_len=$(FUZZ_MAX_LEN) -print_final_stats=1
# The long run forks a child per batch and carries on after a crash, a
# timeout or running out of memory, keeping each input as an artifact.
FUZZ_LONG_OPTS := -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
FUZZ_CFLAGS   = -std=c11 -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                $(CPPFLAGS) $(PKG_CFLAGS)
# Each harness links only what it reaches, so a half-edited file elsewhere
# cannot stop CI's fuzz-smoke and the build takes seconds: the loader for
# fuzz_scenario and fuzz_trace; the loader and the model's run (engine,
# event sets, random streams, statistics, service, limiters, mailboxes,
# senders, results) for fuzz_run, never sim/program/.
FUZZ_LOAD_SRC := $(wildcard models/scn_*.c) models/scenario.c sim/kernel/yaml.c sim/kernel/units.c \
                 sim/kernel/rfile.c sim/kernel/tz.c \
                 sim/kernel/alloc.c sim/kernel/status.c models/presets.c models/replies.c models/record.c
# The run harness links the whole model and kernel (neither includes the
# program), so a new file there needs no line here.
FUZZ_RUN_SRC  := $(filter-out $(FUZZ_LOAD_SRC),$(wildcard models/*.c) $(wildcard sim/kernel/*.c))
FUZZ_SRC      := $(FUZZ_LOAD_SRC) $(FUZZ_RUN_SRC)
FUZZ_LOAD_OBJ := $(FUZZ_LOAD_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_RUN_OBJ  := $(FUZZ_RUN_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_SMTP_OBJ := $(FUZZ_DIR)/sim/program/smtp_proto.o
FUZZ_HARNESS := fuzz_scenario fuzz_trace fuzz_run fuzz_smtp
FUZZ_BIN     := $(addprefix $(FUZZ_DIR)/,$(FUZZ_HARNESS))
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz-deps fuzz-build fuzz-replay fuzz-pending fuzz-smoke fuzz

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
# sim_schedule_at, sim_schedule_in and sim_schedule_node_in (see the
# harness's opening comment).
$(FUZZ_DIR)/fuzz_run: tests/fuzz/fuzz_run.c $(FUZZ_LOAD_OBJ) $(FUZZ_RUN_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Wl,--wrap=sim_schedule_at,--wrap=sim_schedule_in,--wrap=sim_schedule_node_in $^ $(PKG_LIBS) -lm -lpthread -o $@

# fuzz_smtp: the SMTP protocol layer alone (sim/program/smtp_proto.c).
$(FUZZ_DIR)/fuzz_smtp: tests/fuzz/fuzz_smtp.c $(FUZZ_SMTP_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $^ -o $@

# The objects are kept between builds (make would delete them as
# intermediate files of the pattern rule).
.SECONDARY: $(FUZZ_LOAD_OBJ) $(FUZZ_RUN_OBJ) $(FUZZ_SMTP_OBJ)
-include $(FUZZ_LOAD_OBJ:.o=.d) $(FUZZ_RUN_OBJ:.o=.d) $(FUZZ_SMTP_OBJ:.o=.d)

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

# fuzz-pending: each file alone, so that one still failing does not hide
# the others; a fixed one can then move to tests/fuzz/regressions/.
fuzz-pending: fuzz-build
	@for h in $(FUZZ_HARNESS); do k=$${h#fuzz_}; \
	  for f in tests/fuzz/pending/$$k/*; do test -f "$$f" || continue; \
	    if $(FUZZ_ENV) $(FUZZ_DIR)/$$h -timeout=10 -rss_limit_mb=2048 "$$f" >/dev/null 2>&1; \
	    then echo "passes now: $$f"; else echo "still fails: $$f"; fi; \
	  done; done

$(FUZZ_DIR)/seeds: tests/fuzz/gen_seeds.sh
	@rm -rf $@
	sh tests/fuzz/gen_seeds.sh $@

# $(1) seconds per harness, one harness at a time (the machines are shared).
# $(2) the corpus directory prefix: new inputs go there, never into
# tests/fuzz/corpus; the seeds are read as further directories (fuzz_run
# also starts from the scenario harness's seeds, with its dictionary).
# $(3) extra options; $(4) prefixes of more seed directories per harness:
# the long run adds the generated large seeds (build/fuzz/seeds/<harness>,
# which would take most of a smoke run's 30 s to mutate) and
# tests/fuzz/edge/<harness>/ (seeds one change away from a known finding,
# so the smoke run stays green while the finding is pending).
define fuzz_run
	@for h in $(FUZZ_HARNESS); do \
	  k=$${h#fuzz_}; mkdir -p $(2)$$k; \
	  case $$k in run) d=scenario; more=tests/fuzz/corpus/scenario;; *) d=$$k; more=;; esac; \
	  echo "== $$h: $(1) s"; \
	  $(FUZZ_ENV) $(FUZZ_DIR)/$$h $(FUZZ_OPTS) $(3) -max_total_time=$(1) \
	    -dict=tests/fuzz/$$d.dict -artifact_prefix=$(FUZZ_DIR)/$$k- \
	    $(2)$$k tests/fuzz/corpus/$$k $$more $(foreach d,$(4),$$(ls -d $(d)$$k 2>/dev/null)) 2>&1 | \
	    grep -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse) |^(INFO|  NEW_FUNC)' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done
endef

# CI: the generated large seeds once each through their harness (inputs of
# 0.1 to 1 MB must pass, within the timeout), then a fresh scratch corpus
# each time, so the run is the same everywhere.
fuzz-smoke: fuzz-replay $(FUZZ_DIR)/seeds
	@for h in $(FUZZ_HARNESS); do k=$${h#fuzz_}; \
	  ls $(FUZZ_DIR)/seeds/$$k/* >/dev/null 2>&1 || continue; \
	  echo "== $$h: the generated seeds, $(FUZZ_DIR)/seeds/$$k"; \
	  $(FUZZ_ENV) $(FUZZ_DIR)/$$h -timeout=10 -rss_limit_mb=2048 $(FUZZ_DIR)/seeds/$$k/* 2>&1 | \
	    grep -v '^Running: \|^Executed \|^INFO' ; \
	  test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done
	@rm -rf $(FUZZ_DIR)/corpus-*
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS),$(FUZZ_DIR)/corpus-,,)

# The long run keeps its corpus in build/fuzz/work-<harness> between runs.
fuzz: fuzz-build $(FUZZ_DIR)/seeds
	$(call fuzz_run,$(FUZZ_SECONDS),$(FUZZ_DIR)/work-,$(FUZZ_LONG_OPTS),$(FUZZ_DIR)/seeds/ tests/fuzz/edge/)
	@ls $(FUZZ_DIR)/*-crash-* $(FUZZ_DIR)/*-timeout-* $(FUZZ_DIR)/*-oom-* 2>/dev/null || true

# ${PIPESTATUS[0]}: the harness's status through the output filter.
fuzz-replay fuzz-pending fuzz-smoke fuzz: SHELL := /bin/bash
