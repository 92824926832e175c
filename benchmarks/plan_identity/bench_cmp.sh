#!/bin/bash
# Plan bytes of two code trees over one bench directory: text and --json, with and without the
# refresh, each tree on its own copy (the caches beside the state are keyed by code).
#   benchmarks/plan_identity/bench_cmp.sh OLD_TREE NEW_TREE BENCH_DIR
# OLD_TREE/NEW_TREE: checkouts (e.g. `git archive main | tar -x -C /tmp/old`), put first on
# PYTHONPATH; PYTHON: the interpreter (a venv with the dependencies). The times, the tree's paths and the refresh's observed_at are normalised.
set -u
py=${PYTHON:-python}
old=$1; new=$2; src=$3; out=$(mktemp -d)
for code in old new; do
  tree=$old; [ $code = new ] && tree=$new
  rm -rf "$out/dir-$code"; cp -a "$src" "$out/dir-$code"
  for mode in "--refresh=false" ""; do
    m=${mode:-refresh}
    PYTHONPATH=$tree COLUMNS=120 $py "$tree/benchmarks/bench_cli.py" plan -f "$out/dir-$code" $mode > "$out/$code.$m.txt" 2>&1; echo "exit $?" >> "$out/$code.$m.txt"
    PYTHONPATH=$tree $py "$tree/benchmarks/bench_cli.py" plan -f "$out/dir-$code" $mode --json > "$out/$code.$m.json" 2>&1; echo "exit $?" >> "$out/$code.$m.json"
  done
done
cd "$out"
rc=0
for f in old.*; do
  n=new.${f#old.}
  for g in "$f" "$n"; do
    sed -E -e "s#$out/dir-(old|new)#DIR#g" -e 's/created [0-9T:.Z-]+/created X/' \
      -e 's/"(created_at|@timestamp|observed_at|updated_at)": ?"[^"]*"/"\1":"X"/g' "$g" > "$g.norm"
  done
  if cmp -s "$f.norm" "$n.norm"; then echo "SAME ${f#old.} ($(wc -c < "$f") bytes)"; else echo "DIFF ${f#old.}"; rc=1; fi
done
exit $rc
