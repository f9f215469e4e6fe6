/**
 * `sealsync server setup`, as a plan of steps that is either printed
 * (`--dry-run`) or carried out, so the dry run shows exactly what a real run
 * does. Everything the plan needs to decide (is the user there, is the home
 * initialised, which ports) is read before the first change; a re-run keeps
 * the user, the identity and the sync port, and rewrites the unit.
 *
 * `root` is the tree it works on: `/` for the machine, a temporary directory
 * in tests (useradd --prefix and systemctl --root work offline there). Paths
 * in the plan are as the target system sees them; `at()` maps them into root.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, lchown, mkdir, readdir, readFile, realpath, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { formatKey, folderIdText, parseKey } from '../../crypto/key-text.js';
import { parseHostPort } from '../../daemon/address.js';
import { writeFileAtomic } from '../../daemon/atomic-write.js';
import { DEFAULT_RESCAN_INTERVAL_S, type Config } from '../../daemon/config-schema.js';
import { loadConfig } from '../../daemon/config-store.js';
import { homePaths } from '../../daemon/home.js';
import { initHome, isInitialised } from '../../daemon/init-home.js';
import { pickFreePort } from '../../daemon/pick-port.js';
import { describeError, SealsyncError } from '../../errors.js';
import { updateConfigOffline } from './config-file.js';
import { SERVER_STORE, SERVER_USER } from './server-paths.js';
import { readUnitTemplate, renderUnit, UNIT_NAME } from './server-unit.js';

export const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;
const NOLOGIN_SHELL = '/usr/sbin/nologin';
const SYNC_HOST = '0.0.0.0';
const UI_HOST = '127.0.0.1';
const HOME_MODE = 0o700;
const UNIT_MODE = 0o644;
/** The CLI the unit runs, relative to this module (src/ or dist/cli/commands). */
const CLI_SCRIPT_URL = new URL('../../../bin/sealsync.js', import.meta.url);
/** Where the service cannot see (ProtectHome=, PrivateTmp=): node and sealsync must live elsewhere. */
const HIDDEN_FROM_SERVICE = ['/home/', '/root/', '/run/user/', '/tmp/', '/var/tmp/'];
const COMMAND_TIMEOUT_MS = 60_000;

const run = promisify(execFile);

export interface SetupOptions {
  /** The tree to set up: '/' for this machine. */
  readonly root: string;
  /** The server's home as the target sees it. */
  readonly home: string;
  readonly ui: boolean;
  /** Encrypted key texts to join (already read from stdin). */
  readonly keys: readonly string[];
  readonly name?: string;
  readonly port?: number;
  readonly version: string;
  /** Joins the inviting device with a server invite (server-join.ts): after the service starts, or before the files are handed over in a test tree. */
  readonly inviteJoin?: Step;
}

export interface Step {
  /** What the step does, as one line (a dry run prints only these). */
  readonly say: string;
  readonly run: () => Promise<void>;
}

export interface SetupPlan {
  readonly user: string;
  readonly home: string;
  readonly store: string;
  readonly unitPath: string;
  readonly unit: string;
  readonly syncPort: number;
  readonly uiPort: number | null;
  /** Known when the home exists already. */
  readonly deviceId: string | null;
  readonly steps: readonly Step[];
  /** Problems a real run would refuse (node or sealsync where the service cannot see them). */
  readonly problems: readonly string[];
}

/** `path` (as the target system sees it) inside `root`. */
export function at(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}

interface PasswdEntry { readonly uid: number; readonly gid: number; readonly home: string }

