/**
 * graviton-llm as a construct library: a private, autoscaled,
 * OpenAI-compatible LLM endpoint (llama.cpp on Graviton) for any CDK app.
 *
 *   new GravitonLlmEndpoint(this, 'Llm', {
 *     model: LlamaModel.LLAMA_3_2_3B_INSTRUCT_Q4_K_M,
 *     instanceType: GravitonInstanceType.of('c7g.2xlarge'),
 *   });
 */
export { GravitonLlmEndpoint, ENDPOINT_DEFAULTS } from './constructs/graviton-llm-endpoint';
export type { GravitonLlmEndpointProps, GravitonLlmVpcProps } from './constructs/graviton-llm-endpoint';
export type { ScheduledCapacity } from './constructs/endpoint-checks';
export type { ExistingVpcChoice } from './constructs/inference-network';
export { PropsError } from './base/problems';
export type { PropProblem } from './base/problems';
export { LlamaModel } from './models/llama-model';
export type { CustomLlamaModelProps } from './models/llama-model';
export { GravitonInstanceType } from './instances/graviton-instance-type';
export type { DeployTimeInstanceTypeProps } from './instances/graviton-instance-type';
