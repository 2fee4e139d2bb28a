/**
 * Reading the bench's and the smoke test's flag values, with one message per
 * bad value naming the flag, what was given and what is allowed.
 */

export interface NumberCheck {
  readonly min: number;
  /** The value must be above min rather than at least min. */
  readonly above?: boolean;
  readonly integer?: boolean;
}

/** `--flag`'s number, or the fallback when the flag is absent (or bad, after recording why). */
export function numberFlag(flag: string, text: string | undefined, fallback: number, check: NumberCheck, errors: string[]): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || (check.above ? v <= check.min : v < check.min) || (check.integer && !Number.isInteger(v))) {
    errors.push(`--${flag}: got "${text}"; expected ${check.integer ? 'a whole number' : 'a number'} ${check.above ? 'above' : 'of at least'} ${check.min}`);
    return fallback;
  }
  return v;
}

/** An http(s) URL as given, or '' after recording why it is not one; `label` names where it came from. */
export function httpUrl(label: string, text: string, errors: string[]): string {
  try {
    const u = new URL(text);
    if (u.protocol === 'http:' || u.protocol === 'https:') return text;
  } catch {
    // reported below
  }
  errors.push(`${label}: got "${text}"; expected an http:// or https:// URL`);
  return '';
}
