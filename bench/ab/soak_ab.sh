#!/bin/bash
# Interleaved A/B of the 10-minute soak, two builds' payrec-bench in turn (new first), PAIRS
# times; each run's table in OUT/<new|old>-<i>.out, the ratios in OUT/log.
# Usage: bench/ab/soak_ab.sh NEW_PAYREC_BENCH OLD_PAYREC_BENCH [PAIRS] [OUT] [-- bench args]
set -eu
new=$1 old=$2 pairs=${3:-2} out=${4:-soak_ab}
shift $(( $# < 4 ? $# : 4 ))
[ "${1:-}" = "--" ] && shift
mkdir -p "$out"
for i in $(seq 1 "$pairs"); do
  for build in new old; do
    bin=$new; [ "$build" = old ] && bin=$old
    echo "== $build run $i $(date -u +%H:%M)" >> "$out/log"
    "$bin" --scenario soak --soak-minutes 10 "$@" > "$out/$build-$i.out" 2> "$out/$build-$i.err"
    tail -1 "$out/$build-$i.out" >> "$out/log"
  done
done
