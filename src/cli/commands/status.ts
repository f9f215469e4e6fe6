/**
 * `sealsync status [--json]`: the daemon's device, dashboard, folders and
 * peers. `--json` is the contract scripts and tests rely on: the status
 * schema (src/engine/peer/status-schema.ts, with `schemaVersion`; fields in
 * docs/daemon.md); the human form is a compact table of the same values.
 * The exit code tells scripts and monitoring where things stand: 0 in sync
 * (every folder up to date), 3 not yet (syncing, waiting, unshared,
 * scanning), 4 a folder error (1 when the daemon cannot be asked at all).
 */
import type { Command } from 'commander';
import type { FolderStatus, PeerStatus, StatusReport } from '../../api/daemon-api.js';
import type { CliIo } from '../cli-io.js';
import { EXIT_FOLDER_ERROR, EXIT_OK, EXIT_SYNCING, ExitStatus } from '../exit-codes.js';
import { clientOf, sealsyncCommand } from '../home-option.js';

/** Parked paths listed per folder in the table (all of them, up to the schema's bound, are in --json). */
const MAX_PARKED_SHOWN = 5;

/** In sync means every folder is up to date ('idle') with nothing left to fetch (its need list is empty). */
export function statusExitCode(s: StatusReport): number {
  if (s.folders.some((f) => f.state === 'error' || f.error !== null)) return EXIT_FOLDER_ERROR;
  if (s.folders.some((f) => f.state !== 'idle' || f.needFiles > 0 || f.needBytes > 0)) return EXIT_SYNCING;
  return EXIT_OK;
}

export function registerStatusCommand(program: Command, io: CliIo): void {
  program.command('status')
    .description('show the daemon, folders and peers; exit 0 in sync, 3 syncing, 4 a folder error, 1 not running')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const status = await clientOf(cmd).status();
      io.stdout(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, sealsyncCommand(cmd)));
      const code = statusExitCode(status);
      if (code !== EXIT_OK) throw new ExitStatus(code);
    });
}

export function formatStatus(s: StatusReport, cli = 'sealsync'): string {
  const lines = [
    `Device  ${s.device.name}  ${s.device.id}`,
    `Listen  ${s.device.listen.join(', ') || '-'}`,
    `UI      ${s.ui?.url ?? 'off'}`,
    '',
  ];
  if (s.folders.length === 0) {
    lines.push(`No folders (add one with \`${cli} folder add PATH --key KEY\`).`);
  } else {
    lines.push(...table(['FOLDER', 'TYPE', 'STATE', 'FILES', 'SIZE', 'NEED'], s.folders.map((f) => [
      printable(f.path), f.type, folderStateText(f), String(f.localFiles), formatBytes(f.localBytes),
      f.needFiles ? `${f.needFiles} (${formatBytes(f.needBytes)})` : '-',
    ])));
    for (const f of s.folders) {
      for (const d of f.devices ?? []) lines.push(`  ${printable(f.path)}: ${deviceProgressText(d)}`);
      for (const p of f.parked.slice(0, MAX_PARKED_SHOWN)) lines.push(`  ${printable(f.path)}: waiting: ${printable(p.path)}: ${printable(p.reason)}`);
      if (f.parkedCount > MAX_PARKED_SHOWN) lines.push(`  ${printable(f.path)}: and ${f.parkedCount - MAX_PARKED_SHOWN} more (see --json)`);
    }
  }
  lines.push('');
  if (s.peers.length === 0) {
    lines.push('No peers.');
  } else {
    lines.push(...table(['PEER', 'NAME', 'CONNECTED', 'IN', 'OUT', 'PROBLEM'], s.peers.map((p) => [
      p.address, printable(p.name ?? '-'), p.connected ? 'yes' : 'no', formatBytes(p.inBytes), formatBytes(p.outBytes), peerProblemText(p),
    ])));
  }
  return `${lines.join('\n')}\n`;
}

/** Control and direction characters (a hostile peer's file name, a device name) shown as escapes, never sent to the terminal. */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, (c) => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`);
}

/** State words for the table: "idle" is shown as "up to date"; errors and notices follow. */
export function folderStateText(f: FolderStatus): string {
  const state = f.state === 'idle' ? 'up to date' : f.state;
  if (f.error) return `${state}: ${printable(f.error)}`;
  if (f.progress) {
    const eta = f.progress.etaSeconds === null ? '' : `, ${f.progress.etaSeconds} s left`;
    return `${state} ${f.progress.percent}% (${formatBytes(f.progress.rate)}/s${eta})`;
  }
  return f.notice ? `${state}: ${printable(f.notice)}` : state;
}

/** "laptop 97% (3 files, 2.0 MiB to go)": how far a device sharing the folder is, by its own count. */
export function deviceProgressText(d: NonNullable<FolderStatus['devices']>[number]): string {
  const who = printable(d.name ?? d.id);
  if (d.percent === null) return `${who}: progress not reported yet`;
  if (d.percent === 100) return `${who} 100% (up to date)`;
  return `${who} ${d.percent}% (${d.needFiles ?? 0} files, ${formatBytes(d.needBytes ?? 0)} to go)`;
}

/** "refused: … (last try 12:00:01, next 12:00:05)" or "-". */
export function peerProblemText(p: PeerStatus): string {
  const problem = p.problem;
  if (!problem) return '-';
  const at = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().slice(11, 19));
  const last = at(problem.lastAttemptAt);
  const next = at(problem.nextAttemptAt);
  const when = last || next ? ` (${[last && `last try ${last}`, next && `next ${next}`].filter(Boolean).join(', ')})` : '';
  return `${problem.reason}: ${printable(problem.message)}${when}`;
}

export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}
