import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSealsyncError } from '../errors.js';
import { formatKey, keysFromSecret, newFolderSecret } from '../crypto/index.js';
import { configSchema, MAX_FOLDERS } from './config-schema.js';
import { loadConfig, parseConfigText, saveConfig } from './config-store.js';
import { removeStaleTempFiles } from './atomic-write.js';

function errorOf(fn: () => unknown): Error & { code?: string } {
  try { fn(); } catch (err) { return err as Error; }
  throw new Error('expected a throw');
}

const VALID_KEY = formatKey(keysFromSecret(newFolderSecret()));

test('an empty object gets every default', () => {
  const c = parseConfigText('{}');
  assert.equal(c.version, 1);
  assert.equal(c.webui.enabled, true);
  assert.equal(c.webui.passwordHash, null);
  assert.equal(c.archive.retentionDays, 30);
  assert.deepEqual(c.bandwidth, { maxSendKBps: 0, maxRecvKBps: 0 });
  assert.deepEqual(c.folders, []);
});

test('schema errors name the field and its line', () => {
  const text = `{\n  "listen": "0.0.0.0:22000",\n  "folders": [\n    {\n      "path": "/x",\n      "key": "${VALID_KEY}",\n      "watch": "yes"\n    }\n  ]\n}`;
  const err = errorOf(() => parseConfigText(text));
  assert.ok(isSealsyncError(err, 'ERR_CONFIG_INVALID'));
  assert.match(err.message, /^config\.json line 7: folders\[0\]\.watch: /);
});

test('unknown keys are errors at their own line', () => {
  const err = errorOf(() => parseConfigText('{\n  "discovery": true,\n  "dicsovery": false\n}'));
  assert.match(err.message, /^config\.json line 3: /);
  assert.match(err.message, /dicsovery/);
});

test('bad addresses and relative paths are refused', () => {
  assert.match(errorOf(() => parseConfigText('{"listen": "nohost"}')).message, /listen: expected HOST:PORT/);
  assert.match(errorOf(() => parseConfigText('{"peers": [{"address": "127.0.0.1:1"}]}')).message, /peers\[0\]\.address/);
  assert.match(errorOf(() => parseConfigText('{"folders": [{"path": "rel", "key": "k"}]}')).message, /absolute/);
});

test('a bad key and a duplicate folder are reported at their lines', () => {
  const key = 'W' + 'A'.repeat(58);
  const err = errorOf(() => parseConfigText(`{\n  "folders": [\n    {\n      "path": "/x",\n      "key": "${key}"\n    }\n  ]\n}`));
  assert.match(err.message, /^config\.json line 5: folders\[0\]\.key: /);
  assert.ok(!err.message.includes(key), 'the key itself is not echoed');
  const dup = { path: '/x', key: VALID_KEY };
  const text = JSON.stringify({ folders: [dup, dup] }, null, 2);
  const err2 = errorOf(() => parseConfigText(text));
  assert.match(err2.message, /^config\.json line 8: folders\[1\]\.path: the same folder is listed twice/);
});

// Found by fuzzing (test/fuzz, target config-file): the schema checked each key by
// deriving it (an Ed25519 key per read-write folder), so a config with the most folders
// allowed took 0.25-1.4 s of CPU to validate; checking the text alone takes a few ms.
test('a config with the most folders allowed validates within 100 ms of CPU', () => {
  const folders = Array.from({ length: MAX_FOLDERS }, (_, i) => ({ path: `/data/f${i}`, key: VALID_KEY }));
  const text = JSON.stringify({ folders });
  let cheapest = Infinity;
  for (let i = 0; i < 3; i++) {
    const before = process.cpuUsage();
    assert.equal(parseConfigText(text).folders.length, MAX_FOLDERS);
    const used = process.cpuUsage(before);
    cheapest = Math.min(cheapest, (used.user + used.system) / 1000);
  }
  assert.ok(cheapest < 100, `cheapest of 3 took ${cheapest.toFixed(0)} ms of CPU`);
  const tooMany = JSON.stringify({ folders: [...folders, { path: '/data/one-more', key: VALID_KEY }] });
  assert.match(errorOf(() => parseConfigText(tooMany)).message, /folders: Array must contain at most 1000/);
});

