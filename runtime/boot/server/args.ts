/**
 * llama-server's argument vector: the one definition of the kit's server
 * settings. The boot serves with it; everything else that serves "with the
 * kit's settings" (the local comparison bench, the test servers) takes it
 * from here instead of keeping a list that could drift from it.
 *
 * Pure: what the boot asks the machine and the built server (the CPU count,
 * the memory lock limit, the flags the server parses) comes in as inputs.
 */

import { type BootMode } from '../contract';

export interface ServerArgsInput {
  /** The GGUF file to serve (--model). */
  readonly modelPath: string;
  /** The file holding the API key (--api-key-file); a systemd specifier in the unit. */
  readonly keyFile: string;
  /** Listen address (--host); see listenHost. */
  readonly host: string;
  /** GLLM_PORT. */
  readonly port: number;
  /** GLLM_PARALLEL_SLOTS (--parallel). */
  readonly parallelSlots: number;
  /** GLLM_CONTEXT_PER_SLOT: --ctx-size is this times the slots. */
  readonly contextPerSlot: number;
  /** GLLM_PROMPT_CACHE_MIB (--cache-ram); 0 turns the cache off. */
  readonly promptCacheMiB: number;
  /** The machine's CPUs (`nproc`): every one generates. */
  readonly threads: number;
  /** What chooseLockArgs chose for this build; none for a benchmark or test server. */
  readonly lockArgs: readonly string[];
}

/** The server's argument vector, in a fixed order: it is part of the unit's text (unit.ts). */
export function serverArgs(input: ServerArgsInput): string[] {
  const slots = input.parallelSlots;
  return [
    '--model', input.modelPath,
    '--host', input.host, '--port', String(input.port),
    '--api-key-file', input.keyFile,
    '--metrics',
    '--parallel', String(slots),
    '--ctx-size', String(slots * input.contextPerSlot),
    '--threads', String(input.threads),
    '--threads-http', String(httpThreads(slots)),
    '--cont-batching',
    ...promptReuseArgs(input.promptCacheMiB),
    '--no-webui',
    // /slots shows what every slot is working on, other clients' prompts included.
    '--no-slots',
    ...input.lockArgs,
  ];
}

/**
 * Settings that let a prompt reuse the prefill of an earlier one (a chat
 * application's system prompt, repeated with every request), read from
 * llama-server v0.5.0 (tools/server/server-context.cpp):
 * - --cache-ram: the RAM prompt cache, in MiB. A slot's KV state is saved
 *   there when the slot is handed to an unrelated prompt and, by default
 *   (--cache-idle-slots), whenever a new task starts while the slot is idle;
 *   a slot given a new prompt loads the cached state that shares the longest
 *   prefix with it. That is what lets a slot that never saw the system prompt
 *   start from it. The default, 8192 MiB, is more than a small instance has
 *   left once the model and KV cache are in: the kit passes what its memory
 *   fit check leaves (lib/sizing/memory-fit.ts promptCacheMiB), 0 for none.
 * - --slot-prompt-similarity: a request goes to the idle slot whose prompt
 *   shares the largest fraction of its own (else to the least recently used
 *   one). A repeated 1,000-token prefix followed by a short question is ~0.9
 *   similar, so the release's 0.10 already sends it to a slot holding the
 *   prefix; it is set here so that an upgrade that changes the default does
 *   not silently change routing.
 * - --cache-reuse stays off: it reuses chunks of an earlier prompt found
 *   after a point of difference, by shifting the KV cache. A shared prefix
 *   needs no shift (the common prefix is always reused), and shifting costs
 *   a pass over the cache on every request that misses.
 */
export function promptReuseArgs(promptCacheMiB: number): string[] {
  return ['--cache-ram', String(promptCacheMiB), '--slot-prompt-similarity', '0.10'];
}

/**
 * llama-server serves each connection on one HTTP thread, from its first
 * request to its close: a stream holds it for the whole generation, a queued
 * request while it waits for a slot, an idle keep-alive connection of the
 * load balancer until either side closes. The pool has this many fixed
 * threads and makes more on demand, but only when no thread is idle at the
 * moment a connection arrives: in a burst, several connections can be queued
 * behind one idle thread and wait for a stream to end, /health among them
 * (measured: 16 streams on 4 slots admitted 8 at a time under CPU load, and
 * /health missed the load balancer's 5 s timeout). Enough fixed threads for
 * four connections per slot, plus the health checks of every load balancer
 * node, the metrics scrape and the canary, keep an idle thread for every
 * arrival at the loads a fleet sees before it scales out.
 */
export function httpThreads(parallelSlots: number): number {
  return 4 * parallelSlots + 8;
}

/**
 * A developer machine serves itself only; the instance's 0.0.0.0 is behind a
 * security group that admits the load balancer alone.
 */
export function listenHost(mode: BootMode): string {
  return mode === 'aws' ? '0.0.0.0' : '127.0.0.1';
}

/**
 * The switches that lock the model in RAM, newest first. Locking keeps the
 * kernel from paging the model out under memory pressure (a page fault
 * mid-generation costs a disk read per weight page). llama.cpp renamed the
 * switch: `--mlock` in older releases, `--load-mode mmap+mlock` in v0.5.0,
 * which rejects `--mlock` outright; the boot asks the built server which one
 * it parses (`--version` exits once every earlier argument is parsed).
 */
export const LOCK_CANDIDATES = [['--load-mode', 'mmap+mlock'], ['--mlock']] as const;

export type LockCandidate = (typeof LOCK_CANDIDATES)[number];

export interface LockChoiceInput {
  /**
   * Whether the model may be locked: always on an instance (the unit sets
   * LimitMEMLOCK=infinity); locally where RLIMIT_MEMLOCK covers it (memlockCovers).
   */
  readonly lockAllowed: boolean;
  /** The LOCK_CANDIDATES the built server accepted. */
  readonly accepted: readonly LockCandidate[];
}

/** Why the lock is what it is, for the boot's log. */
export type LockChoice =
  | { readonly args: readonly string[]; readonly reason: 'accepted' }
  | { readonly args: readonly []; readonly reason: 'not-allowed' | 'none-accepted' };

/** The lock switch, the questions about the server answered: the newest switch it accepts, where locking is allowed. */
export function chooseLockArgs(input: LockChoiceInput): LockChoice {
  if (!input.lockAllowed) return { args: [], reason: 'not-allowed' };
  const chosen = LOCK_CANDIDATES.find((candidate) => input.accepted.some((a) => a.join(' ') === candidate.join(' ')));
  return chosen ? { args: [...chosen], reason: 'accepted' } : { args: [], reason: 'none-accepted' };
}

/** Room the lock needs beyond the model's bytes. */
const LOCK_HEADROOM_BYTES = 64 * 1024 * 1024;

/** Whether RLIMIT_MEMLOCK (`ulimit -l`: KiB, or unlimited) lets the server lock all of a model of `modelBytes`. */
export function memlockCovers(limitKiB: number | 'unlimited', modelBytes: number): boolean {
  return limitKiB === 'unlimited' || limitKiB * 1024 >= modelBytes + LOCK_HEADROOM_BYTES;
}

/** Flags whose value says where the server is, not how it serves: a harness sets its own. */
export const ENDPOINT_FLAGS = ['--model', '--host', '--port', '--api-key-file'] as const;

/** The vector without the endpoint flags and their values: the kit's serving settings alone. */
export function servingSettings(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if ((ENDPOINT_FLAGS as readonly string[]).includes(args[i])) {
      i++;
      continue;
    }
    out.push(args[i]);
  }
  return out;
}
