// Small DOM helpers shared by every page, the choice colours and shapes, and
// the words shown for each protocol error code.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

/**
 * `h('button', {class: 'btn', onclick}, 'Start')`: builds an element. Attributes
 * starting with `on` become listeners; `null`/`false` values are skipped;
 * children may be strings, nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'html') el.innerHTML = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Shows the `<section data-screen=name>` and hides its siblings. */
export function showScreen(name) {
  for (const s of $$('main [data-screen]')) {
    const on = s.dataset.screen === name;
    s.hidden = !on;
    s.classList.toggle('is-active', on);
  }
  document.body.dataset.screen = name;
}

/** Writes a message to the page's polite live region (for screen readers). */
export function announce(text) {
  const region = $('#announcer');
  if (!region) return;
  region.textContent = '';
  // A new text node in a later frame makes repeated messages be read again.
  requestAnimationFrame(() => {
    region.textContent = text;
  });
}

let toastTimer = null;
/** A short message at the bottom of the screen, also read out. */
export function toast(text, kind = 'info', ms = 4000) {
  let el = $('#toast');
  if (!el) {
    el = h('div', { id: 'toast', class: 'toast', role: 'status', 'aria-live': 'polite' });
    document.body.append(el);
  }
  el.textContent = text;
  el.dataset.kind = kind;
  el.classList.add('is-visible');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('is-visible'), ms);
}

// ---- choices: colour + shape, as on the big screen ----

export const CHOICES = [
  { name: 'red', shape: 'triangle', label: 'Triangle' },
  { name: 'blue', shape: 'diamond', label: 'Diamond' },
  { name: 'yellow', shape: 'circle', label: 'Circle' },
  { name: 'green', shape: 'square', label: 'Square' },
  { name: 'purple', shape: 'star', label: 'Star' },
  { name: 'teal', shape: 'hexagon', label: 'Hexagon' },
];

const SHAPE_PATHS = {
  triangle: 'M12 2.5 22.5 20.5H1.5Z',
  diamond: 'M12 1.5 22.5 12 12 22.5 1.5 12Z',
  circle: 'M12 2a10 10 0 1 0 0 20a10 10 0 1 0 0-20Z',
  square: 'M3 3H21V21H3Z',
  star: 'M12 1.5l3.1 6.6 7.2.9-5.3 5 1.4 7.1L12 17.6 5.6 21.1 7 14l-5.3-5 7.2-.9Z',
  hexagon: 'M12 1.5 21.5 7v10L12 22.5 2.5 17V7Z',
};

/** An inline SVG of choice `i`'s shape (decorative: the text says which). */
export function shapeSvg(i) {
  const c = CHOICES[i % CHOICES.length];
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.classList.add('shape');
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', SHAPE_PATHS[c.shape]);
  path.setAttribute('fill', 'currentColor');
  svg.append(path);
  return svg;
}

// ---- icons (no emoji: not every screen has an emoji font) ----

const ICONS = {
  trophy:
    '<path fill="#ffcf33" d="M7 2h10v2h4v3a5 5 0 0 1-4.3 4.95A6 6 0 0 1 13 15.9V18h3.5v3h-9v-3H11v-2.1a6 6 0 0 1-3.7-3.95A5 5 0 0 1 3 7V4h4Zm0 4H5v1a3 3 0 0 0 2 2.83Zm10 0v3.83A3 3 0 0 0 19 7V6Z"/>',
  flag: '<path fill="currentColor" d="M5 22V2h2v1.5h12l-2.5 4.5 2.5 4.5H7V22Z"/>',
  door: '<path fill="currentColor" d="M4 2h11v3h-2V4H6v16h7v-1h2v3H4Zm13 5 5 5-5 5v-3.5h-7v-3h7Z"/>',
  devices:
    '<path fill="currentColor" d="M7 1h10a2 2 0 0 1 2 2v18a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V3a2 2 0 0 1 2-2Zm0 3v15h10V4Zm4 16.5h2V22h-2Z"/>',
  clock:
    '<circle cx="12" cy="13" r="9" fill="none" stroke="currentColor" stroke-width="2.4"/><path d="M12 8v5.5l3.5 2" fill="none" stroke="currentColor" stroke-width="2.4" stroke-linecap="round"/><path fill="currentColor" d="M9 1h6v2.5H9Z"/>',
  star: '<path fill="#ffcf33" d="m12 1.5 3.1 6.6 7.2.9-5.3 5 1.4 7.1L12 17.6 5.6 21.1 7 14l-5.3-5 7.2-.9Z"/>',
};

const MEDAL = { 1: ['#ffcf33', '#b88a00'], 2: ['#e3e7ee', '#8d96a6'], 3: ['#eaa66a', '#9c5a22'] };

/** An inline SVG icon; `label` makes it an image with a name, else decorative. */
export function icon(name, { label = '', size = null } = {}) {
  const wrap = document.createElement('span');
  wrap.className = `icon icon-${name}`;
  const a11y = label ? `role="img" aria-label="${label.replace(/"/g, '')}"` : 'aria-hidden="true"';
  wrap.innerHTML = `<svg viewBox="0 0 24 24" ${a11y} focusable="false"${
    size ? ` width="${size}" height="${size}"` : ''
  }>${ICONS[name] || ''}</svg>`;
  return wrap.firstChild;
}

