/**
 * `sealsync folder add|list|remove|share|rescan|revert|gc|verify`: manage shared folders through the
 * running daemon. Paths are sent as realpaths so the daemon compares like with
 * like. `share` prints a key: that is what the user asked for.
 */
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { EXIT_FOLDER_ERROR, ExitStatus } from '../exit-codes.js';
import type { FolderGcReport, FolderInfo, FolderStatus, FolderVerifyReport, StatusReport } from '../../api/daemon-api.js';
import type { ControlClient } from '../../api/control-client.js';
import { SealsyncError } from '../../errors.js';
import { clientOf } from '../home-option.js';
import { readKeyArgument } from '../key-input.js';
import type { CliIo } from '../cli-io.js';
import { createProgress } from '../progress.js';
import { table } from './status.js';
import { registerFolderControlCommands, registerFolderHistoryCommands } from './folder-history.js';

export const WAIT_POLL_MS = 200;
export const DEFAULT_WAIT_TIMEOUT_S = 3600;

async function folderPathArg(path: string): Promise<string> {
  const abs = resolve(path);
  return realpath(abs).catch(() => abs);
}

export function registerFolderCommands(program: Command, io: CliIo): void {
  const folder = program.command('folder').description('manage shared folders');
  registerFolderHistoryCommands(folder, io);
  registerFolderControlCommands(folder, io);

  folder.command('add <path>')
    .description('share a folder (the key says what this device may do)')
    .requiredOption('--key <key>', 'folder key (W…, R… or E…), or - to read it from stdin')
    .option('--wait', 'wait for the first scan to finish (progress bar on a terminal)')
    .option('--wait-timeout <seconds>', 'give up waiting after this long', String(DEFAULT_WAIT_TIMEOUT_S))
    .option('--rescan-interval <seconds>', 'full rescan interval')
    .option('--no-watch', 'do not watch for changes (rescan only)')
    .action(async (path: string, flags: { key: string; wait?: boolean; waitTimeout: string; rescanInterval?: string; watch: boolean }, cmd: Command) => {
      const client = clientOf(cmd);
      const key = await readKeyArgument(flags.key);
      const body: Record<string, unknown> = { path: await folderPathArg(path), key, watch: flags.watch };
      if (flags.rescanInterval !== undefined) body.rescanIntervalS = positiveInt(flags.rescanInterval, '--rescan-interval');
      const { folder: info } = await client.request<{ folder: FolderInfo }>('POST', '/api/folders', body);
      io.stdout(`Added ${info.type} folder ${info.path} (folder id ${info.folderId})\n`);
      if (flags.wait) await waitForScan(client, info.path, positiveInt(flags.waitTimeout, '--wait-timeout') * 1000, io);
    });

  folder.command('list')
    .description('list shared folders')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const { folders } = await clientOf(cmd).request<{ folders: FolderInfo[] }>('GET', '/api/folders');
      if (flags.json) { io.stdout(`${JSON.stringify(folders, null, 2)}\n`); return; }
      if (folders.length === 0) { io.stdout('No folders.\n'); return; }
      io.stdout(`${table(['FOLDER', 'TYPE', 'FOLDER ID', 'WATCH'], folders.map((f) => [f.path, f.type, f.folderId, f.watch ? 'yes' : 'no'])).join('\n')}\n`);
    });

  folder.command('remove <path>')
    .description('stop sharing a folder (its files stay on disk)')
    .action(async (path: string, _flags: unknown, cmd: Command) => {
      await clientOf(cmd).request('DELETE', '/api/folders', { path: await folderPathArg(path) });
      io.stdout(`Removed ${resolve(path)}\n`);
    });

  folder.command('share <path>')
    .description('print a key for this folder to give to another device')
    .requiredOption('--type <type>', 'rw | ro | encrypted')
    .option('--qr', 'also print a QR code')
    .action(async (path: string, flags: { type: string; qr?: boolean }, cmd: Command) => {
      if (!['rw', 'ro', 'encrypted'].includes(flags.type)) {
        throw new SealsyncError('ERR_INVALID_ARGUMENT', `--type must be rw, ro or encrypted, not '${flags.type.slice(0, 20)}'`);
      }
      const { key } = await clientOf(cmd).request<{ key: string }>('POST', '/api/folders/share', { path: await folderPathArg(path), type: flags.type });
      io.stdout(`${key}\n`);
      if (flags.qr) io.stdout(await (await import('../../crypto/qr.js')).keyQrTerminal(key));
    });

  folder.command('gc <path>')
    .description('encrypted folder: drop stored blocks no current file needs, past the retention period')
    .option('--retention-days <days>', 'keep unreferenced blocks this many days (0 = drop them all now)')
    .option('--json', 'machine-readable output')
    .action(async (path: string, flags: { retentionDays?: string; json?: boolean }, cmd: Command) => {
      const body: Record<string, unknown> = { path: await folderPathArg(path) };
      if (flags.retentionDays !== undefined) {
        if (!/^\d{1,4}$/.test(flags.retentionDays)) throw new SealsyncError('ERR_INVALID_ARGUMENT', '--retention-days must be a whole number of days');
        body.retentionDays = Number(flags.retentionDays);
      }
      const { report } = await clientOf(cmd).request<{ report: FolderGcReport }>('POST', '/api/folders/gc', body);
      if (flags.json) { io.stdout(`${JSON.stringify(report, null, 2)}\n`); return; }
      io.stdout(`Deleted ${report.deleted} blocks (${report.deletedBytes} bytes); retained ${report.retainedBlocks} unreferenced blocks `
        + `(${report.retainedBytes} bytes); ${report.liveBlocks} blocks in use (${report.liveBytes} bytes)\n`);
    });

  folder.command('rescan <path>')
    .description('scan a read-write or read-only folder now (changes the watcher missed)')
    .option('--wait', 'return only when the scan has finished')
    .option('--wait-timeout <seconds>', 'give up waiting after this long', String(DEFAULT_WAIT_TIMEOUT_S))
    .action(async (path: string, flags: { wait?: boolean; waitTimeout: string }, cmd: Command) => {
      const body = { path: await folderPathArg(path), wait: flags.wait === true };
      // The daemon answers a waiting rescan only when the scan is over: the request may take long.
      const timeoutMs = flags.wait ? positiveInt(flags.waitTimeout, '--wait-timeout') * 1000 : undefined;
      const { folder: f } = await clientOf(cmd).request<{ folder: FolderStatus }>('POST', '/api/folders/rescan', body,
        timeoutMs !== undefined ? { timeoutMs } : {});
      io.stdout(flags.wait ? `Rescanned ${f.path}: ${f.localFiles} files (${f.localBytes} bytes)\n` : `Rescan of ${f.path} started\n`);
    });

  folder.command('revert <path>')
    .description('read-only folder: undo local edits (restore what the folder holds)')
    .action(async (path: string, _flags: unknown, cmd: Command) => {
      await clientOf(cmd).request('POST', '/api/folders/revert', { path: await folderPathArg(path) });
      io.stdout(`Reverted local changes in ${resolve(path)}\n`);
    });

  folder.command('verify <path>')
    .description('encrypted folder: re-hash every stored block; corrupt ones are quarantined and fetched again')
    .option('--json', 'machine-readable output')
    .action(async (path: string, flags: { json?: boolean }, cmd: Command) => {
      const { report } = await clientOf(cmd).request<{ report: FolderVerifyReport }>('POST', '/api/folders/verify', { path: await folderPathArg(path) });
      if (flags.json) {
        io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        io.stdout(`Checked ${report.checkedBlocks} blocks (${report.checkedBytes} bytes): ${report.corruptCount} corrupt, ${report.missingCount} missing\n`);
        for (const id of report.corrupt) io.stdout(`corrupt ${id}\n`);
        for (const id of report.missing) io.stdout(`missing ${id}\n`);
      }
      // Damage is a failure for scripts (cron, monitoring): non-zero exit with one line.
      // Under --json the report is the whole output (one JSON document): exit 4, a folder error.
      const damaged = report.corruptCount > 0 || report.missingCount > 0;
      if (damaged && flags.json) throw new ExitStatus(EXIT_FOLDER_ERROR);
      if (damaged) {
        throw new SealsyncError('ERR_BLOCK_ID', `${report.corruptCount} corrupt and ${report.missingCount} missing blocks `
          + '(corrupt ones are quarantined and fetched again from connected peers)');
      }
    });
}

function positiveInt(text: string, name: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new SealsyncError('ERR_INVALID_ARGUMENT', `${name} must be a whole number of seconds`);
  return Number(text);
}

/** Polls status until the folder leaves 'scanning' (idle, syncing or error). */
async function waitForScan(client: ControlClient, path: string, timeoutMs: number, io: CliIo): Promise<void> {
  const progress = createProgress(process.stderr);
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const status: StatusReport = await client.status();
      const f = status.folders.find((x) => x.path === path);
      if (!f) throw new SealsyncError('ERR_FOLDER_UNKNOWN', `${path} is no longer shared`);
      if (f.state === 'error') throw new SealsyncError('ERR_INTERNAL', `folder ${path}: ${f.error ?? 'error'}`);
      if (f.state !== 'scanning') {
        progress.done();
        io.stdout(`Scanned ${f.localFiles} files (${f.localBytes} bytes)\n`);
        return;
      }
      progress.update(f.scan ?? { files: f.localFiles, bytes: f.localBytes, rate: 0 });
      await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
    }
    throw new SealsyncError('ERR_TIMEOUT', `the first scan of ${path} did not finish in time`);
  } finally {
    progress.done();
  }
}
