import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockIdToHex } from '../../store/block-store.js';
import { countReplica } from './replica-counts.js';

const loc = (n: number): Uint8Array => new Uint8Array(32).fill(n);
const id = (n: number): Uint8Array => new Uint8Array(32).fill(100 + n);

test('an encrypted peer counts live files as full peers do: empty ones too, never directories, symlinks or tombstones', () => {
  const records = [
    { locator: loc(1), blockIds: [id(1), id(2)], file: true }, // a file, both blocks here
    { locator: loc(2), blockIds: [id(3)], file: true }, // a file, its block missing
    { locator: loc(3), blockIds: [], file: true }, // an empty file: held, nothing to fetch
    { locator: loc(4), blockIds: [], file: false }, // a directory, symlink or tombstone
    { locator: loc(5), blockIds: [], file: true }, // two concurrent versions of one empty file: one file
    { locator: loc(5), blockIds: [], file: true },
  ];
  const live = new Map([[blockIdToHex(id(1)), 300], [blockIdToHex(id(2)), 200]]);
  const { stats, referenced } = countReplica(records, live);
  assert.deepEqual(stats, { globalFiles: 4, globalBytes: 500, localFiles: 3, localBytes: 500, needFiles: 1, needBytes: 0 });
  assert.deepEqual([...referenced].sort(), [id(1), id(2), id(3)].map(blockIdToHex).sort());
});
