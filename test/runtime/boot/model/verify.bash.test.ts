/**
 * Side by side: boot.sh's verify_model, ensure_model's check of a cached
 * copy, the stamps ensure_model and fetch_quantized_from_cache write,
 * stamp_ok, has_cached_sha256 and the SHA-256 cache_read_version reads back,
 * against runtime/boot/model/verify.ts on the same inputs. The file's size
 * and SHA-256 are stood in for by functions defined after boot.sh is
 * sourced (no real file is hashed); the AWS CLI by a script that prints the
 * version's metadata as the CLI does.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { type BootEnvironment } from '../../../../runtime/boot/contract';
import {
  cachedDigestProblem, modelDigestProblem, modelSizeProblem, modelStamp, modelVerifiedLine, recordedSha256FromFile, recordedSha256FromS3, stampHolds,
} from '../../../../runtime/boot/model/verify';
import { inBootShell, wordsAfterMarker } from '../support/boot-shell';
import { AWS_ENV, LOCAL_ENV, envText } from '../support/environments';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gllm-model-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let rows = 0;
const rowDir = () => {
  const t = path.join(dir, `row-${rows++}`);
  mkdirSync(path.join(t, 'bin'), { recursive: true });
  return t;
};
function envFile(t: string, env: BootEnvironment): string {
  writeFileSync(path.join(t, 'boot.env'), envText(env));
  return path.join(t, 'boot.env');
}
/** The log lines of a run (before the marker), without their time and step. */
const logLines = (stdout: string) => stdout.slice(0, stdout.indexOf('--\0')).split('\n').filter(Boolean).map((l) => l.replace(/^\S+ \[init\] /, ''));

const SHA = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
/** Stands in for what boot.sh asks of the file: its size ($SIZE) and SHA-256 ($SHA; TIMEOUT: hashing ran out of time). */
const FILE_STAND_INS = 'file_size() { echo "$SIZE"; }; sha256_of() { [[ $SHA != TIMEOUT ]] || return 124; echo "$SHA"; }';

interface Row {
  readonly expectedSize: number;
  readonly expectedSha: string;
  readonly size: number;
  /** null: hashing did not finish in time. */
  readonly sha: string | null;
}
const ROWS: readonly Row[] = [
  { expectedSize: 1234, expectedSha: SHA, size: 1234, sha: SHA },
  { expectedSize: 1234, expectedSha: SHA, size: 1233, sha: SHA },
  { expectedSize: 1234, expectedSha: SHA, size: 1235, sha: OTHER },
  // Checked on its own: a file too long whose hash (impossibly) matches.
  { expectedSize: 1234, expectedSha: SHA, size: 1235, sha: SHA },
  { expectedSize: 1234, expectedSha: SHA, size: 0, sha: SHA },
  { expectedSize: 1234, expectedSha: SHA, size: 1234, sha: OTHER },
  { expectedSize: 1234, expectedSha: SHA, size: 1234, sha: SHA.toUpperCase() },
  { expectedSize: 1234, expectedSha: SHA, size: 1234, sha: null },
  { expectedSize: 75 * 1024 ** 3, expectedSha: OTHER, size: 75 * 1024 ** 3, sha: OTHER },
  { expectedSize: 75 * 1024 ** 3, expectedSha: OTHER, size: 75 * 1024 ** 3 - 1, sha: OTHER },
];
const rowName = (row: Row) => `expected ${row.expectedSize} bytes, got ${row.size}; SHA-256 ${row.sha === null ? 'did not finish' : row.sha === row.expectedSha ? 'matches' : 'differs'}`;
const rowEnv = (row: Row): BootEnvironment => ({ ...AWS_ENV, GLLM_MODEL_SIZE_BYTES: String(row.expectedSize), GLLM_MODEL_SHA256: row.expectedSha, GLLM_BOOT_DEADLINE_SECONDS: '2400' });

function bashVerify(t: string, env: BootEnvironment, size: number | string, sha: string | null) {
  writeFileSync(path.join(t, 'model.partial'), 'model');
  const r = inBootShell(
    `parse_env "$1"; T=$2 SIZE=$3 SHA=$4; ${FILE_STAND_INS}; if ( verify_model "$T/model.partial" https://example.com/model.gguf ); then r=ok; else r=failed; fi; printf -- "--\\0%s\\0" "$r"`,
    [envFile(t, env), t, String(size), sha ?? 'TIMEOUT'],
  );
  return { result: wordsAfterMarker(r.stdout)[0], lines: logLines(r.stdout), kept: existsSync(path.join(t, 'model.partial')), stderr: r.stderr };
}

