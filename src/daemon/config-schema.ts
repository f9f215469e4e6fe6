/**
 * The config file schema (config.json, mode 0600). Every field has a default,
 * so an older or hand-trimmed file still loads; `version` lets a later release
 * migrate. Validation is strict: unknown keys are errors (a typo must not be
 * silently ignored).
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { MAX_DEVICE_NAME_LENGTH } from '../crypto/device.js';
import { formatDeviceId, MAX_DEVICE_ID_TEXT_LENGTH, parseDeviceId } from '../crypto/device-id.js';
import { checkKeyText } from '../crypto/key-text.js';
import { DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS } from '../model/retention.js';
import { describeError } from '../errors.js';
import { LOOPBACK_HOSTS, parseHostPort, parsePeerAddress } from './address.js';
import { MAX_ADDRESS_LENGTH } from '../net/peer-address.js';

export const CONFIG_VERSION = 1;
export const MAX_FOLDERS = 1000;
export const MAX_PEERS = 1000;
export const MAX_PATH_LENGTH = 4096;
/** A folder key in the config is its canonical text (no link, no name hint): far below key-text's MAX_KEY_TEXT_LENGTH. */
export const MAX_CONFIG_KEY_TEXT_LENGTH = 512;
export const DEFAULT_RESCAN_INTERVAL_S = 3600;
export const MIN_RESCAN_INTERVAL_S = 1;
export const MAX_RESCAN_INTERVAL_S = 7 * 24 * 3600;
export const MAX_BANDWIDTH_KBPS = 10_000_000;
/** The metrics endpoint's default address (the port Prometheus exporters commonly use). */
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9464';
export const MIN_METRICS_TOKEN_LENGTH = 32;
export const MAX_METRICS_TOKEN_LENGTH = 256;

const hostPort = (allowZero: boolean) =>
  z.string().max(300).refine((s) => {
    try { parseHostPort(s, { allowZero }); return true; } catch { return false; }
  }, { message: 'expected HOST:PORT (IPv6 in brackets)' });

export const deviceNameSchema = z.string().trim().min(1).max(MAX_DEVICE_NAME_LENGTH)
  // control characters would garble logs and the dashboard
  .refine((s) => !/[\p{Cc}]/u.test(s), { message: 'must not contain control characters' });

/** Largest per-folder archive size bound (1 PiB in MiB). */
export const MAX_ARCHIVE_MIB = 1024 * 1024 * 1024;

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
export const pausedCountsSchema = z.object({
  localFiles: count, localBytes: count, globalFiles: count, globalBytes: count, needFiles: count, needBytes: count,
}).strict();

export const folderConfigSchema = z.object({
  path: z.string().min(1).max(MAX_PATH_LENGTH).refine(isAbsolute, { message: 'must be an absolute path' }),
  // A hand-edited key that does not parse is reported at its line, with the key's own reason.
  key: z.string().min(1).max(MAX_CONFIG_KEY_TEXT_LENGTH).superRefine((text, ctx) => {
    try { checkKeyText(text); } catch (err) { ctx.addIssue({ code: z.ZodIssueCode.custom, message: describeError(err) }); }
  }),
  rescanIntervalS: z.number().int().min(MIN_RESCAN_INTERVAL_S).max(MAX_RESCAN_INTERVAL_S).default(DEFAULT_RESCAN_INTERVAL_S),
  watch: z.boolean().default(true),
  /** Paused: the engine is not run (nothing scanned, sent or applied) until resumed. */
  paused: z.boolean().optional(),
  /** Written by `folder pause`: the counts the folder had then, which its status shows while paused. */
  pausedCounts: pausedCountsSchema.optional(),
  /** This folder's archive retention: days (absent: the global archive.retentionDays) and a size bound (0: a tenth of the folder's disk, fs/archive-prune.ts). */
  archive: z.object({
    retentionDays: z.number().int().min(0).max(MAX_RETENTION_DAYS).optional(),
    maxMiB: z.number().int().min(0).max(MAX_ARCHIVE_MIB).default(0),
  }).strict().optional(),
}).strict();

/** A peer address as stored (the config's peers, the keyring's devices): `tcp://HOST:PORT`. */
export const peerAddressSchema = z.string().max(MAX_ADDRESS_LENGTH).refine((s) => {
  try { parsePeerAddress(s); return true; } catch { return false; }
}, { message: 'expected tcp://HOST:PORT' });

