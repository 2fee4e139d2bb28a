#!/usr/bin/env node
import { PIPELINE_ENTRY } from '../lib/app/pipeline-app';
import { runKitBin } from '../lib/app/run-kit-app';

// The self-mutating pipeline: npx cdk synth --app "npx tsx bin/pipeline.ts" (or npm run cdk:pipeline -- synth).
runKitBin(PIPELINE_ENTRY);
