// Each page on its own: it loads without script errors, every control has
// a name a screen reader can read, the keyboard reaches the controls, and
// mistakes are explained in words.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE_URL, ADMIN_TOKEN, PHONE, DESKTOP, launch, newPage, see, seeHeading } from './helpers.mjs';

const CONTROL = /^\s*- (button|textbox|combobox|checkbox|radio|spinbutton|link|tab)\b(?! ")/;

/** Lines of the page's accessibility tree for controls that have no name. */
async function unnamedControls(page) {
  const tree = await page.locator('body').ariaSnapshot();
  return tree.split('\n').filter((line) => CONTROL.test(line));
}

describe('the pages one by one', { concurrency: false }, () => {
  let browser;
  const errors = [];

  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });

  for (const [path, heading] of [
    ['/', 'Join a game'],
    ['/play.html', 'Join the game'],
    ['/host.html', 'Create a quiz'],
    ['/admin.html', 'Admin sign-in'],
  ]) {
    it(`${path} loads and names every control`, async () => {
      const page = await newPage(browser, DESKTOP, errors);
      await page.goto(path);
      await page.getByRole('heading', { name: heading }).waitFor();
      assert.deepEqual(await unnamedControls(page), []);
      assert.equal(await page.locator('[aria-live]').count() > 0, true, 'has a live region for status changes');
      await page.context().close();
    });
  }

  it('host editor: every sample question control is named, and bad JSON is explained', async () => {
    const page = await newPage(browser, DESKTOP, errors);
    await page.goto('/host.html');
    await page.getByRole('button', { name: 'Use the sample quiz' }).click();
    assert.deepEqual(await unnamedControls(page), []);
    await page.getByRole('tab', { name: 'JSON' }).click();
    const json = JSON.parse(await page.getByLabel('Quiz as JSON').inputValue());
    assert.equal(json.questions.length, 5, 'the JSON tab shows the form’s quiz');
    await page.getByLabel('Quiz as JSON').fill('{"title": "Oops", ');
    await page.getByRole('tab', { name: 'Form' }).click();
    await see(page, /not valid JSON/);
    // A quiz the form can't send is explained before it reaches the server.
    await page.getByLabel('Quiz as JSON').fill('{"title": "One", "questions": [{"prompt": "Q?", "choices": ["only"], "correct": 0}]}');
    await page.getByRole('tab', { name: 'Form' }).click();
    await page.getByRole('button', { name: 'Create game' }).click();
    await see(page, 'Question 1 needs at least 2 choices.');
    // The server's 422 names the field; the page says which one in words and focuses it.
    const long = 'x'.repeat(130);
    await page.getByRole('tab', { name: 'JSON' }).click();
    await page
      .getByLabel('Quiz as JSON')
      .fill(JSON.stringify({ title: 'Two', questions: [{ prompt: 'Q?', choices: ['a', long], correct: 0 }] }));
    await page.getByRole('button', { name: 'Create game' }).click();
    await see(page, /Question 1, choice 2: /);
    assert.equal(await page.getByLabel('Question 1, choice 2').getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Question 1, choice 2');
    await page.context().close();
  });

  it('host: ending the game asks first, and a reload finds the host again', async () => {
    const res = await fetch(`${BASE_URL}/api/rooms`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Ends early', questions: [{ prompt: 'Q?', choices: ['a', 'b'], correct: 0 }] }),
    });
    assert.equal(res.status, 201);
    const room = await res.json();
    const page = await newPage(browser, DESKTOP, errors);
    // The host key as host.html keeps it after creating a room.
    await page.goto('/');
    await page.evaluate(
      ([code, token]) =>
        localStorage.setItem(`quizroom.host.${code}`, JSON.stringify({ host_token: token, join_url: `/play.html?code=${code}` })),
      [room.code, room.host_token],
    );
    await page.goto(`/host.html?code=${room.code}`);
    await see(page, 'Waiting for players to join');
    await page.getByRole('button', { name: 'End game' }).click();
    await seeHeading(page, 'End the game now?');
    await page.getByRole('button', { name: 'Keep playing' }).click();
    await see(page, 'Lobby · 0 players');
    await page.getByRole('button', { name: 'End game' }).first().click();
    await page.getByRole('dialog').getByRole('button', { name: 'End game' }).click();
    await seeHeading(page, 'Game over');
    await page.reload();
    await seeHeading(page, 'Game over');
    await page.context().close();
  });

  it('play: the keyboard reaches the join form in order, and bad input is explained', async () => {
    const page = await newPage(browser, PHONE, errors);
    await page.goto('/play.html');
    const focused = async () => page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName);
    assert.equal(await focused(), 'code', 'the PIN field has focus first');
    await page.keyboard.type('12');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'nickname');
    await page.keyboard.type('Zed');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'join-btn');
    await page.keyboard.press('Enter');
    await see(page, 'The game PIN is 6 digits.');
    await page.context().close();
  });

  it('admin: a wrong token is refused in words, the right one lists rooms', async () => {
    const page = await newPage(browser, DESKTOP, errors);
    await page.goto('/admin.html');
    await page.getByLabel('Admin token').fill(`${ADMIN_TOKEN}-wrong`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await see(page, 'That admin token was not accepted.');
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Rooms' }).waitFor();
    await page.getByLabel('Status').selectOption('finished');
    await see(page, /\d+ rooms?/);
    // The token lives in this tab only: a reload keeps the session.
    await page.reload();
    await page.getByRole('heading', { name: 'Rooms' }).waitFor();
    await page.context().close();
  });

  it('had no script errors', () => {
    assert.deepEqual(errors, []);
  });
});
