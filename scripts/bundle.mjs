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
const EXTERNAL = [/^pg-native$/, /^pino-pretty$/, /^@electric-sql\//, /^@nestjs\/microservices/, /^@nestjs\/platform-socket.io/];

// No chunk of an earlier build left behind.
rmSync(`${root}dist/server`, { recursive: true, force: true });
const bundle = await rolldown({
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
