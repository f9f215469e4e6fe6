/**
 * The `sealsync` command line. Each command group lives in src/cli/commands/
 * and registers itself here. An error becomes one line on stderr (with
 * `--json`: `{"error":{"code","message"}}` on stdout) and an exit code from
 * exit-codes.ts; hints in it keep the user's `--home`. Nothing here prints a
 * folder key unless the user asked for it.
 */
import { Command, CommanderError } from 'commander';
import { describeError, isSealsyncError, type ErrorCode } from '../errors.js';
import { processIo, type CliIo } from './cli-io.js';
import { registerConfigCommands } from './commands/config.js';
import { registerDeviceCommands } from './commands/device.js';
import { registerFolderCommands } from './commands/folder.js';
import { registerInitCommand } from './commands/init.js';
import { registerKeyCommands } from './commands/key.js';
import { registerPasswdCommand } from './commands/passwd.js';
import { registerPeerCommands } from './commands/peer.js';
import { registerServerCommands } from './commands/server.js';
import { registerStartCommand } from './commands/start.js';
import { registerStatusCommand } from './commands/status.js';
import { registerStopCommand } from './commands/stop.js';
import { registerUiCommand } from './commands/ui.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, ExitStatus } from './exit-codes.js';
import { addExamples } from './help.js';
import { keepHomeInHints } from './home-option.js';
import { packageVersion } from '../package-version.js';

/** Error codes that mean "the command line was wrong", exit code 2. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_USAGE', 'ERR_INVALID_ARGUMENT']);

export interface ProgramOptions {
  /** Receives commander's usage errors instead of stderr (for `--json`). */
  readonly onUsageError?: (message: string) => void;
}

export function buildProgram(io: CliIo = processIo, opts: ProgramOptions = {}): Command {
  const program = new Command('sealsync')
    .description('End-to-end encrypted peer-to-peer folder sync')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .option('--home <dir>', 'device home (default: $SEALSYNC_HOME, else the platform config folder)')
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({
      writeOut: io.stdout,
      writeErr: io.stderr,
      // "error: unknown option '--x'" becomes the same one line as every other error.
      outputError: (text, write) => {
        const line = text.replace(/^error: /, '').trimEnd();
        if (opts.onUsageError) opts.onUsageError(line); else write(`sealsync: ${line}\n`);
      },
    })
    .showHelpAfterError(false)
    .exitOverride();
  // Command groups register here (keep alphabetical).
  registerConfigCommands(program, io);
  registerDeviceCommands(program, io);
  registerFolderCommands(program, io);
  registerInitCommand(program, io);
  registerKeyCommands(program, io);
  registerPasswdCommand(program, io);
  registerPeerCommands(program, io);
  registerServerCommands(program, io);
  registerStartCommand(program, io);
  registerStatusCommand(program, io);
  registerStopCommand(program, io);
  registerUiCommand(program, io);
  addExamples(program);
  return program;
}

/** `--json` anywhere before a `--`: errors are then JSON on stdout. */
function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const json = wantsJson(argv);
  let usageError: string | null = null;
  const program = buildProgram(io, json ? { onUsageError: (m) => { usageError = m; } } : {});
  const fail = (code: ErrorCode, message: string): void => {
    if (json) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
    else io.stderr(`sealsync: ${message}\n`);
  };
  try {
    await program.parseAsync(argv);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof ExitStatus) return err.code;
    if (err instanceof CommanderError) {
      // --help and --version exit 0; commander printed them. Usage errors: it printed
      // the one line already, except under --json, where it comes out here.
      if (err.exitCode === 0) return EXIT_OK;
      if (json) fail('ERR_USAGE', usageError ?? 'a command is missing (see --help)');
      return EXIT_USAGE;
    }
    const code: ErrorCode = isSealsyncError(err) ? err.code : 'ERR_INTERNAL';
    fail(code, keepHomeInHints(describeError(err), program.opts<{ home?: string }>().home));
    return USAGE_CODES.has(code) ? EXIT_USAGE : EXIT_FAILURE;
  }
}

// Run directly (tsx src/cli/main.ts …) in development.
if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv).then((code) => { process.exitCode = code; });
}
