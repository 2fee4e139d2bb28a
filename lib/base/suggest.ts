/**
 * The allowed name the given one most likely meant (case-insensitive), if
 * any: one within two edits (a typo), else one that starts with it or that
 * it starts with (`branchName` for `branch`, `githubRepo` for `githubRepository`).
 */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  const given = key.toLowerCase();
  const typo = withinTwoEdits(key, allowed);
  if (typo || given.length < 4) {
    return typo;
  }
  return allowed.find((name) => name.length >= 4 && (name.toLowerCase().startsWith(given) || given.startsWith(name.toLowerCase())));
}

/** The candidate within two edits of the given name (case-insensitive), if any: catches typos. */
export function withinTwoEdits(name: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) {
      best = { name: c, d };
    }
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
