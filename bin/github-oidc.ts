#!/usr/bin/env node
import { GITHUB_OIDC_ENTRY } from '../lib/app/github-oidc-app';
import { runKitBin } from '../lib/app/run-kit-app';

// The GitHub Actions OIDC roles: npx cdk synth --app "npx tsx bin/github-oidc.ts" (or npm run cdk:github-oidc -- synth).
runKitBin(GITHUB_OIDC_ENTRY);
