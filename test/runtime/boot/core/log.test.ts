import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BootLog, logLine, secondsText } from "../../../../runtime/boot/core/log";
import { FakeClock } from "../support/fake-clock";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "gllm-boot-log-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A log line: the time as `date -u +%Y-%m-%dT%H:%M:%S.%3NZ` prints it, [step], the message. */
const BASH_LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \[[a-z-]+\] .+$/;

describe("log lines", () => {
  test("carry the UTC time to the millisecond and the step", () => {
    const line = logLine(Date.UTC(2026, 0, 2, 3, 4, 5, 6), "build", "build key abc");
    expect(line).toBe("2026-01-02T03:04:05.006Z [build] build key abc");
    expect(line).toMatch(BASH_LINE);
  });

  test("durations are seconds to the millisecond", () => {
    expect(secondsText(0)).toBe("0.000");
    expect(secondsText(12_034)).toBe("12.034");
    expect(secondsText(999.6)).toBe("0.999");
    expect(secondsText(-5)).toBe("0.000");
  });
});

describe("the boot log", () => {
  function setup() {
    const clock = new FakeClock(Date.UTC(2026, 0, 2, 3, 4, 5, 0));
    const console: string[] = [];
    return { clock, console, log: new BootLog({ clock, console: (l) => console.push(l) }) };
  }

  test("tags each line with the current step, starting at init", () => {
    const { clock, console, log } = setup();
    log.log("boot (local mode)");
    log.step = "cpu";
    clock.advance(1_250);
    log.log("CPU part 0xd40 matches Graviton3");
    expect(console).toEqual([
      "2026-01-02T03:04:05.000Z [init] boot (local mode)",
      "2026-01-02T03:04:06.250Z [cpu] CPU part 0xd40 matches Graviton3",
    ]);
  });

  test("keeps one line per entry: a program's multi-line output is joined", () => {
    const { console, log } = setup();
    log.log("compile failed: a\nb\r\nc");
    expect(console).toEqual(["2026-01-02T03:04:05.000Z [init] compile failed: a b c"]);
  });

  test("writes the lines logged before its file was opened first, then appends, mode 0640", () => {
    const { console, log } = setup();
    const file = join(dir, "logs", "boot.log");
    log.log("before the file");
    log.openFile(file);
    log.log("after the file");
    expect(readFileSync(file, "utf8")).toBe(`${console[0]}\n${console[1]}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(console).toHaveLength(2);
  });

  test("appends to a log an earlier boot left (a re-run keeps the history)", () => {
    const { log } = setup();
    const file = join(dir, "boot.log");
    writeFileSync(file, "an earlier boot\n", { mode: 0o600 });
    log.openFile(file);
    log.log("this boot");
    expect(readFileSync(file, "utf8")).toMatch(/^an earlier boot\n.*\[init\] this boot\n$/);
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  test("records typed events apart from the lines, in order, with their time", () => {
    const { clock, console, log } = setup();
    log.record("build", "start");
    clock.advance(2_000);
    log.record("build", "cache-hit", "builds/abc.tar.gz");
    expect(log.events()).toEqual([
      { phase: "build", event: "start", atMs: Date.UTC(2026, 0, 2, 3, 4, 5, 0) },
      { phase: "build", event: "cache-hit", atMs: Date.UTC(2026, 0, 2, 3, 4, 7, 0), detail: "builds/abc.tar.gz" },
    ]);
    expect(console).toEqual([]);
    // A copy: the caller cannot change what was recorded.
    (log.events() as unknown as unknown[]).pop();
    expect(log.events()).toHaveLength(2);
  });
});
