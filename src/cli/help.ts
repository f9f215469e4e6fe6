/**
 * Help text conventions: every command's `--help` ends with examples (all of
 * them in this one table, keyed by the command's path), and the global
 * `--home` shows under every command (commander's showGlobalOptions).
 */
import type { Command } from 'commander';

/** One example: the command line after `sealsync`, and what it does. */
export type Example = readonly [args: string, what: string];

export const EXAMPLES: Readonly<Record<string, readonly Example[]>> = {
  '': [
    ['init --name laptop', 'create this device\'s identity and config'],
    ['start', 'run the daemon in the foreground'],
    ['folder add ~/Documents --key W…', 'share a folder'],
    ['--home /var/lib/sealsync status', 'look at another home'],
    ['--version', 'print the version'],
  ],
  config: [
    ['config get', 'every setting and its value'],
    ['config set archive.retentionDays 90', 'change a setting'],
    ['config set metrics.enabled true', 'the Prometheus endpoint (makes a token)'],
  ],
  'config get': [
    ['config get', 'all settings (the metrics token shows as "(set)")'],
    ['config get webui.listen', 'one setting'],
    ['config get metrics.token', 'the token Prometheus must send'],
  ],
  'config set': [
    ['config set device.name vps', 'rename this device'],
    ['config set bandwidth.maxSendKBps 2048', 'limit uploads to 2 MiB/s (0 = unlimited)'],
    ['config set webui.enabled false', 'no dashboard (applies on restart)'],
    ['config set webui.certificatePath ""', 'remove an optional path'],
  ],
  device: [
    ['device invite', 'a one-time code that links a new device'],
    ['device join I…', 'on the new device: join with that code'],
    ['device list', 'linked devices, servers, devices waiting for approval'],
  ],
  'device invite': [
    ['device invite --qr', 'the code, its link and a QR code'],
    ['device invite --auto-approve --json', 'for scripts: no approval step'],
    ['device invite --server ~/Documents ~/Photos', 'an encrypted server for two folders'],
  ],
  'device join': [
    ['device join I… --into ~/Sync', 'folders land in ~/Sync, each under its own name'],
    ['device join - < code.txt', 'the code from stdin, out of the shell history'],
    ['device join - --server --into /srv/sealsync', 'on a server: only a server invite, never a keyring'],
  ],
  'device approve': [['device approve ABCDEFG-…', 'let the waiting device in']],
  'device deny': [['device deny ABCDEFG-…', 'refuse the waiting device']],
  'device list': [['device list', 'a table'], ['device list --json', 'for scripts']],
  'device invites': [['device invites', 'pending, used, expired and revoked invites']],
  'device revoke': [['device revoke 0123abcd…', 'revoke an unused invite by its id']],
  'device unlink': [['device unlink ABCDEFG-…', 'refuse that device from now on; rotate the keyring']],
  folder: [
    ['folder add ~/Documents --key W…', 'share a folder'],
    ['folder list', 'what this device shares'],
    ['folder share ~/Documents --type encrypted', 'a key for an untrusted server'],
  ],
  'folder add': [
    ['folder add ~/Documents --key W…', 'read-write (the key decides the type)'],
    ['folder add /srv/sealsync/docs --key - < e-key.txt', 'a key from stdin, out of the shell history'],
    ['folder add ~/Photos --key R… --wait', 'wait for the first scan, with a progress bar'],
  ],
  'folder list': [['folder list', 'a table'], ['folder list --json', 'for scripts']],
  'folder remove': [['folder remove ~/Documents', 'stop sharing it (the files stay)']],
  'folder share': [
    ['folder share ~/Documents --type ro', 'a read-only key'],
    ['folder share ~/Documents --type encrypted --qr', 'an encrypted key, also as a QR code'],
  ],
  'folder gc': [
    ['folder gc /srv/sealsync/docs', 'drop unreferenced blocks past the retention'],
    ['folder gc /srv/sealsync/docs --retention-days 0', 'drop every unreferenced block now'],
  ],
  'folder versions': [
    ['folder versions ~/Documents', 'every archived version in the folder'],
    ['folder versions ~/Documents report.pdf --json', 'the versions of one file'],
  ],
  'folder restore': [
    ['folder restore ~/Documents report.pdf', 'put the newest archived version back'],
    ['folder restore ~/Documents report.pdf --version 20261207-013000', 'a given version'],
    ['folder restore ~/Documents photos', 'every deleted file of a directory'],
  ],
  'folder conflicts': [['folder conflicts ~/Documents', 'conflict copies and the versions they lost to, with device names']],
  'folder keep': [
    ['folder keep ~/Documents "a.sync-conflict-20261207-013000-ABCDEFG.txt" --copy', 'keep the copy; the other version is archived'],
    ['folder keep ~/Documents "a.sync-conflict-20261207-013000-ABCDEFG.txt" --original', 'keep the version at the path'],
  ],
  'folder retention': [
    ['folder retention ~/Documents --days 90 --max-mib 2048', 'keep versions 90 days, at most 2 GiB'],
    ['folder retention ~/Documents --days default', 'follow archive.retentionDays'],
  ],
  'folder pause': [['folder pause ~/Documents', 'stop syncing it here until resumed']],
  'folder resume': [['folder resume ~/Documents', 'sync it again']],
  'folder ignore': [
    ['folder ignore ~/Documents', 'print its .sealignore'],
    ['folder ignore ~/Documents --preview rules.txt', 'what those rules would exclude'],
    ['folder ignore ~/Documents --set rules.txt', 'save new rules (they sync to every device)'],
  ],
  events: [
    ['events', 'the newest 100 events'],
    ['events --follow --json', 'keep printing, one JSON document per line'],
  ],
  'folder rescan': [
    ['folder rescan ~/Documents', 'start a full scan'],
    ['folder rescan ~/Documents --wait', 'return when it has finished'],
  ],
  'folder revert': [['folder revert ~/Shared', 'undo local edits in a read-only folder']],
  'folder verify': [['folder verify /srv/sealsync/docs', 're-hash every stored block (exit 1 on damage)']],
  init: [
    ['init', 'defaults: a random sync port, the dashboard on loopback'],
    ['init --name vps --no-ui --no-discovery', 'a server: no dashboard, no LAN announcements'],
    ['--home ~/second init --listen 127.0.0.1:0', 'a second home for testing'],
  ],
  key: [
    ['key new', 'a new read-write key'],
    ['key derive --encrypted W…', 'the encrypted key for a server'],
    ['key inspect R…', 'type and folder id (never a secret)'],
  ],
  'key new': [['key new', 'prints W…']],
  'key derive': [
    ['key derive --read-only W…', 'the read-only key'],
    ['key derive --encrypted - < key.txt', 'from stdin, out of the process list'],
  ],
  'key inspect': [['key inspect E…', 'what this key lets its holder do'], ['key inspect R… --json', 'for scripts']],
  'key qr': [['key qr R…', 'a QR code in the terminal'], ['key qr R… --png key.png', 'a PNG file (mode 0600)']],
  passwd: [
    ['passwd', 'asks twice, without echo'],
    ['passwd < password.txt', 'the first line of stdin'],
  ],
  peer: [
    ['peer add tcp://203.0.113.7:41873', 'dial a peer'],
    ['peer list', 'known peers and their traffic'],
  ],
  'peer add': [
    ['peer add ABCDEFG-…@203.0.113.7:41873', 'that device at that address (pinned by its id)'],
    ['peer add tcp://[2001:db8::7]:41873#ABCDEFG-…', 'the same, IPv6, id after the address'],
    ['peer add tcp://203.0.113.7:41873', 'pin the first device that answers (trust on first use)'],
  ],
  'peer list': [['peer list', 'a table'], ['peer list --json', 'for scripts']],
  'peer remove': [['peer remove tcp://203.0.113.7:41873', 'by address'], ['peer remove ABCDEFG-…', 'by device id']],
  server: [
    ['server setup --dry-run', 'see what setup would do'],
    ['server setup', 'as root on a fresh server'],
    ['server status', 'health, over SSH'],
  ],
  'server setup': [
    ['server setup --dry-run', 'print the steps, the unit and the firewall rule'],
    ['server setup', 'set up this server (as root)'],
    ['server setup --ui', 'the same, with a dashboard on loopback'],
    ['server setup --invite -', 'paste a server invite (laptop: device invite --server PATH…), then Ctrl-D'],
    ['server setup --key - < e-keys.txt', 'join encrypted folders, keys one a line'],
    ['server setup --undo', 'remove the service, keep the data'],
  ],
  'server status': [['server status', 'as root, over SSH'], ['server status --json', 'for scripts']],
  start: [
    ['start', 'the default home; created with defaults on the very first run'],
    ['--home ~/second start', 'another home (made with `init` first)'],
    ['start --ui-listen 127.0.0.1:9000', 'the dashboard on another port for this run'],
  ],
  status: [
    ['status', 'a table of folders and peers'],
    ['status --json', 'the same for scripts'],
    ['status >/dev/null; echo $?', 'only the exit code (0 in sync, 3 syncing, 4 error)'],
  ],
  stop: [['stop', 'stop the daemon and wait until it is gone']],
  ui: [['ui', 'a one-time login link (2 minutes, single use)'], ['ui --open', 'open the dashboard in a browser']],
};

function examplesText(examples: readonly Example[]): string {
  const width = Math.max(...examples.map(([args]) => args.length));
  const lines = examples.map(([args, what]) => `  $ sealsync ${args.padEnd(width)}  # ${what}`);
  return `\nExamples:\n${lines.join('\n')}\n`;
}

/** The command's path below the program: '' for the program, 'folder add' for a subcommand. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Adds each command's examples after its help (the tests check that none is missing). */
export function addExamples(cmd: Command): void {
  const examples = EXAMPLES[commandPath(cmd)];
  if (examples) cmd.addHelpText('after', examplesText(examples));
  for (const sub of cmd.commands) addExamples(sub);
}
