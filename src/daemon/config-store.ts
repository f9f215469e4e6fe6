/**
 * Loading and saving config.json. A config that does not parse or validate is
 * reported as one line naming the file, the line and the field, and is never
 * overwritten. Saves are atomic (temp + fsync + rename) with mode 0600,
 * because the file holds folder keys.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ZodIssue } from 'zod';
import { SealsyncError } from '../errors.js';
import { writeFileAtomic } from './atomic-write.js';
import { configSchema, MAX_FOLDERS, MAX_PEERS, type Config } from './config-schema.js';
import { jsonShapeExcess, lineOfOffset, lineOfPath, lineOfSyntaxError, type JsonShapeLimits } from './json-position.js';

export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/**
 * What a config may look like before JSON.parse and the schema see it: the
 * schema nests 3 levels and lists at most MAX_FOLDERS folders (4 values each)
 * and MAX_PEERS peers. Lists get twice the schema's limit, so one entry too
 * many is still reported by the schema, by name.
 */
export const CONFIG_SHAPE_LIMITS: JsonShapeLimits = {
  maxDepth: 16,
  maxArrayItems: 2 * Math.max(MAX_FOLDERS, MAX_PEERS),
  maxValues: 10 * (MAX_FOLDERS + MAX_PEERS),
};

/** Parses and validates config text; `name` is used in error messages. */
export function parseConfigText(text: string, name = 'config.json'): Config {
  if (text.length > MAX_CONFIG_BYTES) {
    throw new SealsyncError('ERR_CONFIG_INVALID', `${name}: file is larger than ${MAX_CONFIG_BYTES} bytes`);
  }
  const excess = jsonShapeExcess(text, CONFIG_SHAPE_LIMITS);
  if (excess) {
    const line = lineOfOffset(text, excess.offset);
    throw new SealsyncError('ERR_CONFIG_INVALID', `${name} line ${line}: ${excess.problem}`, { line });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err);
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? lineOfOffset(text, Number(pos[1])) : lineOfSyntaxError(text);
    throw new SealsyncError('ERR_CONFIG_INVALID', `${name} line ${line}: not valid JSON (${shorten(msg)})`, { line });
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0] as ZodIssue;
    const line = lineOfPath(text, issueLocation(issue));
    const field = formatPath(issue.path) || '(top level)';
    throw new SealsyncError('ERR_CONFIG_INVALID', `${name} line ${line}: ${field}: ${issue.message}`, { line, field });
  }
  return result.data;
}

export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SealsyncError('ERR_CONFIG_MISSING', `no config at ${path}: run \`sealsync init\` first`);
    }
    throw new SealsyncError('ERR_CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`);
  }
  return parseConfigText(text, basename(path));
}

export async function saveConfig(path: string, config: Config): Promise<void> {
  // Validate before writing: a bug must never persist a config we cannot load.
  const checked = configSchema.parse(config);
  await writeFileAtomic(path, `${JSON.stringify(checked, null, 2)}\n`, 0o600);
}

/** For unrecognized keys, point at the offending key itself, not its parent. */
function issueLocation(issue: ZodIssue): (string | number)[] {
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) return [...issue.path, issue.keys[0]];
  return issue.path;
}

function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

function shorten(s: string): string {
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}
