// The clock offset and countdown in static/js/ws.js, in Node with a fake
// Date.now: offset = server_time - (t0 + t1) / 2 from the ping with the
// smallest round trip, and the tick is the authority over the estimate.

import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Clock, Countdown } from '../../static/js/ws.js';

let now = 0;
const realNow = Date.now;

describe('Clock', () => {
  beforeEach(() => {
    now = 1_000_000;
    Date.now = () => now;
  });
  afterEach(() => {
    Date.now = realNow;
  });

  it('keeps the sample with the smallest round trip', () => {
    const c = new Clock();
    c.pong(1000, 6000, 1400); // rtt 400: offset 6000 - 1200 = 4800
    assert.equal(c.offset, 4800);
    c.pong(2000, 7040, 2080); // rtt 80: offset 7040 - 2040 = 5000
    assert.equal(c.offset, 5000);
    assert.equal(c.rtt, 80);
    c.pong(3000, 9000, 3300); // rtt 300: worse, ignored
    assert.equal(c.offset, 5000);
    assert.equal(c.samples, 3);
    assert.equal(c.now(), now + 5000);
  });

  it('ignores a pong from the future', () => {
    const c = new Clock();
    c.pong(5000, 1, 4000);
    assert.equal(c.samples, 0);
    assert.equal(c.offset, 0);
  });
});

describe('Countdown', () => {
  beforeEach(() => {
    now = 1_000_000;
    Date.now = () => now;
  });
  afterEach(() => {
    Date.now = realNow;
  });

  it('counts down to deadline_at on the server clock', () => {
    const c = new Clock();
    c.pong(now - 100, now + 10_000 - 50, now); // offset 10 s, rtt 100
    const cd = new Countdown(c);
    cd.start(now + 10_000 + 8000, 20_000); // the server says 8 s left
    assert.equal(cd.remaining(), 8000);
    now += 3000;
    assert.equal(cd.remaining(), 5000);
    assert.equal(cd.fraction(), 0.25);
    now += 6000;
    assert.equal(cd.remaining(), 0);
  });

  it('trusts remaining_ms before any pong', () => {
    const cd = new Countdown(new Clock());
    cd.start(123, 20_000, 7000); // deadline_at on a clock we know nothing of
    assert.equal(cd.remaining(), 7000);
  });

  it('lets a tick that disagrees re-anchor the countdown, and ignores small jitter', () => {
    const c = new Clock();
    c.pong(now - 40, now - 20, now); // offset 0, rtt 40
    const cd = new Countdown(c);
    cd.start(now + 10_000, 10_000);
    cd.tick(9_900); // within 150 ms of the estimate: keep the smooth one
    assert.equal(cd.remaining(), 10_000);
    cd.tick(8_000); // 2 s off: the tick wins (minus half the round trip)
    assert.equal(cd.remaining(), 8_000 - 20);
  });

  it('freezes while paused and stops at zero', () => {
    const cd = new Countdown(new Clock());
    cd.start(now + 5000, 10_000, 5000);
    cd.pause(4200);
    now += 10_000;
    assert.equal(cd.remaining(), 4200);
    cd.stop();
    assert.equal(cd.remaining(), 0);
  });
});
