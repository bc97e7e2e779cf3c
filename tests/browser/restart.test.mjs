// A planned server restart as the player page sees it: the server closes the
// socket with 1012 ("service restart"). The page says so, reconnects on its
// own after a short delay and resumes as the same player: same nickname,
// score kept, still in the same question with the answer shown as given.
//
// The server under test keeps running: the player's WebSocket goes through
// page.routeWebSocket, which forwards every frame both ways and, on cue,
// closes the first connection's page side with 1012 as a restarting server
// would. Later connections reach the real server unchanged.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PHONE, endRoom, hostAction, launch, newPage, rest, see, seeHeading, until } from './helpers.mjs';

const RESTART_TOAST = 'The server is restarting. Reconnecting…';

describe('a server restart (close 1012) on the player page', { concurrency: false }, () => {
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

  it('shows the restart, reconnects and resumes the same player in the same question', async () => {
    // Two questions: the first earns a score, the second is open (for two
    // minutes, and not closed by "everyone answered") when the socket drops.
    room = await rest('POST', '/api/rooms', {
      status: 201,
      body: {
        title: 'Restart test',
        questions: [
          { prompt: 'Which one is a primary colour?', choices: ['Blue', 'Green', 'Purple'], correct: 0, time_limit_ms: 60000, points: 1000 },
          { prompt: 'How many legs has a spider?', choices: ['Six', 'Eight', 'Ten'], correct: 1, time_limit_ms: 120000, points: 1000 },
        ],
        settings: { end_when_all_answered: false },
      },
    });
    const host = (action) => hostAction(room, action);

    // Every WebSocket of the page goes through here. Each connection is
    // recorded as { frames: [{ dir: 'in' | 'out', msg }], ... }; the first one
    // can be closed with 1012 on cue.
    const conns = [];
    const page = await newPage(browser, PHONE, errors);
    await page.routeWebSocket(/\/ws$/, (ws) => {
      const conn = { frames: [], closed: false, ws };
      const index = conns.push(conn) - 1;
      const server = ws.connectToServer();
      conn.server = server;
      const record = (dir, message) => {
        let msg;
        try {
          msg = JSON.parse(message.toString());
        } catch {
          msg = { type: '(not JSON)', raw: message.toString() };
        }
        conn.frames.push({ dir, msg });
      };
      ws.onMessage((message) => {
        if (conn.closed) return;
        record('out', message);
        server.send(message);
      });
      server.onMessage((message) => {
        if (conn.closed) return;
        record('in', message);
        ws.send(message);
      });
      if (index === 0) {
        // When the test closes the page side with 1012, hang up on the real
        // server too, as the restart would (a browser may not send 1012
        // itself, so this side says 1000).
        ws.onClose(() => {
          conn.closed = true;
          server.close({ code: 1000, reason: 'test: page side closed with 1012' });
        });
      }
    });
    const frame = (conn, dir, type, test = () => true) =>
      conn?.frames.find((f) => f.dir === dir && f.msg.type === type && test(f.msg))?.msg;

    // Join as Rae.
    await page.goto(`/play.html?code=${room.code}`);
    await page.getByLabel('Nickname').fill('Rae');
    await page.getByRole('button', { name: 'Join' }).click();
    await seeHeading(page, 'You’re in!');
    const welcome = await until(() => frame(conns[0], 'in', 'welcome'), 'the first welcome');
    assert.equal(welcome.nickname, 'Rae');

    // Question 1: a right answer, closed by the host, gives Rae a score.
    await host('start');
    await see(page, 'Question 1 of 2');
    await page.getByRole('button', { name: /Blue/ }).click();
    await see(page, 'Answer locked in');
    await host('lock');
    await seeHeading(page, 'Correct!');
    const board = await until(() => frame(conns[0], 'in', 'leaderboard'), 'the leaderboard after question 1');
    const score = board.you.score;
    assert.ok(score > 0, `question 1 scored (${score})`);
    const scoreText = (await page.locator('#me-score').textContent()).trim();
    assert.match(scoreText, /pts$/);

    // Question 2: Rae answers "Eight"; the server stores it (answer_ack).
    await host('next');
    await see(page, 'Question 2 of 2');
    await page.getByRole('button', { name: /Eight/ }).click();
    await see(page, 'Answer locked in');
    const ack = await until(() => frame(conns[0], 'in', 'answer_ack', (m) => m.question === 1), 'the answer_ack for question 2');
    assert.equal(ack.choice, 1);
    assert.equal(conns.length, 1, 'one connection so far');

    // The "restart": the first connection closes with 1012.
    await conns[0].ws.close({ code: 1012, reason: 'server restart' });

    // The page says why it lost the connection ...
    await page.locator('#toast.is-visible', { hasText: RESTART_TOAST }).waitFor({ state: 'visible' });

    // ... opens a new socket, resumes with its token and gets a welcome back.
    const resume = await until(() => frame(conns[1], 'out', 'resume'), 'a resume on a new connection');
    assert.equal(resume.code, room.code);
    assert.equal(resume.player_token, welcome.player_token, 'resumes with the token of the first welcome');
    assert.equal(frame(conns[1], 'out', 'join'), undefined, 'does not join again as a new player');
    const again = await until(() => frame(conns[1], 'in', 'welcome'), 'the welcome after the restart');
    assert.equal(again.player_id, welcome.player_id, 'the same player');
    assert.equal(again.nickname, 'Rae');
    assert.equal(again.you.score, score, 'the score is kept');
    assert.equal(again.you.answered_choice, 1, 'the server still has the answer');
    assert.equal(again.room.status, 'question');
    assert.equal(again.room.current.question, 1, 'still question 2');

    // On screen: online again, same question, the answer shown as given.
    await page.locator('#conn-pill[data-state="open"]').waitFor();
    assert.equal(await page.locator('#conn-banner').isHidden(), true, 'no "connection lost" banner once back');
    await see(page, 'Question 2 of 2');
    await see(page, 'How many legs has a spider?');
    await see(page, 'Answer locked in ✓ Waiting for the others…');
    const picked = page.locator('#q-choices .choice.is-picked');
    assert.equal(await picked.count(), 1, 'one choice is marked as picked');
    assert.equal(await picked.getAttribute('data-choice'), '1', 'the picked choice is "Eight"');
    assert.equal((await page.locator('#me-name').textContent()).trim(), 'Rae');
    assert.equal((await page.locator('#me-score').textContent()).trim(), scoreText, 'the score shown is kept');
    // A second tap is not a second answer.
    await page.getByRole('button', { name: /Ten/ }).click();
    await see(page, 'You already answered “Eight”.');

    // The room still has one player, in question 2; the page opened exactly one new socket.
    const view = await rest('GET', `/api/rooms/${room.code}`);
    assert.equal(view.player_count, 1);
    assert.equal(view.status, 'question');
    assert.equal(view.current_question, 1);
    assert.equal(conns.length, 2, 'one reconnect, no more');
    assert.equal(frame(conns[1], 'out', 'answer'), undefined, 'the answer was not sent again');
    await page.context().close();
  });

  it('had no script errors', () => {
    assert.deepEqual(errors, []);
  });
});
