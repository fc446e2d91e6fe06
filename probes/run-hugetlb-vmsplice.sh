#!/bin/bash
# Run probes/hugetlb-vmsplice N times per hugetlb size and case, print one
# summary row per size and case, and put the hugetlb pools back as found.
#
#   probes/run-hugetlb-vmsplice.sh [-n RUNS] [-s "2M 1G"] [-c "CASES"] [-q] [-f FREE] [-o LOG] [-t SECS]
#     -n  runs per size and case (default 20)
#     -s  sizes (default "2M 1G")
#     -c  cases (default "child child-mprotect before-fork after-fork fork-read")
#     -q  quiet probe: no reads between the test's own steps
#     -f  free pages wanted before each run (default 2, what cow.c needs)
#     -o  raw log (default probes/build/run-<time>.log); one RESULT line per run
#     -t  timeout per probe run in seconds (default 120)
# Runs go case by case, and within a case 2M then 1G, as cow.c orders them.
#
# The pools. Other programs on this host use them too (cowlab's executor
# sets the 2 MiB pool through its journal in /run/cowlab and holds
# /run/cowlab/hugetlb.lock while its programs map hugetlb pages). So each
# probe run, under that lock (if the file exists; it is opened read-only):
# grow the pool of the run's size only if it has fewer free pages than
# wanted, run, and shrink it back to the value found. Outside a run the pools
# are as this script found them, so no one else ever sees (or journals) a
# value of ours.
#
# Before changing a pool, "<pool dir> <value found> <value set>" goes into
# $ORIG; it is written back on EXIT/INT/TERM, and at the start from a record
# left by a run that was SIGKILLed. A pool is only written back if it still
# has the value this script set; if someone changed it since, it is left
# alone with a warning. flock on the script file keeps two runs of it from
# overlapping.
set -u

ORIG=/run/cowlab-probe-hugetlb.orig
LOCK=$(readlink -f "$0")
CLOCK=/run/cowlab/hugetlb.lock
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
	*) sed -n '2,28p' "$0"; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "needs root (pagemap PFNs, kpageflags, nr_hugepages)" >&2; exit 2; }

# The lock is this script file itself (opened read-only), so nothing is left
# behind in /run. Children inherit it, so after a SIGKILL the orphaned probe
# keeps it until it ends (seconds): wait for that rather than fail.
exec 9<"$LOCK"
if ! flock -w 300 9; then
	echo "another run has held $LOCK for 5 minutes" >&2
	exit 3
fi

pool_dir() { case $1 in 2M) echo "$HP/hugepages-2048kB" ;; 1G) echo "$HP/hugepages-1048576kB" ;; esac; }

# cowlab's lock around one probe run (and its pool changes).
cowlab_lock() {
	[ -e "$CLOCK" ] || return 0
	exec 8<"$CLOCK"
	flock -w 600 8 || { echo "cowlab's $CLOCK stayed taken for 10 minutes" >&2; return 1; }
}
cowlab_unlock() { [ -e "$CLOCK" ] && exec 8<&-; return 0; }

