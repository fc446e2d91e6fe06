#!/bin/bash
# Runs the emit-c reproducer of every shipped scenario that maps hugetlb pages
# N times (default 40) with every CPU kept busy, and counts the runs after
# which the 2 MiB hugetlb pool is still not back to its value a second later
# ("stuck": the journal's restore raced the release of the program's pages).
# Root. The pool is put back after a stuck run and at the end, also on ^C.
# Usage: probes/pool-restore-stress.sh [-n RUNS] [-o DIR to keep the reproducers in]
set -u
n=40
out=$(mktemp -d /tmp/cowlab-pool-stress.XXXXXX)
keep=0
while getopts "n:o:" o; do
  case $o in
    n) n=$OPTARG ;;
    o) rmdir "$out"; out=$OPTARG; keep=1; mkdir -p "$out" ;;
    *) echo "usage: $0 [-n RUNS] [-o DIR]" >&2; exit 2 ;;
  esac
done
P=/sys/kernel/mm/hugepages/hugepages-2048kB
[ -w $P/nr_hugepages ] || { echo "SKIP: no writable $P/nr_hugepages (root, CONFIG_HUGETLBFS)"; exit 4; }
orig=$(cat $P/nr_hugepages)
hogs=()
leave() {
  for h in "${hogs[@]}"; do kill "$h" 2>/dev/null; done
  echo "$orig" > $P/nr_hugepages
  [ "$keep" = 1 ] || rm -rf "$out"
}
trap leave EXIT
trap 'exit 130' INT TERM
cd "$(dirname "$0")/.." || exit 2
for f in $(grep -l "hugetlb: 2m" -r scenarios --include=*.yaml | grep -v cow-selftest | sort); do
  b=$out/$(basename "$f" .yaml)
  node bin/cowlab.js emit-c "$f" -o "$b.c" && cc -O2 -pthread -o "$b" "$b.c" || exit 2
done
for _ in $(seq "$(nproc)"); do (while :; do :; done) & hogs+=($!); done
runs=0 stuck=0
for _ in $(seq "$n"); do
  for b in "$out"/*.c; do
    "${b%.c}" > /dev/null 2>&1
    runs=$((runs + 1))
    if [ "$(cat $P/nr_hugepages)" != "$orig" ]; then
      sleep 1
      if [ "$(cat $P/nr_hugepages)" != "$orig" ]; then
        stuck=$((stuck + 1))
        echo "stuck after $(basename "${b%.c}"): nr free resv surplus = $(cat $P/{nr,free,resv,surplus}_hugepages | tr '\n' ' ')"
        echo "$orig" > $P/nr_hugepages
      fi
    fi
  done
done
echo "runs $runs stuck $stuck"
[ "$stuck" = 0 ]
