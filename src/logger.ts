/**
 * Logging: JSON lines (pino) with one child logger per component
 * (`component: 'net:tls'`). Services receive a Logger; they never create one.
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  const level = opts.level ?? process.env.SEALSYNC_LOG_LEVEL ?? 'info';
  return opts.destination ? pino({ level }, opts.destination) : pino({ level });
}

/** A logger that discards everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function componentLogger(parent: Logger, component: string): Logger {
  return parent.child({ component });
}
