/**
 * Logging: JSON lines (pino) with one child logger per component
 * (`component: 'net:tls'`), or readable lines on a terminal. Services receive
 * a Logger; they never create one.
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

export function createLogger(opts: { level?: string; destination?: DestinationStream } = {}): Logger {
  const level = opts.level ?? process.env.SEALSYNC_LOG_LEVEL ?? 'info';
  return opts.destination ? pino({ level }, opts.destination) : pino({ level });
}

/**
 * Human-readable lines for a terminal (pino-pretty). It formats in this
 * thread, so no line is lost when the process exits; loaded only when used.
 */
export async function createTerminalLogger(opts: { level?: string } = {}): Promise<Logger> {
  const { default: pretty } = await import('pino-pretty');
  return createLogger({ ...opts, destination: pretty({
    colorize: true, singleLine: true, sync: true, translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,component', messageFormat: '{if component}{component}: {end}{msg}',
  }) });
}

/** A logger that discards everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export function componentLogger(parent: Logger, component: string): Logger {
  return parent.child({ component });
}
