/** Small process helpers shared by the benchmark drivers. */
import type { ChildProcess } from 'node:child_process';
import { ProcSampler, type ProcStats } from './proc-stats.js';

const STOP_GRACE_MS = 10_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** SIGTERM, then SIGKILL if the process has not exited within the grace period. */
export async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(STOP_GRACE_MS)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** A benchmarked daemon process: its resource readings and its shutdown, shared by both drivers. */
export class MeasuredProcess {
  private child: ChildProcess | undefined;
  private sampler: ProcSampler | undefined;

  /** Starts sampling a freshly spawned child; returns it for the caller's own checks. */
  attach(child: ChildProcess): ChildProcess {
    this.child = child;
    this.sampler = new ProcSampler(child.pid ?? 0);
    this.sampler.start();
    return child;
  }

  stats(): ProcStats {
    return this.sampler?.sample() ?? { cpuSeconds: 0, peakRssBytes: 0 };
  }

  /** Stops sampling and the process; the readings survive its exit. */
  async stop(): Promise<ProcStats> {
    const stats = this.sampler?.stop() ?? { cpuSeconds: 0, peakRssBytes: 0 };
    await stopChild(this.child);
    this.child = undefined;
    return stats;
  }
}
