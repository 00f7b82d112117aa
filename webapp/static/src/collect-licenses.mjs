// Writes the license text of every npm package that esbuild put into a bundle (from its metafile),
// so the vendored bundle keeps its licenses beside it. Usage: node collect-licenses.mjs META OUT
import fs from 'node:fs';
import path from 'node:path';

const [ metafile, out ] = process.argv.slice(2);
const meta = JSON.parse(fs.readFileSync(metafile, 'utf8'));
const packages = new Map();
for (const input of Object.keys(meta.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
  if (!match) {
    continue;
  }
  const last = match[match.length - 1];
  const dir = input.slice(0, input.lastIndexOf(last) + last.length);
  packages.set(dir, last.replace(/^node_modules\//, '').replace(/\/$/, ''));
}
const parts = [];
for (const [ dir, name ] of [ ...packages.entries() ].sort((a, b) => a[1].localeCompare(b[1]))) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const file = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  const text = file ? fs.readFileSync(path.join(dir, file), 'utf8').trim() : `License: ${pkg.license || 'see package'}`;
  parts.push(`${'='.repeat(78)}\n${name} ${pkg.version} (${pkg.license || 'unknown'})\n${'='.repeat(78)}\n${text}\n`);
}
fs.writeFileSync(out, parts.join('\n'));
console.log(`licenses of ${parts.length} packages -> ${out}`);
