/**
 * `sealsync device invite|join|approve|deny|list|invites|revoke|unlink`:
 * linking this person's devices with one code, and inviting encrypted
 * servers (src/daemon/devices/). `invite` prints the code: that is what the
 * user asked for; it is valid 10 minutes and works once. `join -` reads the
 * code from stdin, out of the process list and the shell history.
 */
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CreatedInvite, DevicesReport, InviteInfo, JoinResult } from '../../api/daemon-api.js';
import { clientOf } from '../home-option.js';
import { readKeyArgument } from '../key-input.js';
import type { CliIo } from '../cli-io.js';
import { table } from './status.js';
import { parseInviteCode } from '../../crypto/invite.js';

/** `device join` waits for the inviter's approval: an invite's whole life and a margin. */
export const JOIN_TIMEOUT_MS = 11 * 60_000;

async function absolute(path: string): Promise<string> {
  const abs = resolve(path);
  return realpath(abs).catch(() => abs);
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function registerDeviceCommands(program: Command, io: CliIo): void {
  const device = program.command('device').description('link your devices with one code; invite encrypted servers');

  device.command('invite')
    .description('print a one-time code (valid 10 minutes) that links a new device, or with --server hands a server the encrypted keys of some folders')
    .option('--server <paths...>', 'invite an encrypted server for these folders (it gets only their encrypted keys)')
    .option('--auto-approve', 'approve the device that uses the code without asking (for scripts)')
    .option('--json', 'machine-readable output')
    .option('--qr', 'also print the link as a QR code')
    .action(async (flags: { server?: string[]; autoApprove?: boolean; json?: boolean; qr?: boolean }, cmd: Command) => {
      const server = flags.server ? await Promise.all(flags.server.map(absolute)) : undefined;
      const created = await clientOf(cmd).request<CreatedInvite>('POST', '/api/devices/invite', {
        ...(server ? { server } : {}), ...(flags.autoApprove ? { autoApprove: true } : {}),
      });
      if (flags.json) { io.stdout(`${JSON.stringify(created, null, 2)}\n`); return; }
      const kind = created.invite.kind === 'server' ? 'an encrypted server' : 'a device';
      io.stdout(`Invite for ${kind} (works once, until ${when(created.invite.expiresAt)}):\n\n${created.code}\n\n${created.link}\n`);
      if (flags.qr) {
        const { keyQrTerminal } = await import('../../crypto/qr.js');
        io.stdout(`\n${await keyQrTerminal(created.link)}`);
      }
      io.stdout(created.invite.autoApprove
        ? '\nThe device that uses it is approved at once.\n'
        : `\nOn the new device: sealsync device join CODE\nThen approve it here: sealsync device approve DEVICE-ID (see \`sealsync device list\`)\n`);
    });

  device.command('join <code>')
    .description('join the device that made this invite code (- reads it from stdin); waits for its approval')
    .option('--into <dir>', 'where the folders land, each under its own name (default: your home directory)')
    .option('--server', 'join as an encrypted server: only a server invite is taken (never a keyring)')
    .option('--json', 'machine-readable output')
    .action(async (codeArg: string, flags: { into?: string; server?: boolean; json?: boolean }, cmd: Command) => {
      const code = await readKeyArgument(codeArg);
      parseInviteCode(code); // a mistyped code gets its one line before the daemon is asked
      const client = clientOf(cmd);
      // On a terminal, say what we wait for; a script sees only the result or the one-line error.
      if (!flags.json && process.stderr.isTTY) {
        const self = (await client.status()).device.id;
        io.stderr(`Waiting for the inviting device to approve this device (${self})…\n`);
      }
      const into = flags.into !== undefined ? await absolute(flags.into) : undefined;
      const { joined } = await client.request<{ joined: JoinResult }>('POST', '/api/devices/join', {
        code, ...(into ? { into } : {}), as: flags.server ? 'server' : 'device',
      }, { timeoutMs: JOIN_TIMEOUT_MS });
      if (flags.json) { io.stdout(`${JSON.stringify(joined, null, 2)}\n`); return; }
      io.stdout(`${joined.kind === 'device' ? 'Linked to' : 'Serving encrypted folders for'} ${joined.inviter.name} (${joined.inviter.id})\n`);
      if (joined.folders.length === 0) io.stdout('No folders yet.\n');
      else io.stdout(`${table(['FOLDER', 'TYPE'], joined.folders.map((f) => [f.path, f.type])).join('\n')}\n`);
    });

  device.command('approve <id>')
    .description('approve a device waiting to join with an invite code')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      await clientOf(cmd).request('POST', '/api/devices/approve', { id });
      io.stdout(`Approved ${id}\n`);
    });

  device.command('deny <id>')
    .description('refuse a device waiting to join')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      await clientOf(cmd).request('POST', '/api/devices/approve', { id, approve: false });
      io.stdout(`Denied ${id}\n`);
    });

  device.command('list')
    .description('linked devices, servers, devices waiting for approval')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const { devices } = await clientOf(cmd).request<{ devices: DevicesReport }>('GET', '/api/devices');
      if (flags.json) { io.stdout(`${JSON.stringify(devices, null, 2)}\n`); return; }
      const rows = [
        ...devices.devices.map((d) => [d.self ? 'this device' : 'linked', d.id, d.name, d.self ? '-' : d.connected ? 'yes' : 'no']),
        ...devices.servers.map((d) => ['server', d.id, d.name, d.connected ? 'yes' : 'no']),
        ...devices.pending.map((p) => [`waiting (${p.kind})`, p.id, p.name, `approve: sealsync device approve ${p.id}`]),
      ];
      io.stdout(`${table(['KIND', 'ID', 'NAME', 'CONNECTED'], rows).join('\n')}\n`);
      if (devices.into) io.stdout(`Folders from linked devices land in ${devices.into}\n`);
    });

  device.command('invites')
    .description('invites made on this device and their state (never the codes)')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const { invites } = await clientOf(cmd).request<{ invites: InviteInfo[] }>('GET', '/api/devices/invites');
      if (flags.json) { io.stdout(`${JSON.stringify(invites, null, 2)}\n`); return; }
      if (invites.length === 0) { io.stdout('No invites.\n'); return; }
      io.stdout(`${table(['INVITE', 'KIND', 'STATE', 'EXPIRES', 'USED BY'], invites.map((i) => [i.id, i.kind, i.state, when(i.expiresAt), i.usedBy ?? '-'])).join('\n')}\n`);
    });

  device.command('revoke <invite>')
    .description('revoke an invite that was not used yet')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const { invite } = await clientOf(cmd).request<{ invite: InviteInfo }>('DELETE', '/api/devices/invites', { id });
      io.stdout(`Invite ${invite.id} is ${invite.state}\n`);
    });

  device.command('unlink <id>')
    .description('unlink a device or server: refused from now on, the keyring is rotated (keys it already holds are not taken back)')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      await clientOf(cmd).request('POST', '/api/devices/unlink', { id });
      io.stdout(`Unlinked ${id}: it is refused from now on and gets no new folder. Keys it already holds are not taken back: rotate a folder's key to shut it out of that folder.\n`);
    });
}
