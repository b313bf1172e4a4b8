// Lets Node run the suite's TypeScript as it is (Node 24 strips and transforms the types:
// --experimental-transform-types): an import of `./x.js` that exists only as `./x.ts`
// (the compiler's NodeNext convention) is resolved to the .ts file.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
      import { existsSync } from 'node:fs';
      import { fileURLToPath } from 'node:url';
      export async function resolve(specifier, context, next) {
        if (specifier.endsWith('.js') && /^(\\.|\\/|file:)/.test(specifier) && context.parentURL?.startsWith('file:')) {
          const url = new URL(specifier, context.parentURL);
          if (!url.pathname.includes('/node_modules/') && !existsSync(fileURLToPath(url))) {
            const ts = new URL(url.href.replace(/\\.js$/, '.ts'));
            if (existsSync(fileURLToPath(ts))) return next(ts.href, context);
          }
        }
        return next(specifier, context);
      }
    `),
);
