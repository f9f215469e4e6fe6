/**
 * A temporary root for `server setup --root` tests: a minimal /etc as on a
 * fresh Debian, and a snapshot of every path under it with type, mode and owner.
 */
import { lstat, mkdir, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from './harness.js';

export interface Entry { type: 'dir' | 'file' | 'link'; mode: number; uid: number; gid: number; target?: string }

/** Every path under `root` with its type, mode and owner. */
export async function snapshot(root: string, rel = ''): Promise<Map<string, Entry>> {
  const out = new Map<string, Entry>();
  for (const name of await readdir(join(root, rel))) {
    const p = rel ? `${rel}/${name}` : name;
    const st = await lstat(join(root, p));
    const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : 'file';
    out.set(p, { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, ...(type === 'link' ? { target: await readlink(join(root, p)) } : {}) });
    if (type === 'dir') for (const [k, v] of await snapshot(root, p)) out.set(k, v);
  }
  return out;
}

/** A minimal /etc as on a fresh Debian: the account files useradd edits. */
export async function makeRoot(): Promise<string> {
  const root = await makeTempDir('ss-root-');
  await mkdir(join(root, 'etc'), { mode: 0o755 });
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n', { mode: 0o644 });
  await writeFile(join(root, 'etc/group'), 'root:x:0:\nshadow:x:42:\n', { mode: 0o644 });
  await writeFile(join(root, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
  await writeFile(join(root, 'etc/gshadow'), 'root:*::\nshadow:*::\n', { mode: 0o640 });
  return root;
}

