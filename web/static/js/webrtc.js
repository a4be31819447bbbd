// Shared helpers of the live video rooms: the /proctor socket, camera and microphone,
// the peer connections that publish and receive, the microphone level meter, backoff.
//
// The server (aiortc) answers one complete offer and does not trickle ICE, so every offer
// is sent only after the browser has gathered all its candidates. The browser is always
// the offerer: sendonly transceivers to publish, recvonly ones to receive.

/** Camera settings of the rooms (the server forwards, it never re-encodes). */
export const VIDEO = { width: 640, height: 480, frameRate: 15 };
/** The cap on the camera's bitrate, bits per second. */
export const MAX_VIDEO_BITRATE = 500_000;
const ICE_GATHERING_TIMEOUT_MS = 5000;
export const ACK_TIMEOUT_MS = 15000;

/** A failed signaling call: the server's error code and message (or a local one). */
export class SignalError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = "SignalError";
    this.code = code;
  }

  /** True when trying again later may help (the server said no for a reason that stays). */
  get retryable() {
    return !["forbidden", "not_found", "unauthenticated", "bad_sdp", "invalid"].includes(this.code);
  }
}

/** The socket.io connection to the /proctor namespace (it reconnects by itself). */
export function connectProctor() {
  if (typeof globalThis.io !== "function") throw new SignalError("no_socketio", "socket.io client is missing");
  return globalThis.io("/proctor", {
    transports: ["websocket", "polling"],
    tryAllTransports: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 8000,
  });
}

/** Send an event and wait for its acknowledgement; rejects with SignalError on `{error}`. */
export async function request(socket, event, data, timeout = ACK_TIMEOUT_MS) {
  if (!socket.connected) throw new SignalError("disconnected", "the socket is not connected");
  let ack;
  try {
    ack = await socket.timeout(timeout).emitWithAck(event, data);
  } catch {
    throw new SignalError("timeout", `no answer to ${event} in time`);
  }
  if (!ack || typeof ack !== "object") throw new SignalError("bad_ack", `unexpected answer to ${event}`);
  if (ack.error) throw new SignalError(ack.error, ack.message);
  return ack;
}

/** The camera and microphone (640×480 at 15 fps); device ids choose among several. */
export function openCamera({ videoDeviceId = "", audioDeviceId = "" } = {}) {
  const video = {
    width: { ideal: VIDEO.width },
    height: { ideal: VIDEO.height },
    frameRate: { ideal: VIDEO.frameRate, max: VIDEO.frameRate },
  };
  if (videoDeviceId) video.deviceId = { exact: videoDeviceId };
  const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
  if (audioDeviceId) audio.deviceId = { exact: audioDeviceId };
  return navigator.mediaDevices.getUserMedia({ video, audio });
}

/** Stop every track of a stream. */
export function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

/** The cameras and microphones the browser reports (labels only after permission). */
export async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return {
    cameras: devices.filter((d) => d.kind === "videoinput"),
    microphones: devices.filter((d) => d.kind === "audioinput"),
  };
}

/** Resolve once the connection has gathered all its ICE candidates (or after a timeout). */
export function iceGatheringComplete(pc, timeoutMs = ICE_GATHERING_TIMEOUT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      pc.removeEventListener("icecandidate", onCandidate);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === "complete") done();
    };
    const onCandidate = (event) => {
      if (!event.candidate) done(); // the end-of-candidates marker
    };
    // Without complete gathering the offer still carries what was found so far.
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
    pc.addEventListener("icecandidate", onCandidate);
  });
}

function preferCodec(transceiver, kind) {
  // The room negotiates VP8 (with RTX) and Opus only: offer them first.
  const wanted = kind === "video" ? ["video/vp8", "video/rtx"] : ["audio/opus"];
  if (typeof transceiver.setCodecPreferences !== "function" || !globalThis.RTCRtpReceiver?.getCapabilities) return;
  const capabilities = RTCRtpReceiver.getCapabilities(kind);
  if (!capabilities) return;
  const codecs = capabilities.codecs.filter((c) => wanted.includes(c.mimeType.toLowerCase()));
  if (!codecs.length) return;
  try {
    transceiver.setCodecPreferences(codecs);
  } catch {
    /* the browser keeps its own order; the server still picks VP8/Opus */
  }
}

async function capBitrate(sender) {
  const params = sender.getParameters();
  if (!params.encodings || !params.encodings.length) params.encodings = [{}];
  for (const encoding of params.encodings) {
    encoding.maxBitrate = MAX_VIDEO_BITRATE;
    encoding.maxFramerate = VIDEO.frameRate;
  }
  try {
    await sender.setParameters(params);
  } catch {
    /* an older browser without setParameters support still sends, uncapped */
  }
}

async function offerAndAnswer(pc, send) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await iceGatheringComplete(pc);
  const answer = await send({ sdp: pc.localDescription.sdp, type: "offer" });
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
}

function newConnection(iceServers) {
  // An explicit list: an empty one means host candidates only (the server is reachable).
  return new RTCPeerConnection({ iceServers: Array.isArray(iceServers) ? iceServers : [], bundlePolicy: "max-bundle" });
}

