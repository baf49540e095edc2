// Reconnect delays: exponential with full jitter (the delay is drawn
// uniformly from [0, min(cap, base * 2^attempt)]), so a server that comes back
// after an outage is not met by every widget at the same instant. The
// attempt count resets once a connection has stayed up for `stableMs`.

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  /** A connection that lived this long counts as healthy: the next failure starts over. */
  stableMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, capMs: 30_000, stableMs: 10_000 };

export class Backoff {
  private attempt = 0;
  private connectedAt: number | undefined;

  constructor(
    private readonly options: BackoffOptions = DEFAULT_BACKOFF,
    private readonly random: () => number = Math.random,
    private readonly now: () => number = Date.now,
  ) {}

  /** The upper bound of the next delay (without jitter). */
  ceiling(): number {
    const { baseMs, capMs } = this.options;
    return Math.min(capMs, baseMs * 2 ** Math.min(this.attempt, 30));
  }

  /** Call when a connection opened. */
  connected(): void {
    this.connectedAt = this.now();
  }

  /** Call when a connection failed or closed: returns how long to wait before the next try. */
  next(): number {
    if (this.connectedAt !== undefined && this.now() - this.connectedAt >= this.options.stableMs) {
      this.attempt = 0;
    }
    this.connectedAt = undefined;
    const delay = Math.floor(this.random() * this.ceiling());
    this.attempt++;
    return delay;
  }

  /** How many failures in a row so far. */
  get failures(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
    this.connectedAt = undefined;
  }
}