describe('verify_model and the port decide alike: the failure reason, or the verified line', () => {
  test.each(ROWS.map((row) => [rowName(row), row] as const))('%s', (_name, row) => {
    const t = rowDir();
    const bash = bashVerify(t, rowEnv(row), row.size, row.sha);
    expect(bash.stderr).toBe('');
    const origin = 'https://example.com/model.gguf';
    const problem = modelSizeProblem(origin, row.expectedSize, row.size) ?? modelDigestProblem(origin, row.expectedSha, row.sha, 2400);
    expect(problem === undefined ? { result: 'ok', lines: [modelVerifiedLine(row.size, row.sha!)] } : { result: 'failed', lines: [`ERROR: ${problem}`] })
      .toEqual({ result: bash.result, lines: bash.lines });
    // A file that is not the model is deleted, never moved into place (a hash that ran out of time fails the boot as it is).
    expect(bash.kept).toBe(problem === undefined || row.sha === null);
  });
});

describe('ensure_model takes a cached source model only where the port verifies it, and stamps it as the port does', () => {
  test.each(ROWS.map((row) => [rowName(row), row] as const))('%s', (_name, row) => {
    const t = rowDir();
    mkdirSync(path.join(t, 'models'));
    const r = inBootShell(
      `parse_env "$1"; T=$2 SIZE=$3 SHA=$4; ${FILE_STAND_INS}; MODEL_DIR=$T/models; `
        + 'cache_get() { printf model >"$2"; }; download_model() { printf -- "--\\0downloads\\0"; exit 0; }; cache_put() { :; }; '
        + 'ensure_model; printf -- "--\\0takes\\0%s\\0" "$(<"$MODEL_DIR/${CFG[GLLM_MODEL_FILE]}.verified")"',
      [envFile(t, rowEnv(row)), t, String(row.size), row.sha ?? 'TIMEOUT'],
    );
    const verified = (modelSizeProblem('cache', row.expectedSize, row.size) ?? modelDigestProblem('cache', row.expectedSha, row.sha, 2400)) === undefined;
    expect(wordsAfterMarker(r.stdout)).toEqual(verified
      ? ['takes', modelStamp({ modelSha256: row.expectedSha, modelSizeBytes: row.expectedSize, quantizeTo: '' })]
      : ['downloads']);
  });

  test.each(['Q4_0', 'Q8_0', 'Q4_K_M'])('fetch_quantized_from_cache stamps a model quantized to %s as the port does', (type) => {
    const t = rowDir();
    mkdirSync(path.join(t, 'models'));
    const env = { ...AWS_ENV, GLLM_QUANTIZE_TO: type, GLLM_MODEL_SHA256: OTHER };
    const r = inBootShell(
      'parse_env "$1"; MODEL_DIR=$2/models; MODEL_PATH=$MODEL_DIR/${CFG[GLLM_MODEL_FILE]}; cache_first_good() { printf q >"$3"; }; '
        + 'fetch_quantized_from_cache; printf -- "--\\0%s\\0" "$(<"$MODEL_PATH.verified")"',
      [envFile(t, env), t],
    );
    expect(wordsAfterMarker(r.stdout)).toEqual([modelStamp({ modelSha256: OTHER, modelSizeBytes: Number(env.GLLM_MODEL_SIZE_BYTES), quantizeTo: type })]);
  });
});

describe('stamp_ok and stampHolds reuse alike', () => {
  const WANT = `${SHA} 1234`;
  const STAMPS: readonly (readonly [string, boolean, string | undefined])[] = [
    ['the stamp as written', true, `${WANT}\n`],
    ['no newline', true, WANT],
    ['two newlines', true, `${WANT}\n\n`],
    ['no model beside it', false, `${WANT}\n`],
    ['no stamp', true, undefined],
    ['an empty stamp', true, ''],
    ['another size', true, `${SHA} 1235\n`],
    ['a trailing blank', true, `${WANT} \n`],
    ['a leading blank', true, ` ${WANT}\n`],
    ['a carriage return', true, `${WANT}\r\n`],
    ['a newline inside', true, `${SHA}\n1234\n`],
    ['a quantized model\'s stamp', true, `quantized ${SHA} Q4_0\n`],
  ];
  test.each(STAMPS.map(([name, model, stamp]) => [name, model, stamp]))('%s', (_name, model, stamp) => {
    const t = rowDir();
    if (model) writeFileSync(path.join(t, 'model.gguf'), 'model');
    if (stamp !== undefined) writeFileSync(path.join(t, 'model.gguf.verified'), stamp);
    const r = inBootShell('if stamp_ok "$1/model.gguf" "$2"; then echo REUSED; else echo VERIFIED-AGAIN; fi', [t, WANT]);
    expect(stampHolds(model, stamp, WANT) ? 'REUSED\n' : 'VERIFIED-AGAIN\n').toBe(r.stdout);
  });
});

