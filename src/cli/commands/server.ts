/**
 * `sealsync server setup|status`: a server in one command, and a health look
 * over SSH. Setup makes the system user and home, keeps one random sync port,
 * installs and enables the hardened unit, optionally joins encrypted folders
 * whose keys come on stdin or from a server invite (server-join.ts), and
 * prints what is left (server-report.ts).
 */
import { execFile } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { ControlClient } from '../../api/control-client.js';
import { homePaths, resolveHome } from '../../daemon/home.js';
import { describeError, SealsyncError } from '../../errors.js';
import { MAX_PORT } from '../../model/net-address.js';
import type { CliIo } from '../cli-io.js';
import { ExitStatus } from '../exit-codes.js';
import { homeFlagOf } from '../home-option.js';
import { readKeyArgument, readKeyLines } from '../key-input.js';
import { packageVersion } from '../../package-version.js';
import { SERVER_HOME, SERVER_STORE, SERVER_USER } from './server-paths.js';
import type { Step } from './server-setup.js';
import { formatStatus, statusExitCode } from './status.js';

const SAFE_PATH = /^\/[A-Za-z0-9._/-]{1,200}$/;
const PORT_TEXT = /^\d{1,5}$/;

interface SetupFlags {
  dryRun?: boolean;
  root: string;
  ui?: boolean;
  key: string[];
  invite?: string;
  name?: string;
  port?: string;
  undo?: boolean;
  json?: boolean;
}

/** The server's home: `--home`, else /var/lib/sealsync (never $SEALSYNC_HOME: that is a user's). */
function serverHome(cmd: Command): string {
  const flag = homeFlagOf(cmd);
  const home = flag ? resolveHome(flag) : SERVER_HOME;
  if (!SAFE_PATH.test(home) || home.split('/').includes('..')) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', '--home for a server must be an absolute path of letters, digits and ._-/');
  }
  return home;
}

function parsePort(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const port = PORT_TEXT.test(text) ? Number(text) : 0;
  if (port < 1 || port > MAX_PORT) throw new SealsyncError('ERR_INVALID_ARGUMENT', `--port must be 1-${MAX_PORT}, not '${text.slice(0, 20)}'`);
  return port;
}

async function runSteps(steps: readonly Step[], dryRun: boolean, io: CliIo, quiet: boolean): Promise<void> {
  for (const step of steps) {
    if (!quiet) io.stdout(`${dryRun ? '  would ' : '- '}${step.say}\n`);
    if (!dryRun) await step.run();
  }
}

async function setup(flags: SetupFlags, cmd: Command, io: CliIo): Promise<void> {
  // Loaded here: the plan needs the daemon's config and identity code, which other commands need not pay for.
  const { at, planSetup, planUndo, requireUser } = await import('./server-setup.js');
  const { firewallRules, tunnelCommand, whatIsLeft } = await import('./server-report.js');
  const dryRun = flags.dryRun === true;
  const quiet = flags.json === true;
  const root = flags.root;
  if (!isAbsolute(root)) throw new SealsyncError('ERR_INVALID_ARGUMENT', '--root must be an absolute path');
  if (!dryRun && process.getuid?.() !== 0) {
    throw new SealsyncError('ERR_FORBIDDEN', 'server setup changes the system: run it as root (sudo sealsync server setup), or look first with --dry-run');
  }
  const home = serverHome(cmd);
  if (flags.undo) {
    const steps = await planUndo(root);
    if (dryRun && !quiet) io.stdout('Dry run: nothing is changed. A real run would:\n');
    await runSteps(steps, dryRun, io, quiet);
    if (quiet) { io.stdout(`${JSON.stringify({ dryRun, steps: steps.map((s) => s.say) }, null, 2)}\n`); return; }
    io.stdout(`${steps.length === 0 ? 'No sealsync service is installed.\n' : ''}`
      + `Kept: the user ${SERVER_USER}, ${home} (the device identity) and ${SERVER_STORE} (the stored data).\n`
      + `To delete them too (the identity cannot come back): sudo userdel ${SERVER_USER} && sudo rm -r ${home} ${SERVER_STORE}\n`);
    return;
  }
  if (flags.invite === '-' && flags.key.includes('-')) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', '--invite - and --key - cannot both read stdin: give the keys as arguments, or run setup twice');
  }
  const keys = (await Promise.all(flags.key.map((k) => (k === '-' ? readKeyLines() : [k])))).flat();
  const { checkServerInvite, inviteJoinStep } = await import('./server-join.js');
  // Parsed now: a bad code is refused in one line before anything changes.
  const invite = flags.invite === undefined ? null : inviteJoinStep({
    root, home, store: SERVER_STORE, code: checkServerInvite(await readKeyArgument(flags.invite)),
    owner: () => requireUser(root, SERVER_USER), print: (line) => { if (!quiet) io.stdout(`${line}\n`); },
  });
  const plan = await planSetup({
    root, home, ui: flags.ui === true, keys, version: packageVersion(), ...(invite ? { inviteJoin: invite.step } : {}),
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    ...(flags.port !== undefined ? { port: parsePort(flags.port) as number } : {}),
  });
  if (!dryRun && root === '/' && plan.problems.length > 0) throw new SealsyncError('ERR_FORBIDDEN', plan.problems[0]);
  if (dryRun && !quiet) io.stdout('Dry run: nothing is changed. A real run (as root) would:\n');
  await runSteps(plan.steps, dryRun, io, quiet);
  let deviceId = plan.deviceId;
  if (!dryRun && deviceId === null) {
    const { loadDeviceCredentials } = await import('../../daemon/identity.js');
    deviceId = (await loadDeviceCredentials(homePaths(at(root, home)))).deviceId;
  }
  if (quiet) {
    io.stdout(`${JSON.stringify({
      dryRun, user: plan.user, home, store: plan.store, deviceId, syncPort: plan.syncPort,
      dashboard: plan.uiPort === null ? null : { listen: `127.0.0.1:${plan.uiPort}`, tunnel: tunnelCommand(plan.uiPort) },
      steps: plan.steps.map((s) => s.say), unit: { path: plan.unitPath, text: plan.unit },
      firewall: firewallRules(plan.syncPort), problems: plan.problems, join: invite?.result() ?? null,
    }, null, 2)}\n`);
    return;
  }
  const joined = invite?.result();
  if (joined) {
    io.stdout(`\nServing encrypted folders for ${joined.inviter.name} (${joined.inviter.id}):\n`);
    io.stdout(joined.folders.length === 0 ? '  none yet\n' : joined.folders.map((f) => `  ${f.path} (${f.type})\n`).join(''));
  }
  for (const p of plan.problems) io.stderr(`sealsync: warning: ${p}\n`);
  if (dryRun) io.stdout(`\n${plan.unitPath}:\n${plan.unit.trimEnd()}\n\n`);
  else io.stdout(`\nsealsync runs as the service ${'sealsync.service'} (enabled: it starts at boot).\n\n`);
  io.stdout(whatIsLeft({ home, syncPort: plan.syncPort, uiPort: plan.uiPort, deviceId }));
}

