import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// Imports point down: docs/design.md gives each module (a folder of src/, or a file at its top) a
// floor; a module imports only from lower floors or from itself. This test reads that table and
// every import of src/, so that the page and the code cannot drift apart.

const root = path.resolve(import.meta.dirname, '..');
const src = path.join(root, 'src');

/** Module name -> floor, from the table under "Imports point one way" in docs/design.md. */
function floors(): Map<string, number> {
  const design = fs.readFileSync(path.join(root, 'docs', 'design.md'), 'utf8');
  const section = design.slice(design.indexOf('Imports point one way'));
  const table = new Map<string, number>();
  for (const line of section.split('\n')) {
    const row = /^\|\s*(\d+)\s*\|(.*)\|\s*$/.exec(line);
    if (!row) {
      if (table.size > 0 && !line.startsWith('|')) break;
      continue;
    }
    for (const [, name] of row[2]!.matchAll(/`([^`]+)`/g)) table.set(name!, Number(row[1]));
  }
  return table;
}

/** The module a file of src/ belongs to: its top folder, or itself at the top (`relay.ts`). */
const moduleOf = (file: string): string => path.relative(src, file).split(path.sep)[0]!;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [full] : [];
  });
}

/** Relative imports of a file (static, re-exports and import()), resolved to files of src/. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((s) => path.resolve(path.dirname(file), s.replace(/\.js$/, '.ts')));
}

describe('the import floors of docs/design.md', () => {
  const table = floors();
  const files = sourceFiles(src);

  it('gives every module of src/ a floor', () => {
    expect(table.size).toBeGreaterThan(5);
    const unplaced = [...new Set(files.map(moduleOf))].filter((m) => !table.has(m));
    expect(unplaced, 'place these modules in the table of docs/design.md').toEqual([]);
  });

  it('has every import of src/ point down or stay in its own module', () => {
    const upward: string[] = [];
    let seen = 0;
    for (const file of files) {
      const from = moduleOf(file);
      for (const target of importsOf(file)) {
        if (!target.startsWith(src + path.sep)) continue; // package.json, the page's files
        seen++;
        const to = moduleOf(target);
        if (to === from) continue;
        if (!(table.get(to)! < table.get(from)!))
          upward.push(
            `${path.relative(root, file)} (floor ${table.get(from)}) -> ${to} (floor ${table.get(to)})`,
          );
      }
    }
    expect(seen).toBeGreaterThan(100);
    expect(upward).toEqual([]);
  });
});
