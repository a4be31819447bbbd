// Replay of a session: one <video> per participant, all driven by one session clock
// (seconds from the start of the recording). A participant's recording may be several
// files (segments, reconnects); the player loads the file that covers the clock.
import { api, errorText } from "./api.js";
import { byId, clear, el } from "./dom.js";
import { eventKindLabel } from "./events.js";
import { t } from "./i18n.js";
import { kindLabel, statusLabel } from "./identity.js";

const root = byId("replay-app");
const room = root.dataset.room;
const state = { clock: 0, playing: false, speed: 1, end: 0, players: [], lastTick: 0 };

function fmt(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

// Why a participant left the room (the participation log's reasons).
const LEAVE_REASONS = {
  left: () => t("left the room themselves"),
  disconnected: () => t("the connection was lost"),
  session_ended: () => t("the login session ended"),
};

function describe(item) {
  const fromLog = item.source === "room";
  const reason = LEAVE_REASONS[item.reason];
  switch (item.kind) {
    case "join": return fromLog ? t("{who} entered the room", { who: item.participant }) : t("{who} joined", { who: item.participant });
    case "reconnect": return t("{who} reconnected", { who: item.participant });
    case "leave": return fromLog ? t("{who} left the room", { who: item.participant }) + (reason ? ` (${reason()})` : "") : t("{who} left", { who: item.participant });
    case "chat": return t("Message: {text}", { text: item.text });
    case "file": return t("File: {name}", { name: item.name });
    case "snapshot": return t("Snapshot: {kind}", { kind: kindLabel(item.snapshot) });
    case "identity": return t("Identity: {status}", { status: statusLabel(item.status) });
    case "monitoring": return t("Event: {kind}", { kind: eventKindLabel(item.event) }) + (item.comment ? ` — ${item.comment}` : "");
    case "answer": return t("Answer to question {q}", { q: item.question_id });
    default: return item.kind;
  }
}

function segmentAt(player, clock) {
  return player.segments.find((s) => clock >= s.offset && clock < s.offset + s.duration) || null;
}

function sync(force) {
  for (const player of state.players) {
    const segment = segmentAt(player, state.clock);
    const video = player.video;
    if (!segment) {
      if (!video.paused) video.pause();
      player.box.classList.add("replay-gap");
      continue;
    }
    player.box.classList.remove("replay-gap");
    if (player.current !== segment) {
      player.current = segment;
      video.src = segment.url;
      force = true;
    }
    const want = state.clock - segment.offset;
    if (force || Math.abs(video.currentTime - want) > 0.4) video.currentTime = want;
    video.playbackRate = state.speed;
    if (state.playing && video.paused) video.play().catch(() => {});
    if (!state.playing && !video.paused) video.pause();
  }
  byId("position").value = String(state.clock);
  byId("clock").textContent = `${fmt(state.clock)} / ${fmt(state.end)}`;
}

function tick(now) {
  if (state.playing) {
    const leader = state.players.find((p) => p.current && !p.video.paused && segmentAt(p, state.clock) === p.current);
    if (leader) state.clock = leader.current.offset + leader.video.currentTime;
    else state.clock += ((now - state.lastTick) / 1000) * state.speed;
    if (state.clock >= state.end) {
      state.clock = state.end;
      setPlaying(false);
    }
    sync(false);
  }
  state.lastTick = now;
  requestAnimationFrame(tick);
}

function setPlaying(playing) {
  state.playing = playing;
  byId("play-btn").textContent = playing ? t("Pause") : t("Play");
  sync(false);
}

/** Move every video to the session time ``clock`` (seconds). */
export function seek(clock) {
  state.clock = Math.min(Math.max(0, clock), state.end);
  sync(true);
}

function render(data) {
  const byParticipant = new Map();
  for (const video of data.videos) {
    if (!byParticipant.has(video.participant)) byParticipant.set(video.participant, []);
    byParticipant.get(video.participant).push(video);
    state.end = Math.max(state.end, video.offset + video.duration);
  }
  const box = byId("videos");
  clear(box);
  for (const [participant, segments] of byParticipant) {
    const video = el("video", { className: "room-video", playsInline: true, preload: "auto", dataset: { participant } });
    const figure = el("figure", { className: "video-frame replay-player" }, video, el("figcaption", { text: participant }));
    box.append(figure);
    state.players.push({ participant, segments, video, box: figure, current: null });
  }
  byId("replay-empty").hidden = data.videos.length > 0;
  byId("position").max = String(state.end);
  const list = byId("timeline");
  clear(list);
  for (const item of data.items) {
    const when = item.offset === null ? "" : fmt(item.offset);
    const button = el("button", {
      type: "button",
      className: "timeline-item",
      dataset: { kind: item.kind, offset: item.offset ?? "" },
      disabled: item.offset === null,
      on: { click: () => seek(item.offset) },
    }, el("time", { text: when }), " ", describe(item));
    list.append(el("li", { dataset: { kind: item.kind } }, button));
  }
  sync(true);
}

async function start() {
  byId("play-btn").addEventListener("click", () => setPlaying(!state.playing));
  byId("speed").addEventListener("change", (event) => {
    state.speed = Number(event.target.value) || 1;
    sync(false);
  });
  byId("position").addEventListener("input", (event) => seek(Number(event.target.value)));
  try {
    render(await api("GET", `/api/recordings/${encodeURIComponent(room)}/timeline`));
    root.dataset.ready = "true";
  } catch (err) {
    const box = byId("replay-error");
    box.textContent = errorText(err);
    box.hidden = false;
  }
  requestAnimationFrame(tick);
}

start();