const run = promisify(execFile);

/** `systemctl is-active` of the unit: active, inactive, failed, … or unknown without systemd. */
async function serviceState(): Promise<string> {
  try {
    return (await run('systemctl', ['is-active', 'sealsync.service'], { timeout: 10_000 })).stdout.trim();
  } catch (err) {
    const out = (err as { stdout?: string }).stdout?.trim();
    return out || 'unknown';
  }
}

async function status(flags: { json?: boolean }, cmd: Command, io: CliIo): Promise<void> {
  const home = serverHome(cmd);
  const service = await serviceState();
  let report;
  try {
    report = await new ControlClient(homePaths(home).controlSocket).status();
  } catch (err) {
    const denied = /EACCES|EPERM/.test(describeError(err));
    const { serverCli } = await import('./server-report.js');
    throw new SealsyncError(denied ? 'ERR_FORBIDDEN' : 'ERR_DAEMON_NOT_RUNNING', denied
      ? `no access to the daemon in ${home}: run it as root (\`sudo ${serverCli(home)} server status\`)`
      : `the daemon in ${home} does not answer (service: ${service}; see \`journalctl -u sealsync\`)`);
  }
  io.stdout(flags.json ? `${JSON.stringify({ service, ...report }, null, 2)}\n` : `Service ${service}\n${formatStatus(report)}`);
  const code = statusExitCode(report);
  if (code !== 0) throw new ExitStatus(code);
}

export function registerServerCommands(program: Command, io: CliIo): void {
  const server = program.command('server').description('run sealsync as an always-on encrypted peer (systemd)');

  server.command('setup')
    .description('as root: system user, home, one random sync port, the hardened systemd unit, enabled and started')
    .option('--dry-run', 'print everything setup would do and change nothing')
    .option('--ui', 'keep a dashboard, on loopback only (reach it with an SSH tunnel)')
    .option('--key <key>', 'join an encrypted folder (E…); - reads keys from stdin, one a line (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('--invite <code>', 'join the laptop that made this server invite (`sealsync device invite --server PATH…`); - reads it from stdin')
    .option('--name <name>', 'device name (default: the host name)')
    .option('--port <port>', 'the sync port for a new home (default: a random free one, kept for good)')
    .option('--undo', 'disable and remove the service (the identity and the data stay)')
    .option('--root <dir>', 'work on this directory tree instead of / (for tests and images)', '/')
    .option('--json', 'machine-readable output')
    .action((flags: SetupFlags, cmd: Command) => setup(flags, cmd, io));

  server.command('status')
    .description('service state, folders and peers; exit 0 in sync, 3 syncing, 4 a folder error, 1 not running')
    .option('--json', 'machine-readable output')
    .action((flags: { json?: boolean }, cmd: Command) => status(flags, cmd, io));
}
