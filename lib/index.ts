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
export { PurchaseOption } from './constructs/fleet-purchase';
// The parts GravitonLlmEndpoint exposes as properties (fleet, endpoint, alarms, ...): every type
// reachable from the public API is exported, as jsii requires of a multi-language package.
export { InferenceNetwork } from './constructs/inference-network';
export type { ExistingVpcChoice, InferenceNetworkProps } from './constructs/inference-network';
export { ArtifactStore } from './constructs/artifact-store';
export type { ArtifactStoreProps } from './constructs/artifact-store';
export { ApiKeyParameter } from './constructs/api-key-parameter';
export type { ApiKeyParameterProps } from './constructs/api-key-parameter';
export { InferenceEndpoint } from './constructs/inference-endpoint';
export type { InferenceEndpointProps } from './constructs/inference-endpoint';
export { InferenceFleet } from './constructs/inference-fleet';
export { FleetBuilder } from './constructs/fleet-builder';
export type { FleetBuilderProps } from './constructs/fleet-builder';
export type { InferenceFleetProps } from './constructs/inference-fleet';
export { FleetAlarms } from './constructs/fleet-alarms';
export type { FleetAlarmsProps } from './constructs/fleet-alarms';
export { EndpointCanary } from './constructs/endpoint-canary';
export type { EndpointCanaryProps } from './constructs/endpoint-canary';
export { PropsError } from './base/problems';
export type { PropProblem } from './base/problems';
export { LlamaModel } from './models/llama-model';
export type { CustomLlamaModelProps } from './models/llama-model';
export type { ModelArchitecture } from './catalogs/model-architectures';
export { GravitonInstanceType } from './instances/graviton-instance-type';
export type { DeployTimeInstanceTypeProps } from './instances/graviton-instance-type';
