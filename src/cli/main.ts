/**
 * The `sealsync` command line. Each command group lives in src/cli/commands/
 * and registers itself here. Errors become one line on stderr and a non-zero
 * exit code; nothing here prints a folder key unless the user asked for it.
 */
import { Command, CommanderError } from 'commander';
import { describeError } from '../errors.js';
import { registerFolderCommands } from './commands/folder.js';
import { registerInitCommand } from './commands/init.js';
import { registerPasswdCommand } from './commands/passwd.js';
import { registerPeerCommands } from './commands/peer.js';
import { registerStartCommand } from './commands/start.js';
import { registerStatusCommand } from './commands/status.js';
import { registerStopCommand } from './commands/stop.js';
import { registerUiCommand } from './commands/ui.js';
import { registerKeyCommands } from './commands/key.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

export function buildProgram(io: CliIo = defaultIo): Command {
  const program = new Command('sealsync')
    .description('End-to-end encrypted peer-to-peer folder sync')
    .option('--home <dir>', 'device home (default: $SEALSYNC_HOME, else the platform config folder)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError(false)
    .exitOverride();
  // Command groups register here (keep alphabetical).
  registerFolderCommands(program, io);
  registerInitCommand(program, io);
  registerKeyCommands(program, io);
  registerPasswdCommand(program, io);
  registerPeerCommands(program, io);
  registerStartCommand(program, io);
  registerStatusCommand(program, io);
  registerStopCommand(program, io);
  registerUiCommand(program, io);
  return program;
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message (usage errors, --help, --version)
      return err.exitCode;
    }
    io.stderr(`sealsync: ${describeError(err)}\n`);
    return 1;
  }
}

// Run directly (tsx src/cli/main.ts …) in development.
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv).then((code) => { process.exitCode = code; });
}
