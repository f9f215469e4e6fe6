/**
 * `sealsync folder versions|restore|conflicts|keep|retention`: a folder's
 * archived versions and conflict copies, through the running daemon. Paths
 * and device names come from peers: printed through `printable`.
 */
import { realpath } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import type { ConflictInfo, ConflictSideInfo, DeviceRef, FileVersionsInfo, FolderInfo } from '../../api/daemon-api.js';
import { SealsyncError } from '../../errors.js';
import { clientOf } from '../home-option.js';
import type { CliIo } from '../cli-io.js';
import { formatBytes, printable, table } from './status.js';

async function absolute(path: string): Promise<string> {
  const abs = resolve(path);
  return realpath(abs).catch(() => abs);
}

/** FILE as the daemon wants it: folder-relative with '/' (an absolute or ./relative path inside the folder is made so). */
export function folderRelative(folder: string, file: string): string {
  const abs = resolve(file);
  const rel = file.startsWith('/') || file.startsWith('.') ? relative(folder, abs) : file;
  if (rel === '' || rel.startsWith('..')) throw new SealsyncError('ERR_INVALID_ARGUMENT', `${file.slice(0, 200)} is not inside ${folder}`);
  return rel.split(sep).join('/');
}

export function deviceText(d: DeviceRef | null): string {
  if (!d) return 'unknown device';
  const name = d.name === null ? d.id.slice(0, 7) : printable(d.name);
  return d.thisDevice ? `${name} (this device)` : name;
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function sideText(s: ConflictSideInfo | null): string[] {
  if (!s) return ['(gone)', '-', '-', '-'];
  return [printable(s.path), formatBytes(s.size), time(s.mtimeMs), deviceText(s.device)];
}

export function registerFolderHistoryCommands(folder: Command, io: CliIo): void {
  folder.command('versions <path> [file]')
    .description('list archived versions (replaced or deleted files), of FILE and below when given')
    .option('--json', 'machine-readable output')
    .action(async (path: string, file: string | undefined, flags: { json?: boolean }, cmd: Command) => {
      const root = await absolute(path);
      const q = new URLSearchParams({ path: root, ...(file !== undefined ? { file: folderRelative(root, file) } : {}) });
      const { files } = await clientOf(cmd).request<{ files: FileVersionsInfo[] }>('GET', `/api/folders/versions?${q}`);
      if (flags.json) { io.stdout(`${JSON.stringify(files, null, 2)}\n`); return; }
      if (files.length === 0) { io.stdout('No archived versions.\n'); return; }
      const rows = files.flatMap((f) => f.versions.map((v) => [
        printable(f.path) + (f.deleted ? ' (deleted)' : ''), v.version, time(v.archivedAt), formatBytes(v.size), deviceText(v.replacedBy),
      ]));
      io.stdout(`${table(['FILE', 'VERSION', 'ARCHIVED', 'SIZE', 'REPLACED BY'], rows).join('\n')}\n`);
    });

  folder.command('restore <path> <file>')
    .description('put an archived version back (a directory: every missing file below it); the current content is archived first')
    .option('--version <version>', 'the version to restore (default: the newest)')
    .action(async (path: string, file: string, flags: { version?: string }, cmd: Command) => {
      const root = await absolute(path);
      const body = { path: root, file: folderRelative(root, file), ...(flags.version !== undefined ? { version: flags.version } : {}) };
      const { restored } = await clientOf(cmd).request<{ restored: string[] }>('POST', '/api/folders/restore', body);
      if (restored.length === 0) { io.stdout('Nothing to restore: every file is there.\n'); return; }
      for (const p of restored) io.stdout(`Restored ${printable(p)}\n`);
    });

  folder.command('conflicts <path>')
    .description('list conflict copies (made here or on any device) and the version each lost to')
    .option('--json', 'machine-readable output')
    .action(async (path: string, flags: { json?: boolean }, cmd: Command) => {
      const q = new URLSearchParams({ path: await absolute(path) });
      const { conflicts } = await clientOf(cmd).request<{ conflicts: ConflictInfo[] }>('GET', `/api/folders/conflicts?${q}`);
      if (flags.json) { io.stdout(`${JSON.stringify(conflicts, null, 2)}\n`); return; }
      if (conflicts.length === 0) { io.stdout('No conflicts.\n'); return; }
      const rows = conflicts.flatMap((c) => [['kept', ...sideText(c.original)], ['copy', ...sideText(c.copy)]]);
      io.stdout(`${table(['', 'FILE', 'SIZE', 'MODIFIED', 'WRITTEN BY'], rows).join('\n')}\n`);
    });

  folder.command('keep <path> <copy>')
    .description('resolve a conflict: keep the copy (--copy) or the version at the path (--original); the other is archived')
    .option('--copy', 'keep the conflict copy\'s content')
    .option('--original', 'keep the version at the path')
    .action(async (path: string, copy: string, flags: { copy?: boolean; original?: boolean }, cmd: Command) => {
      if (Boolean(flags.copy) === Boolean(flags.original)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'give exactly one of --copy and --original');
      const root = await absolute(path);
      const rel = folderRelative(root, copy);
      await clientOf(cmd).request('POST', '/api/folders/conflicts/keep', { path: root, copy: rel, keep: flags.copy ? 'copy' : 'original' });
      io.stdout(`Kept the ${flags.copy ? 'copy' : 'original'}; the other is archived (folder versions)\n`);
    });

  folder.command('retention <path>')
    .description('this folder\'s archive retention: days (or "default") and a size bound in MiB (0 = none)')
    .requiredOption('--days <days>', 'keep archived versions this many days, or "default" for archive.retentionDays')
    .option('--max-mib <mib>', 'keep the archive under this many MiB, oldest go first (0 = no bound)', '0')
    .action(async (path: string, flags: { days: string; maxMib: string }, cmd: Command) => {
      const days = flags.days === 'default' ? null : wholeNumber(flags.days, '--days');
      const maxMiB = wholeNumber(flags.maxMib, '--max-mib');
      const { folder: info } = await clientOf(cmd).request<{ folder: FolderInfo }>('PATCH', '/api/folders/retention', { path: await absolute(path), retentionDays: days, maxMiB });
      const r = info.retention;
      io.stdout(`Retention of ${printable(info.path)}: ${r?.retentionDays ?? 'default'} days, ${r?.maxMiB ? `${r.maxMiB} MiB at most` : 'no size bound'}\n`);
    });
}

function wholeNumber(text: string, name: string): number {
  if (!/^\d{1,10}$/.test(text)) throw new SealsyncError('ERR_INVALID_ARGUMENT', `${name} must be a whole number`);
  return Number(text);
}
