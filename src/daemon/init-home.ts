/**
 * `sealsync init`: creates a home with a device identity and a config. The
 * sync port and the dashboard port are picked once here (bind port 0, read,
 * close) and kept, so they stay stable across restarts. An initialised home
 * is never touched again: ERR_HOME_EXISTS.
 */
import { mkdir, stat, chmod } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SealsyncError } from '../errors.js';
import { formatHostPort, LOOPBACK_HOSTS, parseHostPort } from './address.js';
import { configSchema, deviceNameSchema, type Config } from './config-schema.js';
import { saveConfig } from './config-store.js';
import { homePaths, type HomePaths } from './home.js';
import { writeNewIdentity } from './identity.js';
import { pickFreePort } from './pick-port.js';

export const DEFAULT_SYNC_HOST = '0.0.0.0';
export const DEFAULT_UI_HOST = '127.0.0.1';
export { LOOPBACK_HOSTS };

export interface InitOptions {
  readonly home: string;
  readonly name?: string;
  /** HOST:PORT; port 0 picks one. Default 0.0.0.0:<random>. */
  readonly listen?: string;
  readonly discovery?: boolean;
  /** HOST:PORT for the dashboard, or false for no dashboard. Default 127.0.0.1:<random>. */
  readonly uiListen?: string | false;
  readonly now?: Date;
}

export interface InitResult {
  readonly paths: HomePaths;
  readonly deviceId: string;
  readonly config: Config;
}

export async function isInitialised(home: string): Promise<boolean> {
  return (await exists(homePaths(home).config)) || (await exists(homePaths(home).deviceKey));
}

export async function initHome(opts: InitOptions): Promise<InitResult> {
  const paths = homePaths(opts.home);
  const nameResult = deviceNameSchema.safeParse(opts.name ?? defaultDeviceName());
  if (!nameResult.success) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `device name: ${nameResult.error.issues[0]?.message ?? 'invalid'}`);
  }
  // Validate everything before creating anything, so a bad flag leaves no half home.
  const listen = parseHostPort(opts.listen ?? `${DEFAULT_SYNC_HOST}:0`, { allowZero: true });
  const ui = opts.uiListen === false ? null : parseHostPort(opts.uiListen ?? `${DEFAULT_UI_HOST}:0`, { allowZero: true });
  if (ui !== null && !LOOPBACK_HOSTS.has(ui.host)) {
    // A new home has no password and no HTTPS yet: beyond loopback comes later, deliberately.
    throw new SealsyncError('ERR_UI_UNSAFE_LISTEN', `the dashboard may listen beyond loopback only with HTTPS and a password; init with a loopback --ui-listen, then set them`);
  }
  if (await isInitialised(opts.home)) {
    throw new SealsyncError('ERR_HOME_EXISTS', `home ${opts.home} is already initialised`);
  }
  await mkdir(opts.home, { recursive: true, mode: 0o700 });
  await chmod(opts.home, 0o700);

  const syncPort = listen.port === 0 ? await pickFreePort(listen.host) : listen.port;
  // The two listeners are picked one after the other and neither is bound yet: keep them apart.
  const uiPort = ui === null ? 0 : ui.port === 0 ? await pickFreePort(ui.host, { avoid: new Set([syncPort]) }) : ui.port;

  const identity = await writeNewIdentity(paths, nameResult.data, opts.now ?? new Date());
  const config = configSchema.parse({
    device: { name: nameResult.data },
    listen: formatHostPort({ host: listen.host, port: syncPort }),
    discovery: opts.discovery ?? true,
    webui: ui === null
      ? { enabled: false, listen: `${DEFAULT_UI_HOST}:8384` }
      : { enabled: true, listen: formatHostPort({ host: ui.host, port: uiPort }) },
  });
  await saveConfig(paths.config, config);
  return { paths, deviceId: identity.deviceId, config };
}

function defaultDeviceName(): string {
  const h = hostname().replace(/[\p{Cc}]/gu, '').slice(0, 64).trim();
  return h || 'sealsync';
}

async function exists(path: string): Promise<boolean> {
  try { await stat(path); return true; } catch { return false; }
}
