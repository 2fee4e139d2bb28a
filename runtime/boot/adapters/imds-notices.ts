/**
 * The drain watcher's NoticeSource on an instance: the metadata service
 * (IMDSv2, a token first, as every read of the boot's), asked for
 * - spot/instance-action: `{"action": "terminate", "time": "2017-09-18T08:22:00Z"}`
 *   once EC2 has decided to interrupt the Spot instance, 404 until then
 *   ("Spot Instance interruption notices", "instance-action",
 *   https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/spot-instance-termination-notices.html);
 * - events/recommendations/rebalance: `{"noticeTime": "..."}` once a rebalance
 *   recommendation is emitted, 404 until then ("EC2 instance rebalance
 *   recommendations", https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/rebalance-recommendations.html).
 * An on-demand instance gets neither: both stay 404.
 */
import type { NoticeCheck } from '../drain/watch';
import { imdsGet } from './linux-platform';

export const INSTANCE_ACTION_PATH = '/latest/meta-data/spot/instance-action';
export const REBALANCE_PATH = '/latest/meta-data/events/recommendations/rebalance';

/** An instance-action document's action and time; a notice that cannot be read is a notice still (its time unknown). */
export function parseInstanceAction(body: string): { readonly action: string; readonly atMs: number | undefined } {
  try {
    const doc = JSON.parse(body) as { action?: unknown; time?: unknown };
    const atMs = typeof doc.time === 'string' ? Date.parse(doc.time) : NaN;
    return { action: typeof doc.action === 'string' ? doc.action : 'unknown action', atMs: Number.isNaN(atMs) ? undefined : atMs };
  } catch {
    return { action: 'unknown action', atMs: undefined };
  }
}

export class ImdsNotices {
  constructor(private readonly baseUrl: string) {}

  async check(): Promise<NoticeCheck> {
    try {
      const action = await imdsGet(this.baseUrl, INSTANCE_ACTION_PATH);
      if (action.token !== 200) return { kind: 'unreachable', detail: `token: HTTP ${action.token}` };
      if (action.status === 200) return { kind: 'notice', notice: { kind: 'interruption', ...parseInstanceAction(action.body) } };
      if (action.status !== 404) return { kind: 'unreachable', detail: `spot/instance-action: HTTP ${action.status}` };
      const rebalance = await imdsGet(this.baseUrl, REBALANCE_PATH);
      if (rebalance.token !== 200) return { kind: 'unreachable', detail: `token: HTTP ${rebalance.token}` };
      if (rebalance.status === 200) return { kind: 'notice', notice: { kind: 'rebalance' } };
      if (rebalance.status !== 404) return { kind: 'unreachable', detail: `events/recommendations/rebalance: HTTP ${rebalance.status}` };
      return { kind: 'none' };
    } catch (e) {
      return { kind: 'unreachable', detail: (e as Error).message };
    }
  }
}