describe('has_cached_sha256 and cachedDigestProblem refuse alike', () => {
  const CASES: readonly (readonly [string, string, string | null])[] = [
    ['the recorded SHA-256', SHA, SHA],
    ['another', SHA, OTHER],
    ['none recorded', '', SHA],
    ['hashing out of time', SHA, null],
    ['none recorded, hashing out of time', '', null],
  ];
  test.each(CASES.map(([name, recorded, sha]) => [name, recorded, sha]))('%s', (_name, recorded, sha) => {
    const r = inBootShell(
      `CACHE_READ_SHA256=$1 SHA=$2; ${FILE_STAND_INS}; if problem=$(has_cached_sha256 /m.gguf); then problem=ok; fi; printf -- "--\\0%s\\0" "$problem"`,
      [recorded, sha ?? 'TIMEOUT'],
    );
    expect(cachedDigestProblem(recorded, sha) ?? 'ok').toBe(wordsAfterMarker(r.stdout)[0]);
  });
});

describe('cache_read_version and the port read the recorded SHA-256 alike', () => {
  const METADATA: readonly (readonly [string, string])[] = [
    ['as cache_put records it', `${SHA}\n`],
    ['none (the CLI prints None)', 'None\n'],
    ['blanks around and inside', ` ${SHA.slice(0, 40)}\t${SHA.slice(40)} \r\n`],
    ['upper case', `${SHA.toUpperCase()}\n`],
    ['one digit short', `${SHA.slice(1)}\n`],
    ['one digit over', `${SHA}0\n`],
    ['not hex', `${'g'.repeat(64)}\n`],
    ['empty', ''],
  ];
  test.each(METADATA.map(([name, text]) => [name, text]))('S3 metadata: %s', (_name, text) => {
    const t = rowDir();
    writeFileSync(path.join(t, 'metadata'), text);
    // As the CLI: the body to the last argument, the --query'd metadata to stdout.
    writeFileSync(path.join(t, 'bin', 'aws'), `#!/bin/sh\nfor a in "$@"; do last=$a; done\nprintf body >"$last"\ncat "${t}/metadata"\n`, { mode: 0o755 });
    const r = inBootShell(
      'parse_env "$1"; T=$2; PATH=$T/bin:$PATH; LOG_FILE=$T/boot.log; cache_read_version quantized/q.gguf v1 "$T/got"; printf -- "--\\0%s\\0" "$CACHE_READ_SHA256"',
      [envFile(t, { ...AWS_ENV, GLLM_CACHE_URI: 's3://bucket/cache' }), t],
    );
    expect(r.stderr).toBe('');
    expect(readFileSync(path.join(t, 'got'), 'utf8')).toBe('body');
    expect(recordedSha256FromS3(text)).toBe(wordsAfterMarker(r.stdout)[0]);
  });

  test.each([...METADATA.map(([name, text]) => [name, text] as const), ['no .sha256 file', undefined] as const])('a local .sha256 file: %s', (_name, text) => {
    const t = rowDir();
    mkdirSync(path.join(t, 'cache', 'quantized'), { recursive: true });
    writeFileSync(path.join(t, 'cache', 'quantized', 'q.gguf'), 'body');
    if (text !== undefined) writeFileSync(path.join(t, 'cache', 'quantized', 'q.gguf.sha256'), text);
    const r = inBootShell(
      'parse_env "$1"; T=$2; cache_read_version quantized/q.gguf local "$T/got"; printf -- "--\\0%s\\0" "$CACHE_READ_SHA256"',
      [envFile(t, { ...LOCAL_ENV, GLLM_CACHE_URI: path.join(t, 'cache') }), t],
    );
    expect(recordedSha256FromFile(text)).toBe(wordsAfterMarker(r.stdout)[0]);
  });
});
