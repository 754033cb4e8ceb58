import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { settingsReference } from './settings-reference.js';

describe('settings reference', () => {
  it('is in the README exactly as the settings define it (run `npm run docs:settings` after a change)', () => {
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(settingsReference());
  });
});
