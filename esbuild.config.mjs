/**
 * Bundles the CLI's entry (dist/cli/main.js, after tsc) with Kysely into a few files, in place. Node's ESM loader
 * resolved and linked ~450 modules at every start (Kysely alone ships 263), about 0.3 s of each command's
 * ~0.55 s before it did anything. The other dependencies stay external: they are CommonJS or read files beside
 * their own code (pdfkit's fonts), and load quickly. The rest of dist/ stays as tsc wrote it: the worker threads
 * (dist/ingest/parse-worker.js, dist/db/checkpoint-worker.js) and the modules tests and benchmarks import.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const BUNDLED = new Set(['kysely']);
// npm runs scripts from the package's root.
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const external = Object.keys(pkg.dependencies).filter((name) => !BUNDLED.has(name));

// Chunks sit beside the entry (the worker URLs are relative to the module that starts them); an earlier
// build's chunks have other hashes.
const CHUNK_PREFIX = 'bundle-';
for (const file of readdirSync('dist/cli')) if (file.startsWith(CHUNK_PREFIX)) rmSync(`dist/cli/${file}`);

await build({
  entryPoints: ['dist/cli/main.js'],
  outdir: 'dist/cli',
  allowOverwrite: true,
  bundle: true,
  // Commands load their heavy parts (PDF writer, GitLab client) with import(): they stay chunks of their own.
  splitting: true,
  chunkNames: `${CHUNK_PREFIX}[name]-[hash]`,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  sourcemap: 'linked',
  logLevel: 'warning',
});
