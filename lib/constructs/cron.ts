/**
 * Five-field cron expressions as EC2 Auto Scaling's scheduled actions take
 * them (Unix cron, UTC): minute, hour, day of month, month, day of week. Each
 * field is `*`, a value or a range `a-b`, each optionally stepped by `/n`, or
 * a list of those; months and days of the week may be named (JAN, MON).
 */

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 6, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

const FORMAT_HINT = 'five fields in UTC: minute (0-59) hour (0-23) day-of-month (1-31) month (1-12 or JAN-DEC) day-of-week (0-6 or SUN-SAT), e.g. 0 8 * * MON-FRI';

/** What Auto Scaling would refuse in a cron expression, or undefined when it is valid. */
export function cronProblem(expression: string): string | undefined {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== FIELDS.length) {
    return `expected a five-field cron expression (${FORMAT_HINT}); this one has ${parts.length} field${parts.length === 1 ? '' : 's'}`;
  }
  for (const [i, field] of FIELDS.entries()) {
    const problem = fieldProblem(parts[i], field);
    if (problem) {
      return `${field.name} ${JSON.stringify(parts[i])}: ${problem}; expected ${FORMAT_HINT}`;
    }
  }
  return undefined;
}

function fieldProblem(text: string, field: CronField): string | undefined {
  for (const item of text.split(',')) {
    const [range, step, extra] = item.split('/');
    if (extra !== undefined || range === '') {
      return `"${item}" is not a value, range or step`;
    }
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1 && Number(step) <= field.max)) {
      return `step "${step}" must be a whole number from 1 to ${field.max}`;
    }
    if (range === '*') {
      continue;
    }
    const bounds = range.split('-');
    if (bounds.length > 2) {
      return `"${range}" is not a value or a range a-b`;
    }
    const values = bounds.map((b) => valueOf(b, field));
    const bad = values.findIndex((v) => v === undefined);
    if (bad >= 0) {
      return `"${bounds[bad]}" is out of range: expected ${field.min}-${field.max}${field.names ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : ''}`;
    }
    if (values.length === 2 && values[0]! > values[1]!) {
      return `range "${range}" runs backwards`;
    }
  }
  return undefined;
}

function valueOf(text: string, field: CronField): number | undefined {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  if (named >= 0) {
    return field.min + named;
  }
  if (!/^\d+$/.test(text)) {
    return undefined;
  }
  const n = Number(text);
  return n >= field.min && n <= field.max ? n : undefined;
}
