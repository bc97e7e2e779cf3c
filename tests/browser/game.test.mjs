// A whole game as people play it: a host on a 1280x720 screen, three
// players (one on a phone), a fourth who gets kicked, a reload mid-question
// that resumes, a tap after time-up, the podium, and the admin's results.
// Each step saves a screenshot under docs/screenshots.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BASE_URL, ADMIN_TOKEN, PHONE, DESKTOP, launch, newPage, see, seeHeading, screenshot, sleep, hideToast,
} from './helpers.mjs';

const TITLE = `Browser test ${new Date().toISOString().slice(11, 19)}`;

describe('a whole game in the browser', { concurrency: false }, () => {
  let browser;
  const errors = [];
  let host, ann, ben, cat, dan;
  let pin;

  before(async () => {
    browser = await launch();
    host = await newPage(browser, DESKTOP, errors);
    ann = await newPage(browser, PHONE, errors);
    ben = await newPage(browser, { viewport: { width: 1024, height: 768 } }, errors);
    cat = await newPage(browser, PHONE, errors);
  });

  after(async () => {
    await browser?.close();
  });

  it('shows the landing page with both ways in', async () => {
    await host.goto('/');
    await seeHeading(host, 'Join a game');
    await seeHeading(host, 'Host a game');
    await screenshot(host, 'index');
  });

  it('creates a room from the sample quiz with short time limits', async () => {
    await host.getByRole('link', { name: 'Create a quiz' }).click();
    await seeHeading(host, 'Create a quiz');
    await host.getByRole('button', { name: 'Use the sample quiz' }).click();
    await see(host, 'Sample quiz loaded');
    await host.getByLabel('Quiz title').fill(TITLE);
    // Three questions are enough; the last one is short for the time-up tap.
    await host.getByRole('button', { name: 'Remove question 5' }).click();
    await host.getByRole('button', { name: 'Remove question 4' }).click();
    await host.getByLabel('Question 1 time limit in seconds').fill('20');
    await host.getByLabel('Question 2 time limit in seconds').fill('25');
    await host.getByLabel('Question 3 time limit in seconds').fill('5');
    await host.evaluate(() => {
      document.activeElement?.blur();
      window.scrollTo(0, 0);
    });
    await hideToast(host);
    await screenshot(host, 'host-create');
    await host.getByRole('button', { name: 'Create game' }).click();
    const pinEl = host.getByLabel(/^Game PIN/);
    await pinEl.waitFor();
    pin = (await pinEl.textContent()).trim();
    assert.match(pin, /^\d{6}$/);
    await see(host, 'Waiting for players to join');
    assert.equal(new URL(host.url()).searchParams.get('code'), pin, 'the host URL keeps the code for reloads');
  });

  it('lets players join by PIN from the landing page, the join form and the join link', async () => {
    // Ann: the join link (as the QR code gives it), nickname typed on a phone.
    await ann.goto(`/play.html?code=${pin}`);
    await seeHeading(ann, 'Join the game');
    assert.equal(await ann.getByLabel('Game PIN').inputValue(), pin, 'the PIN is prefilled from ?code=');
    await ann.getByLabel('Nickname').fill('Ann');
    await screenshot(ann, 'play-join');
    await ann.getByRole('button', { name: 'Join' }).click();
    await seeHeading(ann, 'You’re in!');

    // Ben: the landing page.
    await ben.goto('/');
    await ben.getByLabel('Game PIN').fill(pin);
    await ben.getByLabel('Nickname').fill('Ben');
    await ben.getByRole('button', { name: 'Enter' }).click();
    await seeHeading(ben, 'You’re in!');

    // Cat first picks a taken nickname and is told so in words.
    await cat.goto(`/play.html?code=${pin}`);
    await cat.getByLabel('Nickname').fill('ann');
    await cat.getByRole('button', { name: 'Join' }).click();
    await see(cat, /already has that nickname/);
    await cat.getByLabel('Nickname').fill('Cat');
    await cat.getByRole('button', { name: 'Join' }).click();
    await seeHeading(cat, 'You’re in!');

    await see(ann, 'players in the lobby');
    await ann.waitForFunction(() => document.querySelector('#lobby-count')?.textContent === '3');
    await screenshot(ann, 'play-lobby');

    for (const name of ['Ann', 'Ben', 'Cat']) await see(host, name, { within: '.roster' });
  });

  it('shows a wrong PIN in words', async () => {
    const page = await newPage(browser, PHONE, errors);
    await page.goto('/');
    await page.getByLabel('Game PIN').fill(pin === '000000' ? '000001' : '000000');
    await page.getByLabel('Nickname').fill('Nobody');
    await page.getByRole('button', { name: 'Enter' }).click();
    await see(page, /no game with that PIN/);
    await page.context().close();
  });

  it('kicks a player from the host roster, and the kicked page says so', async () => {
    dan = await newPage(browser, PHONE, errors);
    await dan.goto(`/play.html?code=${pin}`);
    await dan.getByLabel('Nickname').fill('Dan');
    await dan.getByRole('button', { name: 'Join' }).click();
    await seeHeading(dan, 'You’re in!');
    await see(host, 'Dan', { within: '.roster' });
    await host.getByRole('button', { name: 'Remove Dan' }).first().click();
    await seeHeading(dan, 'You were removed from the game');
    await see(host, 'Dan was removed');
    assert.equal(await host.locator('.roster li', { hasText: 'Dan' }).count(), 0);
    // Reloading the kicked page does not sneak back in: the token is gone.
    await dan.reload();
    await seeHeading(dan, 'Join the game');
    await dan.context().close();
  });

  it('reconnects the host after a reload, with the PIN, QR code and roster', async () => {
    await host.reload();
    await host.getByLabel(/^Game PIN/).waitFor();
    assert.equal((await host.getByLabel(/^Game PIN/).textContent()).trim(), pin);
    for (const name of ['Ann', 'Ben', 'Cat']) await see(host, name, { within: '.roster' });
    await see(host, `${BASE_URL}/play.html?code=${pin}`);
    const qr = host.getByRole('img', { name: /QR code/ });
    await qr.waitFor();
    await hideToast(host);
    await screenshot(host, 'host-lobby');
    // When zbar is installed, check the QR code really carries the join link.
    if (existsSync('/usr/bin/zbarimg')) {
      const file = path.join(mkdtempSync(path.join(tmpdir(), 'qr-')), 'qr.png');
      writeFileSync(file, await host.locator('#qr').screenshot());
      const text = execFileSync('/usr/bin/zbarimg', ['-q', '--raw', file], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
      assert.equal(text, `${BASE_URL}/play.html?code=${pin}`);
    }
  });

  it('plays question 1: taps, instant feedback, reveal chart and leaderboard', async () => {
    const start = host.getByRole('button', { name: /Start/ });
    assert.equal(await host.getByRole('button', { name: /Next/ }).isDisabled(), true, 'next is off in the lobby');
    await start.click();
    for (const p of [ann, ben, cat]) await see(p, 'Question 1 of 3');
    await see(ann, 'What is the capital of Australia?');
    await see(host, 'What is the capital of Australia?');
    assert.equal(await host.getByRole('button', { name: /Pause/ }).isEnabled(), true);
    assert.equal(await host.getByRole('button', { name: /Start/ }).isDisabled(), true);
    await screenshot(ann, 'play-question');
    await screenshot(host, 'host-question');

    await ann.getByRole('button', { name: /Canberra/ }).click();
    await see(ann, 'Answer locked in');
    await screenshot(ann, 'play-answered');
    await see(host, 'of 3 answered');

    await ben.getByRole('button', { name: /Sydney/ }).click();
    await see(ben, 'Answer locked in');
    // Cat answers with the keyboard: 2 is the second choice.
    await cat.keyboard.press('2');
    await see(cat, 'Answer locked in');

    // Everyone answered: the reveal comes without waiting for the deadline.
    await seeHeading(ann, 'Correct!');
    await see(ann, /\+\d+ points/);
    await seeHeading(ben, 'Not quite');
    await see(ben, 'The answer was: Canberra');
    await screenshot(ann, 'play-reveal');
    await see(host, '2 of 3 answered correctly');
    await see(host, 'Leaderboard');
    await see(host, 'Ann', { within: '#hr-board' });
    await screenshot(host, 'host-reveal');

    await seeHeading(ann, 'Leaderboard');
    await see(ann, /You are (1st|2nd)/);
    await screenshot(ann, 'play-leaderboard');
  });

  it('resumes a player who reloads mid-question, with the answer kept', async () => {
    await host.getByRole('button', { name: /Next question/ }).click();
    await see(ann, 'Question 2 of 3');
    await ann.getByRole('button', { name: /False/ }).click();
    await see(ann, 'Answer locked in');
    await ann.reload();
    await see(ann, 'Question 2 of 3');
    await see(ann, 'Answer locked in');
    await see(ann, 'Ann', { within: '#me-pill' });
    // Still one Ann: the host saw no one join or leave.
    assert.equal(await host.locator('#roster-dialog .roster li').count(), 3);
    // A second tap after the reload is not a second answer.
    await ann.getByRole('button', { name: /True/ }).click();
    await see(ann, /already answered/);

    await ben.getByRole('button', { name: /True/ }).click();
    await see(ben, 'Answer locked in');
    await cat.getByRole('button', { name: /False/ }).click();
    await seeHeading(ann, 'Correct!');
    await seeHeading(cat, 'Correct!');
  });

  it('says "too late" for a tap after time is up', async () => {
    await host.getByRole('button', { name: /Next question/ }).click();
    await see(cat, 'Question 3 of 3');
    await ann.getByRole('button', { name: /Saturn/ }).click();
    await ben.getByRole('button', { name: /Jupiter/ }).click();
    await see(ann, 'Answer locked in');
    await see(ben, 'Answer locked in');
    // Cat waits for the 5 s deadline, then taps.
    await see(cat, /Time’s up|No answer this time/, { timeout: 15000 });
    await cat.getByRole('button', { name: /Saturn/ }).click({ force: true });
    await see(cat, /Too late/i);
    await seeHeading(cat, 'No answer', { timeout: 10000 });
    await see(host, 'Finish');
  });

  it('ends on a podium for the host and the final standings for players', async () => {
    await host.getByRole('button', { name: /Finish/ }).click();
    await seeHeading(host, /The winners/);
    for (const name of ['Ann', 'Ben', 'Cat']) await see(host, name, { within: '#podium' });
    await screenshot(host, 'host-podium');
    await seeHeading(ann, /You won!|Game over/);
    await see(ann, /You finished (1st|2nd|3rd)/);
    await screenshot(ann, 'play-gameover');
    // After the game a reload shows the final standings, not a broken seat.
    await ben.reload();
    await seeHeading(ben, /Game over|You won!|This game has ended/);

    // The host's CSV is built from the results.
    const [download] = await Promise.all([
      host.waitForEvent('download'),
      host.getByRole('button', { name: /Download results/ }).click(),
    ]);
    const file = await download.path();
    const { readFileSync } = await import('node:fs');
    const csv = readFileSync(file, 'utf8').trim().split(/\r?\n/);
    assert.equal(csv[0], 'room_code,player_id,nickname,question,choice,correct,points,response_ms,received_at');
    assert.ok(csv.some((l) => l.includes(',Ann,')), 'Ann has rows');
    assert.ok(csv.length >= 1 + 3 * 3, `one row per player and question (${csv.length - 1} rows)`);
  });

  it('shows the room and its results on the admin page', async () => {
    await host.goto('/admin.html');
    await host.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await host.getByRole('button', { name: 'Sign in' }).click();
    await see(host, TITLE);
    await screenshot(host, 'admin-list');
    await host.getByRole('link', { name: new RegExp(TITLE) }).first().click();
    await seeHeading(host, TITLE);
    for (const name of ['Ann', 'Ben', 'Cat', 'Dan']) await see(host, name, { within: '#players-table' });
    await see(host, 'kicked', { within: '#players-table' });
    await see(host, 'What is the capital of Australia?');
    await see(host, /% correct/);
    await screenshot(host, 'admin-results', { fullPage: true });
    const [download] = await Promise.all([
      host.waitForEvent('download'),
      host.getByRole('button', { name: /Download CSV/ }).click(),
    ]);
    const { readFileSync } = await import('node:fs');
    const csv = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
    assert.equal(csv[0], 'room_code,player_id,nickname,question,choice,correct,points,response_ms,received_at');
    assert.equal(csv.length - 1, 4 * 3, 'one row per player (kicked Dan too) and question');
  });

  it('had no script errors on any page', () => {
    assert.deepEqual(errors, []);
  });
});

process.on('unhandledRejection', (e) => {
  console.error(e);
});
await sleep(0);
