// The load-generator processes (bench/lib/loadgen.mjs) as seen from the runner: one IPC
// call per command, with a timeout, and their CPU over a phase.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wrapCommand } from './proc.mjs';
import { round } from './stats.mjs';

const LIB = path.dirname(fileURLToPath(import.meta.url));

class Generator {
  constructor(index, cores) {
    this.index = index;
    this.pending = new Map();
    this.seq = 0;
    const [cmd, args] = wrapCommand([process.execPath, path.join(LIB, 'loadgen.mjs')], cores);
    this.child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    this.ready = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('load generator did not start')), 15000);
      this.child.on('message', (m) => {
        if (m.ready) {
          clearTimeout(t);
          return resolve();
        }
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        if (m.error) p.reject(new Error(`generator ${this.index}: ${m.error}`));
        else p.resolve(m.result);
      });
    });
    this.child.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`generator ${this.index} exited (${code})`));
      this.pending.clear();
    });
  }
  call(cmd, payload = {}, timeoutMs = 180000) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`generator ${this.index}: ${cmd} timed out`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ id, cmd, ...payload });
    });
  }
}

export class Generators {
  constructor(count, cores) {
    this.list = Array.from({ length: count }, (_, i) => new Generator(i, cores));
  }
  ready() {
    return Promise.all(this.list.map((g) => g.ready));
  }
  get first() {
    return this.list[0];
  }
  get length() {
    return this.list.length;
  }
  /** The same command to every generator. */
  all(cmd, payload, timeoutMs) {
    return Promise.all(this.list.map((g) => g.call(cmd, payload, timeoutMs)));
  }
  /** Round-robin split of `items` over the generators. */
  split(items) {
    const parts = this.list.map(() => []);
    items.forEach((s, i) => parts[i % this.list.length].push(s));
    return parts;
  }
  /** `cmd` with each generator's share of `items` under `key`. */
  each(cmd, key, items, payload = {}, timeoutMs) {
    const parts = this.split(items);
    return Promise.all(this.list.map((g, i) => g.call(cmd, { ...payload, [key]: parts[i] }, timeoutMs)));
  }
  cpuMark() {
    return this.all('cpu');
  }
  kill() {
    for (const g of this.list) g.child.kill('SIGTERM');
  }
}

/** Generators' CPU over a phase, as % of one core (summed over generator processes). */
export function genCpuSince(marks, ends) {
  let cpuUs = 0;
  let wallMs = 0;
  marks.forEach((m, i) => {
    cpuUs += ends[i].user - m.user + ends[i].system - m.system;
    wallMs = Math.max(wallMs, ends[i].at - m.at);
  });
  return {
    percent_of_one_core: round((cpuUs / 1000 / Math.max(1, wallMs)) * 100, 0),
    per_generator_max_percent: round(
      Math.max(...marks.map((m, i) => ((ends[i].user - m.user + ends[i].system - m.system) / 1000 / Math.max(1, ends[i].at - m.at)) * 100)),
      0,
    ),
    cpu_ms: round(cpuUs / 1000, 0),
  };
}
