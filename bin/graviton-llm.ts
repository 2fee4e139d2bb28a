#!/usr/bin/env node
import { runKitBin } from '../lib/app/run-kit-app';

// cdk.json's app: the endpoint, or the deployable `-c mode=` names (pipeline, org, github-oidc),
// which bin/pipeline.ts, bin/org.ts and bin/github-oidc.ts also build on their own.
runKitBin();
