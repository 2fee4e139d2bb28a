/**
 * CloudFormation wait conditions as the instance box stands in for them (moto
 * has none): a handle's physical id, the presigned URL a builder PUTs its
 * signal to, served by box_aws.py's handle server; and the wait condition's
 * Data attribute, made from the signals that server took, as CloudFormation
 * makes it.
 */
import { createHmac } from 'node:crypto';

import type { BoxEvent } from './box';

/** Where box_aws.py answers handle URLs, inside the box's namespace (S3's place for real handles). */
export const BOX_WAIT_CONDITION_ENDPOINT = 'http://127.0.0.1:5001';
/** The key the box signs handle URLs with; box_aws.py is given it (BOX_WAIT_CONDITION_SECRET) to check them. */
export const BOX_WAIT_CONDITION_SECRET = 'box-wait-condition-secret';
const ACCESS_KEY_ID = 'AKIABOXWAITCONDITION';
/** A handle's URL is good for a day, as the presigned URLs CloudFormation gives out are. */
const URL_LIFETIME_SECONDS = 24 * 3600;

/**
 * The URL a handle's Ref gives: a presigned S3 URL whose path is the
 * handle's ARN, percent-encoded, with `Expires`, `AWSAccessKeyId` and
 * `Signature` in its query (so it holds `&`), in the shape of the example in
 * "AWS::CloudFormation::WaitConditionHandle", Return values
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-waitconditionhandle.html).
 * Signed as S3 query-string authentication (signature version 2) signs a
 * PUT without Content-MD5 and Content-Type, which box_aws.py checks.
 */
export function handleUrl(handleArn: string, nowMs = Date.now()): string {
  const pathname = `/${encodeURIComponent(handleArn)}`;
  const expires = String(Math.floor(nowMs / 1000) + URL_LIFETIME_SECONDS);
  const signature = createHmac('sha1', BOX_WAIT_CONDITION_SECRET).update(['PUT', '', '', expires, pathname].join('\n')).digest('base64');
  return `${BOX_WAIT_CONDITION_ENDPOINT}${pathname}?Expires=${expires}&AWSAccessKeyId=${ACCESS_KEY_ID}&Signature=${encodeURIComponent(signature)}`;
}

/** One PUT to a handle URL that the box's S3 took: the body as sent. */
export interface HandlePut {
  /** The handle's ARN (the URL's path, decoded). */
  readonly handle: string;
  readonly body: string;
}

/** The PUTs to handle URLs that were taken (refused ones carry an error), in the order they came. */
export function handlePuts(events: readonly BoxEvent[]): HandlePut[] {
  return events
    .filter((e) => e.api === 'WaitConditionSignal' && e.error === undefined && e.method === 'PUT')
    .map((e) => ({ handle: String(e.handle), body: String(e.body) }));
}

/** A signal as CloudFormation reads the body of a PUT to the handle. */
export interface WaitConditionSignal {
  readonly Status: 'SUCCESS' | 'FAILURE';
  readonly Reason: string;
  readonly UniqueId: string;
  readonly Data: string;
}

/** The body of a PUT as a signal; anything else throws (the box is strict where CloudFormation's handling is not documented). */
export function parseSignal(body: string): WaitConditionSignal {
  let value: any;
  try {
    value = JSON.parse(body);
  } catch (e) {
    throw new Error(`a PUT to a wait condition handle is not JSON (${(e as Error).message}): ${body.slice(0, 200)}`);
  }
  const keys = Object.keys(value ?? {}).sort();
  // "Wait condition signal JSON format": Status, Reason, UniqueId, Data (using-cfn-waitcondition.html).
  if (JSON.stringify(keys) !== JSON.stringify(['Data', 'Reason', 'Status', 'UniqueId'])
    || !['SUCCESS', 'FAILURE'].includes(value.Status)
    || !['Reason', 'UniqueId', 'Data'].every((k) => typeof value[k] === 'string')) {
    throw new Error(`a PUT to a wait condition handle is not a signal {Status: SUCCESS|FAILURE, Reason, UniqueId, Data}: ${body.slice(0, 200)}`);
  }
  return value;
}

/**
 * The wait condition's Data once it completed: a JSON object of UniqueId ->
 * Data of the signals it took, as `Fn::GetAtt [WC, Data]` returns it ("A
 * JSON object that contains the UniqueId and Data values from the wait
 * condition signal(s)", AWS::CloudFormation::WaitCondition, Return values:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-waitcondition.html).
 *
 * It completes at `count` SUCCESS signals of distinct UniqueIds; a signal
 * repeating a UniqueId is a retransmission and ignored, and a FAILURE first
 * fails it (Wait condition signal JSON format, UniqueId and Status:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-waitcondition.html).
 * A failed or unfinished wait condition has no Data for anything to read
 * (the stack rolls back or still waits): that throws, saying which.
 */
export function waitConditionData(name: string, count: number, bodies: readonly string[]): string {
  const taken = new Map<string, string>();
  for (const body of bodies) {
    const signal = parseSignal(body);
    if (signal.Status === 'FAILURE') throw new Error(`wait condition ${name} failed: the signal of ${signal.UniqueId} says ${JSON.stringify(signal.Reason)}`);
    if (!taken.has(signal.UniqueId)) taken.set(signal.UniqueId, signal.Data);
    if (taken.size === count) return JSON.stringify(Object.fromEntries(taken));
  }
  throw new Error(`wait condition ${name} has ${taken.size} of its ${count} signals: CloudFormation would still wait, and nothing could read its Data`);
}
