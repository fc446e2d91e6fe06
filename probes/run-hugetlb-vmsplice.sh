#!/bin/bash
# Run probes/hugetlb-vmsplice N times per hugetlb size and case, print one
# summary row per size and case, and put the hugetlb pools back as found.
#
#   probes/run-hugetlb-vmsplice.sh [-n RUNS] [-s "2M 1G"] [-c "CASES"] [-q] [-f FREE] [-o LOG] [-t SECS]
#     -n  runs per size and case (default 20)
#     -s  sizes (default "2M 1G")
#     -c  cases (default "child child-mprotect before-fork after-fork fork-read")
#     -q  quiet probe: no reads between the test's own steps
#     -f  free pages wanted per size before the runs (default 2, what cow.c needs)
#     -o  raw log (default probes/build/run-<time>.log); one RESULT line per run
#     -t  timeout per probe run in seconds (default 120)
# Runs go case by case, and within a case 2M then 1G, as cow.c orders them.
#
# nr_hugepages of every size is recorded in $ORIG before anything changes and
# written back on EXIT/INT/TERM. A record left by a run that was SIGKILLed is
# applied first. flock keeps two runs from overlapping.
set -u

ORIG=/run/cowlab-probe-hugetlb.orig
LOCK=/run/cowlab-probe-hugetlb.lock
HP=/sys/kernel/mm/hugepages
here=$(cd "$(dirname "$0")" && pwd)
probe=$here/build/hugetlb-vmsplice

runs=20 sizes="2M 1G" cases="child child-mprotect before-fork after-fork fork-read"
quiet= free_want=2 log= tmo=120
while getopts "n:s:c:qf:o:t:h" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	s) sizes=$OPTARG ;;
	c) cases=$OPTARG ;;
	q) quiet=-q ;;
	f) free_want=$OPTARG ;;
	o) log=$OPTARG ;;
	t) tmo=$OPTARG ;;
	*) sed -n '2,17p' "$0"; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (pagemap PFNs, kpageflags, nr_hugepages)" >&2; exit 2; }

exec 9>"$LOCK"
if ! flock -n 9; then
	echo "another run holds $LOCK" >&2
	exit 3
fi

pool_dir() { case $1 in 2M) echo "$HP/hugepages-2048kB" ;; 1G) echo "$HP/hugepages-1048576kB" ;; esac; }

# Write back every nr_hugepages listed in the record, then drop the record.
# Pages still in use cannot be freed; say so rather than loop.
restore() {
	[ -f "$ORIG" ] || return 0
	local dir val now ok=1
	while read -r dir val; do
		[ -n "$dir" ] || continue
		echo "$val" >"$dir/nr_hugepages" 2>/dev/null
		now=$(cat "$dir/nr_hugepages")
		if [ "$now" != "$val" ]; then
			echo "restore: $dir/nr_hugepages is $now, wanted $val" >&2
			ok=0
		fi
	done <"$ORIG"
	[ $ok = 1 ] && rm -f "$ORIG"
	[ $ok = 1 ]
}

if [ -f "$ORIG" ]; then
	echo "# found $ORIG from an interrupted run; restoring it first"
	restore || { echo "could not restore the leftover record; not starting" >&2; exit 4; }
fi

# Record every size's pool, not only the ones this run touches.
tmp=$ORIG.new
: >"$tmp"
for d in "$HP"/hugepages-*; do
	echo "$d $(cat "$d/nr_hugepages")" >>"$tmp"
done
mv "$tmp" "$ORIG"
echo "# pools before: $(tr '\n' ' ' <"$ORIG")"

child=
on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$child" ] && kill "$child" 2>/dev/null && wait "$child" 2>/dev/null
	restore
	echo "# pools after: $(for d in "$HP"/hugepages-*; do printf '%s %s ' "$d" "$(cat "$d/nr_hugepages")"; done)"
	exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$here/build"
if [ ! -x "$probe" ] || [ "$here/hugetlb-vmsplice.c" -nt "$probe" ]; then
	gcc -O2 -Wall -o "$probe" "$here/hugetlb-vmsplice.c" || exit 5