/**
 * Publish a camera+microphone stream into the room; resolves with the peer connection
 * once the server's answer is applied (the media flows when it is "connected").
 */
export async function publish(socket, room, stream, iceServers) {
  const pc = newConnection(iceServers);
  try {
    for (const track of stream.getTracks()) {
      const init = { direction: "sendonly", streams: [stream] };
      if (track.kind === "video") {
        track.contentHint = "motion";
        init.sendEncodings = [{ maxBitrate: MAX_VIDEO_BITRATE, maxFramerate: VIDEO.frameRate }];
      }
      preferCodec(pc.addTransceiver(track, init), track.kind);
    }
    await offerAndAnswer(pc, (offer) => request(socket, "publish", { room, ...offer }));
    // The limits again through setParameters: browsers that ignored sendEncodings obey it.
    for (const sender of pc.getSenders()) {
      if (sender.track && sender.track.kind === "video") await capBitrate(sender);
    }
    return pc;
  } catch (err) {
    pc.close();
    throw err;
  }
}

/**
 * Receive one publisher's video and audio; resolves with {pc, stream}. The stream gets
 * its tracks as they arrive (attach it to a <video> at once).
 */
export async function subscribe(socket, room, publisher, iceServers) {
  const pc = newConnection(iceServers);
  const stream = new MediaStream();
  pc.addEventListener("track", (event) => {
    if (!stream.getTracks().includes(event.track)) stream.addTrack(event.track);
  });
  try {
    for (const kind of ["video", "audio"]) {
      preferCodec(pc.addTransceiver(kind, { direction: "recvonly" }), kind);
    }
    await offerAndAnswer(pc, (offer) => request(socket, "subscribe", { room, publisher, ...offer }));
    return { pc, stream };
  } catch (err) {
    pc.close();
    throw err;
  }
}

/** Swap the track a publishing connection sends (another camera or microphone). */
export async function replaceTrack(pc, track) {
  const sender = pc.getSenders().find((s) => s.track && s.track.kind === track.kind);
  if (sender) await sender.replaceTrack(track);
}

/**
 * Watch a peer connection: onChange(state) now and on every connection-state change,
 * and onBroken() once when it fails or stays "disconnected" for graceMs.
 */
export function watchConnection(pc, { onChange = () => {}, onBroken = () => {}, graceMs = 6000 } = {}) {
  let timer = null;
  let broken = false;
  const fire = () => {
    if (broken) return;
    broken = true;
    onBroken();
  };
  const handler = () => {
    const state = pc.connectionState;
    onChange(state);
    clearTimeout(timer);
    if (state === "failed") fire();
    else if (state === "disconnected") timer = setTimeout(fire, graceMs);
  };
  pc.addEventListener("connectionstatechange", handler);
  // The state may have moved on before the caller started watching: report it now.
  handler();
  return () => {
    clearTimeout(timer);
    pc.removeEventListener("connectionstatechange", handler);
  };
}

/**
 * A microphone level meter: onLevel(0…1) about ten times a second from an AudioContext
 * analyser. Returns {stop, resume}; resume() after a click when the browser kept the
 * audio context suspended.
 */
export function levelMeter(stream, onLevel) {
  const Context = globalThis.AudioContext || globalThis.webkitAudioContext;
  if (!Context || !stream.getAudioTracks().length) return { stop() {}, resume() {} };
  const context = new Context();
  const source = context.createMediaStreamSource(stream);
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let level = 0;
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const value of samples) sum += value * value;
    const rms = Math.sqrt(sum / samples.length);
    // Speech sits around 0.02–0.2 RMS: a square-root scale makes quiet speech visible.
    const now = Math.min(1, Math.sqrt(rms * 4));
    level = now > level ? now : level * 0.8 + now * 0.2;
    onLevel(level);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      source.disconnect();
      context.close().catch(() => {});
    },
    resume() {
      if (context.state === "suspended") context.resume().catch(() => {});
    },
  };
}

/**
 * Attach a stream to a <video> and start it. Resolves true when it plays with sound,
 * false when the browser allowed only muted playback (a click must unmute it then).
 */
export async function playStream(video, stream, { muted = false } = {}) {
  if (video.srcObject !== stream) video.srcObject = stream;
  video.muted = muted;
  try {
    await video.play();
    return true;
  } catch (err) {
    if (muted || (err && err.name !== "NotAllowedError")) return false;
    video.muted = true;
    try {
      await video.play();
    } catch {
      /* it starts when the stream's first frame comes */
    }
    return false;
  }
}

/** Delays for retries: 1, 2, 4, 8, 15, 15… seconds, each with up to 30 % jitter. */
export class Backoff {
  constructor(firstMs = 1000, maxMs = 15000) {
    this.firstMs = firstMs;
    this.maxMs = maxMs;
    this.attempt = 0;
  }

  next() {
    const base = Math.min(this.maxMs, this.firstMs * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(base * (1 + Math.random() * 0.3));
  }

  reset() {
    this.attempt = 0;
  }
}
