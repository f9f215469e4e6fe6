/**
 * One fault per round, injected while the round's edits are still spreading,
 * then healed:
 *
 * - kill9: a random daemon gets SIGKILL and is restarted after a moment.
 * - cut: a random link is cut (open connections dropped, new ones closed)
 *   for 1–4 s.
 * - slow: a random link gets 20–200 ms of delay each way and a 32–512 KiB/s
 *   throttle for 2–5 s.
 * - disk-full: b's folder disk (a small tmpfs) is filled to the last byte
 *   by a file beside the folder for 2–4 s, then the file is removed.
 * - clock-jump: a read-write device's clock jumps hours to years, forwards
 *   or back: the files it wrote this round, and a few others, carry mtimes
 *   that far off (the system clock of a shared machine is not ours to move,
 *   and faketime is not available; mtimes are the only wall-clock time that
 *   crosses the wire, and nothing in the protocol may depend on them).
 */
import { open, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChaosCluster } from './cluster.js';
import { pick, randInt, type EditLedger, type Rng, type RoundEdits } from './edits.js';

export const FAULT_KINDS = ['kill9', 'cut', 'slow', 'disk-full', 'clock-jump'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];
const FILLER_NAME = 'filler.bin';
const FILL_CHUNK = 1024 * 1024;

export interface FaultReport {
  readonly kind: FaultKind;
  readonly target: string;
  readonly heldMs: number;
  readonly detail?: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes zeros beside b's folder until the tmpfs is full; returns the bytes written. */
async function fillDisk(mount: string): Promise<number> {
  const fh = await open(join(mount, FILLER_NAME), 'w');
  let written = 0;
  try {
    const free = await statfs(mount);
    const chunk = Buffer.alloc(FILL_CHUNK);
    const limit = free.bavail * free.bsize + FILL_CHUNK;
    while (written < limit) {
      try {
        const { bytesWritten } = await fh.write(chunk);
        written += bytesWritten;
        if (bytesWritten < chunk.length) break;
      } catch {
        break; // ENOSPC: full
      }
    }
    // The last partial blocks: fill byte-sized leftovers too.
    for (let size = FILL_CHUNK / 2; size >= 1; size = Math.floor(size / 2)) {
      try {
        written += (await fh.write(Buffer.alloc(size))).bytesWritten;
      } catch {
        // that size no longer fits
      }
    }
  } finally {
    await fh.close();
  }
  return written;
}

export async function injectFault(cluster: ChaosCluster, rng: Rng, kind: FaultKind, ledger: EditLedger, edits: RoundEdits): Promise<FaultReport> {
  switch (kind) {
    case 'kill9': {
      const d = pick(rng, [...cluster.devices.values()]);
      await sleep(randInt(rng, 0, 1500));
      await d.daemon.kill9();
      const heldMs = randInt(rng, 0, 2000);
      await sleep(heldMs);
      const restartMs = await cluster.restart(d);
      return { kind, target: d.name, heldMs, detail: { restartMs } };
    }
    case 'cut': {
      const l = pick(rng, cluster.links);
      await sleep(randInt(rng, 0, 500));
      l.proxy.cut();
      const heldMs = randInt(rng, 1000, 4000);
      await sleep(heldMs);
      l.proxy.heal();
      return { kind, target: l.proxy.name, heldMs };
    }
    case 'slow': {
      const l = pick(rng, cluster.links);
      const delayMs = randInt(rng, 20, 200);
      const rate = randInt(rng, 32, 512) * 1024;
      l.proxy.delay(delayMs);
      l.proxy.throttle(rate);
      const heldMs = randInt(rng, 2000, 5000);
      await sleep(heldMs);
      l.proxy.heal();
      return { kind, target: l.proxy.name, heldMs, detail: { delayMs, bytesPerSecond: rate } };
    }
    case 'disk-full': {
      const b = cluster.device('b');
      if (!b.mount) throw new Error('b has no tmpfs');
      const filled = await fillDisk(b.mount);
      const heldMs = randInt(rng, 2000, 4000);
      await sleep(heldMs);
      await unlink(join(b.mount, FILLER_NAME));
      return { kind, target: 'b', heldMs, detail: { fillerBytes: filled } };
    }
    case 'clock-jump': {
      const d = pick(rng, cluster.rwDevices);
      const { paths, offsetMs } = await ledger.clockJump(d, edits);
      return { kind, target: d.name, heldMs: 0, detail: { offsetMs, files: paths.length } };
    }
  }
}