/** A device id as stored (the config's pins, the keyring's devices): only its canonical form. */
export const deviceIdSchema = z.string().max(MAX_DEVICE_ID_TEXT_LENGTH).refine((s) => {
  try { return formatDeviceId(parseDeviceId(s)) === s; } catch { return false; }
}, { message: 'expected a device id in its canonical form (XXXXXXX-XXXXXXX-…)' });

export const peerConfigSchema = z.object({
  address: peerAddressSchema,
  /** The device pinned at this address (its certificate fingerprint); absent until the first device answers (TOFU). */
  deviceId: deviceIdSchema.optional(),
}).strict();

export const webuiConfigSchema = z.object({
  enabled: z.boolean().default(true),
  listen: hostPort(false).default('127.0.0.1:8384'),
  https: z.boolean().default(false),
  /** scrypt hash string, or null when no password is set. */
  passwordHash: z.string().max(1024).nullable().default(null),
  certificatePath: z.string().max(MAX_PATH_LENGTH).refine(isAbsolute, { message: 'must be an absolute path' }).optional(),
  certificateKeyPath: z.string().max(MAX_PATH_LENGTH).refine(isAbsolute, { message: 'must be an absolute path' }).optional(),
}).strict();

/**
 * Prometheus metrics (off by default). Loopback only and behind a bearer token:
 * other local users can reach loopback too.
 */
export const metricsConfigSchema = z.object({
  enabled: z.boolean().default(false),
  listen: hostPort(false).refine((s) => {
    try { return LOOPBACK_HOSTS.has(parseHostPort(s).host); } catch { return false; }
  }, { message: 'the metrics endpoint listens on loopback only (127.0.0.1, ::1 or localhost)' }).default(DEFAULT_METRICS_LISTEN),
  token: z.string().min(MIN_METRICS_TOKEN_LENGTH).max(MAX_METRICS_TOKEN_LENGTH)
    .regex(/^[A-Za-z0-9._~+/=-]+$/, { message: 'only letters, digits and ._~+/=- (a bearer token)' }).nullable().default(null),
}).strict().superRefine((m, ctx) => {
  if (m.enabled && m.token === null) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['token'], message: 'is required when metrics are enabled' });
  }
});

export const configSchema = z.object({
  version: z.literal(CONFIG_VERSION).default(CONFIG_VERSION),
  device: z.object({ name: deviceNameSchema.default('sealsync') }).strict().default({}),
  listen: hostPort(false).default('0.0.0.0:22000'),
  discovery: z.boolean().default(true),
  webui: webuiConfigSchema.default({}),
  folders: z.array(folderConfigSchema).max(MAX_FOLDERS).default([]).superRefine((folders, ctx) => {
    const seen = new Set<string>();
    folders.forEach((f, i) => {
      if (seen.has(f.path)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i, 'path'], message: 'the same folder is listed twice' });
      seen.add(f.path);
    });
  }),
  peers: z.array(peerConfigSchema).max(MAX_PEERS).default([]),
  archive: z.object({
    retentionDays: z.number().int().min(0).max(MAX_RETENTION_DAYS).default(DEFAULT_RETENTION_DAYS),
  }).strict().default({}),
  bandwidth: z.object({
    /** 0 = unlimited. */
    maxSendKBps: z.number().int().min(0).max(MAX_BANDWIDTH_KBPS).default(0),
    maxRecvKBps: z.number().int().min(0).max(MAX_BANDWIDTH_KBPS).default(0),
  }).strict().default({}),
  metrics: metricsConfigSchema.default({}),
}).strict();

export type Config = z.infer<typeof configSchema>;
export type FolderConfig = z.infer<typeof folderConfigSchema>;
export type PeerConfig = z.infer<typeof peerConfigSchema>;
export type MetricsConfig = z.infer<typeof metricsConfigSchema>;

/** config.bandwidth (KiB/s, 0 = unlimited) as the sessions' byte rates (absent = unlimited). */
export function rateLimitOf(bw: { maxSendKBps: number; maxRecvKBps: number }): { inBytesPerSec?: number; outBytesPerSec?: number } {
  return {
    ...(bw.maxRecvKBps > 0 ? { inBytesPerSec: bw.maxRecvKBps * 1024 } : {}),
    ...(bw.maxSendKBps > 0 ? { outBytesPerSec: bw.maxSendKBps * 1024 } : {}),
  };
}
