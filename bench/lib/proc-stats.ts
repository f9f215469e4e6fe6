/**
 * Per-process resource readings from /proc (Linux): CPU seconds (user + system)
 * and peak resident set size (VmHWM). Threads (our worker pool) are part of the
 * same process, so one pid covers a whole daemon.
 */
import { readFileSync } from 'node:fs';

const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcStats {
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
}

export function readProcStats(pid: number): ProcStats | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
    return {
      cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND,
      peakRssBytes: hwm ? Number(hwm[1]) * 1024 : 0,
    };
  } catch {
    return null;
  }
}

/** Keeps the last reading of a process so numbers survive its exit. */
export class ProcSampler {
  private last: ProcStats = { cpuSeconds: 0, peakRssBytes: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pid: number, private readonly intervalMs = 100) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  sample(): ProcStats {
    const s = readProcStats(this.pid);
    if (s) this.last = { cpuSeconds: s.cpuSeconds, peakRssBytes: Math.max(s.peakRssBytes, this.last.peakRssBytes) };
    return this.last;
  }

  stop(): ProcStats {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return this.last;
  }
}
