// The host screen's countdown to an automatic next question survives a reload:
// the room armed its auto-advance at the reveal, and the host page that
// reconnects during the reveal counts down to that moment (the welcome's
// `advance_at`), instead of starting the full countdown again.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DESKTOP, endRoom, hostAction, launch, newPage, rest, see, sleep } from './helpers.mjs';

const AUTO_ADVANCE_MS = 30000;

/** The seconds the host screen's reveal says are left, or null while it says nothing. */
async function secondsLeft(page) {
  const text = await page.locator('#hr-advance').textContent({ timeout: 5000 });
  const m = /in (\d+) s/.exec(text || '');
  return m ? Number(m[1]) : null;
}

describe('the auto-advance countdown on the host screen', { concurrency: false }, () => {
  let browser;
  let room;
  const errors = [];

  before(async () => {
    browser = await launch();
  });

  after(async () => {
    await endRoom(room);
    await browser?.close();
  });

  it('goes on from where it was after the host page reloads during the reveal', async () => {
    room = await rest('POST', '/api/rooms', {
      status: 201,
      body: {
        title: 'Countdown test',
        questions: [
          { prompt: 'Which one is a primary colour?', choices: ['Blue', 'Green'], correct: 0, time_limit_ms: 60000 },
          { prompt: 'How many legs has a spider?', choices: ['Six', 'Eight'], correct: 1, time_limit_ms: 60000 },
        ],
        settings: { auto_advance_ms: AUTO_ADVANCE_MS },
      },
    });
    const host = (action) => hostAction(room, action);
    const page = await newPage(browser, DESKTOP, errors);
    // The host page finds its key where it keeps it after creating a game.
    await page.addInitScript(
      ([key, value]) => localStorage.setItem(key, value),
      [`quizroom.host.${room.code}`, JSON.stringify({ host_token: room.host_token, room_id: room.room_id, title: 'Countdown test' })],
    );
    await page.goto(`/host.html?code=${room.code}`);
    await see(page, room.code);

    await host('start');
    await see(page, 'Which one is a primary colour?');
    await host('lock');
    await see(page, /Next question in \d+ s/);
    const fresh = await secondsLeft(page);
    assert.ok(fresh >= 28 && fresh <= 30, `a fresh countdown says ${fresh} s`);

    await sleep(5000);
    await page.reload();
    await see(page, /Next question in \d+ s/);
    const after = await secondsLeft(page);
    assert.ok(after >= 20 && after <= 26, `after 5 s and a reload the countdown says ${after} s; it should go on from about 25 s`);
    assert.deepEqual(errors, []);
  });
});
