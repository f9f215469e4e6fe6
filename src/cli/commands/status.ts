/**
 * `sealsync status [--json]`: the daemon's device, dashboard, folders and
 * peers. `--json` is the contract scripts and tests rely on (DESIGN.md);
 * the human form is a compact table.
 */
import type { Command } from 'commander';
import type { StatusReport } from '../../api/daemon-api.js';
import { clientOf } from '../home-option.js';
import type { CliIo } from '../main.js';

export function registerStatusCommand(program: Command, io: CliIo): void {
  program.command('status')
    .description('show the daemon, folders and peers')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const status = await clientOf(cmd).status();
      io.stdout(flags.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
    });
}

export function formatStatus(s: StatusReport): string {
  const lines = [
    `Device  ${s.device.name}  ${s.device.id}`,
    `Listen  ${s.device.listen.join(', ') || '-'}`,
    `UI      ${s.ui?.url ?? 'off'}`,
    '',
  ];
  if (s.folders.length === 0) {
    lines.push('No folders (add one with `sealsync folder add PATH --key KEY`).');
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
