/**
 * "Did you mean ...?" for names a user typed: the known name nearest to a
 * misspelt one, by edit distance.
 */

/** Levenshtein distance between two strings (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * The known name nearest to `name`, or null when none is near enough to be
 * a likely typo (within 3 edits, or a third of the name's length). A known
 * name with the same version after another prefix ("debian-5.10" for
 * "linux-5.10") comes first.
 */
export function nearest(name: string, known: readonly string[]): string | null {
  // the same version under another prefix first: "linux-5.10" is more likely debian-5.10 than linux-5.11
  const tail = /-(\d[\w.]*)$/.exec(name)?.[1];
  const sameVersion = tail ? known.find((k) => k !== name && k.endsWith(`-${tail}`)) : undefined;
  if (sameVersion) return sameVersion;
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(name, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== null && bestD <= Math.max(3, Math.floor(name.length / 3)) ? best : null;
}

/** " (did you mean X?)" or "". */
export function didYouMean(name: string, known: readonly string[]): string {
  const n = nearest(name, known);
  return n ? ` (did you mean "${n}"?)` : '';
}
