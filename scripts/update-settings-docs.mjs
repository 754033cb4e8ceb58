// Rewrites the settings table in README.md from the settings definitions (npm run docs:settings).
import fs from 'node:fs';
import { REFERENCE_END, REFERENCE_START, settingsReference } from '../dist/config/settings-reference.js';

const readme = fs.readFileSync('README.md', 'utf8');
const start = readme.indexOf(REFERENCE_START);
const end = readme.indexOf(REFERENCE_END);
if (start < 0 || end < 0) throw new Error('README.md has no settings markers');
fs.writeFileSync(
  'README.md',
  readme.slice(0, start) + settingsReference() + readme.slice(end + REFERENCE_END.length),
);
console.log('README.md settings table updated');
