/**
 * Pending invites of this device, in memory only (a restart voids them; the
 * secret never reaches the disk or a log), and the limit on join attempts.
 *
 * An invite is single use and valid INVITE_TTL_MS: the first join attempt
 * whose proof checks out consumes it, whatever happens next (approval,
 * refusal, a dropped connection). Used, expired and revoked invites are kept
 * (without their secret) until INVITE_FORGET_MS after they expired, so a
 * second attempt is told why, and are listed with their state.
 */
import { inviteIdOf, newInviteSecret } from '../../crypto/invite.js';
import { SealsyncError } from '../../errors.js';

export const INVITE_TTL_MS = 10 * 60_000;
/**
 * `SEALSYNC_INVITE_TTL_MS` may shorten an invite's life (tests of expiry use
 * it), never lengthen it; anything else is the default.
 */
export function inviteTtlFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env['SEALSYNC_INVITE_TTL_MS']);
  return Number.isInteger(v) && v > 0 && v < INVITE_TTL_MS ? v : INVITE_TTL_MS;
}
const INVITE_FORGET_MS = 60 * 60_000;
export const MAX_INVITES = 64;
/** Join attempts per source address, and in total, per JOIN_WINDOW_MS. */
export const MAX_JOIN_ATTEMPTS_PER_SOURCE = 5;
export const MAX_JOIN_ATTEMPTS_TOTAL = 20;
export const JOIN_WINDOW_MS = 60_000;

export type InviteKind = 'device' | 'server';
export type InviteState = 'pending' | 'used' | 'expired' | 'revoked';
export type RefusalReason = 'unknown' | 'expired' | 'used' | 'revoked' | 'bad-proof' | 'rate-limited' | 'denied' | 'timeout' | 'wrong-kind';

/** What listing shows: never the secret. */
export interface InviteInfo {
  readonly id: string;
  readonly kind: InviteKind;
  /** Folder paths whose encrypted keys a server invite hands over. */
  readonly folders: readonly string[];
  readonly autoApprove: boolean;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly state: InviteState;
  readonly usedBy: string | null;
}

export interface Invite extends Omit<InviteInfo, 'state' | 'usedBy'> {
  secret: Uint8Array | null;
  state: 'pending' | 'used' | 'revoked';
  usedBy: string | null;
}

export const REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  unknown: 'the inviting device does not know this invite code (mistyped, or the inviter restarted since)',
  expired: 'the invite code has expired (codes are valid 10 minutes): ask for a new one',
  used: 'the invite code was already used (each code works once): ask for a new one',
  revoked: 'the invite code was revoked on the inviting device',
  'bad-proof': 'the invite code does not match the inviting device (altered?)',
  'rate-limited': 'too many join attempts: wait a minute and try again',
  denied: 'the inviting device did not approve this device',
  timeout: 'the inviting device did not approve this device in time',
  'wrong-kind': 'this is a device invite and a server must not take one: on the laptop, make a server invite with `sealsync device invite --server PATH…`',
};

export function refusal(reason: RefusalReason): SealsyncError {
  return new SealsyncError('ERR_INVITE_REFUSED', REFUSAL_MESSAGES[reason], { reason });
}

export class InviteBook {
  private readonly invites = new Map<string, Invite>();
  private readonly attempts: { at: number; source: string }[] = [];

  constructor(private readonly now: () => number = Date.now, private readonly ttlMs: number = INVITE_TTL_MS) {}

  create(opts: { kind: InviteKind; folders?: readonly string[]; autoApprove?: boolean }): { invite: InviteInfo; secret: Uint8Array } {
    this.prune();
    if ([...this.invites.values()].filter((i) => this.stateOf(i) === 'pending').length >= MAX_INVITES) {
      throw new SealsyncError('ERR_QUEUE_FULL', `at most ${MAX_INVITES} pending invites: revoke some first`);
    }
    const secret = newInviteSecret();
    const at = this.now();
    const invite: Invite = {
      id: inviteIdOf(secret), kind: opts.kind, folders: [...(opts.folders ?? [])], autoApprove: opts.autoApprove ?? false,
      createdAt: at, expiresAt: at + this.ttlMs, secret, state: 'pending', usedBy: null,
    };
    this.invites.set(invite.id, invite);
    return { invite: this.info(invite), secret };
  }

  list(): InviteInfo[] {
    this.prune();
    return [...this.invites.values()].map((i) => this.info(i));
  }

  revoke(id: string): InviteInfo {
    const invite = this.invites.get(id);
    if (!invite) throw new SealsyncError('ERR_NOT_FOUND', `no invite ${id.slice(0, 40)}`);
    if (this.stateOf(invite) === 'pending') {
      invite.state = 'revoked';
      invite.secret = null;
    }
    return this.info(invite);
  }

  /**
   * Counts one join attempt from `source`; the refusal when over the limit.
   * Every attempt counts, good or bad, so a flood cannot hide among them.
   */
  admitAttempt(source: string): SealsyncError | null {
    const at = this.now();
    while (this.attempts.length > 0 && (this.attempts[0]?.at ?? 0) <= at - JOIN_WINDOW_MS) this.attempts.shift();
    if (this.attempts.length >= MAX_JOIN_ATTEMPTS_TOTAL) return refusal('rate-limited');
    if (this.attempts.filter((a) => a.source === source).length >= MAX_JOIN_ATTEMPTS_PER_SOURCE) return refusal('rate-limited');
    this.attempts.push({ at, source });
    return null;
  }

  /** The secret of a pending invite to check a proof against, or why it cannot be used. */
  secretFor(id: string): Uint8Array | SealsyncError {
    const invite = this.invites.get(id);
    if (!invite) return refusal('unknown');
    const state = this.stateOf(invite);
    if (state !== 'pending' || !invite.secret) return refusal(state === 'pending' ? 'unknown' : state);
    return invite.secret;
  }

  /** The kind of a known invite (checked before it is consumed, so a wrong kind leaves it usable). */
  kindOf(id: string): InviteKind | null {
    return this.invites.get(id)?.kind ?? null;
  }

  /** Marks the invite used by `deviceId` (after a good proof) and forgets its secret; returns it. */
  consume(id: string, deviceId: string): Invite {
    const invite = this.invites.get(id);
    if (!invite || this.stateOf(invite) !== 'pending') throw refusal('used');
    invite.state = 'used';
    invite.usedBy = deviceId;
    invite.secret = null;
    return invite;
  }

  clear(): void {
    for (const i of this.invites.values()) i.secret = null;
    this.invites.clear();
  }

  private stateOf(i: Invite): InviteState {
    if (i.state !== 'pending') return i.state;
    return this.now() >= i.expiresAt ? 'expired' : 'pending';
  }

  private info(i: Invite): InviteInfo {
    return {
      id: i.id, kind: i.kind, folders: i.folders, autoApprove: i.autoApprove, createdAt: i.createdAt, expiresAt: i.expiresAt,
      state: this.stateOf(i), usedBy: i.usedBy,
    };
  }

  private prune(): void {
    const at = this.now();
    for (const [id, i] of this.invites) {
      if (this.stateOf(i) === 'expired') i.secret = null;
      if (at >= i.expiresAt + INVITE_FORGET_MS) this.invites.delete(id);
    }
  }
}
