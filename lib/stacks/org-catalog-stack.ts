import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { CfnOutput, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as servicecatalog from 'aws-cdk-lib/aws-servicecatalog';
import { Construct } from 'constructs';
import { nagText } from '../constructs/nag-findings';
import { LaunchRoleStatement, launchRoleStatements, managedPolicyGroups, permissionsBoundaryStatements } from '../org/launch-role-policy';
import { ResolvedOrgConfig } from '../org/org-config';

export interface OrgCatalogStackProps extends StackProps {
  readonly org: ResolvedOrgConfig;
  /** The synthesized org template (JSON). */
  readonly templateFile: string;
}

/**
 * The org template as a Service Catalog product, for accounts that launch
 * an endpoint themselves (with their own parameters) rather than receive one
 * from the StackSet. The launch constraint names a role (launchRoleName)
 * that Service Catalog assumes in whichever account launches the product;
 * this stack creates it in its own account, and each account the portfolio is
 * shared with needs a role of that name with the same policy, and the
 * permissions boundary policy (permissionsBoundaryName) the launch role must
 * set on every role it creates. Sharing with a
 * whole organization or OU (`CreatePortfolioShare --organization-node`) has
 * no CloudFormation resource: see docs/org-rollout.md.
 */
export class OrgCatalogStack extends Stack {
  readonly portfolio: servicecatalog.Portfolio;
  readonly product: servicecatalog.CloudFormationProduct;
  readonly launchRole: iam.IRole;
  /** The launch role's managed policies (LaunchRolePolicy1, 2, ...), which every launching account's role of that name needs. */
  readonly launchRolePolicies: iam.ManagedPolicy[];
  /** The managed policy every role the product creates has as its permissions boundary. */
  readonly permissionsBoundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: OrgCatalogStackProps) {
    super(scope, id, props);
    const sc = props.org.serviceCatalog;
    // A new template is a new product version; its name says which.
    const templateHash = crypto.createHash('sha256').update(fs.readFileSync(props.templateFile)).digest('hex').slice(0, 12);

    this.portfolio = new servicecatalog.Portfolio(this, 'Portfolio', {
      displayName: sc.portfolioName,
      providerName: sc.providerName,
      description: 'graviton-llm: private, OpenAI-compatible LLM endpoints on AWS Graviton',
    });
    this.product = new servicecatalog.CloudFormationProduct(this, 'Product', {
      productName: sc.productName,
      owner: sc.providerName,
      description: 'An internal, autoscaled llama.cpp endpoint with an API key, alarms and a canary, in a new or an existing VPC.',
      productVersions: [{
        productVersionName: `llama.cpp ${props.org.kit.llamaCppRef}, template ${templateHash}`,
        description: 'The org template, as the StackSet deploys it.',
        cloudFormationTemplate: servicecatalog.CloudFormationTemplate.fromAsset(props.templateFile),
        validateTemplate: true,
      }],
    });
    this.portfolio.addProduct(this.product);

    const launchRole = this.portfolio.setLocalLaunchRoleName(this.product, sc.launchRoleName, {
      description: 'Launched with the account\'s own role of this name',
    });
    this.launchRole = launchRole;
    const template: unknown = JSON.parse(fs.readFileSync(props.templateFile, 'utf8'));
    const boundaryStatements = permissionsBoundaryStatements(template);
    this.permissionsBoundary = new iam.ManagedPolicy(this, 'ProductRoleBoundary', {
      managedPolicyName: sc.permissionsBoundaryName,
      description: 'graviton-llm: permissions boundary of every role the Service Catalog product creates (the launch role may create none without it)',
      statements: boundaryStatements.map((st) => st.statement),
    });
    this.acknowledgeWildcards(this.permissionsBoundary, boundaryStatements);
    const statements = launchRoleStatements({ template, assetBucketPrefix: props.org.assetBucketPrefix, permissionsBoundaryName: sc.permissionsBoundaryName });
    // Managed policies: the statements exceed what a role's inline policies may hold together.
    this.launchRolePolicies = managedPolicyGroups(statements).map((group, i) => {
      const policy = new iam.ManagedPolicy(this, `LaunchRolePolicy${i + 1}`, {
        description: `graviton-llm: Service Catalog launch role, part ${i + 1}: what CloudFormation needs for the product template's resources`,
        statements: group.map((st) => st.statement),
        roles: [launchRole],
      });
      this.acknowledgeWildcards(policy, group);
      return policy;
    });

    for (const account of sc.shareWithAccounts) {
      this.portfolio.shareWithAccount(account);
    }
    for (const principalArn of sc.principalArns) {
      // An ARN without an account is a name pattern (IAM_PATTERN), which Service Catalog applies
      // in every account the portfolio is shared with; with an account, that one principal.
      const [, , , , account] = principalArn.split(':');
      new servicecatalog.CfnPortfolioPrincipalAssociation(this, `Principal${crypto.createHash('sha256').update(principalArn).digest('hex').slice(0, 8)}`, {
        portfolioId: this.portfolio.portfolioId,
        principalArn,
        principalType: account ? 'IAM' : 'IAM_PATTERN',
      });
    }

    new CfnOutput(this, 'PortfolioId', { value: this.portfolio.portfolioId, description: 'Share it with the organization: see docs/org-rollout.md' });
    new CfnOutput(this, 'ProductId', { value: this.product.productId });
    new CfnOutput(this, 'LaunchRoleName', { value: sc.launchRoleName, description: 'Every launching account needs a role of this name' });
    new CfnOutput(this, 'PermissionsBoundaryName', {
      value: sc.permissionsBoundaryName,
      description: 'Every launching account needs a managed policy of this name (the launch role creates roles only with it as their boundary)',
    });
  }

  /** One acknowledgement per wildcard, each with the reason its statement gives. */
  private acknowledgeWildcards(scope: Construct, statements: LaunchRoleStatement[]): void {
    for (const { statement, reason } of statements) {
      const findings = [
        ...statement.actions.filter((a) => a.includes('*')).map((a) => `Action::${a}`),
        ...statement.resources.filter((r) => r.includes('*')).map((r) => `Resource::${nagText(this, r)}`),
      ];
      for (const finding of new Set(findings)) {
        Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason });
      }
    }
  }
}