/** The user's line in root's /etc/passwd (not the host's, when root is a test tree). */
export async function lookupUser(root: string, name: string): Promise<PasswdEntry | null> {
  const text = await readFile(at(root, '/etc/passwd'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' };
  }
  return null;
}

async function system(command: string, args: readonly string[]): Promise<void> {
  try {
    await run(command, args, { timeout: COMMAND_TIMEOUT_MS });
  } catch (err) {
    const e = err as { stderr?: string; code?: string | number };
    const why = e.code === 'ENOENT' ? 'not installed' : (e.stderr?.trim().split('\n')[0] || describeError(err));
    throw new SealsyncError('ERR_COMMAND_FAILED', `${command} ${args.join(' ')}: ${why}`);
  }
}

function systemctl(root: string, ...args: string[]): Step {
  const full = root === '/' ? args : ['--root', root, ...args];
  return { say: `systemctl ${full.join(' ')}`, run: () => system('systemctl', full) };
}

/** Makes a directory the service user owns, mode 0700 (parents as root, 0755). */
function ownedDir(root: string, path: string, user: string): Step {
  return {
    say: `create ${path} (mode 0700, owner ${user})`,
    run: async () => {
      const owner = await requireUser(root, user);
      await mkdir(at(root, path), { recursive: true, mode: 0o755 });
      await chown(at(root, path), owner.uid, owner.gid);
      await chmod(at(root, path), HOME_MODE);
    },
  };
}

export async function requireUser(root: string, user: string): Promise<PasswdEntry> {
  const entry = await lookupUser(root, user);
  if (!entry) throw new SealsyncError('ERR_COMMAND_FAILED', `user ${user} is missing from ${at(root, '/etc/passwd')}`);
  return entry;
}

/** The daemon's command line: this node and this package's CLI, by absolute path. */
async function daemonCommand(home: string): Promise<string[]> {
  const script = await realpath(fileURLToPath(CLI_SCRIPT_URL));
  return [process.execPath, script, '--home', home, 'start'];
}

function hiddenFromService(paths: readonly string[]): string[] {
  return paths.filter((p) => HIDDEN_FROM_SERVICE.some((dir) => p.startsWith(dir))).map((p) =>
    `${p} is where the service cannot see it (ProtectHome, PrivateTmp): install Node.js and sealsync system-wide (see README.md)`);
}

/** Validated encrypted keys: a server only ever gets E keys. */
export function encryptedKeys(texts: readonly string[]): ReturnType<typeof parseKey>[] {
  return texts.map((t) => {
    const keys = parseKey(t);
    if (keys.type !== 'encrypted') {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', 'a server gets encrypted keys only (E…): on a laptop, '
        + '`sealsync folder share PATH --type encrypted` prints one');
    }
    return keys;
  });
}

