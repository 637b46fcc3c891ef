#!/bin/sh
# gen_seeds.sh OUTDIR - write the larger seed inputs (100 KB to 1 MB) into
# OUTDIR/<harness>/, so the fuzzers start from inputs near the size bounds
# without multi-megabyte files in the repository.  Deterministic: the same
# files every time.  Called by tests/fuzz/fuzz.mk before each fuzzing run.
set -eu
out=${1:?usage: gen_seeds.sh OUTDIR}
mkdir -p "$out/scenario" "$out/trace" "$out/run"

# A long block list: 20000 mailboxes (about 0.6 MB).
awk 'BEGIN { print "mailboxes:";
  for (i = 0; i < 20000; i++) printf "  - name: m%d@contoso.com\n", i;
  print "senders:\n  - name: app\n    mailbox: m0@contoso.com\n    arrivals: {poisson: 10/h}" }' \
  >"$out/scenario/big-mailbox-list.yaml"

# Variants, each overriding a key (200: the loader copies the document for
# each variant, so many more time out; see tests/fuzz/regressions/scenario/many-variants-quadratic.yaml, now fixed).
awk 'BEGIN { print "mailboxes:\n  - name: m@contoso.com\nsenders:\n  - name: app\n    arrivals: {poisson: 10/h}\nvariants:";
  for (i = 0; i < 200; i++) printf "  - name: v%d\n    set:\n      senders.app.arrivals: {poisson: %d/h}\n", i, i + 1 }' \
  >"$out/scenario/many-variants.yaml"

# Deep flow nesting, 100 KB: a list of 50000 single-element flow lists.
awk 'BEGIN { printf "x: "; for (i = 0; i < 50000; i++) printf "["; for (i = 0; i < 50000; i++) printf "]"; print "" }' \
  >"$out/scenario/deep-nesting.yaml"

# Anchors and aliases, 200 KB.
awk 'BEGIN { print "a: &a [1, 2, 3, 4, 5, 6, 7, 8]"; print "b:";
  for (i = 0; i < 20000; i++) print "  - *a" }' >"$out/scenario/many-aliases.yaml"

# A long trace, 35000 rows (about 1 MB), and a scenario replaying it is not
# possible from a buffer, so the trace goes to the trace harness only.
awk 'BEGIN { print "time,sender,recipients,size,external";
  for (i = 0; i < 35000; i++) printf "%d.%d,sender-%d,%d,%d,%d\n", i, i % 10, i % 300, 1 + i % 7, 1000 + i * 13, i % 2 }' \
  >"$out/trace/long.csv"

# Runs: many instances and mailboxes, high rates, long durations, so the
# run harness starts near its event and memory caps.
awk 'BEGIN { print "duration: 1d\nmailboxes:\n  - {pool: p, count: 500, name_pattern: \"m{i}@contoso.com\"}";
  print "senders:";
  for (i = 0; i < 50; i++) printf "  - name: s%d\n    count: %d\n    mailbox: {pool: p, assign: round_robin}\n    arrivals: {poisson: %d/min}\n", i, 1 + i % 5, 1 + i % 60 }' \
  >"$out/run/many-senders.yaml"
cat >"$out/run/long-busy.yaml" <<'YAML'
duration: 1y
mailboxes:
  - name: m@contoso.com
senders:
  - name: app
    count: 50
    arrivals: {poisson: 100/s}
    session: {connect_time: 0s, submit_time: 0s}
YAML
