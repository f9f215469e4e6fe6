/**
 * A per-peer misbehaviour budget (a leaky bucket): each offence adds its cost,
 * the score drains by one point every `decayMs`, and a peer whose score goes
 * past `max` is over budget. A peer that trips up now and then (a garbled
 * record relayed once) survives; a peer that keeps doing it is dropped.
 */
import { MAX_MISBEHAVIOUR, MISBEHAVIOUR_DECAY_MS } from './limits.js';

export { MAX_MISBEHAVIOUR, MISBEHAVIOUR_DECAY_MS };

export class MisbehaviourBudget {
  private score = 0;
  private last: number;
  private readonly reasons = new Map<string, number>();

  constructor(
    private readonly max: number = MAX_MISBEHAVIOUR,
    private readonly decayMs: number = MISBEHAVIOUR_DECAY_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.last = now();
  }

  /** Adds an offence; returns true when the peer is now over budget. */
  add(reason: string, cost = 1): boolean {
    this.drain();
    this.score += cost;
    // Keep the reason tally small: reasons are our own fixed strings, but bound it anyway.
    if (this.reasons.size < 64 || this.reasons.has(reason)) this.reasons.set(reason, (this.reasons.get(reason) ?? 0) + 1);
    return this.score > this.max;
  }

  get current(): number {
    this.drain();
    return this.score;
  }

  /** How often each reason was recorded (for logs and tests). */
  tally(): Record<string, number> {
    return Object.fromEntries(this.reasons);
  }

  private drain(): void {
    const t = this.now();
    const points = Math.floor((t - this.last) / this.decayMs);
    if (points > 0) {
      this.score = Math.max(0, this.score - points);
      this.last += points * this.decayMs;
    }
  }
}