fi
[ -n "$log" ] || log=$here/build/run-$(date +%Y%m%d-%H%M%S).log

vm() { grep -E "^(pgmigrate_success|compact_isolated|compact_stall|compact_daemon_wake) " /proc/vmstat | tr '\n' ' '; }

{
	echo "# $(date -Is) $(uname -r) runs=$runs sizes=$sizes cases=$cases mode=${quiet:-full} free_want=$free_want"
	echo "# thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled) defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
} | tee "$log"

for s in $sizes; do
	d=$(pool_dir "$s")
	[ -n "$d" ] && [ -d "$d" ] || { echo "unknown size $s" >&2; exit 2; }
	nr=$(cat "$d/nr_hugepages") fr=$(cat "$d/free_hugepages")
	if [ "$fr" -lt "$free_want" ]; then
		want=$((nr + free_want - fr))
		before=$(vm)
		echo "$want" >"$d/nr_hugepages"
		echo "# $s: nr_hugepages $nr -> $want (asked), now $(cat "$d/nr_hugepages"), free $(cat "$d/free_hugepages"); vmstat before: $before after: $(vm)" | tee -a "$log"
	fi
	if [ "$(cat "$d/free_hugepages")" -lt "$free_want" ]; then
		echo "# $s: only $(cat "$d/free_hugepages") free pages; its runs will SKIP" | tee -a "$log"
	fi
done

dmesg_before=$(dmesg | wc -l)
for ((i = 1; i <= runs; i++)); do
	for c in $cases; do
		for s in $sizes; do
			timeout -s KILL "$tmo" "$probe" "$s" "$c" $quiet >>"$log" 2>&1 &
			child=$!
			wait "$child"
			rc=$?
			child=
			[ $rc = 0 ] || echo "RESULT size=$s case=$c outcome=ERROR:rc$rc" >>"$log"
		done
	done
	printf '.' >&2
done
echo >&2
new_dmesg=$(dmesg | tail -n +$((dmesg_before + 1)))
if [ -n "$new_dmesg" ]; then
	echo "# dmesg during the runs:" >>"$log"
	echo "$new_dmesg" | sed 's/^/# dmesg: /' >>"$log"
fi

echo "# log: $log"
# Summary. Outcome as cow.c would report it (fork-read: OK = the child read
# the parent's data, LOST = it read something else). Writer's page, from the
# PFNs: reuse = the pipe's frame (the leak), copy = a COW copy, no-entry = the
# child had no entry for mem right after fork. parent-x0 = runs where the
# parent's entry read kpagecount 1 but pagemap's exclusive bit 0 after memset.
awk -v cases="$cases" -v sizes="$sizes" '
/^RESULT/ {
	delete kv
	for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
	k = kv["size"] " " kv["case"]
	n[k]++
	o = kv["outcome"]
	if (o == "PASS" || o == "OK") pass[k]++; else if (o == "XFAIL" || o == "LOST") xfail[k]++; else other[k]++
	w = kv["writer_page"]
	if (w == "reuse") reuse[k]++; else if (w == "copy") copy[k]++; else if (w == "no-entry") noent[k]++; else wother[k]++
	if (kv["memset.present"] == 1 && kv["memset.kcount"] == 1 && kv["memset.excl"] == 0) x0[k]++
}
END {
	printf "%-5s %-15s %5s %8s %10s %6s | %6s %5s %8s %4s | %9s\n", "size", "case", "runs", "PASS/OK", "XFAIL/LOST", "other", "reuse", "copy", "no-entry", "?", "parent-x0"
	nc = split(cases, C, " "); ns = split(sizes, S, " ")
	for (s = 1; s <= ns; s++) for (c = 1; c <= nc; c++) {
		k = S[s] " " C[c]
		printf "%-5s %-15s %5d %8d %10d %6d | %6d %5d %8d %4d | %9d\n", S[s], C[c], n[k], pass[k], xfail[k], other[k], reuse[k], copy[k], noent[k], wother[k], x0[k]
	}
}' "$log" | tee -a "$log"
