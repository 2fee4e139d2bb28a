/**
 * The CloudWatch Logs Insights query that lists a fleet's drains from its
 * boot log group (one log stream per instance, named by its id): the lines
 * the drain watcher writes when it starts a drain (what was announced: a Spot
 * interruption notice or a rebalance recommendation) and when it stops
 * llama-server (idle, or at the end of the drain's time: then streams were
 * cut).
 */

/**
 * The substrings of a drain's start and end lines as the boot log writes them
 * (`TIME [drain] MESSAGE`; the messages are runtime/boot/drain/watch.ts's).
 * Written here, not exported from the watcher, so that the boot bundle, and
 * with it every launch template, stays as it was;
 * test/runtime/boot/drain/watch.test.ts holds them to the lines the watcher writes.
 */
export const DRAIN_LINE_MARKS = {
  tag: '[drain] ',
  started: ': draining, llama-server stopped by ',
  ended: '[drain] llama-server stopped (',
} as const;

/** A string literal of the query language (the marks hold no quote or backslash). */
const literal = (text: string) => `"${text}"`;

/** The query's lines, newest first (`like` with a string matches a substring). */
export function drainLogQueryLines(limit = 100): string[] {
  return [
    'fields @timestamp, @logStream as instance, @message',
    `filter @message like ${literal(DRAIN_LINE_MARKS.tag)} and (@message like ${literal(DRAIN_LINE_MARKS.started)} or @message like ${literal(DRAIN_LINE_MARKS.ended)})`,
    'sort @timestamp desc',
    `limit ${limit}`,
  ];
}
