#!/usr/bin/env node
import { runKitApp } from '../lib/app/run-kit-app';

// The context and output directory come from the CDK CLI's environment; see runKitApp for what is printed.
const { exitCode, stderr } = runKitApp();
if (stderr) {
  process.stderr.write(stderr);
}
if (exitCode !== 0) {
  process.exit(exitCode);
}
