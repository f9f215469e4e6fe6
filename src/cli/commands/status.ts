/**
 * `sealsync status [--json]`: the daemon's device, dashboard, folders and
 * peers. `--json` is the contract scripts and tests rely on (DESIGN.md);
 * the human form is a compact table. The exit code tells scripts and
 * monitoring where things stand: 0 in sync, 3 syncing, 4 a folder error
 * (1 when the daemon cannot be asked at all).
 */
import type { Command } from 'commander';
import type { StatusReport } from '../../api/daemon-api.js';
import type { CliIo } from '../cli-io.js';
import { EXIT_FOLDER_ERROR, EXIT_OK, EXIT_SYNCING, ExitStatus } from '../exit-codes.js';
import { clientOf, sealsyncCommand } from '../home-option.js';

/** In sync means every folder is idle with nothing left to fetch (its need list is empty). */
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
      f.path, f.type, f.error ? `${f.state}: ${f.error}` : f.state, String(f.localFiles), formatBytes(f.localBytes),
      f.needFiles ? `${f.needFiles} (${formatBytes(f.needBytes)})` : '-',
    ])));
  }
  lines.push('');
  if (s.peers.length === 0) {
    lines.push('No peers.');
  } else {
    lines.push(...table(['PEER', 'NAME', 'CONNECTED', 'IN', 'OUT'], s.peers.map((p) => [
      p.address, p.name ?? '-', p.connected ? 'yes' : 'no', formatBytes(p.inBytes), formatBytes(p.outBytes),
    ])));
  }
  return `${lines.join('\n')}\n`;
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
