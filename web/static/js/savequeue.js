// The pending-save queue of a test page.
//
// Every answer the learner chooses is first written to localStorage (keyed by attempt)
// and only removed from there once the server acknowledges it — after its commit. So a
// lost connection, a crash or a reload never loses an answer: the page that opens the
// attempt next finds the entry and sends it again. Saves are idempotent on the server.
//
// One save per question is in flight at a time; a newer choice for the same question
// replaces the queued one and is sent right after the in-flight save settles. Failures
// that may pass (network, timeouts, 5xx, "retry") are retried with exponential backoff
// and jitter (1 s, 2 s, 4 s … at most 30 s); `kick()` retries at once (used when the
// browser comes back online or the socket reconnects).

const MAX_DELAY_MS = 30000;

/** The pending answers of one attempt in localStorage: {questionId: {option_id, at}}. */
export class PendingStore {
  constructor(attemptId) {
    this.key = `examroom.pending.${attemptId}`;
    this.memory = {}; // used only when localStorage is unavailable (private mode, quota)
    this.persistent = true;
  }

  all() {
    if (!this.persistent) return { ...this.memory };
    try {
      const raw = window.localStorage.getItem(this.key);
      const data = raw ? JSON.parse(raw) : {};
      return data && typeof data === "object" ? data : {};
    } catch {
      return { ...this.memory };
    }
  }

  get(questionId) {
    return this.all()[questionId] || null;
  }

  put(questionId, optionId) {
    const entries = this.all();
    entries[questionId] = { option_id: optionId, at: Date.now() };
    this.write(entries);
  }

  /** Remove the entry if it still holds this option (a newer choice stays queued). */
  settle(questionId, optionId) {
    const entries = this.all();
    const entry = entries[questionId];
    if (entry && entry.option_id === optionId) {
      delete entries[questionId];
      this.write(entries);
    }
  }

  remove(questionId) {
    const entries = this.all();
    delete entries[questionId];
    this.write(entries);
  }

  count() {
    return Object.keys(this.all()).length;
  }

  clear() {
    this.memory = {};
    try {
      window.localStorage.removeItem(this.key);
    } catch {
      /* nothing stored */
    }
  }

  write(entries) {
    this.memory = { ...entries };
    try {
      if (Object.keys(entries).length) window.localStorage.setItem(this.key, JSON.stringify(entries));
      else window.localStorage.removeItem(this.key);
      this.persistent = true;
    } catch {
      this.persistent = false;
    }
  }
}

/**
 * What to do after a failed save: "retry" later, "drop" the entry (the server will never
 * accept it) or stop everything ("fatal": the attempt was taken over or is closed).
 */
export function classify(err) {
  const code = err && err.code;
  if (code === "attempt_in_use" || code === "attempt_submitted" || code === "deadline_passed") {
    return "fatal";
  }
  if (code === "unauthenticated" || code === "csrf") return "retry"; // after logging in again
  if (err && err.retryable) return "retry";
  if (err && err.status === undefined) return "retry";
  return "drop";
}

export class SaveQueue {
  /**
   * @param {object} options
   * @param {PendingStore} options.store
   * @param {(questionId: number, optionId: number) => Promise<any>} options.send
   * @param {(questionId: number, state: string, err?: any) => void} options.onState
   * @param {(questionId: number, optionId: number, reply: any) => void} options.onSaved
   * @param {(err: any) => void} options.onFailure  a retryable failure
   * @param {(err: any) => void} options.onFatal
   */
  constructor(options) {
    this.store = options.store;
    this.send = options.send;
    this.onState = options.onState;
    this.onSaved = options.onSaved;
    this.onFailure = options.onFailure;
    this.onFatal = options.onFatal;
    this.inflight = new Map();
    this.failedRounds = 0;
    this.retryTimer = null;
    this.stopped = false;
    this.waiters = [];
  }

  /** Queue the learner's choice and send it. */
  enqueue(questionId, optionId) {
    if (this.stopped) return;
    this.store.put(questionId, optionId);
    if (!this.inflight.has(questionId)) this.onState(questionId, "pending");
    this.kick();
  }

  /** Send everything queued now (cancels a scheduled retry). */
  kick() {
    if (this.stopped) return;
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    for (const key of Object.keys(this.store.all())) {
      const questionId = Number(key);
      if (!this.inflight.has(questionId)) this.sendOne(questionId);
    }
    this.checkDrained();
  }

  /** Questions with an answer not yet acknowledged. */
  pendingIds() {
    return Object.keys(this.store.all()).map(Number);
  }

  /** Resolves true once nothing is pending, false after timeoutMs. */
  drain(timeoutMs) {
    this.failedRounds = 0;
    this.kick();
    if (this.store.count() === 0 && this.inflight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { resolve, timer: 0 };
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  stop() {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(this.store.count() === 0);
    }
    this.waiters = [];
  }

  async sendOne(questionId) {
    const entry = this.store.get(questionId);
    if (!entry || this.stopped) return;
    const optionId = entry.option_id;
    this.inflight.set(questionId, optionId);
    this.onState(questionId, "saving");
    let reply;
    try {
      reply = await this.send(questionId, optionId);
    } catch (err) {
      this.inflight.delete(questionId);
      if (this.stopped) return;
      this.failed(questionId, optionId, err);
      return;
    }
    this.inflight.delete(questionId);
    this.store.settle(questionId, optionId);
    this.failedRounds = 0;
    this.onSaved(questionId, optionId, reply);
    if (this.stopped) return;
    if (this.store.get(questionId)) this.sendOne(questionId); // changed while in flight
    else this.onState(questionId, "saved");
    this.checkDrained();
  }

  failed(questionId, optionId, err) {
    const kind = classify(err);
    if (kind === "fatal") {
      this.onState(questionId, "pending");
      this.onFatal(err);
      return;
    }
    if (kind === "drop") {
      this.store.settle(questionId, optionId);
      this.onState(questionId, "error", err);
      this.checkDrained();
      return;
    }
    this.onState(questionId, "pending");
    this.onFailure(err);
    this.scheduleRetry();
  }

  scheduleRetry() {
    if (this.retryTimer !== null || this.stopped) return;
    this.failedRounds += 1;
    const base = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(this.failedRounds - 1, 5));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.kick();
    }, delay);
  }

  checkDrained() {
    if (this.store.count() !== 0 || this.inflight.size !== 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(true);
    }
  }
}
