// Whether the learner is on the attestation's pages: the room tab and the test tab tell
// each other (BroadcastChannel) when they are in view and focused, and the room tab,
// which is in the room, reports to the commission (the /proctor event browser_event):
//
// - tab_hidden: none of the learner's exam tabs is in view (another tab or program);
// - window_blurred: one is in view, but none has the focus (another window on top).
//
// Going from the test tab to the room tab is neither: the learner is asked to come back
// to the room tab to see the commission. A state must last GRACE_MS before it is reported,
// so a switch between the two tabs (one hides just before the other shows) is not one.

export const GRACE_MS = 1500;
// Each tab repeats its state this often; a tab not heard from for PEER_TTL_MS (it crashed
// or froze without saying goodbye) no longer counts as in view.
const HEARTBEAT_MS = 5000;
const PEER_TTL_MS = 20000;
const KINDS = ["tab_hidden", "window_blurred"];

function ownState() {
  return {
    visible: document.visibilityState === "visible",
    focused: document.visibilityState === "visible" && document.hasFocus(),
  };
}

/**
 * The page's part in the learner's presence. options.report(kind, "start"|"end") → Promise:
 * given on the room page only (the page that is in the room); options.active() → whether
 * reports can be sent now (the room is joined).
 */
export class Presence {
  constructor(room, { report = null, active = () => true } = {}) {
    this.report = report;
    this.active = active;
    this.tab = Math.random().toString(36).slice(2);
    this.peers = new Map(); // other exam tabs: tab id -> {visible, focused}
    this.own = ownState();
    this.reported = {}; // kind -> "start" | "end" as last sent to the server
    this.timer = null;
    this.channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(`examroom-presence-${room}`) : null;
    if (this.channel) this.channel.addEventListener("message", (event) => this.onMessage(event.data || {}));
    const changed = () => this.changed();
    document.addEventListener("visibilitychange", changed);
    window.addEventListener("focus", changed);
    window.addEventListener("blur", changed);
    window.addEventListener("pagehide", () => this.post({ type: "gone" }));
    this.post({ type: "hello", ...this.own });
    setInterval(() => {
      this.post({ type: "state", ...this.own });
      this.evaluate();
    }, HEARTBEAT_MS);
  }

  post(message) {
    if (this.channel) this.channel.postMessage({ tab: this.tab, ...message });
  }

  onMessage(data) {
    if (!data.tab || data.tab === this.tab) return;
    if (data.type === "gone") this.peers.delete(data.tab);
    else if (data.type === "hello" || data.type === "state") {
      this.peers.set(data.tab, { visible: Boolean(data.visible), focused: Boolean(data.focused), at: Date.now() });
      if (data.type === "hello") this.post({ type: "state", ...this.own });
    }
    this.evaluate();
  }

  changed() {
    this.own = ownState();
    this.post({ type: "state", ...this.own });
    this.evaluate();
  }

  /** What should be open now: {tab_hidden, window_blurred}. */
  wanted() {
    const now = Date.now();
    for (const [tab, peer] of this.peers) if (now - peer.at > PEER_TTL_MS) this.peers.delete(tab);
    const all = [this.own, ...this.peers.values()];
    const visible = all.some((s) => s.visible);
    const focused = all.some((s) => s.focused);
    return { tab_hidden: !visible, window_blurred: visible && !focused };
  }

  evaluate() {
    if (!this.report) return;
    const wanted = this.wanted();
    // Ends go at once; starts only when the state outlasts the grace time.
    for (const kind of KINDS) if (!wanted[kind] && this.reported[kind] === "start") this.send(kind, "end");
    const due = KINDS.some((kind) => wanted[kind] && this.reported[kind] !== "start");
    if (!due) {
      clearTimeout(this.timer);
      this.timer = null;
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        const still = this.wanted();
        for (const kind of KINDS) if (still[kind] && this.reported[kind] !== "start") this.send(kind, "start");
      }, GRACE_MS);
    }
  }

  /** After a (re)join: tell the server the whole current state (it may have missed some). */
  resync() {
    if (!this.report) return;
    this.reported = {};
    const wanted = this.wanted();
    for (const kind of KINDS) if (!wanted[kind]) this.send(kind, "end");
    this.evaluate();
  }

  async send(kind, state) {
    if (!this.active()) return;
    const previous = this.reported[kind];
    this.reported[kind] = state;
    try {
      await this.report(kind, state);
    } catch {
      // Not delivered: the next change or rejoin sends the state again.
      if (this.reported[kind] === state) this.reported[kind] = previous;
    }
  }
}
