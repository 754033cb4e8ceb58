import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('shows the test-API example exactly as test/readme-example.test.ts runs it', () => {
    const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = fs.readFileSync(new URL('./readme-example.test.ts', import.meta.url), 'utf8').trimEnd();
    expect(readme).toContain('```ts\n' + example + '\n```');
  });

  it('opens with the command that starts the relay and the one that runs the tests', () => {
    const readme = fs.readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const firstBlock = readme.split('```')[1]!;
    expect(firstBlock).toContain('npm ci && npm start');
    expect(firstBlock).toContain('npm ci && npm test');
  });
});
