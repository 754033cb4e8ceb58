#!/usr/bin/env node
// Entry point of the `ims-relay` command: the compiled CLI lives in dist/ (built by `npm ci`).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
