/**
 * The allowed name the given one most likely meant (case-insensitive), if
 * any: one within two edits (a typo), else one that starts with it or that
 * it starts with (`branchName` for `branch`, `githubRepo` for `githubRepository`).
 */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  const given = key.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const name of allowed) {
    const d = editDistance(given, name.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) {
      best = { name, d };
    }
  }
  if (best || given.length < 4) {
    return best?.name;
  }
  return allowed.find((name) => name.length >= 4 && (name.toLowerCase().startsWith(given) || given.startsWith(name.toLowerCase())));
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
