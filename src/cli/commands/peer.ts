/**
 * `sealsync peer add|list|remove`: known peers, by device id with an address
 * as a hint (ID@HOST:PORT, tcp://HOST:PORT#ID), or by address alone (TOFU).
 */
import type { Command } from 'commander';
import type { PeerStatus } from '../../api/daemon-api.js';
import { clientOf } from '../home-option.js';
import type { CliIo } from '../cli-io.js';
import { formatBytes, table } from './status.js';
import { parsePeerSpec } from '../../daemon/address.js';

export function registerPeerCommands(program: Command, io: CliIo): void {
  const peer = program.command('peer').description('manage known peers');

  peer.command('add <peer>')
    .description('dial this peer: ID@HOST:PORT or tcp://HOST:PORT#ID pins that device; tcp://HOST:PORT pins the first device that answers')
    .action(async (text: string, _flags: unknown, cmd: Command) => {
      // Validated here too, so a typo gets its one line before the daemon is even asked.
      const spec = parsePeerSpec(text);
      const { peer: p } = await clientOf(cmd).request<{ peer: PeerStatus }>('POST', '/api/peers', { address: text });
      if (spec.deviceId !== undefined) io.stdout(`Added peer ${p.address}, pinned to device ${spec.deviceId}\n`);
      else if (p.id !== null) io.stdout(`Added peer ${p.address}: no device id given, pinned the first device that answered, ${p.id} (trust on first use)\n`);
      else io.stdout(`Added peer ${p.address}: no device id given and nothing answered yet; the first device that answers will be pinned (trust on first use)\n`);
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
