import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../logger.js';
import { RefusalLog } from './refusal-log.js';

function capture(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('a flood of refusals writes a bounded number of lines: some one by one, then one summary per window', () => {
  const out = capture();
  let now = 0;
  const log = new RefusalLog(createLogger({ level: 'info', destination: out.stream }), () => now, 3, 1000);
  for (let i = 0; i < 10_000; i++) log.note(i % 2 ? 'too many unjoined connections' : 'TLS handshake failed', `10.0.0.${i % 250}`);
  assert.equal(out.lines().length, 3, 'only the first few are logged one by one');
  now = 1000;
  log.note('late', '10.0.0.1');
  const lines = out.lines();
  assert.equal(lines.length, 5, 'a summary, then the new window starts with a line of its own');
  const summary = lines[3] as { refused: number; reasons: Record<string, number> };
  assert.equal(summary.refused, 9997);
  assert.deepEqual(Object.keys(summary.reasons).sort(), ['TLS handshake failed', 'too many unjoined connections']);
  log.flush();
  assert.equal(out.lines().length, 5, 'nothing suppressed: no summary');
});

test('attacker-chosen reasons cannot grow the summary without bound', () => {
  const out = capture();
  const log = new RefusalLog(createLogger({ level: 'info', destination: out.stream }), () => 0, 0, 1000);
  for (let i = 0; i < 1000; i++) log.note(`TLS handshake failed: reason ${i}`, '10.0.0.1');
  log.flush();
  const [summary] = out.lines() as { refused: number; reasons: Record<string, number> }[];
  assert.equal(summary?.refused, 1000);
  assert.ok(Object.keys(summary.reasons).length <= 17);
  assert.ok((summary.reasons.other ?? 0) > 0);
});
