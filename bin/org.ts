#!/usr/bin/env node
import { ORG_ENTRY } from '../lib/app/org-app';
import { runKitBin } from '../lib/app/run-kit-app';

// The org template, its StackSet and Service Catalog portfolio: npx cdk synth --app "npx tsx bin/org.ts" (or npm run cdk:org -- synth).
runKitBin(ORG_ENTRY);
