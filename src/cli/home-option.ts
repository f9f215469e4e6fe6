/**
 * Shared plumbing for commands that work on a home: resolve `--home`, and a
 * control-socket client for commands that talk to the running daemon.
 */
import type { Command } from 'commander';
import { ControlClient } from '../api/control-client.js';
import { homePaths, resolveHome, type HomePaths } from '../api/offline.js';

export function homeOf(cmd: Command): HomePaths {
  const opts = cmd.optsWithGlobals<{ home?: string }>();
  return homePaths(resolveHome(opts.home));
}

export function clientOf(cmd: Command): ControlClient {
  return new ControlClient(homeOf(cmd).controlSocket);
}
