/**
 * A llama.cpp source tree for tests, with no network beyond the npm registry.
 *
 * node-llama-cpp publishes a git bundle of the llama.cpp release it was built
 * against; `npm pack` fetches it through the ordinary npm client, so tests need
 * neither GitHub nor a vendored copy of llama.cpp in this repository.
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The one place the node-llama-cpp version (and so the llama.cpp release) is pinned. */
export const NODE_LLAMA_CPP_VERSION = '3.22.1';

/**
 * An older node-llama-cpp whose bundled release (b8352) still has `--mlock`
 * and not yet `--load-mode`: the boot's choice between release-dependent
 * flags is tested by running both kinds of server.
 */
export const OLDER_NODE_LLAMA_CPP_VERSION = '3.18.0';

/** Root of every cached artefact (sources, builds, models); git-ignored. */
export function cacheRoot(): string {
  return process.env.GRAVITON_LLM_CACHE ?? path.resolve(__dirname, '..', '..', '.cache');
}

export interface LlamaCppSource {
  /** Upstream llama.cpp release tag, e.g. `b6600`: what real deployments pin. */
  readonly tag: string;
  /** Checked-out source tree. */
  readonly dir: string;
}

/** Shape of node-llama-cpp's `llama/llama.cpp.info.json`. */
interface LlamaCppInfo {
  readonly tag: string;
  readonly llamaCppGithubRepo?: string;
}

/**
 * Runs `fn` while holding a cross-process lock (a directory: mkdir is atomic).
 * Jest runs test files in parallel workers, which may all want the same clone
 * or build; the lock makes the second one wait and then find the work done.
 * A lock whose owner process is gone is taken over, so a killed run cannot
 * wedge later ones.
 */
export async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  await fs.mkdir(path.dirname(lockDir), { recursive: true });
  const ownerFile = path.join(lockDir, 'pid');
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(ownerFile, String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (await lockOwnerIsGone(ownerFile)) {
        await fs.rm(lockDir, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

async function lockOwnerIsGone(ownerFile: string): Promise<boolean> {
  let text: string;
  try {
    text = await fs.readFile(ownerFile, 'utf8');
  } catch {
    // The owner may be between mkdir and writing its pid: give it time
    // unless the lock is old enough that it cannot be that.
    try {
      const st = await fs.stat(path.dirname(ownerFile));
      return Date.now() - st.mtimeMs > 30_000;
    } catch {
      return true;
    }
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Downloads (once) and unpacks node-llama-cpp's bundle and release info. */
async function ensurePackage(root: string, version: string): Promise<string> {
  const npmDir = path.join(root, 'npm');
  const unpacked = path.join(npmDir, `node-llama-cpp-${version}`);
  if (existsSync(path.join(unpacked, 'llama', 'llama.cpp.info.json'))) return unpacked;

  await fs.mkdir(npmDir, { recursive: true });
  const tarball = path.join(npmDir, `node-llama-cpp-${version}.tgz`);
  if (!existsSync(tarball)) {
    await run('npm', ['pack', `node-llama-cpp@${version}`, '--pack-destination', npmDir], {
      maxBuffer: 64 * 1024 * 1024,
    });
  }
  // Extract into a scratch dir and rename, so a reader never sees half a tree.
  const scratch = await fs.mkdtemp(path.join(npmDir, 'extract-'));
  await run('tar', [
    '-xzf', tarball, '-C', scratch,
    'package/llama/gitRelease.bundle', 'package/llama/llama.cpp.info.json',
  ]);
  await fs.rename(path.join(scratch, 'package'), unpacked);
  await fs.rm(scratch, { recursive: true, force: true });
  return unpacked;
}

/** Reads the llama.cpp release tag that the pinned node-llama-cpp bundles. */
export async function readReleaseTag(packageDir: string): Promise<string> {
  const info = JSON.parse(
    await fs.readFile(path.join(packageDir, 'llama', 'llama.cpp.info.json'), 'utf8'),
  ) as LlamaCppInfo;
  if (typeof info.tag !== 'string' || !/^[\w.-]+$/.test(info.tag)) {
    throw new Error(`unexpected llama.cpp.info.json: ${JSON.stringify(info)}`);
  }
  return info.tag;
}

/**
 * Ensures `<cache>/llama.cpp/src-<tag>` holds the llama.cpp tree that the
 * given node-llama-cpp version bundles (the pinned one by default) and
 * returns it. Idempotent; safe when several jest workers call it at once.
 */
export async function ensureLlamaCppSource(nodeLlamaCppVersion = NODE_LLAMA_CPP_VERSION): Promise<LlamaCppSource> {
  const root = cacheRoot();
  return withLock(path.join(root, 'locks', 'llama-cpp-source'), async () => {
    const pkg = await ensurePackage(root, nodeLlamaCppVersion);
    const tag = await readReleaseTag(pkg);
    const dir = path.join(root, 'llama.cpp', `src-${tag}`);
    // CMakeLists.txt is the last thing we need and only present after a
    // complete clone (the clone goes to a scratch dir and is renamed).
    if (!existsSync(path.join(dir, 'CMakeLists.txt'))) {
      const started = Date.now();
      await fs.mkdir(path.dirname(dir), { recursive: true });
      const scratch = `${dir}.partial-${process.pid}-${os.hostname()}`;
      await fs.rm(scratch, { recursive: true, force: true });
      await run('git', ['clone', '--quiet', path.join(pkg, 'llama', 'gitRelease.bundle'), scratch], {
        maxBuffer: 64 * 1024 * 1024,
      });
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rename(scratch, dir);
      console.log(`llama.cpp ${tag}: cloned from bundle in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    return { tag, dir };
  });
}
