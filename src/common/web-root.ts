import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The built browser page (dist/web), found from the package root whether this file runs
 * from dist/ or from source. Null when the page has not been built: the API still serves.
 */
export function webRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
  const built = join(dir, 'dist', 'web');
  return existsSync(join(built, 'index.html')) ? built : null;
}
