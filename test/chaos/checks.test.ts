/**
 * The chaos checks must see what they are there to see: a write that is on
 * no read-write device is lost (one in a conflict copy or in the archive is
 * not), content nobody wrote is corruption, a read-only edit on a read-write
 * device has spread, and a name or a slice of content on an encrypted
 * device's disk is a leak. Run on plain directories (no daemons).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir } from '../e2e/helpers/harness.js';
import type { ChaosCluster, Device, DeviceName } from './cluster.js';
import { checkRound, readTree } from './checks.js';
import { EditLedger, emptyEdits, makeContent, sha256, type Write } from './edits.js';

let root = '';
const devices = new Map<DeviceName, Device>();

/** Just enough of a cluster for checkRound: devices with folders, no daemons. */
const fakeCluster = {
  device: (n: DeviceName) => devices.get(n) as Device,
  get rwDevices() { return [devices.get('a'), devices.get('b')] as Device[]; },
  get encryptedDevices() { return [devices.get('s1'), devices.get('s2')] as Device[]; },
  folderStatus: async () => ({ localChanges: [] }),
} as unknown as ChaosCluster;

before(async () => {
  root = await makeTempDir('chk-');
  for (const name of ['a', 'b', 'c', 's1', 's2'] as const) {
    const dir = join(root, name, 'folder');
    await mkdir(dir, { recursive: true });
    const kind = name === 'c' ? 'ro' : name.startsWith('s') ? 'encrypted' : 'rw';
    devices.set(name, { name, kind, dir, id: name, home: { home: join(root, name) } } as unknown as Device);
  }
});
after(() => rm(root, { recursive: true, force: true }));

function writeOf(id: string, path: string, content: Buffer, device: DeviceName = 'a'): Write {
  return { id, round: 1, device, path, digest: sha256(content), size: content.length };
}

test('checkRound: lost, kept, corrupt, spread and leaked are each told apart', async () => {
  const rng = () => 0.5;
  const ledger = new EditLedger(rng);
  const kept = makeContent(Math.random, 'kept', 5000);
  const archived = makeContent(Math.random, 'archived', 5000);
  const conflictCopy = makeContent(Math.random, 'conflict', 5000);
  const lost = makeContent(Math.random, 'lost', 7000);
  const ro = makeContent(Math.random, 'ro', 3000);
  const leaked = makeContent(Math.random, 'leaked', 40_000);
  for (const c of [kept, archived, conflictCopy, lost, leaked]) ledger.known.add(sha256(c));
  const a = devices.get('a') as Device;
  const b = devices.get('b') as Device;
  await writeFile(join(a.dir, 'kept.dat'), kept);
  await writeFile(join(b.dir, 'kept.dat'), kept);
  await mkdir(join(b.dir, '.sealsync', 'archive'), { recursive: true });
  await writeFile(join(b.dir, '.sealsync', 'archive', 'x~20261206-000000.dat'), archived);
  await writeFile(join(a.dir, 'x.sync-conflict-20261206-000000-ABC.dat'), conflictCopy);
  await writeFile(join(a.dir, 'garbage.dat'), Buffer.from('half written'));
  await writeFile(join(b.dir, 'ro.dat'), ro);
  // A block of `leaked` in clear inside an encrypted device's store, and a name in its home.
  await writeFile(join((devices.get('s1') as Device).dir, 'pack-1'), Buffer.concat([Buffer.alloc(100), leaked.subarray(16_384, 20_000)]));
  await writeFile(join(root, 's2', 'index.db'), Buffer.from('....cx-secretname.dat....'));

  const edits = emptyEdits();
  edits.mustSurvive.push(
    writeOf('kept', 'kept.dat', kept), writeOf('archived', 'x.dat', archived, 'b'),
    writeOf('conflict', 'x.dat', conflictCopy), writeOf('lost', 'gone.dat', lost),
  );
  edits.readOnly.push(writeOf('ro', 'ro.dat', ro, 'c'));
  edits.names.push('cx-secretname.dat');
  edits.contents.push(leaked);
  const report = await checkRound(fakeCluster, ledger, edits, new Map(), 0);

  assert.equal(report.lostBytes, lost.length, 'only the write found nowhere is lost');
  assert.equal(report.lost.length, 1);
  assert.deepEqual(report.corrupt.sort(), ['a:garbage.dat', 'b:ro.dat'], 'content nobody wrote on a rw device');
  assert.deepEqual(report.roSpread, ['ro.dat']);
  assert.ok(report.leaks.some((l) => l.includes('pack-1') && l.includes('content #0')), `slice found: ${report.leaks.join('; ')}`);
  assert.ok(report.leaks.some((l) => l.includes('index.db') && l.includes('name cx-secretname.dat')), 'name found');
});

test('checkRound: an untouched file that vanished everywhere is lost; one a user edited is not', async () => {
  const ledger = new EditLedger(() => 0.5);
  const a = devices.get('a') as Device;
  const before = await readTree(a.dir);
  before.set('old.dat', { digest: 'f'.repeat(64), size: 123 });
  before.set('edited.dat', { digest: 'e'.repeat(64), size: 50 });
  const edits = emptyEdits();
  edits.touched.add('edited.dat');
  const report = await checkRound(fakeCluster, ledger, edits, before, Date.now());
  assert.equal(report.lostBytes, 123);
  assert.match(report.lost[0] ?? '', /untouched old\.dat/);
});
