// The WebSocket side of the protocol for the pages: one socket that
// reconnects with backoff, says hello again after every reconnect (`join`,
// `resume` or `host`, chosen by the page), and keeps an estimate of the
// server's clock from `ping`/`pong`.

export function wsUrl() {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
}

/** Estimates `server_time - local_time` from ping/pong round trips. */
export class Clock {
  constructor() {
    this.offset = 0; // ms to add to Date.now() to get server time
    this.rtt = Infinity; // round trip of the sample the offset comes from
    this.samples = 0;
  }

  /** Feeds a pong; keeps the sample with the smallest round trip. */
  pong(clientTime, serverTime, now = Date.now()) {
    const rtt = now - clientTime;
    if (rtt < 0) return;
    this.samples++;
    if (rtt <= this.rtt) {
      this.rtt = rtt;
      this.offset = serverTime - (clientTime + now) / 2;
    }
  }

  /** Forgets the samples (a new connection may reach another server). */
  reset() {
    this.rtt = Infinity;
    this.samples = 0;
  }

  /** Server time now, as well as we know it. */
  now() {
    return Date.now() + this.offset;
  }
}

/**
 * A countdown to a server instant. `deadline_at` and the clock offset give a
 * smooth countdown; each `tick` (the authority) re-anchors it when the two
 * disagree by more than a little.
 */
export class Countdown {
  constructor(clock) {
    this.clock = clock;
    this.localDeadline = null; // Date.now() value at which time is up
    this.total = 1;
    this.pausedRemaining = null;
  }

  start(deadlineAt, totalMs, remainingMs = null) {
    this.total = Math.max(1, totalMs);
    this.pausedRemaining = null;
    this.localDeadline = deadlineAt - this.clock.offset;
    // A snapshot's remaining_ms was measured when the server sent it: trust it
    // over a clock estimate that may still have no samples.
    if (remainingMs !== null && this.clock.samples === 0) this.localDeadline = Date.now() + remainingMs;
  }

  /** Re-syncs from a `tick` (`remaining_ms` at `server_time`). */
  tick(remainingMs) {
    const oneWay = Number.isFinite(this.clock.rtt) ? this.clock.rtt / 2 : 0;
    const fromTick = Date.now() + remainingMs - oneWay;
    if (this.localDeadline === null || Math.abs(fromTick - this.localDeadline) > 150) {
      this.localDeadline = fromTick;
    }
  }

  pause(remainingMs) {
    this.pausedRemaining = remainingMs;
  }

  stop() {
    this.localDeadline = null;
    this.pausedRemaining = null;
  }

  remaining() {
    if (this.pausedRemaining !== null) return this.pausedRemaining;
    if (this.localDeadline === null) return 0;
    return Math.max(0, this.localDeadline - Date.now());
  }

  fraction() {
    return Math.min(1, this.remaining() / this.total);
  }
}

/**
 * `new GameSocket({hello, onMessage, onStatus})`:
 * - `hello()` returns the first message for each new connection (or null);
 * - `onMessage(msg)` gets every message but `pong`;
 * - `onStatus(state, info)` gets 'connecting' | 'open' | 'reconnecting' |
 *   'closed', with `{attempt, delay, code}`.
 * `stop()` ends it for good (kicked, game over, invalid token...).
 */
export class GameSocket {
  constructor({ hello, onMessage, onStatus = () => {}, pings = 5 }) {
    this.hello = hello;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.pings = pings;
    this.clock = new Clock();
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.pingTimers = [];
    this.expectClose = false;
    this.awaitingPong = 0; // when the unanswered keep-alive ping left, or 0
    this.onOnline = () => {
      if (document.visibilityState === 'hidden') return;
      if (!this.stopped && (!this.ws || this.ws.readyState === WebSocket.CLOSED)) this.reconnectNow();
    };
    window.addEventListener('online', this.onOnline);
    document.addEventListener('visibilitychange', this.onOnline);
    // A phone that sleeps or changes network can leave a socket that looks
    // open but is dead: a ping every 10 s that goes unanswered for 8 s
    // closes it, and the usual reconnect + resume follows.
    this.keepAlive = setInterval(() => this.checkAlive(), 10000);
  }

  checkAlive() {
    if (!this.isOpen) return;
    if (this.awaitingPong && Date.now() - this.awaitingPong > 8000) {
      // Don't wait for a closing handshake that a dead network never ends:
      // let go of this socket now and reconnect on a new one.
      const dead = this.ws;
      this.ws = null;
      this.awaitingPong = 0;
      this.pingTimers.forEach(clearTimeout);
      try {
        dead.close(4001, 'no pong');
      } catch {
        /* already closing */
      }
      this.scheduleReconnect(4001);
      return;
    }
    if (!this.awaitingPong) {
      this.awaitingPong = Date.now();
      this.send({ type: 'ping', client_time: this.awaitingPong });
    }
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.onStatus(this.attempt ? 'reconnecting' : 'connecting', { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch {
      this.scheduleReconnect(null);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.awaitingPong = 0;
      const first = this.hello();
      if (first) this.send(first);
      this.clock.reset();
      this.syncClock();
      this.onStatus('open', { attempt: this.attempt });
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === 'pong') {
        this.awaitingPong = 0;
        this.clock.pong(msg.client_time, msg.server_time);
        return;
      }
      if (msg.type === 'welcome') this.attempt = 0;
      this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (ws !== this.ws) return;
      this.pingTimers.forEach(clearTimeout);
      this.ws = null;
      if (this.stopped) return;
      // 4000: this seat was resumed on another socket. 1000 is final only
      // when the page expects it (kicked); any other close reconnects.
      if (ev.code === 4000 || (ev.code === 1000 && this.expectClose)) {
        this.stopped = true;
        this.onStatus('closed', { code: ev.code });
        return;
      }
      this.scheduleReconnect(ev.code);
    };
  }

  scheduleReconnect(code) {
    this.attempt++;
    // 1012: the server restarts on purpose; it is back in a moment.
    const base = code === 1012 ? 400 : 500;
    const delay = Math.min(10000, base * 2 ** Math.min(this.attempt - 1, 5)) * (0.75 + Math.random() * 0.5);
    this.onStatus('reconnecting', { attempt: this.attempt, delay: Math.round(delay), code });
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    clearTimeout(this.timer);
    this.connect();
  }

  /** Several pings a little apart; the best round trip wins. */
  syncClock() {
    this.pingTimers.forEach(clearTimeout);
    this.pingTimers = [];
    for (let i = 0; i < this.pings; i++) {
      this.pingTimers.push(setTimeout(() => this.send({ type: 'ping', client_time: Date.now() }), i * 120));
    }
  }

  get isOpen() {
    return !!this.ws && this.ws.readyState === WebSocket.OPEN;
  }

  send(msg) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Closes for good. */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.pingTimers.forEach(clearTimeout);
    window.removeEventListener('online', this.onOnline);
    document.removeEventListener('visibilitychange', this.onOnline);
    clearInterval(this.keepAlive);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      try {
        ws.close(1000);
      } catch {
        /* already closed */
      }
    }
  }

  /** Marks that the next close with 1000 is expected (kicked) and final. */
  expectFinalClose() {
    this.expectClose = true;
  }
}
