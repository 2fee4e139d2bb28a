/**
 * The chart: latency and throughput against load level, as one HTML file
 * with inline SVG. No scripts and no network, so it opens anywhere (an
 * artefact viewer, a mail attachment) and renders the same in a headless
 * browser as on a desk.
 */
import { levelName } from './progress';
import type { BenchReport, LevelReport } from './run';

interface Series {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: ReadonlyArray<readonly [number, number | undefined]>;
}

const W = 520;
const H = 320;
const M = { left: 64, right: 16, top: 36, bottom: 48 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Round-number ticks covering 0..max. */
function ticks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) out.push(v);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

/**
 * One panel: x is the level (concurrency or rate) on a categorical axis
 * (levels are usually powers of two, which a linear axis crowds together).
 */
function panel(title: string, yLabel: string, xs: readonly number[], xLabel: string, series: readonly Series[], hline?: { y: number; label: string }): string {
  const values = series.flatMap((s) => s.points.flatMap(([, y]) => (y === undefined ? [] : [y])));
  const yt = ticks(Math.max(...values, hline?.y ?? 0, 0));
  const yMax = yt[yt.length - 1];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xPos = (i: number) => M.left + (xs.length === 1 ? pw / 2 : (i / (xs.length - 1)) * pw);
  const yPos = (v: number) => M.top + ph - (v / yMax) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  for (const t of yt) {
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${yPos(t)}" y2="${yPos(t)}" stroke="#e3e3e3"/>`,
      `<text x="${M.left - 6}" y="${yPos(t) + 4}" text-anchor="end" font-size="11">${+t.toPrecision(4)}</text>`,
    );
  }
  xs.forEach((x, i) => out.push(`<text x="${xPos(i)}" y="${H - M.bottom + 16}" text-anchor="middle" font-size="11">${x}</text>`));
  out.push(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#555"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#555"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>`,
    `<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="12">${esc(yLabel)}</text>`,
  );
  if (hline) {
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${yPos(hline.y)}" y2="${yPos(hline.y)}" stroke="#c0392b" stroke-dasharray="6 4"/>`,
      `<text x="${W - M.right - 4}" y="${yPos(hline.y) - 5}" text-anchor="end" font-size="11" fill="#c0392b">${esc(hline.label)}</text>`,
    );
  }
  series.forEach((s, si) => {
    const pts = s.points.flatMap(([, y], i) => (y === undefined ? [] : [[xPos(i), yPos(y)] as const]));
    if (pts.length > 1) {
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''} points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`);
    }
    for (const [x, y] of pts) out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${s.color}"/>`);
    // Legend, top left, one row per series.
    const ly = M.top + 8 + si * 16;
    out.push(
      `<line x1="${M.left + 10}" x2="${M.left + 30}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      `<text x="${M.left + 36}" y="${ly + 4}" font-size="11">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n');
}

export function renderChart(r: BenchReport): string {
  const levels: readonly LevelReport[] = r.levels;
  const xs = levels.map((l) => l.level.value);
  const xLabel = levels[0]?.level.kind === 'rate' ? 'offered load (requests/s)' : 'concurrent requests';
  const pts = (get: (l: LevelReport) => number | undefined) => levels.map((l, i) => [xs[i], get(l)] as const);
  const target = r.settings.targetTpotMs;
  const tpot = panel(
    'Time per output token',
    'ms',
    xs,
    xLabel,
    [
      { name: 'p50', color: '#2e86c1', points: pts((l) => l.tpotMs.p50) },
      { name: 'p90', color: '#1b4f72', points: pts((l) => l.tpotMs.p90) },
    ],
    { y: target, label: `target ${target} ms` },
  );
  const ttft = panel('Time to first token', 'ms', xs, xLabel, [
    { name: 'p50', color: '#28b463', points: pts((l) => l.ttftMs.p50) },
    { name: 'p90', color: '#186a3b', points: pts((l) => l.ttftMs.p90) },
  ]);
  const throughput = panel('Throughput', 'output tokens/s', xs, xLabel, [
    { name: 'output tokens/s', color: '#ca6f1e', points: pts((l) => l.outputTokensPerS) },
  ]);
  const best = r.maxConcurrencyWithinTarget;
  const rows = levels
    .map(
      (l) =>
        `<tr><td>${esc(levelName(l.level))}</td><td>${l.succeeded}/${l.requests}</td><td>${l.outputTokensPerS.toFixed(1)}</td>` +
        `<td>${l.tpotMs.p90?.toFixed(1) ?? '-'}</td><td>${l.ttftMs.p90?.toFixed(0) ?? '-'}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.label ?? 'Benchmark')}</title>
<style>body{font-family:system-ui,sans-serif;margin:16px;color:#222}.charts{display:flex;flex-wrap:wrap;gap:8px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}</style></head>
<body>
<h2>${esc(r.label ?? 'Benchmark')}</h2>
<p>${esc(r.endpoint)} &middot; ${esc(r.startedAt)} &middot; prompt ${esc(r.settings.inputTokens)} tokens, output ${esc(r.settings.outputTokens)} tokens &middot;
largest concurrency with p90 TPOT &le; ${target} ms: <b>${best ?? 'none'}</b></p>
<div class="charts">
${tpot}
${ttft}
${throughput}
</div>
<table><tr><th>level</th><th>ok/sent</th><th>output tok/s</th><th>p90 TPOT ms</th><th>p90 TTFT ms</th></tr>
${rows}
</table>
</body></html>
`;
}
