/** Small process helpers shared by the benchmark drivers. */
import type { ChildProcess } from 'node:child_process';

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
