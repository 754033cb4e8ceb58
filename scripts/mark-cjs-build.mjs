// The CommonJS build (dist/cjs, for `require('ims-relay')` and jest) sits inside a package whose
// "type" is "module": this marks its folder as CommonJS, so Node loads its .js files as such.
import fs from 'node:fs';

fs.writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), '{ "type": "commonjs" }\n');
