/**
 * Test helpers shared by the net tests: device identities (cached per name,
 * so a test file makes each one once), bounded waits, and an in-memory folder
 * directory.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createDeviceIdentity } from '../../crypto/index.js';
import type { DeviceCredentials } from '../transport.js';
import type { FolderDirectory } from '../session.js';

const identities = new Map<string, Promise<DeviceCredentials>>();

export function testIdentity(name: string): Promise<DeviceCredentials> {
  let p = identities.get(name);
  if (!p) {
    p = createDeviceIdentity(name, new Date());
    identities.set(name, p);
  }
  return p;
}

/** Resolves when `emitter` emits `event`, or rejects after `ms`. */
export async function waitFor<T = unknown[]>(emitter: NodeJS.EventEmitter, event: string, ms = 5000): Promise<T> {
  return (await once(emitter, event, { signal: AbortSignal.timeout(ms) })) as T;
}

/** Polls `predicate` every 10 ms until true, or throws after `ms`. */
export async function waitUntil(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface TestFolder {
  folderId: Uint8Array;
  accessSecret: Uint8Array;
  /** A full peer's (it holds R): it sends and checks read proofs. */
  readProofKey?: Uint8Array;
}

export function randomFolder(): TestFolder {
  return { folderId: new Uint8Array(randomBytes(32)), accessSecret: new Uint8Array(randomBytes(32)) };
}

/** A FolderDirectory over a mutable list. */
export class MemoryDirectory implements FolderDirectory {
  constructor(public folders: TestFolder[] = []) {}

  lookup(folderId: Uint8Array): { accessSecret: Uint8Array; readProofKey?: Uint8Array } | undefined {
    return this.folders.find((f) => Buffer.from(f.folderId).equals(folderId));
  }

  folderIds(): Uint8Array[] {
    return this.folders.map((f) => f.folderId);
  }
}
