# tests/fuzz/fuzz.mk - libFuzzer harnesses for the scenario loader and the
# trace reader (included by the Makefile).
#   make fuzz-build   build/fuzz/fuzz_scenario and build/fuzz/fuzz_trace
#   make fuzz-smoke   each harness 30 s over a copy of its seed corpus, then
#                     every file of tests/fuzz/regressions/ replayed (CI)
#   make fuzz         the long run: FUZZ_SECONDS (default 1800) per harness
# The harnesses run from the repository root: relative trace paths in the
# scenario inputs resolve against tests/fuzz/data/.

FUZZ_DEBS    := clang libclang-rt-14-dev
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_SECONDS ?= 1800
FUZZ_SMOKE_SECONDS ?= 30
# One process at a time: the machines are shared.
FUZZ_OPTS    := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
FUZZ_CFLAGS   = -std=c11 -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
                $(CPPFLAGS) $(PKG_CFLAGS)
FUZZ_SRC     := $(filter-out sim/main.c,$(wildcard sim/*.c)) $(wildcard models/*.c)
FUZZ_OBJ     := $(FUZZ_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_HARNESS := fuzz_scenario fuzz_trace
FUZZ_BIN     := $(addprefix $(FUZZ_DIR)/,$(FUZZ_HARNESS))
FUZZ_ENV     := ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz-deps fuzz-build fuzz-smoke fuzz

fuzz-deps:
	@$(MAKE) --no-print-directory deps EXTRA_DEBS="$(FUZZ_DEBS)"

# Objects for libFuzzer: -fsanitize=fuzzer on the library only adds
# coverage; the harness brings LLVMFuzzerTestOneInput, libFuzzer main().
$(FUZZ_DIR)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $^ $(PKG_LIBS) -lm -lpthread -o $@

fuzz-build: fuzz-deps
	@$(MAKE) --no-print-directory $(FUZZ_BIN)

# Fuzz a scratch copy of each seed corpus (new inputs never land in the
# tree), then replay every kept finding.
define fuzz_run
	@for h in $(FUZZ_HARNESS); do \
	  k=$${h#fuzz_}; rm -rf $(FUZZ_DIR)/corpus-$$k; mkdir -p $(FUZZ_DIR)/corpus-$$k; \
	  cp tests/fuzz/corpus/$$k/* $(FUZZ_DIR)/corpus-$$k/; \
	  echo "== $$h: $(1) s"; \
	  $(FUZZ_ENV) $(FUZZ_DIR)/$$h $(FUZZ_OPTS) -max_total_time=$(1) \
	    -dict=tests/fuzz/$$k.dict -artifact_prefix=$(FUZZ_DIR)/$$k- \
	    $(FUZZ_DIR)/corpus-$$k || exit 1; \
	done
endef

fuzz-smoke: fuzz-build
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))
	@for h in $(FUZZ_HARNESS); do k=$${h#fuzz_}; \
	  if ls tests/fuzz/regressions/$$k/* >/dev/null 2>&1; then \
	    echo "== $$h: replaying tests/fuzz/regressions/$$k"; \
	    $(FUZZ_ENV) $(FUZZ_DIR)/$$h -timeout=10 -rss_limit_mb=2048 tests/fuzz/regressions/$$k/* || exit 1; \
	  fi; done

fuzz: fuzz-build
	$(call fuzz_run,$(FUZZ_SECONDS))

-include $(FUZZ_OBJ:.o=.d)
