#!/usr/bin/env bash
# Run one test file N times in a row and count the runs that failed, to show a
# test is not flaky (issue 17: "run the distributed tests 30 times"). Not part
# of `make test`: 30 runs of test_distributed.py take about 20 minutes here.
#   tools/soak.sh 30 tests/python/test_distributed.py
set -u
runs=${1:?usage: tools/soak.sh N TEST_FILE [pytest args]}; shift
python=${PYTHON:-.venv/bin/python}
log=$(mktemp -d)
failed=0
for i in $(seq 1 "$runs"); do
  if ! "$python" -m pytest -q -p no:cacheprovider "$@" > "$log/run-$i.txt" 2>&1; then
    failed=$((failed + 1))
    echo "run $i failed ($log/run-$i.txt):"
    grep -m3 -E "terminate called|exitcode|Error" "$log/run-$i.txt" | sed 's/^/    /'
  fi
  tail -n1 "$log/run-$i.txt"
done
echo "$failed of $runs runs failed"
[ "$failed" = 0 ]
