/**
 * Exec runs real programs (sh, sleep): running them is what it does. No
 * assertion is about how long anything took: the limits are short so the
 * tests end soon, and what is checked is how each program ended.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../../../runtime/boot/core/clock";
import { describeExit, Exec, explainExit, succeeded } from "../../../../runtime/boot/core/exec";

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "gllm-boot-exec-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const exec = new Exec({ clock: systemClock, killGraceMs: 300 });
const later = () => Date.now() + HOUR;

/** Whether a process runs: it exists and is not a zombie (dead, waiting for whichever init adopted it to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("a program within the time limit", () => {
  test("gives its exit status and what it wrote to each stream", async () => {
    const r = await exec.run({ step: "build", program: "sh", args: ["-c", "echo out; echo err >&2; exit 3"], limitMs: later() });
    expect(r).toMatchObject({ step: "build", program: "sh", exitCode: 3, signal: undefined, timedOut: false, startError: undefined, stdout: "out\n", stderr: "err\n" });
    expect(succeeded(r)).toBe(false);
    expect(describeExit(r)).toBe("exit 3");
    expect(explainExit(r)).toBe("step build: sh exit 3");
  });

  test("succeeds on exit 0", async () => {
    const r = await exec.run({ step: "deps", program: "true", limitMs: later() });
    expect(succeeded(r)).toBe(true);
  });

  test("gets the boot's environment plus the request's, its working directory, and its input", async () => {
    process.env.GLLM_EXEC_TEST_INHERITED = "inherited";
    try {
      const r = await exec.run({
        step: "build", program: "sh", args: ["-c", 'echo "$GLLM_EXEC_TEST_INHERITED $CC $(pwd)"; cat'],
        env: { CC: "gcc14-gcc" }, cwd: dir, input: "from stdin\n", limitMs: later(),
      });
      expect(r.stdout).toBe(`inherited gcc14-gcc ${dir}\nfrom stdin\n`);
    } finally {
      delete process.env.GLLM_EXEC_TEST_INHERITED;
    }
  });

  test("reads its input from a file the boot opens, and appends its output to a log file", async () => {
    writeFileSync(join(dir, "in"), "tarball bytes\n");
    writeFileSync(join(dir, "dnf.log"), "earlier\n");
    const r = await exec.run({ step: "deps", program: "sh", args: ["-c", "cat; echo to-err >&2"], stdinFile: join(dir, "in"), appendOutputTo: join(dir, "dnf.log"), limitMs: later() });
    expect(succeeded(r)).toBe(true);
    expect(r.stdout).toBe("");
    expect(readFileSync(join(dir, "dnf.log"), "utf8")).toBe("earlier\ntarball bytes\nto-err\n");
  });

  test("keeps the end of a long output", async () => {
    const small = new Exec({ clock: systemClock, maxCaptureBytes: 10 });
    const r = await small.run({ step: "build", program: "sh", args: ["-c", "printf 'aaaaaaaaaabbbbbbbbbbcccccccccc'; printf 0123456789"], limitMs: later() });
    expect(r.stdout).toBe("0123456789");
  });

  test("one that cannot start says why", async () => {
    const r = await exec.run({ step: "build", program: join(dir, "no-such-program"), limitMs: later() });
    expect(r.exitCode).toBeUndefined();
    expect(r.startError).toMatch(/ENOENT/);
    expect(describeExit(r)).toMatch(/^could not start: .*ENOENT/);
    const missingInput = await exec.run({ step: "build", program: "cat", stdinFile: join(dir, "absent"), limitMs: later() });
    expect(missingInput.startError).toMatch(/ENOENT/);
  });
});

describe("the time limit", () => {
  test("stops a program at the limit, with what it started", async () => {
    const r = await exec.run({ step: "model", program: "sh", args: ["-c", "sleep 300 & echo $!; wait"], limitMs: Date.now() + 300 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGTERM");
    expect(describeExit(r)).toBe("stopped at the boot's time limit");
    expect(explainExit(r)).toBe("step model: sh stopped at the boot's time limit");
    // The shell's own child was in its process group, and was stopped with it.
    const grandchild = Number(r.stdout.trim());
    expect(grandchild).toBeGreaterThan(1);
    expect(alive(grandchild)).toBe(false);
  });

  test("kills a program that ignores SIGTERM once its grace is over", async () => {
    const r = await exec.run({ step: "build", program: "sh", args: ["-c", 'trap "" TERM; while :; do sleep 0.05; done'], limitMs: Date.now() + 200 });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe("SIGKILL");
  });

  test("runs nothing once the limit has passed", async () => {
    const marker = join(dir, "ran");
    const r = await exec.run({ step: "build", program: "touch", args: [marker], limitMs: Date.now() - 1 });
    expect(r.timedOut).toBe(true);
    expect(describeExit(r)).toBe("not started: no time left before the boot's time limit");
    expect(existsSync(marker)).toBe(false);
  });
});

describe("as the service user", () => {
  /** A stand-in for setpriv that prints its options and runs the program after `--`. */
  function fakeSetpriv(): string {
    const file = join(dir, "setpriv");
    writeFileSync(file, '#!/bin/sh\nwhile [ "$1" != -- ]; do printf "%s " "$1"; shift; done; shift; echo; exec "$@"\n');
    chmodSync(file, 0o755);
    return file;
  }

  test("runs behind setpriv: the user's uid, gid and groups, and no new privileges", async () => {
    const asRoot = new Exec({ clock: systemClock, serviceUser: "llama", setpriv: fakeSetpriv() });
    const r = await asRoot.run({ step: "build", program: "echo", args: ["llama-server", "--version"], asServiceUser: true, limitMs: later() });
    expect(r.stdout).toBe("--reuid=llama --regid=llama --init-groups --no-new-privs \nllama-server --version\n");
    expect(r.argv[0]).toMatch(/setpriv$/);
    expect(r.program).toBe("echo");
  });

  test("only when asked: the boot's own programs run as the boot", async () => {
    const asRoot = new Exec({ clock: systemClock, serviceUser: "llama", setpriv: fakeSetpriv() });
    const r = await asRoot.run({ step: "deps", program: "echo", args: ["dnf"], limitMs: later() });
    expect(r.stdout).toBe("dnf\n");
  });

  test("a boot without a service user (local, not root) runs the program as itself", async () => {
    const local = new Exec({ clock: systemClock });
    expect(local.argv({ step: "build", program: "llama-server", args: ["--version"], asServiceUser: true, limitMs: 0 })).toEqual(["llama-server", "--version"]);
    const r = await local.run({ step: "build", program: "id", args: ["-u"], asServiceUser: true, limitMs: later() });
    expect(r.stdout.trim()).toBe(String(process.getuid?.()));
  });
});
