// Builds the service (and the browser page) when a source is newer than the last build, so
// `npm start` and `npm run cli` work from a fresh clone and stay fast afterwards. Build
// output goes to stderr: stdout carries only what the service itself prints.
// `--stamp` only records that the build is current (`npm run build` ends with it, so the
// build that `npm test` makes counts too).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist', '.build-stamp');
const inputs = ['src', 'web', 'ormconfig.ts', 'tsconfig.json', 'tsconfig.build.json', 'tsconfig.agent.json', 'package-lock.json'];

function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    max = Math.max(max, newest(join(path, entry)));
  }
  return max;
}

if (process.argv.includes('--stamp')) {
  writeFileSync(stamp, new Date().toISOString());
} else {
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  const changed = Math.max(...inputs.map((input) => newest(join(root, input))));
  if (changed > built || !['src/main.js', 'server/main.js', 'agent/src/agent/demo-agent.js'].every((file) => existsSync(join(root, 'dist', file)))) {
    const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
