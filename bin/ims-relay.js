#!/usr/bin/env node
// Entry point of the `ims-relay` command: the compiled CLI lives in dist/ (built by `npm ci`).
import { main } from '../dist/cli/main.js';

const code = await main(process.argv);
process.exitCode = code;
// everything is closed by now; if some handle still keeps the process alive (a delivery past the
// shutdown timeout, a lingering socket), do not hang: everything it does is journaled and resumes
setTimeout(() => process.exit(code), 2000).unref();
