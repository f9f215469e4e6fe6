/**
 * Wires the dashboard onto a running daemon: one AuthStore (password hash kept
 * in the daemon's config), the UI-only control routes (`sealsync ui`,
 * `sealsync passwd`), and the WebServer when `webui.enabled` is true. With the
 * dashboard disabled no HTTP port is opened at all.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Daemon } from '../daemon/daemon.js';
import { SealsyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import { registerApiRoutes } from './routes.js';
import { AuthStore } from './web-auth/auth-store.js';
import { registerUiControlRoutes } from './web-auth/control-routes.js';
import type { WebServer } from './web-server.js';
import type { TlsMaterial } from './web-tls.js';

/** The built web app, relative to this module (src/api or dist/api). */
export const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url));

export interface DashboardOptions {
  /** Overrides `webui.listen` for this run (`sealsync start --ui-listen`). */
  readonly uiListen?: string;
  readonly staticDir?: string;
}

export class DashboardHost {
  readonly auth: AuthStore;
  #web: WebServer | null = null;
  readonly #daemon: Daemon;
  readonly #logger: Logger;
  readonly #opts: DashboardOptions;

  constructor(daemon: Daemon, logger: Logger, opts: DashboardOptions = {}) {
    this.#daemon = daemon;
    this.#logger = logger;
    this.#opts = opts;
    this.auth = new AuthStore({
      passwords: {
        get: () => daemon.currentConfig().webui.passwordHash,
        set: (hash) => daemon.setPasswordHash(hash),
      },
    });
  }

  /** Adds `/api/ui/*` to the control socket's app (before it listens). */
  registerControlRoutes = async (app: FastifyInstance): Promise<void> => {
    await registerUiControlRoutes(app, { auth: this.auth, loginUrl: (token) => this.#web?.loginUrl(token) ?? null });
  };

  get web(): WebServer | null {
    return this.#web;
  }

  /**
   * Starts the web server if the dashboard is enabled; ERR_UI_UNSAFE_LISTEN etc.
   * propagate. Its code is loaded only here, so a daemon with the dashboard off
   * never loads it (~15 MiB of RSS: the web server and its TLS certificate
   * code). The daemon host calls this before the control socket answers.
   */
  async start(): Promise<void> {
    const ui = this.#daemon.currentConfig().webui;
    if (!ui.enabled) {
      this.#logger.info('dashboard disabled (webui.enabled is false): no HTTP port');
      return;
    }
    let https: TlsMaterial | 'self-signed' | undefined;
    if (ui.https) {
      if (ui.certificatePath !== undefined && ui.certificateKeyPath !== undefined) {
        try {
          https = { cert: await readFile(ui.certificatePath, 'utf8'), key: await readFile(ui.certificateKeyPath, 'utf8') };
        } catch (err) {
          throw new SealsyncError('ERR_CONFIG_INVALID', `cannot read the dashboard certificate: ${(err as Error).message}`);
        }
      } else {
        https = 'self-signed';
      }
    }
    const { WebServer } = await import('./web-server.js');
    const web = new WebServer(
      { api: this.#daemon, logger: this.#logger, authStore: this.auth, registerRoutes: registerApiRoutes },
      {
        listen: this.#opts.uiListen ?? ui.listen,
        home: this.#daemon.paths.home,
        staticDir: this.#opts.staticDir ?? DEFAULT_STATIC_DIR,
        ...(https ? { https } : {}),
      },
    );
    await web.start();
    this.#web = web;
    this.#daemon.setUiUrl(web.url());
  }

  async stop(): Promise<void> {
    const web = this.#web;
    this.#web = null;
    this.#daemon.setUiUrl(null);
    if (web) await web.stop();
  }
}
