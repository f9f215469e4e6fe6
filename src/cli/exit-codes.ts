/**
 * The process exit codes of `sealsync` (documented in README.md). `status`
 * and `server status` use 3 and 4 so that scripts and monitoring can tell
 * "still syncing" and "a folder has an error" from a failure of the command.
 */
export const EXIT_OK = 0;
/** Anything went wrong: one line on stderr (or JSON on stdout with --json). */
export const EXIT_FAILURE = 1;
/** Bad usage: unknown command or option, missing or malformed argument. */
export const EXIT_USAGE = 2;
/** `status`: the daemon runs and some folder is scanning or syncing. */
export const EXIT_SYNCING = 3;
/** `status`: some folder is in error. */
export const EXIT_FOLDER_ERROR = 4;
/** `start`: a second Ctrl-C or SIGTERM cut a slow shutdown short. */
export const EXIT_FORCED = 130;

/**
 * Thrown by a command that has printed its result and must exit with a code
 * other than 0 (not an error: nothing more is printed).
 */
export class ExitStatus extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
