/**
 * The systemd unit that `server setup` installs: contrib/sealsync.service from
 * the package (the one hardened template), with the lines that differ per
 * machine substituted: User, Group, ExecStart and ReadWritePaths. Everything
 * else (the sandbox, limits, restart policy) comes from the template as it
 * is, so a change there reaches every installed server on the next setup.
 */
import { readFile } from 'node:fs/promises';
import { SealsyncError } from '../../errors.js';

/** The template, relative to this module (src/cli/commands or dist/cli/commands). */
export const UNIT_TEMPLATE_URL = new URL('../../../contrib/sealsync.service', import.meta.url);
export const UNIT_NAME = 'sealsync.service';

export interface UnitValues {
  readonly user: string;
  readonly group: string;
  /** argv of the daemon: node, the CLI script, its arguments. */
  readonly execStart: readonly string[];
  readonly readWritePaths: readonly string[];
  /** Shown in the header: which sealsync generated the unit. */
  readonly version: string;
}

/** The keys substituted; each must appear exactly once in the template. */
const SUBSTITUTED = ['User', 'Group', 'ExecStart', 'ReadWritePaths'] as const;

export function readUnitTemplate(): Promise<string> {
  return readFile(UNIT_TEMPLATE_URL, 'utf8');
}

/**
 * One word of a unit's command line or path list: systemd splits on spaces
 * and expands `%` specifiers and `$` variables, so those are escaped and a
 * word with anything unusual is double-quoted.
 */
export function systemdWord(word: string): string {
  const escaped = word.replaceAll('%', '%%').replaceAll('$', '$$$$');
  if (/^[A-Za-z0-9_/.,:@+=%$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

export function renderUnit(template: string, values: UnitValues): string {
  const lines = template.split('\n');
  const firstSection = lines.findIndex((l) => l.startsWith('['));
  if (firstSection < 0) throw new SealsyncError('ERR_INTERNAL', 'the unit template has no section');
  const replacement: Record<(typeof SUBSTITUTED)[number], string> = {
    User: values.user,
    Group: values.group,
    ExecStart: values.execStart.map(systemdWord).join(' '),
    ReadWritePaths: values.readWritePaths.map(systemdWord).join(' '),
  };
  const seen = new Map<string, number>();
  const body = lines.slice(firstSection).map((line) => {
    const key = SUBSTITUTED.find((k) => line.startsWith(`${k}=`));
    if (key === undefined) return line;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    return `${key}=${replacement[key]}`;
  });
  for (const key of SUBSTITUTED) {
    if (seen.get(key) !== 1) throw new SealsyncError('ERR_INTERNAL', `the unit template must set ${key}= exactly once`);
  }
  // The template's header explains a manual install; the installed unit says where it came from instead.
  const header = [
    `# Installed by \`sealsync server setup\` (sealsync ${values.version}) from contrib/${UNIT_NAME}.`,
    '# Running setup again (after an upgrade, say) rewrites this file: put local',
    `# changes in a drop-in instead (systemctl edit ${UNIT_NAME.replace(/\.service$/, '')}).`,
    '',
  ];
  return [...header, ...body].join('\n');
}
