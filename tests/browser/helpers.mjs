// Shared set-up for the browser tests: Debian's Chromium driven by
// playwright-core, the server under test at BASE_URL (started by the
// project's test script, not here), and small waits on what a person sees.

import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const BASE_URL = (process.env.BASE_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');
export const ADMIN_TOKEN = process.env.ADMIN_TOKEN || 'admin-secret';
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || path.resolve(here, '../../docs/screenshots');

export const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
export const DESKTOP = { viewport: { width: 1280, height: 720 } };

export async function launch() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)`);
  }
  const options = {
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  };
  try {
    return await chromium.launch(options);
  } catch (e) {
    // A busy 2-core machine can make the first start time out; say so, try once more.
    console.error(`chromium did not start (${e.message.split('\n')[0]}); trying again`);
    return chromium.launch(options);
  }
}

/** A new page that fails the test run on uncaught page errors. */
export async function newPage(browser, options, errors) {
  const context = await browser.newContext({ ...options, baseURL: BASE_URL, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('pageerror', (e) => errors.push(`${page.url()}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|WebSocket/.test(m.text())) {
      errors.push(`${page.url()}: console: ${m.text()}`);
    }
  });
  return page;
}

/** Waits until `text` (string or RegExp) is visible on `page`. */
export async function see(page, text, { timeout = 15000, within } = {}) {
  const root = within ? page.locator(within) : page;
  const loc = root.getByText(text).filter({ visible: true }).first();
  await loc.waitFor({ state: 'visible', timeout });
  return loc;
}

export async function seeHeading(page, name, { timeout = 15000 } = {}) {
  const loc = page.getByRole('heading', { name }).filter({ visible: true }).first();
  await loc.waitFor({ state: 'visible', timeout });
  return loc;
}

/** Saves a PNG of what the page shows now under docs/screenshots. */
export async function screenshot(page, name, { fullPage = false } = {}) {
  if (process.env.SCREENSHOTS === '0') return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Let entrance animations and the toast settle.
  await page.waitForTimeout(400);
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), animations: 'disabled', fullPage });
}

/** Hides a toast that would cover what a screenshot is for. */
export async function hideToast(page) {
  await page.evaluate(() => document.querySelector('#toast')?.classList.remove('is-visible'));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The REST API as a host uses it; throws on anything but the expected status. */
export async function rest(method, path, { token, body, status = 200 } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${BASE_URL}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, status, `${method} ${path}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A host control (`start`, `next`, `lock`, `end`, ...) on a room a test created. */
export function hostAction(room, action) {
  return rest('POST', `/api/rooms/${room.code}/${action}`, { token: room.host_token });
}

/** Ends a room a test created: unfinished rooms come back on every server start. */
export async function endRoom(room) {
  if (room) await hostAction(room, 'end').catch(() => {});
}

/** Waits until `predicate()` returns something truthy, and returns it. */
export async function until(predicate, what, timeout = 15000) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(25);
  }
}