// Found by fuzzing (test/fuzz, target config-file): a config's shape was bounded by its
// size alone (4 MiB), and the schema's cost grows with every value: a 1 MiB list of
// numbers cost 5 s of CPU (one zod issue per element), 200,000 levels of nesting cost
// JSON.parse 100 ms. Now the shape is checked first, in one pass, with a line.
test('configs too deep, too long or too many-valued are refused within 100 ms of CPU, at their line', () => {
  const MB = 1024 * 1024;
  const cases: Array<[string, RegExp]> = [
    [`{"folders": ${'['.repeat(200_000)}1${']'.repeat(200_000)}}`, /^config\.json line 1: nested deeper than 16 levels$/],
    [`{\n"webui": {"a":\n${'{"a":'.repeat(100_000)}1${'}'.repeat(100_001)}}`, /^config\.json line 3: nested deeper than 16 levels$/],
    [`{"folders": [${Array(MB / 2).fill('1').join(',')}]}`, /^config\.json line 1: a list of more than 2000 items$/],
    [`{"peers": [${Array(Math.floor(MB / 3)).fill('{}').join(',')}]}`, /^config\.json line 1: a list of more than 2000 items$/],
    [`{"device": {${Array.from({ length: 30_000 }, (_, i) => `"k${i}": [1]`).join(',\n')}}}`, /^config\.json line \d+: more than 20000 values$/],
  ];
  for (const [text, message] of cases) {
    let cheapest = Infinity;
    for (let i = 0; i < 3; i++) {
      const before = process.cpuUsage();
      const err = errorOf(() => parseConfigText(text));
      const used = process.cpuUsage(before);
      cheapest = Math.min(cheapest, (used.user + used.system) / 1000);
      assert.ok(isSealsyncError(err, 'ERR_CONFIG_INVALID'));
      assert.match(err.message, message);
    }
    assert.ok(cheapest < 100, `${message}: cheapest of 3 took ${cheapest.toFixed(0)} ms of CPU`);
  }
  // One list entry too many is still the schema's message, by name.
  const peers = Array.from({ length: 1001 }, (_, i) => ({ address: `tcp://10.0.${i >> 8}.${i & 255}:22000` }));
  assert.match(errorOf(() => parseConfigText(JSON.stringify({ peers }))).message, /peers: Array must contain at most 1000/);
});

test('JSON syntax errors give a line, on one line', () => {
  const err = errorOf(() => parseConfigText('{\n  "a": 1,\n  "b": 2,\n}'));
  assert.match(err.message, /^config\.json line 4: not valid JSON/);
  assert.ok(!err.message.includes('\n'));
});

test('save is atomic, 0600, and round-trips; load reports a missing file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-cfg-'));
  try {
    const path = join(dir, 'config.json');
    await assert.rejects(loadConfig(path), (e: unknown) => isSealsyncError(e, 'ERR_CONFIG_MISSING'));
    const config = configSchema.parse({ device: { name: 'n' } });
    await saveConfig(path, config);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await loadConfig(path), config);
    assert.deepEqual(await readdir(dir), ['config.json'], 'no temp file left');
    // An invalid config is refused before anything is written.
    const before = await readFile(path, 'utf8');
    await assert.rejects(saveConfig(path, { ...config, listen: 'bad' }));
    assert.equal(await readFile(path, 'utf8'), before);
    assert.deepEqual(await readdir(dir), ['config.json']);
    // A crash mid-write leaves a temp file; the next start removes only such files.
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(dir, '.config.json.0123456789ab.tmp'), 'partial');
    await writeFile(join(dir, 'user.tmp'), 'not ours');
    assert.equal(await removeStaleTempFiles(dir), 1);
    assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'user.tmp']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
