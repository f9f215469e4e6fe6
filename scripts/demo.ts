/**
 * `npm run demo`: the encrypted always-on peer in one minute, on loopback.
 *
 *   laptop A (read-write) ──► server S (encrypted key) ◄── laptop B (read-write)
 *
 * A syncs a sample folder to S and goes offline; B, which knows only S, gets
 * everything; then we look at S's disk: opaque names and ciphertext only.
 * Everything runs in a temp directory that is removed at the end; the whole
 * run is bounded by DEMO_TIMEOUT_MS.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { FolderStatus } from '../src/engine/peer/folder-status.js';
import { TestHome } from '../test/e2e/helpers/harness.js';
import { findLeaks, listFiles, treeSnapshot } from '../test/e2e/helpers/replica-checks.js';

const DEMO_TIMEOUT_MS = 120_000;
const STEP_TIMEOUT_MS = 40_000;
const SHOWN_STORE_FILES = 8;

const SAMPLE: Record<string, Buffer> = {
  'Taxes 2025/return-final.pdf': randomBytes(300 * 1024),
  'Taxes 2025/receipts/dentist.txt': Buffer.from('Dentist, 14 March, 180 EUR\n'),
  'Notes/ideas.md': Buffer.from('# Ideas\n\n- a boat named after the cat\n- learn the cello\n'),
  'Photos/cat-on-keyboard.jpg': randomBytes(700 * 1024),
};

const say = (text = ''): void => { process.stdout.write(`${text}\n`); };
const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const step = (text: string): void => say(`\n${bold(`== ${text}`)}`);
const synced = (f: FolderStatus): boolean => f.state === 'idle' && f.needFiles === 0 && f.error === null;

async function main(): Promise<void> {
  const a = await TestHome.create({ name: 'laptop-a', init: null });
  const s = await TestHome.create({ name: 'server-s', root: a.root, init: null });
  const b = await TestHome.create({ name: 'laptop-b', root: a.root, init: null });
  const cleanup = async () => {
    await b.cleanup();
    await s.cleanup();
    await a.cleanup();
  };
  const timer = setTimeout(() => {
    process.stderr.write(`demo: did not finish within ${DEMO_TIMEOUT_MS / 1000} s\n`);
    void cleanup().finally(() => process.exit(1));
  }, DEMO_TIMEOUT_MS);
  try {
    step('Three devices on this machine (temp homes, loopback only)');
    for (const [h, name] of [[a, 'laptop-a'], [s, 'server-s'], [b, 'laptop-b']] as const) {
      await h.cliOk(['init', '--name', name, '--listen', '127.0.0.1:0', '--no-ui', '--no-discovery']);
    }
    const folderA = join(a.root, 'A-Documents');
    const folderB = join(a.root, 'B-Documents');
    const store = join(a.root, 'S-store');
    for (const [rel, data] of Object.entries(SAMPLE)) {
      await mkdir(join(folderA, rel, '..'), { recursive: true });
      await writeFile(join(folderA, rel), data);
    }
    await mkdir(folderB);
    await mkdir(store);
    say(`laptop A's folder: ${Object.keys(SAMPLE).join(', ')}`);
    const dA = await a.startDaemon();
    await s.startDaemon();
    const sAddr = (await s.status()).device.listen[0] ?? '';

    step('Laptop A shares the folder; the server gets only the encrypted key');
    const wKey = (await a.cliOk(['key', 'new'])).trim();
    await a.cliOk(['folder', 'add', folderA, '--key', wKey]);
    const eKey = (await a.cliOk(['folder', 'share', folderA, '--type', 'encrypted'])).trim();
    say(`encrypted key for the server: ${eKey.slice(0, 12)}… (cannot be turned into a read or write key)`);
    await s.cliOk(['folder', 'add', store, '--key', eKey]);
    await a.cliOk(['peer', 'add', sAddr]);
    const fs = await s.waitForFolder(store, (f) => synced(f) && f.globalFiles >= Object.keys(SAMPLE).length, { timeoutMs: STEP_TIMEOUT_MS });
    say(`server S holds ${fs.globalFiles} files' worth of sealed blocks, ${fs.globalBytes} bytes of ciphertext`);

    step('Laptop A goes offline; a new laptop B knows only the server');
    await dA.stop();
    await b.startDaemon();
    await b.cliOk(['folder', 'add', folderB, '--key', wKey]);
    await b.cliOk(['peer', 'add', sAddr]);
    const fb = await b.waitForFolder(folderB, (f) => synced(f) && f.localFiles >= Object.keys(SAMPLE).length, { timeoutMs: STEP_TIMEOUT_MS });
    const same = JSON.stringify([...(await treeSnapshot(folderA))]) === JSON.stringify([...(await treeSnapshot(folderB))]);
    say(`laptop B received ${fb.localFiles} files (${fb.localBytes} bytes); identical to A: ${same ? 'yes' : 'NO'}`);
    for (const rel of Object.keys(SAMPLE)) say(`  B/${rel}  ${(await readFile(join(folderB, rel))).length} bytes`);

    step("What is on the server's disk");
    const storeFiles = await listFiles([store]);
    for (const f of storeFiles.slice(0, SHOWN_STORE_FILES)) say(`  ${relative(a.root, f)}`);
    if (storeFiles.length > SHOWN_STORE_FILES) say(`  … ${storeFiles.length - SHOWN_STORE_FILES} more`);
    const names = Object.keys(SAMPLE).flatMap((p) => p.split('/'));
    const leaks = await findLeaks([s.home, store], names, Object.values(SAMPLE));
    say(leaks.length === 0
      ? `searched every byte of the server's home and store for ${names.length} names and every 64-byte slice of the files: nothing found`
      : `LEAK: ${JSON.stringify(leaks.slice(0, 3))}`);
    const verify = await s.cli(['folder', 'verify', store]);
    say(`server scrub: ${verify.stdout.trim()}`);

    step('Doing this with a real server (see docs/server.md)');
    say('  server$ sealsync init --listen 0.0.0.0:0 --no-ui            # note the port it picked');
    say('  server$ sudo ufw allow <port>/tcp                            # open only that port');
    say('  laptop$ sealsync folder share ~/Documents --type encrypted   # prints E…');
    say('  server$ sealsync folder add /srv/sealsync/documents --key -  # paste the E… key');
    say('  laptop$ sealsync peer add tcp://<server address>:<port>');
    say('  server$ systemctl enable --now sealsync                      # contrib/sealsync.service');
    say('The server can store, verify and serve your files, but never read them.');
    if (!same || leaks.length > 0) process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
