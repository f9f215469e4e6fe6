/**
 * Shared plumbing for commands that work on a home: resolve `--home`, say
 * where it came from, a control-socket client for commands that talk to the
 * running daemon, and hints that keep the user's `--home` (a hint copied from
 * an error must act on the same home, not on the default one).
 */
import type { Command } from 'commander';
import { ControlClient } from '../api/control-client.js';
import { homePaths, resolveHome, type HomePaths } from '../api/offline.js';

/** Where the home came from: `--home`, `$SEALSYNC_HOME`, or the platform default. */
export type HomeSource = 'flag' | 'env' | 'default';

export function homeFlagOf(cmd: Command): string | undefined {
  return cmd.optsWithGlobals<{ home?: string }>().home;
}

export function homeOf(cmd: Command): HomePaths {
  return homePaths(resolveHome(homeFlagOf(cmd)));
}

export function homeSourceOf(cmd: Command, env: Record<string, string | undefined> = process.env): HomeSource {
  if (homeFlagOf(cmd)) return 'flag';
  return env.SEALSYNC_HOME ? 'env' : 'default';
}

export function clientOf(cmd: Command): ControlClient {
  return new ControlClient(homeOf(cmd).controlSocket);
}

/** A word as a POSIX shell reads it back unchanged. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_/.,:@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `sealsync`, plus `--home DIR` when the user gave one: the start of every hint. */
export function sealsyncCommand(cmd: Command): string {
  const flag = homeFlagOf(cmd);
  return flag ? `sealsync --home ${shellQuote(resolveHome(flag))}` : 'sealsync';
}

/**
 * Rewrites the hints in a message (`` `sealsync start` `` and the like, from
 * the error catalog or the daemon) so that they carry the user's `--home`.
 */
export function keepHomeInHints(text: string, homeFlag: string | undefined): string {
  if (!homeFlag) return text;
  const prefix = `\`sealsync --home ${shellQuote(resolveHome(homeFlag))} `;
  return text.replace(/`sealsync (?!--home )/g, prefix);
}
