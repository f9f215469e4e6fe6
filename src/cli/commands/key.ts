/**
 * `sealsync key …`: create, derive, inspect and show folder keys. Works offline,
 * without a home or a daemon. Prints a key only when that is the command's
 * whole point (`new`, `derive`, `qr`); `inspect` never prints a secret.
 */
import { constants as fsConstants, promises as fs } from 'node:fs';
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.js';
import { readKeyArgument } from '../key-input.js';
import { SealsyncError } from '../../errors.js';
// Imported module by module (not crypto/index) so `key` commands start fast:
// they need neither X.509 nor, until `key qr`, the QR encoder.
import { deriveEncrypted, deriveReadOnly, keysFromSecret, newFolderSecret, type FolderKeys } from '../../crypto/keys.js';
import { folderIdText, formatKey, keyTypeName, parseKey } from '../../crypto/key-text.js';
import { toHex } from '../../crypto/bytes.js';

const PNG_FILE_MODE = 0o600;

const CAPABILITIES: Record<FolderKeys['type'], string> = {
  rw: 'read, write, store ciphertext',
  ro: 'read, store ciphertext (local edits are never sent)',
  encrypted: 'store ciphertext only (no names, no contents)',
};

/** `-` reads the key from stdin, so it need not appear in the process list. */
async function readKeyArg(arg: string): Promise<FolderKeys> {
  return parseKey(await readKeyArgument(arg));
}

async function writePrivateFile(path: string, data: Uint8Array): Promise<void> {
  // O_NOFOLLOW: never write through a symlink planted at the target path.
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_NOFOLLOW;
  const handle = await fs.open(path, flags, PNG_FILE_MODE);
  try {
    await handle.chmod(PNG_FILE_MODE);
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

export function registerKeyCommands(program: Command, io: CliIo): void {
  const key = program.command('key').description('create, derive, inspect and show folder keys (offline)');

  key
    .command('new')
    .description('print a new read-write (W) key for a new folder')
    .action(() => {
      io.stdout(`${formatKey(keysFromSecret(newFolderSecret()))}\n`);
    });

  key
    .command('derive')
    .description('print the read-only (R) key of a W key, or the encrypted (E) key of a W or R key')
    .option('--read-only <key>', 'W key to derive a read-only key from (- reads stdin)')
    .option('--encrypted <key>', 'W or R key to derive an encrypted key from (- reads stdin)')
    .action(async (opts: { readOnly?: string; encrypted?: string }) => {
      if ((opts.readOnly === undefined) === (opts.encrypted === undefined)) {
        throw new SealsyncError('ERR_INVALID_ARGUMENT', 'give exactly one of --read-only KEY or --encrypted KEY');
      }
      const derived = opts.readOnly !== undefined
        ? deriveReadOnly(await readKeyArg(opts.readOnly))
        : deriveEncrypted(await readKeyArg(opts.encrypted as string));
      io.stdout(`${formatKey(derived)}\n`);
    });

  key
    .command('inspect')
    .description('show the type and folder id of a key (never a secret)')
    .argument('<key>', 'key text or sealsync:// link (- reads stdin)')
    .option('--json', 'print JSON')
    .action(async (text: string, opts: { json?: boolean }) => {
      const keys = await readKeyArg(text);
      if (opts.json) {
        io.stdout(`${JSON.stringify({
          type: keys.type,
          typeName: keyTypeName(keys.type),
          folderId: toHex(keys.folderId),
          folderIdText: folderIdText(keys.folderId),
          publicKey: toHex(keys.publicKey),
        })}\n`);
        return;
      }
      io.stdout(
        `type:       ${keyTypeName(keys.type)}\n` +
          `folder id:  ${folderIdText(keys.folderId)}\n` +
          `can:        ${CAPABILITIES[keys.type]}\n`,
      );
    });

  key
    .command('qr')
    .description('show a key as a QR code in the terminal, or write it as a PNG file')
    .argument('<key>', 'key text or sealsync:// link (- reads stdin)')
    .option('--png <file>', 'write a PNG image (mode 0600) instead of printing')
    .action(async (text: string, opts: { png?: string }) => {
      const keyText = formatKey(await readKeyArg(text));
      const { keyQrPng, keyQrTerminal } = await import('../../crypto/qr.js');
      if (opts.png !== undefined) {
        await writePrivateFile(opts.png, await keyQrPng(keyText));
        return;
      }
      io.stdout(await keyQrTerminal(keyText));
    });
}
