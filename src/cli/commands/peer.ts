/**
 * `sealsync peer add|list|remove`: known peer addresses (tcp://HOST:PORT).
 */
import type { Command } from 'commander';
import type { PeerStatus } from '../../api/daemon-api.js';
import { clientOf } from '../home-option.js';
import type { CliIo } from '../cli-io.js';
import { formatBytes, table } from './status.js';

export function registerPeerCommands(program: Command, io: CliIo): void {
  const peer = program.command('peer').description('manage known peers');

  peer.command('add <address>')
    .description('dial this peer (tcp://HOST:PORT)')
    .action(async (address: string, _flags: unknown, cmd: Command) => {
      const { peer: p } = await clientOf(cmd).request<{ peer: PeerStatus }>('POST', '/api/peers', { address });
      io.stdout(`Added peer ${p.address}\n`);
    });

  peer.command('list')
    .description('list known peers')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const { peers } = await clientOf(cmd).request<{ peers: PeerStatus[] }>('GET', '/api/peers');
      if (flags.json) { io.stdout(`${JSON.stringify(peers, null, 2)}\n`); return; }
      if (peers.length === 0) { io.stdout('No peers.\n'); return; }
      io.stdout(`${table(['PEER', 'ID', 'NAME', 'CONNECTED', 'IN', 'OUT'], peers.map((p) => [
        p.address, p.id ?? '-', p.name ?? '-', p.connected ? 'yes' : 'no', formatBytes(p.inBytes), formatBytes(p.outBytes),
      ])).join('\n')}\n`);
    });

  peer.command('remove <peer>')
    .description('forget a peer (by address or device id)')
    .action(async (p: string, _flags: unknown, cmd: Command) => {
      await clientOf(cmd).request('DELETE', '/api/peers', { peer: p });
      io.stdout(`Removed peer ${p}\n`);
    });
}
