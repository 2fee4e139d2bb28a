/**
 * Tags the API-key handler puts on every parameter it creates. They tell "our
 * own parameter" from someone else's when a name already exists (update
 * rollback), and the handler's IAM policy lets it manage only parameters that
 * carry this stack's id. Shared by the handler and the CDK construct.
 */
export const STACK_ID_TAG = 'gllm:cfn-stack-id';
export const LOGICAL_ID_TAG = 'gllm:cfn-logical-id';
