#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildKitApp } from '../lib/app/build-app';
import { ConfigError } from '../lib/config/config-error';

const app = new App();
try {
  buildKitApp(app);
} catch (e) {
  if (e instanceof ConfigError) {
    // A configuration mistake is the user's to fix: the message says what and where; a stack trace would bury it.
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
