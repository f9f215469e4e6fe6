/**
 * A one-line progress bar for commands that wait (e.g. `folder add --wait`),
 * fed from status polling. Only on a TTY: piped output and scripts get
 * nothing, so `--json` and logs stay clean.
 */
import { formatBytes } from './commands/status.js';

export const PROGRESS_BAR_WIDTH = 24;
const DEFAULT_COLUMNS = 80;
const MIN_COLUMNS = 20;

export interface ProgressSample {
  readonly files: number;
  readonly bytes: number;
  /** Bytes per second. */
  readonly rate: number;
  /** Total bytes when known (fills the bar); otherwise a spinner-style bar. */
  readonly totalBytes?: number;
}

export interface Progress {
  update(sample: ProgressSample): void;
  /** Clears the line. */
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, label = 'scanning'): Progress {
  if (!stream.isTTY) return { update() { /* not a TTY */ }, done() { /* not a TTY */ } };
  let tick = 0;
  let drawn = false;
  return {
    update(s) {
      tick++;
      const line = `${label} ${bar(s, tick)} ${s.files} files, ${formatBytes(s.bytes)}, ${formatBytes(Math.round(s.rate))}/s`;
      const width = lineWidth(stream);
      stream.write(`\r${line.slice(0, width).padEnd(width)}`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write(`\r${' '.repeat(lineWidth(stream))}\r`);
      drawn = false;
    },
  };
}

/** Usable columns; some pseudo-terminals report 0 columns. */
function lineWidth(stream: NodeJS.WriteStream): number {
  const columns = stream.columns > 0 ? stream.columns : DEFAULT_COLUMNS;
  return Math.max(MIN_COLUMNS, columns - 1);
}

/** Renders the bar text; exported for tests. */
export function bar(s: ProgressSample, tick: number): string {
  if (s.totalBytes && s.totalBytes > 0) {
    const filled = Math.min(PROGRESS_BAR_WIDTH, Math.round((s.bytes / s.totalBytes) * PROGRESS_BAR_WIDTH));
    return `[${'#'.repeat(filled)}${'.'.repeat(PROGRESS_BAR_WIDTH - filled)}]`;
  }
  // Unknown total: a moving marker shows liveness.
  const pos = tick % PROGRESS_BAR_WIDTH;
  return `[${'.'.repeat(pos)}#${'.'.repeat(PROGRESS_BAR_WIDTH - pos - 1)}]`;
}
