/**
 * Faults the chaos suite (chaos/) injects into a real service process. Armed only when
 * BOTH `NODE_ENV=test` and `CHAOS_FAULT=<name>` are set, read once at start: one stray
 * variable in a production environment cannot arm one.
 *
 * - `crash-after-commit`: the process kills itself (SIGKILL) after a change has committed
 *   and before its bus message is published: the crash window CrashWindowCheck closes.
 */
export type FaultName = 'crash-after-commit';

type FaultEnv = { NODE_ENV?: string; CHAOS_FAULT?: string };

export function faultArmed(name: FaultName, env: FaultEnv = process.env): boolean {
  return env.NODE_ENV === 'test' && env.CHAOS_FAULT === name;
}

const crashAfterCommit = faultArmed('crash-after-commit');

/** Dies here, without a chance to publish, if the suite armed `crash-after-commit`. */
export function crashIfArmedAfterCommit(): void {
  if (crashAfterCommit) process.kill(process.pid, 'SIGKILL');
}
