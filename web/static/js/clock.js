// The server's clock as seen from the page: every reply's server_time re-syncs it,
// and the countdown runs locally on a monotonic clock in between.

function localNow() {
  // performance.now() is monotonic: changing the computer's clock does not move it.
  return performance.timeOrigin + performance.now();
}

export class ServerClock {
  constructor() {
    this.offset = null; // server time minus local time, ms
    this.deadline = null; // ms since the epoch, server time
  }

  /**
   * Re-sync from a reply. serverTime/deadline are ISO strings; rtt (ms), when known,
   * places the server's reading in the middle of the round trip.
   */
  sync(serverTime, deadline, rtt = 0) {
    const server = serverTime ? Date.parse(serverTime) : NaN;
    if (!Number.isNaN(server)) {
      const offset = server + rtt / 2 - localNow();
      // Small differences are network jitter; ignoring them keeps the seconds steady.
      if (this.offset === null || Math.abs(offset - this.offset) > 750) this.offset = offset;
    }
    const end = deadline ? Date.parse(deadline) : NaN;
    if (!Number.isNaN(end)) this.deadline = end;
  }

  now() {
    return localNow() + (this.offset ?? 0);
  }

  /** Seconds left until the deadline (never negative), or null before the first sync. */
  secondsLeft() {
    if (this.deadline === null) return null;
    return Math.max(0, (this.deadline - this.now()) / 1000);
  }
}
