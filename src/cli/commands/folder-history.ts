/**
 * `sealsync folder versions|restore|conflicts|keep|retention`: a folder's
 * archived versions and conflict copies, through the running daemon. Paths
 * and device names come from peers: printed through `printable`.
 */
import { readFile, realpath } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { Option, type Command } from 'commander';
import type { ConflictInfo, ConflictSideInfo, DeviceRef, FileVersionsInfo, FolderInfo, FolderStatus, IgnorePreview } from '../../api/daemon-api.js';
import { SealsyncError } from '../../errors.js';
import { clientOf } from '../home-option.js';
import type { CliIo } from '../cli-io.js';
import { formatBytes, printable, table } from './status.js';

/** `--version` after `folder restore` arrives under this name (src/cli/main.ts restoreVersionArgs). */
export const RESTORE_VERSION_FLAG = '--restore-version';

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
    .addOption(new Option(`${RESTORE_VERSION_FLAG} <version>`).hideHelp())
    .addHelpText('after', '\nOptions of restore:\n  --version <version>  the version to restore, as `folder versions` lists it (default: the newest)')
    .action(async (path: string, file: string, flags: { restoreVersion?: string }, cmd: Command) => {
      const root = await absolute(path);
      const version = flags.restoreVersion;
      const body = { path: root, file: folderRelative(root, file), ...(version !== undefined ? { version } : {}) };
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
    .description('this folder\'s archive retention: days (or "default") and a size bound in MiB (0 = a tenth of the folder\'s disk)')
    .requiredOption('--days <days>', 'keep archived versions this many days, or "default" for archive.retentionDays')
    .option('--max-mib <mib>', 'keep the archive under this many MiB, oldest go first (0 = a tenth of the disk)', '0')
    .action(async (path: string, flags: { days: string; maxMib: string }, cmd: Command) => {
      const days = flags.days === 'default' ? null : wholeNumber(flags.days, '--days');
      const maxMiB = wholeNumber(flags.maxMib, '--max-mib');
      const { folder: info } = await clientOf(cmd).request<{ folder: FolderInfo }>('PATCH', '/api/folders/retention', { path: await absolute(path), retentionDays: days, maxMiB });
      const r = info.retention;
      io.stdout(`Retention of ${printable(info.path)}: ${r?.retentionDays ?? 'default'} days, ${r?.maxMiB ? `${r.maxMiB} MiB at most` : 'at most a tenth of its disk'}\n`);
    });
}

/** `folder pause|resume|ignore`: run control and the shared ignore rules. */
export function registerFolderControlCommands(folder: Command, io: CliIo): void {
  for (const [name, paused] of [['pause', true], ['resume', false]] as const) {
    folder.command(`${name} <path>`)
      .description(paused ? 'stop syncing a folder here until resumed (kept across restarts)' : 'sync a paused folder again')
      .action(async (path: string, _flags: unknown, cmd: Command) => {
        const { folder: f } = await clientOf(cmd).request<{ folder: FolderStatus }>('POST', '/api/folders/pause', { path: await absolute(path), paused });
        io.stdout(`${paused ? 'Paused' : 'Resumed'} ${printable(f.path)}\n`);
      });
  }
  folder.command('ignore <path>')
    .description('print the folder\'s .sealignore; --preview FILE shows what FILE\'s rules would exclude, --set FILE saves them (- = stdin)')
    .option('--preview <file>', 'rules to try, from a file or - for stdin')
    .option('--set <file>', 'rules to save, from a file or - for stdin')
    .action(async (path: string, flags: { preview?: string; set?: string }, cmd: Command) => {
      const client = clientOf(cmd);
      const root = await absolute(path);
      if (flags.preview === undefined && flags.set === undefined) {
        const { text } = await client.request<{ text: string }>('GET', `/api/folders/ignore?${new URLSearchParams({ path: root })}`);
        io.stdout(text === '' || text.endsWith('\n') ? text : `${text}\n`);
        return;
      }
      const text = await readRulesArg((flags.preview ?? flags.set) as string);
      if (flags.preview !== undefined) {
        const { preview } = await client.request<{ preview: IgnorePreview }>('POST', '/api/folders/ignore/preview', { path: root, text });
        for (const p of preview.excluded) io.stdout(`${printable(p)}\n`);
        io.stdout(`${preview.excludedCount} path(s) excluded${preview.partial ? ' (at least: the folder is too large to walk whole)' : ''}\n`);
        return;
      }
      await client.request('POST', '/api/folders/ignore', { path: root, text });
      io.stdout(`Saved .sealignore of ${printable(root)} (it syncs to every device; rescanning now)\n`);
    });
}

async function readRulesArg(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function wholeNumber(text: string, name: string): number {
  if (!/^\d{1,10}$/.test(text)) throw new SealsyncError('ERR_INVALID_ARGUMENT', `${name} must be a whole number`);
  return Number(text);
}
