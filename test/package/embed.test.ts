import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { STACK_ID_TAG } from '../../runtime/api-key/owner-tags';

/**
 * The package as an app gets it: `npm pack` (whose prepack step builds dist/),
 * the tarball installed into a copy of examples/embed, and the example
 * synthesized in a process of its own by the command in its cdk.json (type
 * check, then the app, which attaches cdk-nag's AwsSolutions checks).
 */

const REPO_ROOT = path.join(__dirname, '..', '..');
const EXAMPLE = path.join(REPO_ROOT, 'examples', 'embed');
/** What the CDK CLI adds to the app's context under `cdk synth` (bundling every stack). */
const CLI_CONTEXT = { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:version-reporting': true, 'aws:cdk:bundling-stacks': ['**'] };
/** npm in the child processes makes no network calls. */
const OFFLINE_ENV = { npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
/** Files a package ships outside dist/ (npm adds package.json, README and LICENSE itself). */
const PACKAGE_METADATA = ['LICENSE', 'README.md', 'package.json'];

interface PackageJson {
  readonly name: string;
  readonly main?: string;
  readonly types?: string;
  readonly bin?: string | Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

/** The environment of a command typed in a shell, npm offline: without what `npm test` adds (npm_*), so npm finds the app from its directory. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const shell = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('npm_')));
  return { ...shell, ...OFFLINE_ENV, ...extra };
}

function readJson<T = any>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', env: childEnv(), timeout: 300_000 });
  if (r.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

/** `npm pack --json` into `destination`: the tarball and the files npm put in it. */
function pack(destination: string): { tarball: string; files: string[] } {
  const stdout = run('npm', ['pack', '--json', '--pack-destination', destination], REPO_ROOT);
  // The prepack step may print before the JSON, which starts on a line of its own.
  const [result] = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  return { tarball: path.join(destination, result.filename), files: result.files.map((f) => f.path) };
}

/**
 * What `npm install` leaves in the app, without the network: the tarball
 * unpacked as node_modules/graviton-llm; each package the app's package.json
 * names, and each dependency and peer dependency that the tarball's
 * package.json names (npm 7 and later install peers), linked from this
 * repository's node_modules with its commands in node_modules/.bin; and a
 * lock file, by which NodejsFunction finds the app's root. A dependency the
 * package uses but does not declare is therefore missing here, as it would be
 * in an app.
 */
function install(appDir: string, tarball: string): void {
  const modules = path.join(appDir, 'node_modules');
  const installed = path.join(modules, 'graviton-llm');
  fs.mkdirSync(installed, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], appDir);
  const app = readJson<PackageJson>(path.join(appDir, 'package.json'));
  const library = readJson<PackageJson>(path.join(installed, 'package.json'));
  const names = new Set([app.dependencies, app.devDependencies, library.dependencies, library.peerDependencies].flatMap((deps) => Object.keys(deps ?? {})));
  names.delete(library.name);
  for (const name of names) {
    const source = fs.realpathSync(path.join(REPO_ROOT, 'node_modules', name));
    fs.mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
    fs.symlinkSync(source, path.join(modules, name));
    const bin = readJson<PackageJson>(path.join(source, 'package.json')).bin ?? {};
    for (const [command, file] of Object.entries(typeof bin === 'string' ? { [name.split('/').pop()!]: bin } : bin)) {
      fs.mkdirSync(path.join(modules, '.bin'), { recursive: true });
      fs.symlinkSync(path.join('..', name, file), path.join(modules, '.bin', command));
    }
  }
  fs.writeFileSync(path.join(appDir, 'package-lock.json'), JSON.stringify({ name: app.name, lockfileVersion: 3, requires: true, packages: {} }));
}

/** The app command of the app's cdk.json, run as `cdk synth` runs it: context and output directory in the environment. */
function synth(appDir: string): { status: number | null; output: string; outdir: string } {
  const cdkJson = readJson<{ app: string; context: Record<string, unknown> }>(path.join(appDir, 'cdk.json'));
  const outdir = path.join(appDir, 'cdk.out');
  const env = childEnv({ CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJson.context, ...CLI_CONTEXT }) });
  // No credentials: an environment-agnostic stack, whatever the machine running the tests has.
  delete env.CDK_DEFAULT_ACCOUNT;
  delete env.CDK_DEFAULT_REGION;
  const r = spawnSync(cdkJson.app, { cwd: appDir, shell: true, encoding: 'utf8', env, timeout: 300_000 });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}`, outdir };
}

describe('the packed library, installed into examples/embed and synthesized with cdk-nag', () => {
  let work: string;
  let packed: { tarball: string; files: string[] };
  let appDir: string;
  let synthesized: { status: number | null; output: string; outdir: string };

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'gllm-package-'));
    packed = pack(work);
    appDir = path.join(work, 'embed');
    fs.cpSync(EXAMPLE, appDir, { recursive: true, filter: (src) => !/(^|[\\/])(node_modules|cdk\.out)$/.test(src) });
    install(appDir, packed.tarball);
    synthesized = synth(appDir);
  }, 600_000);

  afterAll(() => {
    if (work) {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  test('the tarball holds the compiled library with its declarations, the boot program\'s bundle and trampoline, and the Lambda handlers, and nothing else', () => {
    const library = readJson<PackageJson>(path.join(appDir, 'node_modules', 'graviton-llm', 'package.json'));
    expect(packed.files).toEqual(expect.arrayContaining([
      library.main, library.types, 'dist/lib/boot/boot-program.bundle.js', 'dist/lib/boot/trampoline.sh', 'dist/runtime/api-key/handler.js', 'dist/runtime/canary/handler.js', ...PACKAGE_METADATA,
    ]));
    const shipped = /^dist\/(lib\/.+\.(js|d\.ts)|lib\/boot\/trampoline\.sh|runtime\/.+\.js)$/;
    expect(packed.files.filter((f) => !shipped.test(f) && !PACKAGE_METADATA.includes(f))).toEqual([]);
    // Not the app (its configuration adapter, config files, bin) and nothing of the tests, tools or caches.
    expect(packed.files.filter((f) => /(^|\/)(test|tools|config|app|bin|examples|\.cache)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
    // The app's aws-cdk-lib and constructs, never a copy of the package's own; esbuild bundles the handlers.
    expect(Object.keys(library.peerDependencies ?? {}).sort()).toEqual(['aws-cdk-lib', 'constructs', 'esbuild']);
    expect(Object.keys(library.dependencies ?? {})).toEqual(['@aws-sdk/client-ssm']);
  });

  test('the installed library finds its prebuilt boot program bundle (the fleet\'s asset), which Node runs alone', () => {
    const installed = path.join(appDir, 'node_modules', 'graviton-llm', 'dist', 'lib', 'boot');
    const found = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(path.join(installed, 'boot-bundle-file.js'))}).bootBundleFile())`], { cwd: appDir, encoding: 'utf8' });
    expect({ status: found.status, stdout: found.stdout }).toEqual({ status: 0, stdout: path.join(installed, 'boot-program.bundle.js') });
    const help = spawnSync(process.execPath, [found.stdout, '--help'], { cwd: os.tmpdir(), encoding: 'utf8' });
    expect({ status: help.status, stdout: help.stdout.trim() }).toEqual({ status: 0, stdout: 'usage: boot ENV_FILE' });
  });

  test('each Lambda handler a shipped construct bundles is shipped', () => {
    const installed = path.join(appDir, 'node_modules', 'graviton-llm');
    const handlers = new Set(packed.files.filter((f) => f.endsWith('.js'))
      .flatMap((f) => [...fs.readFileSync(path.join(installed, f), 'utf8').matchAll(/handlerEntry\)\(['"]([\w-]+)['"]\)/g)].map((m) => m[1])));
    expect([...handlers].sort()).toEqual(['api-key', 'canary']);
    for (const name of handlers) {
      expect(packed.files).toContain(`dist/runtime/${name}/handler.js`);
    }
  });

  test('the example depends on the tarball npm pack writes at the repository root', () => {
    const example = readJson<PackageJson>(path.join(EXAMPLE, 'package.json'));
    expect(example.dependencies?.['graviton-llm']).toBe(`file:../../${path.basename(packed.tarball)}`);
  });

  test('the example type-checks against the shipped declarations and synthesizes, passing cdk-nag', () => {
    expect({ status: synthesized.status, output: synthesized.output }).toMatchObject({ status: 0 });
  });

  test('cdk-nag runs in that synth: the app\'s function without its acknowledgements fails it', () => {
    // A copy of the app whose stack drops the two acknowledgements of its function's managed policies.
    const bare = path.join(work, 'embed-unacknowledged');
    fs.cpSync(appDir, bare, { recursive: true, verbatimSymlinks: true, filter: (src) => !/(^|[\\/])cdk\.out$/.test(src) });
    const stackFile = path.join(bare, 'lib', 'embed-stack.ts');
    const stack = fs.readFileSync(stackFile, 'utf8').split('\n');
    fs.writeFileSync(stackFile, stack.filter((l) => !l.includes('Validations.of(summarize).acknowledge')).join('\n'));
    expect(stack.length - fs.readFileSync(stackFile, 'utf8').split('\n').length).toBe(2);
    const r = synth(bare);
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]');
    expect(r.output).toContain('AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]');
  }, 600_000);

  test('the template holds the endpoint, and the app\'s function admitted to its load balancer and granted its key', () => {
    const t = Template.fromJSON(readJson(path.join(synthesized.outdir, 'Embed.template.json')));
    t.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 1);
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    t.resourceCountIs('Custom::GravitonLlmApiKey', 1);
    t.resourceCountIs('AWS::Events::Rule', 1); // the canary's schedule

    const functions = Object.entries(t.findResources('AWS::Lambda::Function')).filter(([, f]) => f.Properties.Environment?.Variables?.LLM_URL !== undefined);
    expect(functions).toHaveLength(1);
    const [, summarize] = functions[0];
    const role = summarize.Properties.Role['Fn::GetAtt'][0];
    const grants = Object.values(t.findResources('AWS::IAM::Policy'))
      .filter((p) => p.Properties.Roles.some((r: { Ref?: string }) => r.Ref === role))
      .flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(grants).toEqual([expect.objectContaining({ Action: 'ssm:GetParameter', Effect: 'Allow' })]);
    expect(JSON.stringify(grants[0].Resource)).toContain(':parameter/graviton-llm/Embed/api-key');

    const group = summarize.Properties.VpcConfig.SecurityGroupIds[0]['Fn::GetAtt'][0];
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      SourceSecurityGroupId: { 'Fn::GetAtt': [group, 'GroupId'] },
      FromPort: 80,
      ToPort: 80,
      Description: 'the summarize function',
    });
  });

  test('the assets are in the assembly: the boot program\'s bundle as the kit ships it, the handlers bundled from the package', () => {
    const manifest = readJson<{ files: Record<string, { source: { path: string; packaging: string } }> }>(path.join(synthesized.outdir, 'Embed.assets.json'));
    const sources = Object.values(manifest.files).map((f) => path.join(synthesized.outdir, f.source.path));
    for (const source of sources) {
      expect(fs.existsSync(source)).toBe(true);
    }
    const bundle = fs.readFileSync(path.join(appDir, 'node_modules', 'graviton-llm', 'dist', 'lib', 'boot', 'boot-program.bundle.js'));
    expect(sources.filter((s) => s.endsWith('.js') && fs.readFileSync(s).equals(bundle))).toHaveLength(1);
    // The API key handler, bundled by esbuild from dist/runtime with its tag names and the SDK client it imports.
    const bundles = sources.filter((s) => fs.existsSync(path.join(s, 'index.js'))).map((s) => fs.readFileSync(path.join(s, 'index.js'), 'utf8'));
    expect(bundles.filter((b) => b.includes(STACK_ID_TAG) && b.includes('PutParameterCommand'))).toHaveLength(1);
  });
});
