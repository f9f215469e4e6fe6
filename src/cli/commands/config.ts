/**
 * `sealsync config get|set KEY [VALUE]`: read and change settings without
 * editing config.json by hand. Values are parsed by the setting's kind and
 * validated by the config schema before anything is written. With a daemon
 * running, the change goes through it (PATCH /api/settings); otherwise
 * config.json is changed under the home lock. Folders, peers and the
 * dashboard password have their own commands and are not settable here.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import type { Settings, SettingsPatch } from '../../api/daemon-api.js';
import { isSealsyncError, SealsyncError } from '../../errors.js';
import type { CliIo } from '../cli-io.js';
import { clientOf, homeOf, sealsyncCommand } from '../home-option.js';

type Kind = 'string' | 'boolean' | 'integer' | 'path' | 'secret';

/** Every setting `config` knows, with its kind; `offline` ones cannot change while the daemon runs. */
export const SETTINGS: Readonly<Record<string, { kind: Kind; offline?: true }>> = {
  'device.name': { kind: 'string' },
  listen: { kind: 'string' },
  discovery: { kind: 'boolean' },
  'webui.enabled': { kind: 'boolean' },
  'webui.listen': { kind: 'string' },
  'webui.https': { kind: 'boolean' },
  'webui.certificatePath': { kind: 'path', offline: true },
  'webui.certificateKeyPath': { kind: 'path', offline: true },
  'archive.retentionDays': { kind: 'integer' },
  'bandwidth.maxSendKBps': { kind: 'integer' },
  'bandwidth.maxRecvKBps': { kind: 'integer' },
  'metrics.enabled': { kind: 'boolean' },
  'metrics.listen': { kind: 'string' },
  'metrics.token': { kind: 'secret' },
};

const METRICS_TOKEN_BYTES = 32;
const MAX_VALUE_LENGTH = 4096;

type Json = Record<string, unknown>;

function settingOf(key: string): { kind: Kind; offline?: true } {
  const s = Object.hasOwn(SETTINGS, key) ? SETTINGS[key] : undefined;
  if (!s) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `unknown setting '${key.slice(0, 60)}' (one of: ${Object.keys(SETTINGS).join(', ')}; `
      + 'folders, peers and the password have their own commands)');
  }
  return s;
}

/** The value as typed on the command line, as the setting's kind; null removes an optional path or the token. */
export function parseValue(key: string, text: string): string | number | boolean | null {
  const { kind } = settingOf(key);
  if (text.length > MAX_VALUE_LENGTH) throw new SealsyncError('ERR_INVALID_ARGUMENT', `${key}: value is too long`);
  switch (kind) {
    case 'boolean':
      if (text === 'true' || text === 'false') return text === 'true';
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `${key}: expected true or false, not '${text.slice(0, 20)}'`);
    case 'integer':
      if (/^\d{1,10}$/.test(text)) return Number(text);
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `${key}: expected a whole number, not '${text.slice(0, 20)}'`);
    case 'path':
    case 'secret':
      return text === '' ? null : text;
    default:
      return text;
  }
}

function getPath(obj: Json, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Json)[k] : undefined), obj);
}

/** `{a: {b: v}}` for 'a.b'. */
function nested(key: string, value: unknown): Json {
  return key.split('.').reduceRight<unknown>((inner, k) => ({ [k]: inner }), value) as Json;
}

/** Deep merge of plain objects; `undefined` in the patch removes the key (an optional path). */
function merge(base: Json, patch: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const b = out[k];
    if (v === undefined) delete out[k];
    else if (v !== null && typeof v === 'object' && b !== null && typeof b === 'object') out[k] = merge(b as Json, v as Json);
    else out[k] = v;
  }
  return out;
}

function format(value: unknown): string {
  return value === undefined || value === null ? '' : String(value);
}

export function registerConfigCommands(program: Command, io: CliIo): void {
  const config = program.command('config').description('read and change settings (validated; no hand editing)');

  config.command('get [key]')
    .description('print a setting (all of them without KEY; the metrics token only when named)')
    .option('--json', 'machine-readable output')
    .action(async (key: string | undefined, flags: { json?: boolean }, cmd: Command) => {
      if (key !== undefined) settingOf(key);
      const { loadConfig } = await import('../../daemon/config-store.js');
      const current = await loadConfig(homeOf(cmd).config) as unknown as Json;
      if (key !== undefined) {
        const value = getPath(current, key) ?? null;
        io.stdout(flags.json ? `${JSON.stringify({ [key]: value })}\n` : `${format(value)}\n`);
        return;
      }
      // The secret is shown only when asked for by name.
      const all = Object.fromEntries(Object.entries(SETTINGS).map(([k, s]) => {
        const v = getPath(current, k) ?? null;
        return [k, s.kind === 'secret' && v !== null ? '(set)' : v];
      }));
      if (flags.json) { io.stdout(`${JSON.stringify(all, null, 2)}\n`); return; }
      const width = Math.max(...Object.keys(all).map((k) => k.length));
      io.stdout(Object.entries(all).map(([k, v]) => `${k.padEnd(width)}  ${format(v)}`).join('\n') + '\n');
    });

  config.command('set <key> <value>')
    .description('change a setting (validated; through the daemon when it runs)')
    .action(async (key: string, text: string, _flags: unknown, cmd: Command) => {
      const setting = settingOf(key);
      const value = parseValue(key, text);
      const paths = homeOf(cmd);
      const cli = sealsyncCommand(cmd);
      const { loadConfig } = await import('../../daemon/config-store.js');
      const current = await loadConfig(paths.config);
      // An optional path set to '' is removed; the token set to '' is null (no token).
      let patch = nested(key, value === null && setting.kind === 'path' ? undefined : value);
      // Turning metrics on without a token makes one: the endpoint is never open.
      const madeToken = key === 'metrics.enabled' && value === true && current.metrics.token === null;
      if (madeToken) patch = merge(patch, { metrics: { token: randomBytes(METRICS_TOKEN_BYTES).toString('base64url') } });
      let restart = false;
      try {
        if (setting.offline) throw new SealsyncError('ERR_DAEMON_NOT_RUNNING');
        const res = await clientOf(cmd).request<{ settings: Settings }>('PATCH', '/api/settings', patch as SettingsPatch);
        restart = res.settings.restartRequired?.includes(key) ?? false;
      } catch (err) {
        if (!isSealsyncError(err, 'ERR_DAEMON_NOT_RUNNING')) throw err;
        const { configSchema } = await import('../../daemon/config-schema.js');
        const { updateConfigOffline } = await import('./config-file.js');
        await updateConfigOffline(paths, (c) => {
          const r = configSchema.safeParse(merge(c as unknown as Json, patch));
          if (!r.success) {
            const issue = r.error.issues[0];
            throw new SealsyncError('ERR_INVALID_ARGUMENT', `${issue?.path.join('.') || key}: ${issue?.message ?? 'invalid'}`);
          }
          return r.data;
        }).catch((e: unknown) => {
          if (!isSealsyncError(e, 'ERR_DAEMON_RUNNING')) throw e;
          throw new SealsyncError('ERR_DAEMON_RUNNING', `${key} can be changed only while the daemon is stopped (\`${cli} stop\` first)`);
        });
      }
      io.stdout(`${key} set${restart ? ` (applies when the daemon restarts: \`${cli} stop\`, then \`${cli} start\`)` : ''}\n`);
      if (madeToken) io.stdout(`Made a metrics token; Prometheus sends it as a bearer token: \`${cli} config get metrics.token\`\n`);
    });
}
