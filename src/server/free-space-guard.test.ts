import { describe, expect, it } from 'vitest';
import { FreeSpaceGuard } from './free-space-guard.js';

describe('FreeSpaceGuard', () => {
  it('refuses below the threshold and reports each episode once', async () => {
    let free = 1000;
    const seen: string[] = [];
    const guard = new FreeSpaceGuard(
      async () => free,
      500,
      { low: (f) => seen.push(`low ${f}`), recovered: (f) => seen.push(`ok ${f}`) },
      0,
    );
    expect(await guard.hasRoom()).toBe(true);
    free = 100;
    expect(await guard.hasRoom()).toBe(false);
    free = 90;
    expect(await guard.hasRoom()).toBe(false);
    free = 800;
    expect(await guard.hasRoom()).toBe(true);
    expect(seen).toEqual(['low 100', 'ok 800']);
  });

  it('allows mail when free space cannot be measured', async () => {
    const guard = new FreeSpaceGuard(
      () => Promise.reject(new Error('EIO')),
      500,
      { low() {}, recovered() {} },
      0,
    );
    expect(await guard.hasRoom()).toBe(true);
  });
});
