import { CfnResource } from 'aws-cdk-lib';

/**
 * Resource-level cfn-lint suppression (cfn-lint reads it from the template's
 * resource metadata): one check, on one resource, where the caller says why.
 */
export function ignoreCfnLint(resource: CfnResource, check: string): void {
  const current = (resource.getMetadata('cfn-lint') as { config?: { ignore_checks?: string[] } } | undefined)?.config?.ignore_checks ?? [];
  resource.addMetadata('cfn-lint', { config: { ignore_checks: [...current, check] } });
}