# Put every pool this script set back to the value found before, if it still
# has the value set. Lines whose pool was not changed ("-") are kept as they
# are. The record goes once nothing is left to restore.
restore() {
	[ -f "$ORIG" ] || return 0
	local dir val set now ok=1 tmp=$ORIG.new
	: >"$tmp"
	while read -r dir val set; do
		[ -n "$dir" ] || continue
		if [ "$set" = "-" ]; then
			echo "$dir $val -" >>"$tmp"
			continue
		fi
		now=$(cat "$dir/nr_hugepages")
		# "~N": the write of N was under way (a signal can cut the
		# kernel's allocation short): any value between the found one
		# and N is ours.
		if [ "${set#\~}" != "$set" ]; then
			local w=${set#\~} lo=$val hi=${set#\~}
			[ "$w" -lt "$val" ] && lo=$w hi=$val
			[ "$now" -ge "$lo" ] && [ "$now" -le "$hi" ] && set=$now
		fi
		if [ "$now" != "$set" ]; then
			[ "$now" != "$val" ] && echo "restore: $dir/nr_hugepages is $now, not the $set this run set; someone else changed it, left alone (found $val)" >&2
		else
			echo "$val" >"$dir/nr_hugepages" 2>/dev/null
			# Pages still in use stay counted (as surplus) until freed.
			for _ in $(seq 50); do
				now=$(cat "$dir/nr_hugepages")
				[ "$now" = "$val" ] && break
				sleep 0.2
			done
			if [ "$now" != "$val" ]; then
				echo "restore: $dir/nr_hugepages is $now, wanted $val (pages still in use?)" >&2
				echo "$dir $val $set" >>"$tmp"
				ok=0
				continue
			fi
		fi
		echo "$dir $val -" >>"$tmp"
	done <"$ORIG"
	if [ $ok = 1 ]; then
		rm -f "$ORIG" "$tmp"
	else
		mv "$tmp" "$ORIG"
	fi
	[ $ok = 1 ]
}

# Make at least $free_want pages of the size free: record the pool's value,
# then grow it. Prints what happened; returns 1 if the pages are not there.
grow_pool() {
	local d=$1 nr fr want got tmp=$ORIG.new
	nr=$(cat "$d/nr_hugepages") fr=$(cat "$d/free_hugepages")
	[ "$fr" -ge "$free_want" ] && return 0
	want=$((nr + free_want - fr))
	# The record is on disk before the pool changes, with "~<value asked
	# for>" until the write returns, then the value the kernel gave.
	{ [ -f "$ORIG" ] && grep -v "^$d " "$ORIG"; echo "$d $nr ~$want"; } >"$tmp" && mv "$tmp" "$ORIG"
	echo "$want" >"$d/nr_hugepages" 2>/dev/null
	got=$(cat "$d/nr_hugepages")
	awk -v d="$d" -v v="$got" '$1 == d { $3 = v } { print }' "$ORIG" >"$tmp" && mv "$tmp" "$ORIG"
	if [ "$(cat "$d/free_hugepages")" -lt "$free_want" ]; then
		echo "# $d: asked for $want pages, got $got with $(cat "$d/free_hugepages") free" >>"$log"
		return 1
	fi
}

if [ -f "$ORIG" ]; then
	echo "# found $ORIG from an interrupted run; restoring it first: $(tr '\n' ' ' <"$ORIG")"
	restore || { echo "could not restore the leftover record; not starting" >&2; exit 4; }
fi
pools() { for d in "$HP"/hugepages-*; do printf '%s %s  ' "${d##*/}" "$(cat "$d/nr_hugepages")"; done; }
echo "# pools before: $(pools)"

child=
on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$child" ] && kill "$child" 2>/dev/null && wait "$child" 2>/dev/null
	restore
	cowlab_unlock
	echo "# pools after: $(pools)"
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
for s in $sizes; do
	[ -d "$(pool_dir "$s")" ] || { echo "unknown size $s" >&2; exit 2; }
done

{
	echo "# $(date -Is) $(uname -r) runs=$runs sizes=$sizes cases=$cases mode=${quiet:-full} free_want=$free_want"
	echo "# thp: $(cat /sys/kernel/mm/transparent_hugepage/enabled) defrag: $(cat /sys/kernel/mm/transparent_hugepage/defrag)"
	echo "# pools before: $(pools)"
} | tee "$log"

dmesg_before=$(dmesg | wc -l)
for ((i = 1; i <= runs; i++)); do
	for c in $cases; do
		for s in $sizes; do
			cowlab_lock || exit 3
			if grow_pool "$(pool_dir "$s")"; then
				timeout -s KILL "$tmo" "$probe" "$s" "$c" $quiet >>"$log" 2>&1 &
				child=$!
				wait "$child"
				rc=$?
				child=
				[ $rc = 0 ] || echo "RESULT size=$s case=$c outcome=ERROR:rc$rc" >>"$log"
			else
				echo "RESULT size=$s case=$c outcome=SKIP:pool" >>"$log"
			fi
			restore || exit 4
			cowlab_unlock
		done
	done
	printf '.' >&2
done
echo >&2
new_dmesg=$(dmesg | tail -n +$((dmesg_before + 1)))
if [ -n "$new_dmesg" ]; then
	echo "# dmesg during the runs (any process on the host):" >>"$log"
	echo "$new_dmesg" | sed 's/^/# dmesg: /' >>"$log"
fi

echo "# log: $log"
# Summary. Outcome as cow.c would report it (fork-read/-sense: OK = the child
# read the parent's data, LOST = it read something else, NO-ENTRY = fork-sense
# found no entry and did not read). Writer's page, from
# the PFNs: reuse = the pipe's frame (the leak), copy = a COW copy, no-entry =
# the child had no entry for mem right after fork. parent-x0 = runs where the
# parent's entry read kpagecount 1 but pagemap's exclusive bit 0 after memset.
# sensor-x0 (fork-sense) = runs where the child's second page read kpagecount
# 1 and exclusive bit 0.
awk -v cases="$cases" -v sizes="$sizes" '
/^RESULT/ {
	delete kv
	for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
	k = kv["size"] " " kv["case"]
	n[k]++
	o = kv["outcome"]
	if (o == "PASS" || o == "OK") pass[k]++; else if (o == "XFAIL" || o == "LOST" || o == "NO-ENTRY") xfail[k]++; else other[k]++
	w = kv["writer_page"]
	if (w == "reuse") reuse[k]++; else if (w == "copy") copy[k]++; else if (w == "no-entry") noent[k]++; else wother[k]++
	if (kv["memset.present"] == 1 && kv["memset.kcount"] == 1 && kv["memset.excl"] == 0) x0[k]++
	if (kv["sensor.present"] == 1 && kv["sensor.kcount"] == 1 && kv["sensor.excl"] == 0) s0[k]++
}
END {
	printf "%-5s %-15s %5s %8s %10s %6s | %6s %5s %8s %4s | %9s %9s\n", "size", "case", "runs", "PASS/OK", "XFAIL/LOST", "other", "reuse", "copy", "no-entry", "?", "parent-x0", "sensor-x0"
	nc = split(cases, C, " "); ns = split(sizes, S, " ")
	for (s = 1; s <= ns; s++) for (c = 1; c <= nc; c++) {
		k = S[s] " " C[c]
		printf "%-5s %-15s %5d %8d %10d %6d | %6d %5d %8d %4d | %9d %9d\n", S[s], C[c], n[k], pass[k], xfail[k], other[k], reuse[k], copy[k], noent[k], wother[k], x0[k], s0[k]
	}
}' "$log" | tee -a "$log"
