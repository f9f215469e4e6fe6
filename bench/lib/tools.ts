/**
 * One interface over both tools so every scenario is written once and run
 * against sealsync and Syncthing alike.
 */
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { SealsyncNode, cli, sleep } from './sealsync.js';
import { SyncthingNode } from './syncthing.js';
import type { ProcStats } from './proc-stats.js';

export type Role = 'full' | 'untrusted';

export interface Member {
  readonly node: ToolNode;
  readonly path: string;
  readonly role: Role;
}

export interface FolderCounts {
  readonly files: number;
  readonly bytes: number;
  /** Nothing to do and nothing needed (a lone sealsync folder is 'unshared': idle too). */
  readonly idle: boolean;
  /** The tool says "up to date" (sealsync: state 'idle', which needs a connected or recently seen peer). */
  readonly upToDate: boolean;
}

export interface ShareHandle {
  readonly configured: Set<Member>;
  writeKey?: string;
  encryptedKey?: string;
}

export interface ToolNode {
  readonly name: string;
  stats(): ProcStats;
  stop(): Promise<ProcStats>;
  bytes(): Promise<{ inBytes: number; outBytes: number }>;
}

export interface Tool {
  readonly name: 'sealsync' | 'syncthing';
  node(home: string, name: string): Promise<ToolNode>;
  /**
   * Shares one folder among members; `links` are pairs of member indexes that
   * connect. Pass the returned handle again to add members to the same folder.
   */
  share(members: Member[], links: Array<[number, number]>, handle?: ShareHandle): Promise<ShareHandle>;
  /** The folder as the member sees it (local side). */
  counts(member: Member): Promise<FolderCounts>;
  /** Asks for a rescan now and resolves when it has finished. */
  rescan(member: Member): Promise<void>;
}

const FOLDER_ID = 'bench';
const ENCRYPTION_PASSWORD = 'bench-untrusted-password';

export const syncthingTool: Tool = {
  name: 'syncthing',
  async node(home, name) {
    const n = new SyncthingNode(home, name);
    await n.init();
    await n.start();
    return n;
  },
  async share(members, links, handle = { configured: new Set<Member>() }) {
    const st = (m: Member) => m.node as SyncthingNode;
    for (const [i, j] of links) {
      const a = members[i]!;
      const b = members[j]!;
      await st(a).addDevice(st(b), { untrusted: b.role === 'untrusted', paused: true });
      await st(b).addDevice(st(a), { untrusted: a.role === 'untrusted', paused: true });
    }
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      const peers = links
        .filter(([x, y]) => x === i || y === i)
        .map(([x, y]) => members[x === i ? y : x]!)
        .map((p) => ({
          node: st(p),
          encryptionPassword: m.role === 'full' && p.role === 'untrusted' ? ENCRYPTION_PASSWORD : undefined,
        }));
      if (handle.configured.has(m)) {
        for (const p of peers) await st(m).addFolderDevice(FOLDER_ID, p.node, p.encryptionPassword);
      } else {
        await st(m).addFolder(FOLDER_ID, m.path, peers, m.role === 'untrusted' ? 'receiveencrypted' : 'sendreceive');
        handle.configured.add(m);
      }
    }
    for (const [i, j] of links) {
      await st(members[i]!).resumeDevice(st(members[j]!));
      await st(members[j]!).resumeDevice(st(members[i]!));
    }
    return handle;
  },
  async counts(m) {
    const s = await (m.node as SyncthingNode).folderStatus(FOLDER_ID);
    const idle = s.state === 'idle' && s.needFiles === 0 && s.needBytes === 0;
    return { files: s.localFiles, bytes: s.localBytes, idle, upToDate: idle };
  },
  async rescan(m) {
    await (m.node as SyncthingNode).rescan(FOLDER_ID);
  },
};

/**
 * SEALSYNC_BENCH_CLI=1 configures sealsync through `sealsync` commands (one
 * Node start per command, ~0.1 s each on the bench machine) instead of the
 * control socket's REST API; the default mirrors the Syncthing side, which is
 * configured over REST.
 */
const VIA_CLI = process.env.SEALSYNC_BENCH_CLI === '1';

/** A new folder key and its encrypted form, made in process (what `key new` / `key derive` print). */
async function newFolderKeys(): Promise<{ writeKey: string; encryptedKey: string }> {
  const { keysFromSecret, newFolderSecret, deriveEncrypted } = await import('../../src/crypto/keys.js');
  const { formatKey } = await import('../../src/crypto/key-text.js');
  const keys = keysFromSecret(newFolderSecret());
  return { writeKey: formatKey(keys), encryptedKey: formatKey(deriveEncrypted(keys)) };
}

export const sealsyncTool: Tool = {
  name: 'sealsync',
  async node(home, name) {
    const n = new SealsyncNode(home, name);
    n.init();
    await n.start();
    return n;
  },
  async share(members, links, handle = { configured: new Set<Member>() }) {
    const ss = (m: Member) => m.node as SealsyncNode;
    if (VIA_CLI) {
      handle.writeKey ??= cli(ss(members[0]!).home, ['key', 'new']);
      handle.encryptedKey ??= cli(ss(members[0]!).home, ['key', 'derive', '--encrypted', handle.writeKey]);
    } else if (!handle.writeKey || !handle.encryptedKey) {
      Object.assign(handle, await newFolderKeys());
    }
    const writeKey = handle.writeKey!;
    const encryptedKey = handle.encryptedKey!;
    for (const m of members) {
      if (handle.configured.has(m)) continue;
      const key = m.role === 'untrusted' ? encryptedKey : writeKey;
      if (VIA_CLI) cli(ss(m).home, ['folder', 'add', m.path, '--key', key]);
      else await ss(m).api('POST', '/api/folders', { path: realpathSync(m.path), key });
      handle.configured.add(m);
    }
    for (const [i, j] of links) {
      // one side dials; the connection serves both directions
      const addr = await ss(members[j]!).listenAddress();
      if (VIA_CLI) cli(ss(members[i]!).home, ['peer', 'add', addr]);
      else await ss(members[i]!).api('POST', '/api/peers', { address: addr });
    }
    return handle;
  },
  async counts(m) {
    const f = await (m.node as SealsyncNode).folder(m.path);
    if (!f) return { files: 0, bytes: 0, idle: false, upToDate: false };
    const needsNothing = f.needFiles === 0 && f.needBytes === 0;
    return { files: f.localFiles, bytes: f.localBytes, idle: (f.state === 'idle' || f.state === 'unshared') && needsNothing, upToDate: f.state === 'idle' && needsNothing };
  },
  async rescan(m) {
    const node = m.node as SealsyncNode;
    if (VIA_CLI) cli(node.home, ['folder', 'rescan', m.path, '--wait']);
    else await node.api('POST', '/api/folders/rescan', { path: realpathSync(m.path), wait: true });
  },
};

/** Polls until `done` holds or the time runs out; returns elapsed ms or throws. */
export async function waitFor(what: string, done: () => Promise<boolean>, timeoutMs: number, pollMs = 50): Promise<number> {
  const start = performance.now();
  let lastError = '';
  while (performance.now() - start < timeoutMs) {
    try {
      if (await done()) return performance.now() - start;
    } catch (err) {
      // not ready yet (daemon starting, folder not known yet)
      lastError = err instanceof Error ? err.message : String(err);
    }
    await sleep(pollMs);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
}

/** Removes each tool's working files from a data folder so the next run starts clean. */
export function cleanMarkers(dir: string): void {
  for (const name of ['.stfolder', '.stversions', '.sealsync']) {
    spawnSync('rm', ['-rf', join(dir, name)]);
  }
}
