/**
 * Help text conventions: every command's `--help` ends with examples, and the
 * global `--home` shows under every command (commander's showGlobalOptions).
 */
import type { Command } from 'commander';

/** One example: the command line after `sealsync`, and what it does. */
export type Example = readonly [args: string, what: string];

export function withExamples(cmd: Command, examples: readonly Example[]): Command {
  const width = Math.max(...examples.map(([args]) => args.length));
  const lines = examples.map(([args, what]) => `  $ sealsync ${args.padEnd(width)}  # ${what}`);
  return cmd.addHelpText('after', `\nExamples:\n${lines.join('\n')}\n`);
}
