/**
 * The instance box's wait conditions, which moto lacks: the template
 * resolver's handle URL and wait condition Data on a hand-written template
 * fragment (shaped as the trusted builder's, docs/design/trusted-builder.md),
 * and box_aws.py's handle server answering PUTs as S3 answers a presigned
 * URL, the boot program's own reporter among them. The builder and fleet
 * boxes that rely on these are in instance-box-builder.test.ts.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { type Pins, parsePins, pinsData } from '../../runtime/boot/pins';
import { BoxAws, boxUnavailableReason } from '../support/instance-box/box';
import { handleArn, type ResolveContext, resolveToString, resolveUserData } from '../support/instance-box/stack-instance';
import { handleUrl, type HandlePut } from '../support/instance-box/wait-condition';
import { REPO_ROOT } from '../support/synth';

const REGION = 'eu-west-1';
const STACK = 'BoxStack';
const HANDLE = 'Handle0a1b2c3d';
const DONE = 'Done0a1b2c3d';

/** The builder's three resources as the brief's template shape has them (properties the resolver does not read left out). */
const template = {
  Resources: {
    [HANDLE]: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
    [DONE]: { Type: 'AWS::CloudFormation::WaitCondition', Properties: { Handle: { Ref: HANDLE }, Count: 1, Timeout: '3600' }, DependsOn: ['Instance0a1b2c3d'] },
    Instance0a1b2c3d: { Type: 'AWS::EC2::Instance', Properties: { InstanceType: 'c7g.xlarge' } },
    Other: { Type: 'AWS::CloudFormation::WaitConditionHandle' },
  },
};

const report: Pins = {
  version: 1,
  buildKey: '0123456789abcdef0123456789abcdef',
  build: { object: 'builds/0123456789abcdef0123456789abcdef.tar.gz', versionId: 'v.build-1', sha256: 'a'.repeat(64) },
  model: { object: `models/${'b'.repeat(64)}.gguf`, versionId: 'v.model-1', sha256: 'b'.repeat(64) },
};

const signal = (fields: Partial<Record<'Status' | 'Reason' | 'UniqueId' | 'Data', string>>) =>
  JSON.stringify({ Status: 'SUCCESS', Reason: 'build and model published', UniqueId: 'i-builder', Data: pinsData(report), ...fields });

function ctx(handlePuts?: HandlePut[], t: any = template): ResolveContext {
  return { template: t, region: REGION, stackName: STACK, nowMs: Date.parse('2026-12-07T12:00:00Z'), ...(handlePuts ? { handlePuts } : {}) };
}

const put = (body: string, handle = HANDLE): HandlePut => ({ handle: handleArn(REGION, STACK, handle), body });
/** The fleet's pins line, as the template writes it: the Data under its builder's generation. */
const pinsLine = { 'Fn::Join': ['', ["echo '", { 'Fn::Base64': { 'Fn::Join': ['', ['{"graviton3":', { 'Fn::GetAtt': [DONE, 'Data'] }, '}']] } }, "' | base64 -d > /etc/graviton-llm/pins.json"]] };
/** The pins file of one generation holding this Data. */
const pinsFileOf = (data: string) => `{"graviton3":${data}}`;