export async function planSetup(opts: SetupOptions): Promise<SetupPlan> {
  const { root, home } = opts;
  const user = SERVER_USER;
  const store = SERVER_STORE;
  const keys = encryptedKeys(opts.keys);
  const existing = (await isInitialised(at(root, home))) ? await loadConfig(homePaths(at(root, home)).config) : null;
  const syncPort = existing ? parseHostPort(existing.listen).port : opts.port ?? await pickFreePort(SYNC_HOST);
  const uiPort = !opts.ui ? null
    : existing?.webui.enabled && parseHostPort(existing.webui.listen).host === UI_HOST ? parseHostPort(existing.webui.listen).port
    : await pickFreePort(UI_HOST, { avoid: new Set([syncPort]) });
  if (existing && opts.port !== undefined && opts.port !== syncPort) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `this server already syncs on port ${syncPort}; change it with \`sealsync --home ${home} config set listen ${SYNC_HOST}:PORT\``);
  }
  const execStart = await daemonCommand(home);
  const unit = renderUnit(await readUnitTemplate(), {
    user, group: user, execStart, readWritePaths: [home, `-${store}`], version: opts.version,
  });
  const deviceId = existing ? (await import('../../daemon/identity.js').then((m) => m.loadDeviceCredentials(homePaths(at(root, home))))).deviceId : null;
  const uiListen = uiPort === null ? null : `${UI_HOST}:${uiPort}`;

  const steps: Step[] = [];
  const userExists = (await lookupUser(root, user)) !== null;
  if (!userExists) {
    const args = ['--system', '--user-group', '--home-dir', home, '--no-create-home', '--shell', NOLOGIN_SHELL, user];
    const full = root === '/' ? args : ['--prefix', root, ...args];
    steps.push({ say: `create the system user ${user}: useradd ${full.join(' ')}`, run: () => system('useradd', full) });
  }
  const unitInstalled = await stat(at(root, UNIT_PATH)).then(() => true, () => false);
  // The running daemon holds the home lock and owns config.json: stop it while setup changes them.
  if (root === '/' && unitInstalled) steps.push(systemctl(root, 'stop', UNIT_NAME));
  steps.push(ownedDir(root, home, user));
  const dashboardText = uiListen === null ? 'dashboard off' : `dashboard on ${uiListen} only`;
  if (existing) {
    steps.push({
      say: `keep the device identity and sync port ${syncPort}; ${dashboardText}`,
      run: () => updateConfigOffline(homePaths(at(root, home)), (c) => withDashboard(c, uiListen)).then(() => undefined),
    });
  } else {
    steps.push({
      say: `create the device identity and config: sync port ${syncPort} on ${SYNC_HOST}, ${dashboardText}, no LAN discovery`,
      run: async () => {
        await initHome({
          home: at(root, home),
          listen: `${SYNC_HOST}:${syncPort}`,
          discovery: false,
          uiListen: uiListen ?? false,
          ...(opts.name !== undefined ? { name: opts.name } : {}),
        });
      },
    });
  }
  steps.push(ownedDir(root, store, user));
  const joined = new Set((existing?.folders ?? []).map((f) => folderIdText(parseKey(f.key).folderId)));
  for (const k of keys) {
    const id = folderIdText(k.folderId);
    if (joined.has(id)) continue;
    joined.add(id);
    const path = `${store}/${id}`;
    steps.push(ownedDir(root, path, user));
    steps.push({
      say: `join the encrypted folder ${id}, stored in ${path}`,
      run: () => updateConfigOffline(homePaths(at(root, home)), (c) => ({
        ...c, folders: [...c.folders, { path, key: formatKey(k), rescanIntervalS: DEFAULT_RESCAN_INTERVAL_S, watch: true }],
      })).then(() => undefined),
    });
  }
  if (root !== '/' && opts.inviteJoin) steps.push(opts.inviteJoin);
  steps.push({
    say: `give ${user} the files in ${home}`,
    run: async () => {
      const owner = await requireUser(root, user);
      for (const name of await readdir(at(root, home))) await lchown(join(at(root, home), name), owner.uid, owner.gid);
    },
  });
  steps.push({
    say: `install ${UNIT_PATH} (mode 0644, owner root): runs ${execStart.join(' ')}`,
    run: async () => {
      await mkdir(at(root, '/etc/systemd/system'), { recursive: true, mode: 0o755 });
      await writeFileAtomic(at(root, UNIT_PATH), unit, UNIT_MODE);
    },
  });
  if (root === '/') steps.push(systemctl(root, 'daemon-reload'));
  steps.push(systemctl(root, 'enable', UNIT_NAME));
  if (root === '/') steps.push(systemctl(root, 'restart', UNIT_NAME));
  if (root === '/' && opts.inviteJoin) steps.push(opts.inviteJoin);
  return {
    user, home, store, unitPath: UNIT_PATH, unit, syncPort, uiPort, deviceId, steps,
    problems: hiddenFromService([process.execPath, execStart[1] ?? '']),
  };
}

function withDashboard(c: Config, uiListen: string | null): Config {
  return { ...c, webui: { ...c.webui, enabled: uiListen !== null, ...(uiListen !== null ? { listen: uiListen } : {}) } };
}

/** `--undo`: the service goes; the user, the identity and the stored data stay (deleting them is the owner's call). */
export async function planUndo(root: string): Promise<Step[]> {
  const installed = await stat(at(root, UNIT_PATH)).then(() => true, () => false);
  if (!installed) return [];
  const steps: Step[] = [root === '/' ? systemctl(root, 'disable', '--now', UNIT_NAME) : systemctl(root, 'disable', UNIT_NAME)];
  steps.push({ say: `remove ${UNIT_PATH}`, run: () => unlink(at(root, UNIT_PATH)) });
  if (root === '/') steps.push(systemctl(root, 'daemon-reload'));
  return steps;
}
