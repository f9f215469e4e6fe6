/**
 * Runs a daemon in this process: the Daemon (src/daemon) plus the control
 * socket (and, once present, the dashboard). Lives in the api layer because
 * it wires api onto daemon; the CLI's `start` calls it.
 *
 * Order matters: the daemon takes the home lock before the socket is touched
 * (so a second daemon fails on the lock, never steals the socket), and on
 * shutdown the socket closes first (no request can reach a half-stopped
 * daemon), then the daemon releases the lock last.
 */
import { Daemon, type DaemonService } from '../daemon/daemon.js';
import type { FolderRunnerFactories } from '../daemon/folder-runner.js';
import { folderEngines } from '../daemon/local-folder-runner.js';
import { createLocalFolderServices } from '../engine/local/local-folder-services.js';
import { componentLogger, type Logger } from '../logger.js';
import { startControlServer, type ControlServer } from './control-server.js';
import { DashboardHost } from './dashboard-host.js';
import type { MetricsServer } from './metrics-server.js';

export interface DaemonHostOptions {
  readonly home: string;
  readonly logger: Logger;
  /** Folder engines by key type (default: LocalFolder for rw/ro on the real fs and hash pool). */
  readonly engines?: FolderRunnerFactories;
  /** Aborting stops the daemon (signals, tests). */
  readonly signal?: AbortSignal;
  /** Dashboard address for this run, overriding `webui.listen` (`start --ui-listen`). */
  readonly uiListen?: string;
}

export interface RunningDaemon {
  readonly daemon: Daemon;
  /** Resolves once the daemon has fully stopped (socket and lock removed). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export async function startDaemonHost(opts: DaemonHostOptions): Promise<RunningDaemon> {
  // One hash pool shared by every folder; the daemon starts it before the first folder.
  let engines = opts.engines;
  let services: DaemonService[] = [];
  if (!engines) {
    const local = createLocalFolderServices();
    // rw/ro: LocalFolder + SyncFolder; encrypted (E…): the replica engine, sealed records and blocks only.
    engines = folderEngines(local);
    services = [local];
  }
  const daemon = new Daemon({ home: opts.home, logger: opts.logger, engines, services });
  await daemon.start();
  // Dashboard (src/api/dashboard-host.ts): its /api/ui/* routes go on the control
  // socket. Its web server listens before the control socket answers, so that a
  // client which sees the daemon (`sealsync status`, the tests' readiness check)
  // also sees the dashboard's URL; it stops before the control socket.
  const dashboard = new DashboardHost(daemon, opts.logger, opts.uiListen !== undefined ? { uiListen: opts.uiListen } : {});
  let control: ControlServer;
  let metrics: MetricsServer | null = null;
  try {
    await dashboard.start();
    metrics = await startMetrics(daemon, opts.logger);
    control = await startControlServer(daemon.paths.controlSocket, daemon, componentLogger(opts.logger, 'api:control'), dashboard.registerControlRoutes);
  } catch (err) {
    await metrics?.stop().catch(() => undefined);
    await dashboard.stop().catch(() => undefined);
    await daemon.stop();
    throw err;
  }
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      opts.signal?.removeEventListener('abort', onAbort);
      await metrics?.stop().catch((err: unknown) => opts.logger.warn({ err }, 'metrics close failed'));
      await dashboard.stop().catch((err: unknown) => opts.logger.warn({ err }, 'dashboard close failed'));
      await control.stop().catch((err: unknown) => opts.logger.warn({ err }, 'control socket close failed'));
      await daemon.stop();
    })();
    return stopping;
  };
  const onAbort = (): void => daemon.requestStop();
  if (opts.signal?.aborted) daemon.requestStop();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const done = daemon.stopRequested.then(stop);
  return { daemon, done, stop };
}

/** The Prometheus endpoint when `metrics.enabled`; its code (prom-client) loads only then. */
async function startMetrics(daemon: Daemon, logger: Logger): Promise<MetricsServer | null> {
  const m = daemon.currentConfig().metrics;
  if (!m.enabled || m.token === null) return null;
  const { MetricsServer } = await import('./metrics-server.js');
  const { packageVersion } = await import('../package-version.js');
  const server = new MetricsServer(daemon, componentLogger(logger, 'api:metrics'), { listen: m.listen, token: m.token, version: packageVersion() });
  await server.start();
  return server;
}
