/**
 * What `server setup` tells the owner is left to do: the one firewall rule
 * (ufw, nftables, a cloud security group), how laptops reach the server, the
 * SSH tunnel when the dashboard is on, and how to check health.
 */
import { shellQuote } from '../home-option.js';
import { SERVER_HOME } from './server-paths.js';

export interface FirewallRules {
  readonly ufw: string;
  readonly nftables: string;
  readonly nftablesConf: string;
  readonly cloud: string;
}

export function firewallRules(port: number): FirewallRules {
  return {
    ufw: `ufw allow ${port}/tcp comment 'sealsync'`,
    nftables: `nft add rule inet filter input tcp dport ${port} accept comment '"sealsync"'`,
    nftablesConf: `tcp dport ${port} accept comment "sealsync"`,
    cloud: `inbound TCP ${port} from 0.0.0.0/0 and ::/0 (nothing else new)`,
  };
}

export interface ReportFacts {
  readonly home: string;
  readonly syncPort: number;
  readonly uiPort: number | null;
  readonly deviceId: string | null;
}

/** `sealsync`, with `--home` when the server's home is not the default one. */
export function serverCli(home: string): string {
  return home === SERVER_HOME ? 'sealsync' : `sealsync --home ${shellQuote(home)}`;
}

export function tunnelCommand(uiPort: number): string {
  return `ssh -N -L ${uiPort}:127.0.0.1:${uiPort} root@SERVER`;
}

export function whatIsLeft(f: ReportFacts): string {
  const fw = firewallRules(f.syncPort);
  const cli = serverCli(f.home);
  const dataCli = `sealsync --home ${shellQuote(f.home)}`;
  const lines = [
    'What is left:',
    '',
    `1. Open the sync port ${f.syncPort}/tcp in the firewall (it is the only one sealsync needs):`,
    `     ufw:       sudo ${fw.ufw}`,
    `     nftables:  sudo ${fw.nftables}`,
    `                (or in /etc/nftables.conf, chain input: ${fw.nftablesConf})`,
    `     cloud:     a security-group rule: ${fw.cloud}`,
    '',
    '2. Give the server folders, with one server invite:',
    '     laptop$ sealsync device invite --server ~/Documents            # prints I…',
    `     server$ sudo ${cli} server setup --invite -                    # paste the I… code, then Ctrl-D`,
    '   or with encrypted keys:',
    '     laptop$ sealsync folder share ~/Documents --type encrypted     # prints E…',
    `     server$ sudo ${cli} server setup --key -                       # paste the E… key, then Ctrl-D`,
    '   and tell your laptops where the server is:',
    `     laptop$ sealsync peer add tcp://SERVER:${f.syncPort}`,
  ];
  if (f.deviceId !== null) lines.push(`   This server's device id: ${f.deviceId}`);
  if (f.uiPort !== null) {
    lines.push(
      '',
      `3. The dashboard listens on 127.0.0.1:${f.uiPort} only. From your laptop:`,
      `     laptop$ ${tunnelCommand(f.uiPort)}`,
      `     server$ sudo ${dataCli} ui        # a one-time login link for http://127.0.0.1:${f.uiPort}/`,
    );
  }
  lines.push(
    '',
    `${f.uiPort !== null ? 4 : 3}. Check its health:`,
    `     sudo ${cli} server status      # exit 0 in sync, 3 syncing, 4 a folder error, 1 not running`,
    '     journalctl -u sealsync -f',
    `     sudo ${dataCli} config set metrics.enabled true   # Prometheus metrics on loopback (docs/server.md)`,
  );
  return `${lines.join('\n')}\n`;
}
