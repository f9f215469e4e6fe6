/**
 * Shapes of the device API (`sealsync device …`, /api/devices): what the
 * CLI and the dashboard see. None carries an invite secret or a folder key,
 * except CreatedInvite.code/link, which the user asked for.
 */
import type { InviteInfo, InviteKind } from './invite-book.js';

export type { InviteInfo, InviteKind } from './invite-book.js';

export interface CreatedInvite {
  readonly invite: InviteInfo;
  /** The code text (a secret until used: shown once, never logged). */
  readonly code: string;
  /** sealsync://invite?code=… */
  readonly link: string;
  /** The inviting device's id and the addresses the code carries. */
  readonly deviceId: string;
  readonly addresses: readonly string[];
}

export interface DeviceRow {
  readonly id: string;
  readonly name: string;
  readonly addresses: readonly string[];
  /** This device. */
  readonly self: boolean;
  /** A sync session is open with it now. */
  readonly connected: boolean;
}

export interface PendingJoin {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly kind: InviteKind;
  readonly inviteId: string;
  readonly since: number;
}

export interface DevicesReport {
  /** False until this device invited or joined another: then it holds a keyring. */
  readonly linked: boolean;
  /** Linked devices (this one included), sharing the keyring. */
  readonly devices: readonly DeviceRow[];
  /** Encrypted servers: they hold only the encrypted keys of chosen folders and are never linked. */
  readonly servers: readonly DeviceRow[];
  readonly pending: readonly PendingJoin[];
  readonly unlinked: readonly string[];
  /** Where folders received from linked devices land. */
  readonly into: string | null;
  readonly keyringGeneration: number;
}

export interface JoinResult {
  readonly kind: InviteKind;
  readonly inviter: { readonly id: string; readonly name: string };
  readonly folders: readonly { readonly path: string; readonly type: string }[];
}

export interface InviteRequest {
  readonly server?: readonly string[];
  readonly autoApprove?: boolean;
}

export interface JoinOptions {
  readonly signal?: AbortSignal;
  /**
   * What this device joins as (default device). A server refuses a device
   * invite (it must never hold a keyring); a device takes a server invite and
   * gets only its encrypted keys.
   */
  readonly as?: 'device' | 'server';
}

/** What the device routes call (the DeviceManager). */
export interface DevicesApi {
  report(): DevicesReport;
  invite(req: InviteRequest): Promise<CreatedInvite>;
  listInvites(): InviteInfo[];
  revokeInvite(id: string): InviteInfo;
  approve(deviceId: string): void;
  deny(deviceId: string): void;
  join(code: string, into: string | undefined, opts?: JoinOptions): Promise<JoinResult>;
  unlink(deviceId: string): Promise<void>;
}
