/**
 * `npm run chaos [-- --quick] [scenario …]`: the fault suite. Each scenario starts its own
 * nats-server, throwaway Postgres database and service processes (dist/server/main.js, the bundle npm start runs: run
 * `npm run build:server` first), injects its fault, prints its figures and checks its
 * guarantees. Exit code 1 when any guarantee is broken; the last line is
 * `N passed, N failed`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Guarantees, type Context, type Scenario } from './lib/scenario.js';
import { crashAfterCommit } from './scenarios/crash-after-commit.js';
import { floods } from './scenarios/floods.js';
import { fuzz } from './scenarios/fuzz.js';
import { limits } from './scenarios/limits.js';
import { natsOutage } from './scenarios/nats-outage.js';
import { postgresOutage } from './scenarios/postgres-outage.js';
import { restartLoop } from './scenarios/restart-loop.js';

const SCENARIOS: Scenario[] = [restartLoop, natsOutage, postgresOutage, crashAfterCommit, fuzz, floods, limits];

async function main(args: string[]): Promise<number> {
  const quick = args.includes('--quick');
  const names = args.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !SCENARIOS.some((scenario) => scenario.name === name));
  if (unknown.length > 0) {
    console.error(`unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return 2;
  }
  const main = fileURLToPath(new URL('../dist/server/main.js', import.meta.url));
  if (!existsSync(main)) {
    console.error(`${main} is missing: run "npm run build:server" first`);
    return 2;
  }
  const chosen = names.length > 0 ? SCENARIOS.filter((scenario) => names.includes(scenario.name)) : SCENARIOS;
  console.log(`chaos suite, ${quick ? 'quick' : 'full'} mode: ${chosen.map((s) => s.name).join(', ')}`);
  let passed = 0;
  let failed = 0;
  for (const scenario of chosen) {
    const started = performance.now();
    const context: Context = { quick, log: (line) => console.log(`  [${scenario.name}] ${line}`) };
    const guarantees = new Guarantees();
    console.log(`\n▶ ${scenario.name}`);
    try {
      const figures = await scenario.run(context, guarantees);
      for (const [name, value] of Object.entries(figures)) console.log(`  ${name}: ${value}`);
    } catch (error) {
      guarantees.broken.push(`scenario crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (guarantees.broken.length === 0) {
      passed++;
      console.log(`✔ ${scenario.name}: ${guarantees.checked} guarantees held (${seconds} s)`);
    } else {
      failed++;
      console.log(`✘ ${scenario.name}: ${guarantees.broken.length} of ${guarantees.checked} guarantees broken (${seconds} s)`);
      for (const what of guarantees.broken.slice(0, 20)) console.log(`    - ${what}`);
    }
  }
  console.log(`\n${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
