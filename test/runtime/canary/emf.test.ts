import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import {
  CANARY_METRICS,
  ENDPOINT_DIMENSION,
  METRIC_NAMESPACE,
} from "../../../lib/monitoring/metric-definitions";
import { canaryEmfRecord, emfLine, type CanaryResult } from "../../../runtime/canary/emf";
import { reasonForStatus } from "../../../runtime/canary/probe";

interface EmfRecord {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
  [member: string]: unknown;
}

const TS = 1_760_000_000_000;
const record = (result: CanaryResult) => canaryEmfRecord("gllm-prod", result, TS) as EmfRecord;

/** Every declared metric has a numeric member, and every dimension a string member (the EMF validity rules). */
function expectValidEmf(r: EmfRecord): void {
  expect(r._aws.CloudWatchMetrics).toHaveLength(1);
  const directive = r._aws.CloudWatchMetrics[0];
  for (const set of directive.Dimensions) for (const d of set) expect(typeof r[d]).toBe("string");
  for (const metric of directive.Metrics) expect(typeof r[metric.Name]).toBe("number");
  expect(new Set(directive.Metrics.map((m) => m.Name)).size).toBe(directive.Metrics.length);
}

describe("canaryEmfRecord", () => {
  test("a success declares every canary metric with the shared names, units, namespace and dimension", () => {
    const r = record({ ok: true, ttftMs: 123.45, tpotMs: 21.5, totalMs: 456.7, outputTokens: 16 });
    expectValidEmf(r);
    expect(r._aws.Timestamp).toBe(TS);
    const directive = r._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(METRIC_NAMESPACE);
    expect(directive.Dimensions).toEqual([[ENDPOINT_DIMENSION]]);
    expect(r[ENDPOINT_DIMENSION]).toBe("gllm-prod");
    const declared = [...directive.Metrics].sort((a, b) => a.Name.localeCompare(b.Name));
    const defined = Object.values(CANARY_METRICS)
      .map((d) => ({ Name: d.name, Unit: d.unit }))
      .sort((a, b) => a.Name.localeCompare(b.Name));
    expect(declared).toEqual(defined);
    const m = CANARY_METRICS;
    expect(r[m.success.name]).toBe(1);
    expect(r[m.failure.name]).toBe(0);
    expect(r[m.timeToFirstToken.name]).toBe(123.45);
    expect(r[m.timePerOutputToken.name]).toBe(21.5);
    expect(r[m.totalTime.name]).toBe(456.7);
    expect(r[m.outputTokens.name]).toBe(16);
    expect(r).not.toHaveProperty("reason");
  });

  test("a single-token success leaves out only TPOT", () => {
    const r = record({ ok: true, ttftMs: 10, totalMs: 12, outputTokens: 1 });
    expectValidEmf(r);
    const names = r._aws.CloudWatchMetrics[0].Metrics.map((x) => x.Name);
    expect(names).not.toContain(CANARY_METRICS.timePerOutputToken.name);
    expect(r).not.toHaveProperty(CANARY_METRICS.timePerOutputToken.name);
    expect(names).toHaveLength(Object.keys(CANARY_METRICS).length - 1);
  });

  test("a failure publishes failure=1, success=0, the reason, and no timings", () => {
    const r = record({ ok: false, reason: "http_5xx" });
    expectValidEmf(r);
    const directive = r._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(METRIC_NAMESPACE);
    expect(directive.Dimensions).toEqual([[ENDPOINT_DIMENSION]]);
    expect(directive.Metrics).toEqual([
      { Name: CANARY_METRICS.success.name, Unit: CANARY_METRICS.success.unit },
      { Name: CANARY_METRICS.failure.name, Unit: CANARY_METRICS.failure.unit },
    ]);
    expect(r[CANARY_METRICS.success.name]).toBe(0);
    expect(r[CANARY_METRICS.failure.name]).toBe(1);
    expect(r.reason).toBe("http_5xx");
    for (const d of [CANARY_METRICS.timeToFirstToken, CANARY_METRICS.timePerOutputToken, CANARY_METRICS.totalTime, CANARY_METRICS.outputTokens]) {
      expect(r).not.toHaveProperty(d.name);
    }
  });

  test("emfLine writes exactly one line of JSON", () => {
    const line = emfLine(record({ ok: false, reason: "timeout" }));
    expect(line.endsWith("\n")).toBe(true);
    expect(line.slice(0, -1)).not.toContain("\n");
    expect(JSON.parse(line)).toEqual(record({ ok: false, reason: "timeout" }));
  });
});

describe("reasonForStatus", () => {
  test.each([
    [401, "http_401"],
    [500, "http_5xx"],
    [502, "http_5xx"],
    [503, "http_5xx"],
    [504, "http_5xx"],
    [403, "http_status_403"],
    [404, "http_status_404"],
    [429, "http_status_429"],
    [301, "http_status_301"],
  ])("%i -> %s", (status, reason) => {
    expect(reasonForStatus(status)).toBe(reason);
  });
});

test("the canary sources never spell out a metric name, the namespace or the dimension", () => {
  // They must come from metric-definitions.ts, which the alarms read too.
  const dir = path.resolve(__dirname, "../../../runtime/canary");
  const literals = [METRIC_NAMESPACE, ENDPOINT_DIMENSION, ...Object.values(CANARY_METRICS).map((d) => d.name)];
  const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
  expect(files).toContain("handler.ts");
  for (const file of files) {
    const source = readFileSync(path.join(dir, file), "utf8");
    for (const name of literals) {
      expect({ file, quoted: new RegExp(`["'\`]${name}["'\`]`).test(source) }).toEqual({ file, quoted: false });
    }
  }
});
