/** Runs the shared target case suite (target.cases.ts) against every delivery target. */
import { targetCases } from './target.cases.js';
import { TARGET_KINDS } from './target-places.js';

for (const kind of TARGET_KINDS) targetCases(kind);
