/**
 * The settings as the API shows them (never the password hash, the keys or
 * the metrics token), and which saved ones wait for a restart.
 */
import type { Config } from './config-schema.js';
import type { Settings } from './daemon-types.js';

/** The settings a run started with that only a restart can change. */
export type StartedWith = Pick<Config, 'listen' | 'discovery' | 'webui' | 'metrics'>;

export function settingsView(c: Config, startedWith: StartedWith | null): Settings {
  return {
    device: { name: c.device.name },
    listen: c.listen,
    discovery: c.discovery,
    webui: { enabled: c.webui.enabled, listen: c.webui.listen, https: c.webui.https, passwordSet: c.webui.passwordHash !== null },
    archive: { retentionDays: c.archive.retentionDays },
    bandwidth: { maxSendKBps: c.bandwidth.maxSendKBps, maxRecvKBps: c.bandwidth.maxRecvKBps },
    metrics: { enabled: c.metrics.enabled, listen: c.metrics.listen, tokenSet: c.metrics.token !== null },
    restartRequired: restartRequired(c, startedWith),
  };
}

/** Saved settings that differ from what this run started with (they apply on restart). */
function restartRequired(c: Config, was: StartedWith | null): string[] {
  if (!was) return [];
  const out: string[] = [];
  if (c.listen !== was.listen) out.push('listen');
  if (c.discovery !== was.discovery) out.push('discovery');
  if (c.webui.enabled !== was.webui.enabled) out.push('webui.enabled');
  if (c.webui.listen !== was.webui.listen) out.push('webui.listen');
  if (c.webui.https !== was.webui.https) out.push('webui.https');
  for (const k of ['enabled', 'listen', 'token'] as const) if (c.metrics[k] !== was.metrics[k]) out.push(`metrics.${k}`);
  return out;
}
