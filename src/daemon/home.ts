/**
 * Where a device keeps its state. `--home` wins, then $SEALSYNC_HOME, then the
 * platform's config folder. The layout inside the home is fixed here so every
 * module (daemon, CLI, tests) agrees on it.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface HomePaths {
  readonly home: string;
  readonly config: string;
  readonly deviceKey: string;
  readonly deviceCert: string;
  readonly index: string;
  readonly controlSocket: string;
  readonly lock: string;
  /** The keyring shared with linked devices (0600; folder keys). */
  readonly keyring: string;
  /** `sealsync ui --open`'s redirect page (0600): it carries the one-time login URL. */
  readonly uiLoginPage: string;
}

export interface HomeEnv {
  readonly env?: Record<string, string | undefined>;
  readonly platform?: NodeJS.Platform;
  readonly homedir?: string;
}

/** The platform config folder for sealsync (without --home or $SEALSYNC_HOME). */
export function platformHome(opts: HomeEnv = {}): string {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  const home = opts.homedir ?? homedir();
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'sealsync');
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'sealsync');
  const xdg = env.XDG_CONFIG_HOME;
  // XDG says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  return join(xdg && xdg.startsWith('/') ? xdg : join(home, '.config'), 'sealsync');
}

export function resolveHome(flag: string | undefined, opts: HomeEnv = {}): string {
  const env = opts.env ?? process.env;
  if (flag) return resolve(flag);
  if (env.SEALSYNC_HOME) return resolve(env.SEALSYNC_HOME);
  return platformHome(opts);
}

export function homePaths(home: string): HomePaths {
  return {
    home,
    config: join(home, 'config.json'),
    deviceKey: join(home, 'device-key.pem'),
    deviceCert: join(home, 'device-cert.pem'),
    index: join(home, 'index.db'),
    controlSocket: join(home, 'control.sock'),
    lock: join(home, 'daemon.lock'),
    keyring: join(home, 'keyring.json'),
    uiLoginPage: join(home, 'ui-login.html'),
  };
}
