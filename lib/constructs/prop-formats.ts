import { Token } from 'aws-cdk-lib';
import { PropProblem } from '../base/problems';
import { IPV4_CIDR, cidrHostBitsProblem } from '../base/cidr';
import { ACM_CERTIFICATE_ARN } from './endpoint-checks';

/**
 * The shape each string prop of an endpoint must have, written once:
 * GravitonLlmEndpoint checks its props against it, and the configuration
 * schema its fields (which add the file or `-c` key a value came from). A
 * value that is a CloudFormation token is the template's to check.
 */
export interface PropFormat {
  readonly pattern: RegExp;
  /** What a value must look like, as the message says it. */
  readonly expected: string;
}

const SSM_PARAMETER_NAME: PropFormat = {
  pattern: /^\/[a-zA-Z0-9_.\-/]{1,1010}$/,
  expected: 'expected an SSM parameter name starting with / (letters, digits, _ . - /)',
};

export const PROP_FORMATS = {
  certificateArn: {
    pattern: ACM_CERTIFICATE_ARN,
    expected: 'expected an ACM certificate ARN like arn:aws:acm:us-east-1:123456789012:certificate/uuid',
  },
  domainName: {
    // A fully qualified DNS name of at least two labels, as a certificate names it (no wildcard).
    pattern: /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
    expected: 'expected a DNS name like llm.internal.example (letters, digits, hyphens and dots; no scheme, port or path)',
  },
  canaryUrl: {
    pattern: /^https:\/\/[A-Za-z0-9][A-Za-z0-9.-]*(:\d+)?$/,
    expected: 'expected https://HOST, the name your certificate covers',
  },
  alarmEmail: {
    // \s covers every space separator; control and format characters (a zero-width space)
    // would pass unseen into an SNS subscription that never confirms.
    pattern: /^[^@\s\p{Cc}\p{Cf}]+@[^@\s\p{Cc}\p{Cf}]+\.[^@\s\p{Cc}\p{Cf}]+$/u,
    expected: 'expected an e-mail address',
  },
  apiKeyParameterName: SSM_PARAMETER_NAME,
  huggingFaceTokenParameterName: SSM_PARAMETER_NAME,
} as const satisfies Record<string, PropFormat>;

export type FormattedProp = keyof typeof PROP_FORMATS;

/** The string props given that do not have their shape; unset and deploy-time values pass. */
export function formatProblems(values: { readonly [K in FormattedProp]?: string }): PropProblem[] {
  return (Object.keys(PROP_FORMATS) as FormattedProp[])
    .filter((field) => {
      const v = values[field];
      return v !== undefined && !Token.isUnresolved(v) && !PROP_FORMATS[field].pattern.test(v);
    })
    .map((field) => ({ field, given: values[field], expected: PROP_FORMATS[field].expected }));
}

/** What an IPv4 CIDR block must look like; `example` is one a user of the field would write. */
export function cidrExpectation(example: string): string {
  return `expected an IPv4 CIDR block like ${example}`;
}

/**
 * The problem with one IPv4 CIDR block: not one, or one with host bits set;
 * undefined for a good one or a deploy-time value.
 */
export function cidrProblem(cidr: string, example: string): string | undefined {
  if (Token.isUnresolved(cidr)) {
    return undefined;
  }
  return IPV4_CIDR.test(cidr) ? cidrHostBitsProblem(cidr) : cidrExpectation(example);
}

/** The blocks of a list that are not IPv4 CIDR blocks of a network (`field[i]`); a deploy-time list passes. */
export function cidrListProblems(field: string, cidrs: readonly string[] | undefined, example: string): PropProblem[] {
  if (cidrs === undefined || Token.isUnresolved(cidrs)) {
    return [];
  }
  return cidrs.flatMap((cidr, i) => {
    const expected = cidrProblem(cidr, example);
    return expected ? [{ field: `${field}[${i}]`, given: cidr, expected }] : [];
  });
}
