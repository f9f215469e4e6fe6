/**
 * Per-process resource readings from /proc (Linux): CPU seconds (user + system)
 * and peak resident set size. Threads (our worker pool) are part of the same
 * process; child processes are not, and Syncthing runs its real work in a
 * child of a small monitor process, so a reading covers the whole process tree
 * below the pid we started: CPU is summed over every process seen, peak RSS is
 * the largest sum of the tree's current RSS (or the largest single VmHWM).
 */
import { readFileSync, readdirSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;
/** A process tree deeper than this is not ours to measure. */
const MAX_TREE_SIZE = 64;

export interface ProcStats {
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
}

interface OneProcess {
  readonly cpuSeconds: number;
  readonly rssBytes: number;
  readonly hwmBytes: number;
}

function readOne(pid: number): OneProcess | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    const rss = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    return {
      cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND,
      rssBytes: rss ? Number(rss[1]) * 1024 : 0,
      hwmBytes: hwm ? Number(hwm[1]) * 1024 : 0,
    };
  } catch {
    return null;
  }
}

/** The pid and its descendants, read from /proc/PID/task/TID/children. */
function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < MAX_TREE_SIZE) {
    const p = queue.shift()!;
    out.push(p);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ')) {
          if (c.trim()) queue.push(Number(c));
        }
      } catch {
        // task ended while we looked
      }
    }
  }
  return out;
}

/** One reading of a single process (no children). */
export function readProcStats(pid: number): ProcStats | null {
  const one = readOne(pid);
  return one ? { cpuSeconds: one.cpuSeconds, peakRssBytes: one.hwmBytes } : null;
}

/** Keeps the last reading of a process tree so numbers survive its exit. */
export class ProcSampler {
  private readonly cpuByPid = new Map<number, number>();
  private peakRss = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pid: number, private readonly intervalMs = 100) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  sample(): ProcStats {
    let rssNow = 0;
    for (const p of processTree(this.pid)) {
      const one = readOne(p);
      if (!one) continue;
      this.cpuByPid.set(p, Math.max(one.cpuSeconds, this.cpuByPid.get(p) ?? 0));
      rssNow += one.rssBytes;
      this.peakRss = Math.max(this.peakRss, one.hwmBytes);
    }
    this.peakRss = Math.max(this.peakRss, rssNow);
    let cpu = 0;
    for (const v of this.cpuByPid.values()) cpu += v;
    return { cpuSeconds: cpu, peakRssBytes: this.peakRss };
  }

  stop(): ProcStats {
    const last = this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return last;
  }
}
