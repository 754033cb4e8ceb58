// The result files: bench/results/latest.json (every run, medians, ratios, goals, machine) and
// latest.md (the Markdown table), written through the project's prettier when it is installed.
import fs from 'node:fs';
import path from 'node:path';
import { RESULTS_DIR, ROOT } from '../lib/paths.mjs';

// write through the project's own prettier (a devDependency) when it is installed, so that the
// committed results pass `npm run lint`; plain text otherwise
async function writeFormatted(file, text) {
  let out = text;
  try {
    const prettier = await import('prettier');
    const config = (await prettier.resolveConfig(file)) || {};
    out = await prettier.format(text, { ...config, filepath: file });
  } catch {
    /* prettier not installed: keep the text as it is */
  }
  fs.writeFileSync(file, out);
}

export async function writeResults(out, md) {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  await writeFormatted(path.join(RESULTS_DIR, 'latest.json'), JSON.stringify(out, null, 2) + '\n');
  await writeFormatted(path.join(RESULTS_DIR, 'latest.md'), md + '\n');
  console.log(
    `wrote ${path.relative(ROOT, path.join(RESULTS_DIR, 'latest.json'))} and latest.md (${out.meta.elapsedS} s)`,
  );
}
