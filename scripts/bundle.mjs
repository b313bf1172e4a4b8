// Bundles the compiled server (tsc's output in dist/src, which carries the decorator
// metadata Nest, TypeORM and class-validator read) into dist/server: what `npm start` runs.
// Loading ~1,500 module files was most of the CPU a start spent before it was ready.
import { rmSync } from 'node:fs';
import { rolldown } from 'rolldown';

const root = new URL('..', import.meta.url).pathname;

/**
 * Left to Node at run time: optional native or dev-only packages looked up in a try/catch,
 * and PGlite, whose WebAssembly and data files are found next to its own files (it runs in
 * a worker thread loaded by path anyway).
 */
const EXTERNAL = [/^pg-native$/, /^pino-pretty$/, /^@electric-sql\//, /^@nestjs\/microservices/, /^@nestjs\/platform-socket\.io$/, /^@fastify\//];

// No chunk of an earlier build left behind.
rmSync(`${root}dist/server`, { recursive: true, force: true });
/**
 * Packages that load others at run time through `createRequire(import.meta.url)` or a
 * `require(name)` (to stay optional) hide them from the bundler: Node would then load a
 * second copy from node_modules, file by file (all of TypeORM's CommonJS build, ~300 files,
 * for @nestjs/typeorm's check for two classes TypeORM 1 no longer has). Rewritten into plain
 * `require('…')` calls, the bundler includes them once. Each rewrite must still find its
 * text: a dependency update that changes it fails the build instead of silently loading
 * node_modules again.
 */
const REWRITES = [
  // const require = createRequire(import.meta.url); … require('typeorm') / ('express') / ('class-validator')
  { file: /node_modules\/@nestjs\/(typeorm\/|mapped-types\/|serve-static\/dist\/loaders\/express\.loader\.js$)/, from: /^const require = createRequire\(import\.meta\.url\);$/m, to: '' },
  // () => createRequire(import.meta.url)('ws')
  { file: /node_modules\/@nestjs\/platform-ws\//, from: /createRequire\(import\.meta\.url\)\(('[^']+')\)/g, to: 'require($1)' },
  // the PostgreSQL driver, the one TypeORM driver this service uses
  { file: /node_modules\/typeorm\/platform\/PlatformTools\.js$/, from: /return require\(name\);/, to: 'return name === "pg" ? require("pg") : require(name);' },
];
const rewritten = new Set();
const rewrite = {
  name: 'static-requires',
  transform(code, id) {
    let out = code;
    for (const [index, { file, from, to }] of REWRITES.entries()) {
      if (!file.test(id) || !from.test(out)) continue;
      from.lastIndex = 0;
      out = out.replace(from, to);
      rewritten.add(index);
    }
    return out === code ? null : { code: out, map: null };
  },
};

const bundle = await rolldown({
  plugins: [rewrite],
  input: { main: `${root}dist/src/main.js` },
  platform: 'node',
  cwd: root,
  external: EXTERNAL,
  logLevel: 'warn',
});
await bundle.write({
  dir: `${root}dist/server`,
  format: 'esm',
  entryFileNames: '[name].js',
  chunkFileNames: '[name].js',
  // Nest and TypeORM look classes up by name.
  keepNames: true,
  sourcemap: false,
});
await bundle.close();
const missed = REWRITES.filter((_, index) => !rewritten.has(index));
if (missed.length) {
  console.error(`bundle: no longer found, check what loads at run time: ${missed.map(({ file, from }) => `${from} in ${file}`).join('; ')}`);
  process.exit(1);
}