describe('the resolver: wait condition handles and Data', () => {
  test('a handle\'s Ref is a presigned URL with `&` in its query, whose path is the handle\'s ARN', () => {
    const url = resolveToString({ Ref: HANDLE }, ctx());
    expect(url).toContain('&');
    const parsed = new URL(url);
    expect(decodeURIComponent(parsed.pathname.slice(1))).toBe(`arn:aws:cloudformation:${REGION}:123456789012:stack/${STACK}/${handleArn(REGION, STACK, HANDLE).split('/')[2]}/${HANDLE}`);
    expect([...parsed.searchParams.keys()]).toEqual(['Expires', 'AWSAccessKeyId', 'Signature']);
    // Two Refs of one handle in one resolution are one URL; another handle's is another.
    expect(resolveToString({ Ref: HANDLE }, ctx())).toBe(url);
    expect(resolveToString({ Ref: 'Other' }, ctx())).not.toBe(url);
  });

  test('Fn::GetAtt Data is the signals as CloudFormation gives them ({UniqueId: Data}), which the fleet\'s pins parser takes', () => {
    const data = resolveToString({ 'Fn::GetAtt': [DONE, 'Data'] }, ctx([put(signal({}))]));
    expect(JSON.parse(data)).toEqual({ 'i-builder': pinsData(report) });
    expect(parsePins('/etc/graviton-llm/pins.json', pinsFileOf(data))).toEqual({ ok: true, pins: new Map([[3, report]]) });
    // The string form of Fn::GetAtt means the same.
    expect(resolveToString({ 'Fn::GetAtt': `${DONE}.Data` }, ctx([put(signal({}))]))).toBe(data);
  });

  test('a nested Fn::Base64 encodes (the pins line decodes to the Data); the UserData\'s own is what EC2 decodes', () => {
    const line = resolveToString(pinsLine, ctx([put(signal({}))]));
    const encoded = /^echo '([A-Za-z0-9+/=]+)' \| base64 -d > \/etc\/graviton-llm\/pins\.json$/.exec(line)![1];
    expect(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'))).toEqual({ graviton3: { 'i-builder': pinsData(report) } });
    expect(resolveUserData({ 'Fn::Base64': { 'Fn::Join': ['', ['#!/bin/bash\n', pinsLine]] } }, ctx([put(signal({}))]))).toBe(`#!/bin/bash\n${line}`);
    expect(() => resolveUserData({ 'Fn::Join': ['', ['#!/bin/bash\n']] }, ctx())).toThrow('not Fn::Base64 of the script');
  });

  test('signals to other handles, and retransmissions of one UniqueId, are not counted', () => {
    const count2 = { Resources: { ...template.Resources, [DONE]: { ...template.Resources[DONE], Properties: { Handle: { Ref: HANDLE }, Count: 2 } } } };
    const puts = [put(signal({ UniqueId: 'i-other' }), 'Other'), put(signal({})), put(signal({ Data: 'again' }))];
    expect(() => resolveToString({ 'Fn::GetAtt': [DONE, 'Data'] }, ctx(puts, count2))).toThrow(`wait condition ${DONE} has 1 of its 2 signals`);
    expect(JSON.parse(resolveToString({ 'Fn::GetAtt': [DONE, 'Data'] }, ctx([...puts, put(signal({ UniqueId: 'i-2', Data: 'two' }))], count2))))
      .toEqual({ 'i-builder': pinsData(report), 'i-2': 'two' });
  });

  test('strict: no signals yet, a FAILURE, a body that is no signal, another attribute or a handle that is no Ref all fail, saying which', () => {
    const data = { 'Fn::GetAtt': [DONE, 'Data'] };
    expect(() => resolveToString(data, ctx())).toThrow(`the user data reads wait condition ${DONE}'s Data`);
    expect(() => resolveToString(data, ctx([]))).toThrow(`wait condition ${DONE} has 0 of its 1 signals`);
    expect(() => resolveToString(data, ctx([put(signal({ Status: 'FAILURE', Reason: 'build: cmake failed', Data: '' }))]))).toThrow(`wait condition ${DONE} failed: the signal of i-builder says "build: cmake failed"`);
    expect(() => resolveToString(data, ctx([put('{"Status":"SUCCESS"}')]))).toThrow('is not a signal');
    expect(() => resolveToString(data, ctx([put('not json')]))).toThrow('is not JSON');
    expect(() => resolveToString({ 'Fn::GetAtt': [DONE, 'Arn'] }, ctx([]))).toThrow(`cannot resolve Fn::GetAtt ${DONE}.Arn`);
    expect(() => resolveToString({ 'Fn::GetAtt': ['Instance0a1b2c3d', 'PrivateIp'] }, ctx([]))).toThrow('(AWS::EC2::Instance)');
    const noRef = { Resources: { ...template.Resources, [DONE]: { Type: 'AWS::CloudFormation::WaitCondition', Properties: { Handle: 'https://x', Count: 1 } } } };
    expect(() => resolveToString(data, ctx([], noRef))).toThrow('not a Ref to a WaitConditionHandle');
    expect(() => resolveToString({ Ref: 'Instance0a1b2c3d' }, ctx())).toThrow('does not know what Ref returns for AWS::EC2::Instance');
  });
});

const unavailable = boxUnavailableReason();
if (unavailable) {
  test('the box\'s wait condition handles', () => {
    console.log(`instance box wait condition handles skipped: ${unavailable}`);
    expect(process.env.CI ? unavailable : undefined).toBeUndefined();
  });
} else {
  describe('the box\'s wait condition handles (box_aws.py), as S3 answers a presigned PUT', () => {
    let aws: BoxAws;
    const url = handleUrl(handleArn(REGION, STACK, HANDLE));

    beforeAll(async () => {
      aws = await BoxAws.create('wc');
      // observe() reads the stack's spec: a bare one, nothing launched.
      await aws.launchInstance({
        region: REGION, architecture: 'x86_64', metricNamespace: 'Box', buckets: [], versionedBuckets: [], objects: [], parameters: [],
        launch: { kind: 'instance', instanceType: 'c7g.xlarge' }, group: { name: 'box-group', instanceType: 'c7g.xlarge', creationSignals: 0, hooks: [] },
      });
    }, 120_000);

    afterAll(() => aws?.destroySync());

    test('a PUT without Content-Type, as the documented curl sends it, is taken (200, no body) and recorded', async () => {
      const body = signal({ UniqueId: 'i-curl' });
      expect(await aws.http(url, { method: 'PUT', body, contentType: '' })).toEqual({ status: 200, body: '' });
      expect((await aws.observe()).handlePuts).toEqual([{ handle: handleArn(REGION, STACK, HANDLE), body }]);
    });

    test('refused as S3 refuses them: a Content-Type (signed as empty), another path, an altered or expired signature, a GET', async () => {
      const before = (await aws.observe()).handlePuts.length;
      const code = (r: { status: number; body: string }) => `${r.status} ${/<Code>([^<]+)<\/Code>/.exec(r.body)?.[1]}`;
      expect(code(await aws.http(url, { method: 'PUT', body: signal({}) }))).toBe('403 SignatureDoesNotMatch');
      expect(code(await aws.http(url.replace(HANDLE, 'Other'), { method: 'PUT', body: signal({}), contentType: '' }))).toBe('403 SignatureDoesNotMatch');
      expect(code(await aws.http(url.replace(/Signature=[^&]*/, 'Signature=AAAAAAAAAAAAAAAAAAAAAAAAAAA%3D'), { method: 'PUT', body: signal({}), contentType: '' }))).toBe('403 SignatureDoesNotMatch');
      const expired = handleUrl(handleArn(REGION, STACK, HANDLE), Date.now() - 2 * 24 * 3600 * 1000);
      expect(code(await aws.http(expired, { method: 'PUT', body: signal({}), contentType: '' }))).toBe('403 AccessDenied');
      expect(code(await aws.http(url))).toBe('403 SignatureDoesNotMatch');
      const observed = await aws.observe();
      expect(observed.handlePuts).toHaveLength(before);
      expect(observed.events.filter((e) => e.api === 'WaitConditionSignal' && e.error).map((e) => e.error))
        .toEqual(['SignatureDoesNotMatch', 'SignatureDoesNotMatch', 'SignatureDoesNotMatch', 'AccessDenied', 'SignatureDoesNotMatch']);
    });

    test('the boot program\'s reporter signals SUCCESS with its report through the URL, and the Data resolves from it', async () => {
      const other = handleUrl(handleArn(REGION, STACK, 'Other'));
      // The runtime's WaitConditionReporter, run in the box's namespace (where the URL's host is).
      const script = [
        `const { WaitConditionReporter } = require(${JSON.stringify(path.join(REPO_ROOT, 'runtime/boot/adapters/wait-condition-reporter.ts'))});`,
        `const { systemClock } = require(${JSON.stringify(path.join(REPO_ROOT, 'runtime/boot/core/clock.ts'))});`,
        'const deadline = { timeLimitMs: () => Date.now() + 60000, secondsLeft: () => 60, seconds: 60 };',
        `new WaitConditionReporter({ url: ${JSON.stringify(other)}, platform: { instanceId: async () => ({ ok: true, instanceId: 'i-reporter' }) },`,
        `  pins: () => (${JSON.stringify(report)}), clock: systemClock, random: Math.random, deadline: () => deadline, log: console.error })`,
        '  .signal("SUCCESS", "").then((r) => { console.log(JSON.stringify(r)); });',
      ].join('\n');
      const r = spawnSync('ip', ['netns', 'exec', aws.netns, path.join(REPO_ROOT, 'node_modules/.bin/tsx'), '--eval', script], { encoding: 'utf8', timeout: 60_000 });
      expect({ status: r.status, stdout: r.stdout.trim(), stderr: r.stderr }).toEqual({ status: 0, stdout: '{"kind":"done"}', stderr: '' });
      const puts = (await aws.observe()).handlePuts.filter((p) => p.handle === handleArn(REGION, STACK, 'Other'));
      expect(puts.map((p) => JSON.parse(p.body))).toEqual([{ Status: 'SUCCESS', Reason: 'build and model published', UniqueId: 'i-reporter', Data: pinsData(report) }]);
      const otherDone = { Resources: { ...template.Resources, [DONE]: { ...template.Resources[DONE], Properties: { Handle: { Ref: 'Other' }, Count: 1 } } } };
      const data = resolveToString({ 'Fn::GetAtt': [DONE, 'Data'] }, ctx(puts, otherDone));
      expect(parsePins('/etc/graviton-llm/pins.json', pinsFileOf(data))).toEqual({ ok: true, pins: new Map([[3, report]]) });
    }, 90_000);
  });
}