/** A medal with the place number (1-3), or a star for any other place. */
export function medal(place, size = 56) {
  const colors = MEDAL[place];
  if (!colors) return icon('star', { size });
  const wrap = document.createElement('span');
  wrap.innerHTML =
    `<svg viewBox="0 0 24 24" width="${size}" height="${size}" aria-hidden="true" focusable="false">` +
    '<path d="M6 1h4l3 7H9Z" fill="#d01937"/><path d="M18 1h-4l-3 7h4Z" fill="#1264cc"/>' +
    `<circle cx="12" cy="15" r="8" fill="${colors[0]}" stroke="${colors[1]}" stroke-width="1.6"/>` +
    `<text x="12" y="19" text-anchor="middle" font-size="10" font-weight="900" fill="${colors[1]}" ` +
    `font-family="system-ui, sans-serif">${place}</text></svg>`;
  return wrap.firstChild;
}

// ---- words ----

const ERRORS = {
  room_not_found: 'There is no game with that PIN. Check the number on the host’s screen.',
  nickname_taken: 'Someone in this game already has that nickname. Please pick another one.',
  room_full: 'This game is full: the host has reached the player limit.',
  invalid_nickname: 'Nicknames are 1 to 24 characters, without control characters.',
  game_finished: 'This game has already ended.',
  rate_limited: 'Too many messages at once. Slow down a little; reconnecting…',
  invalid_token: 'Your place in this game is no longer valid.',
  unauthorized: 'The token was not accepted. Check it and try again.',
  invalid_state: 'That is not possible right now: the game has moved on.',
  invalid_quiz: 'The quiz has a problem.',
  invalid_json: 'The request was not valid JSON.',
  invalid_query: 'The filter is not valid.',
  invalid_message: 'The app sent a message the server did not understand.',
  unknown_type: 'The app sent a message the server did not understand.',
  unsupported_frame: 'The app sent a message the server did not understand.',
  already_joined: 'This connection has already joined a game.',
  player_not_found: 'That player is not in this game.',
  not_found: 'Not found.',
  method_not_allowed: 'The server does not allow that action.',
  payload_too_large: 'That is too large to send. Try a shorter quiz.',
  network: 'The server could not be reached. Check your connection and try again.',
  internal: 'Something went wrong on the server. Please try again.',
  unavailable: 'The server is busy. Please try again in a moment.',
};

/** A sentence for an error `code`; the server's own message is the fallback. */
export function errorText(code, message, field) {
  let text = ERRORS[code];
  if (code === 'invalid_quiz' || code === 'invalid_query') {
    const where = fieldName(field);
    const what = message ? message.replace(/\.$/, '') : '';
    if (where && what) return `${ERRORS[code]} ${where}: ${what}.`;
    return `${ERRORS[code]} ${where || ''} ${what}`.trim();
  }
  if (!text) {
    if (code && code.startsWith('http_5')) text = ERRORS.internal;
    else text = message || 'Something went wrong.';
  }
  return text;
}

/** `questions[2].choices[1]` → "Question 3, choice 2" (a path a person reads). */
export function fieldName(field) {
  if (!field) return '';
  const names = {
    title: 'Quiz title',
    questions: 'Questions',
    prompt: 'text',
    choices: 'choices',
    correct: 'correct choice',
    time_limit_ms: 'time limit',
    points: 'points',
    settings: 'Settings',
    max_players: 'maximum players',
    auto_advance_ms: 'automatic next question',
    end_when_all_answered: 'end when all answered',
    status: 'Status filter',
    limit: 'Number of rooms',
  };
  const parts = [];
  for (const m of field.matchAll(/([a-z_]+)(?:\[(\d+)\])?/g)) {
    const [, key, index] = m;
    if (key === 'questions' && index !== undefined) parts.push(`Question ${Number(index) + 1}`);
    else if (key === 'choices' && index !== undefined) parts.push(`choice ${Number(index) + 1}`);
    else parts.push(names[key] || key.replace(/_/g, ' '));
  }
  return parts.join(', ');
}

export const REJECT_REASONS = {
  too_late: 'Too late: time was already up.',
  already_answered: 'You already answered this question.',
  not_open: 'Answers are not open right now.',
  wrong_question: 'That question has already closed.',
  invalid_choice: 'That is not one of the choices.',
  not_joined: 'You are not in the game yet; reconnecting…',
  unavailable: 'Your answer could not be saved. Please tap again.',
};

export const TIME_UP_REASONS = {
  deadline: 'Time’s up!',
  locked: 'The host closed the question.',
  all_answered: 'Everyone has answered!',
};

/** 1 → "1st", 2 → "2nd", ... */
export function ordinal(n) {
  const s = ['th', 'st', 'nd', 'rd'];
  const v = n % 100;
  return n + (s[(v - 20) % 10] || s[v] || s[0]);
}

export function formatMs(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function formatDate(ms) {
  if (ms === null || ms === undefined || ms === '') return '–';
  const d = new Date(typeof ms === 'number' ? ms : Date.parse(ms));
  if (Number.isNaN(d.getTime())) return String(ms);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export const fmtNum = (n) => (n ?? 0).toLocaleString('en-US');

/** A six-digit code from user input, or null. */
export function cleanCode(s) {
  const digits = String(s || '').replace(/\D/g, '');
  return digits.length === 6 ? digits : null;
}

export const store = {
  get(key) {
    try {
      return JSON.parse(localStorage.getItem(key));
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch {
      /* private mode: the game still works, only without resume */
    }
  },
  remove(key) {
    try {
      localStorage.removeItem(key);
    } catch {
      /* ignore */
    }
  },
};
