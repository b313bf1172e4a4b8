// Child processes of the bench: servers started through bash so the open-file limit can be
// raised and the process pinned to a core, with `exec` so the pid we hold is the server's.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { request } from './http.mjs';

export const FD_LIMIT = 20000;

export function hasTaskset() {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

export function wrapCommand(argv, cores) {
  const pin = cores ? `taskset -c ${cores} ` : '';
  return ['bash', ['-c', `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n $(ulimit -Hn); exec ${pin}${argv.map(shellQuote).join(' ')}`]];
}

/**
 * Starts a server. Its output goes to `logFile`; `onLine` sees stdout lines (the service
 * prints its first-start key there).
 */
export function startServer({ argv, env, cores, logFile, onLine, cwd }) {
  const [cmd, args] = wrapCommand(argv, cores);
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  let buf = '';
  child.stdout.on('data', (d) => {
    log.write(d);
    if (!onLine) return;
    buf += d.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    if (buf.length > 65536) buf = buf.slice(-4096);
  });
  child.stderr.on('data', (d) => log.write(d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => log.end());
  return { child, pid: child.pid, exited };
}

export async function stopServer(srv, timeoutMs = 30000) {
  if (srv.child.exitCode !== null || srv.child.signalCode !== null) return srv.exited;
  srv.child.kill('SIGTERM');
  const t = setTimeout(() => srv.child.kill('SIGKILL'), timeoutMs);
  const r = await srv.exited;
  clearTimeout(t);
  return r;
}

export async function waitReady(base, timeoutMs, srv, path = '/readyz', intervalMs = 20) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (srv && (srv.child.exitCode !== null || srv.child.signalCode !== null)) return false;
    try {
      const r = await request(base, 'GET', path, { timeoutMs: 2000 });
      if (r.status === 200) return true;
    } catch {}
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return false;
}

/** RSS in KiB and CPU time in ms of a process, from /proc. */
export function procStat(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15, in clock ticks (100 per second on Linux).
    const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    return { rssKiB: rss, cpuMs };
  } catch {
    return { rssKiB: null, cpuMs: null };
  }
}
