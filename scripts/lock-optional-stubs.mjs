// The package registry reachable here serves no builds for other platforms (macOS, Windows,
// other CPUs), so `npm install` leaves those optional dependencies out of package-lock.json,
// and `npm ci` then rejects the lock as out of sync. This records each missing optional
// dependency as a stub entry (`optional`, with the platform npm needs to skip it), which
// makes `npm ci` install exactly what `npm install` did. Run it after `npm install`.
import { readFileSync, writeFileSync } from 'node:fs';

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const packages = lock.packages;

/** os/cpu/libc guessed from the platform suffix in the package name, so npm skips it here. */
function platformOf(name) {
  const os = ['darwin', 'win32', 'linux', 'freebsd', 'android', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'].find((o) => name.includes(o));
  const cpu = ['arm64', 'x64', 'ia32', 'arm', 'ppc64', 's390x', 'riscv64', 'loong64', 'wasm32'].find((c) => new RegExp(`-${c}(-|$)`).test(name));
  const stub = {};
  if (os) stub.os = [os];
  if (cpu) stub.cpu = [cpu];
  if (/-musl/.test(name)) stub.libc = ['musl'];
  else if (/-gnu/.test(name)) stub.libc = ['glibc'];
  if (name.includes('wasm32')) stub.cpu = ['wasm32'];
  return stub;
}

let added = 0;
for (const [location, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = location === '' ? '' : `${location}/`;
    const candidates = [`${base}node_modules/${name}`, `node_modules/${name}`];
    if (candidates.some((candidate) => packages[candidate])) continue;
    packages[`node_modules/${name}`] = { version, optional: true, ...platformOf(name) };
    added++;
  }
}
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.error(`package-lock.json: ${added} optional platform stubs added`);
