/**
 * The config file (src/daemon/config-store.ts parseConfigText, with the zod
 * schema of src/daemon/config-schema.ts): the input is config.json's bytes,
 * read as UTF-8 as loadConfig does. Valid samples are configs with every
 * section, keys of all three types, and assorted indentation. Hostile ones
 * are what a hand edit or another program could leave: nesting far deeper
 * than any config, the most folders allowed and one more, very long strings.
 * Oracle: an accepted config saves (re-validates) and parses back to itself.
 */
import fc from 'fast-check';
import { deriveEncrypted, deriveReadOnly, formatKey, keysFromSecret } from '../../../src/crypto/index.js';
import { MAX_CONFIG_BYTES, parseConfigText } from '../../../src/daemon/config-store.js';
import { configSchema, MAX_FOLDERS, MAX_PEERS } from '../../../src/daemon/config-schema.js';
import { DEFAULT_BOUNDS, bytesOf, oracle, textOf, type FuzzTarget } from '../target.js';

/** Keys cost an Ed25519 derivation each: a fixed pool of every type. */
const KEY_POOL = Array.from({ length: 4 }, (_, i) => keysFromSecret(new Uint8Array(32).fill(0x30 + i)))
  .flatMap((k) => [formatKey(k), formatKey(deriveReadOnly(k)), formatKey(deriveEncrypted(k))]);

const segment = fc.string({ minLength: 1, maxLength: 10, unit: 'grapheme' }).map((s) => s.replace(/[/\0]/g, '_'));
const absPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((segs) => `/${segs.join('/')}`);
const hostPort = fc.tuple(fc.oneof(fc.ipV4(), fc.constantFrom('localhost', '[::1]', '0.0.0.0', 'nas.example.org')), fc.integer({ min: 1, max: 65535 }))
  .map(([h, p]) => `${h}:${p}`);

const config = fc.record({
  version: fc.constant(1),
  device: fc.record({ name: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== '' && !/\p{Cc}/u.test(s)) }, { requiredKeys: [] }),
  listen: hostPort,
  discovery: fc.boolean(),
  webui: fc.record({
    enabled: fc.boolean(),
    listen: hostPort,
    https: fc.boolean(),
    passwordHash: fc.option(fc.string({ maxLength: 100 })),
    certificatePath: absPath,
  }, { requiredKeys: [] }),
  folders: fc.uniqueArray(fc.record({
    path: absPath,
    key: fc.constantFrom(...KEY_POOL),
    rescanIntervalS: fc.integer({ min: 1, max: 7 * 24 * 3600 }),
    watch: fc.boolean(),
  }, { requiredKeys: ['path', 'key'] }), { maxLength: 4, selector: (f) => f.path }),
  peers: fc.array(hostPort.map((a) => ({ address: `tcp://${a}` })), { maxLength: 3 }),
  archive: fc.record({ retentionDays: fc.integer({ min: 0, max: 3650 }) }),
  bandwidth: fc.record({ maxSendKBps: fc.nat({ max: 10_000_000 }), maxRecvKBps: fc.nat({ max: 10_000_000 }) }),
}, { requiredKeys: [] });

const indent = fc.constantFrom(undefined, 2, 4, '\t');
const valid = fc.tuple(config, indent).map(([c, i]) => bytesOf(JSON.stringify(c, null, i)));

const nesting = fc.tuple(fc.constantFrom('folders', 'device', 'webui', 'unknown'), fc.integer({ min: 10, max: 100_000 }), fc.constantFrom('[', '{"a":'))
  .map(([field, depth, open]) => bytesOf(`{"${field}": ${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}}`));
const mostFolders = fc.tuple(fc.constantFrom(MAX_FOLDERS, MAX_FOLDERS + 1), fc.constantFrom(...KEY_POOL))
  .map(([n, key]) => bytesOf(JSON.stringify({ folders: Array.from({ length: n }, (_, i) => ({ path: `/data/folder-${i}`, key })) })));
const mostPeers = fc.constantFrom(MAX_PEERS, MAX_PEERS + 1)
  .map((n) => bytesOf(JSON.stringify({ peers: Array.from({ length: n }, (_, i) => ({ address: `tcp://10.0.${i >> 8}.${i & 255}:22000` })) })));
const longLists = fc.tuple(fc.constantFrom('folders', 'peers'), fc.integer({ min: 1000, max: 100_000 }), fc.constantFrom('1', '{}', '"x"', '[]'))
  .map(([field, n, item]) => bytesOf(`{"${field}": [${Array(n).fill(item).join(',')}]}`));
const longStrings = fc.tuple(fc.constantFrom('device', 'listen', 'path', 'key'), fc.integer({ min: 4097, max: 256 * 1024 })).map(([field, n]) => {
  const long = 'x'.repeat(n);
  const c = field === 'device' ? { device: { name: long } } : field === 'listen' ? { listen: long } : { folders: [{ path: field === 'path' ? `/${long}` : '/a', key: field === 'key' ? long : KEY_POOL[0] }] };
  return bytesOf(JSON.stringify(c));
});

/** Shapes past every limit. The largest (most folders) cost tens of ms each, so they are the rarest. */
const hostile = fc.oneof(
  { weight: 4, arbitrary: nesting },
  { weight: 4, arbitrary: longLists },
  { weight: 4, arbitrary: longStrings },
  { weight: 1, arbitrary: mostFolders },
  { weight: 1, arbitrary: mostPeers },
);

export const configFileTarget: FuzzTarget = {
  name: 'config-file',
  description: 'parseConfigText (src/daemon/config-store.ts) on config.json bytes',
  valid,
  hostile,
  dictionary: ['{', '}', '[', ']', ',', ':', '"', '\\', '\\u0000', '\\ud800', 'null', 'true', '1e999', '-0', '"version"', '"folders"', '"peers"', '"path"', '"key"', '"__proto__"', '"constructor"', '\n', '\uFEFF'],
  bounds: DEFAULT_BOUNDS,
  maxInputBytes: MAX_CONFIG_BYTES + 1024,
  open: () => ({
    decode(input) {
      return parseConfigText(textOf(input));
    },
    check(_input, c) {
      const saved = JSON.stringify(configSchema.parse(c), null, 2);
      oracle(JSON.stringify(parseConfigText(saved)) === JSON.stringify(c), 'an accepted config does not save and load back to itself');
    },
  }),
};
