// The admin page: sign in with the server's ADMIN_TOKEN (kept in
// sessionStorage), list rooms, and read one room's results.

import { $, h, showScreen, announce, shapeSvg, CHOICES, formatMs, formatDate, fmtNum } from './ui.js';
import { api, download } from './api.js';

const TOKEN_KEY = 'quizroom.admin_token';
let token = sessionStorage.getItem(TOKEN_KEY);
let current = null; // the results on screen

function signOut(message = '') {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $('#sign-out').hidden = true;
  $('#login-error').textContent = message;
  showScreen('login');
  $('#admin-token').focus();
}

/** Runs an admin call; a 401 sends the person back to the sign-in form. */
async function guarded(fn, errorEl) {
  errorEl.textContent = '';
  try {
    return await fn();
  } catch (e) {
    if (e.status === 401) {
      signOut('The admin token was not accepted. Check it and sign in again.');
      return null;
    }
    errorEl.textContent = e.text || String(e);
    announce(errorEl.textContent);
    return null;
  }
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const value = $('#admin-token').value.trim();
  if (!value) {
    $('#login-error').textContent = 'Enter the admin token.';
    return;
  }
  token = value;
  const btn = ev.target.querySelector('button[type=submit]');
  btn.disabled = true;
  try {
    await api.adminRooms(token, { limit: 1 });
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#admin-token').value = '';
    route();
  } catch (e) {
    token = null;
    $('#login-error').textContent =
      e.status === 401 ? 'That admin token was not accepted.' : e.text || String(e);
    $('#admin-token').setAttribute('aria-invalid', 'true');
  } finally {
    btn.disabled = false;
  }
});

$('#sign-out').addEventListener('click', () => {
  location.hash = '';
  signOut();
});

// ---------- the room list ----------

$('#filter-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadRooms();
});
$('#f-status').addEventListener('change', () => loadRooms());
$('#f-limit').addEventListener('change', () => loadRooms());

async function loadRooms() {
  showScreen('rooms');
  const status = $('#f-status').value;
  const limit = Number($('#f-limit').value);
  $('#rooms-loading').hidden = false;
  const data = await guarded(() => api.adminRooms(token, { status, limit }), $('#rooms-error'));
  $('#rooms-loading').hidden = true;
  if (!data) return;
  const rooms = data.rooms || [];
  $('#rooms-table tbody').replaceChildren(
    ...rooms.map((r) =>
      h(
        'tr',
        {},
        h('td', {}, h('a', { href: `#room=${encodeURIComponent(r.room_id)}`, style: 'font-weight:800' }, r.title)),
        h('td', { style: 'font-variant-numeric:tabular-nums;font-weight:700' }, r.code),
        h('td', {}, statusPill(r.status)),
        h('td', { class: 'num' }, fmtNum(r.player_count)),
        h('td', {}, formatDate(r.created_at)),
        h('td', {}, r.finished_at ? formatDate(r.finished_at) : '–'),
      ),
    ),
  );
  $('#rooms-empty').hidden = rooms.length > 0;
  $('#rooms-count').textContent = `${rooms.length} ${rooms.length === 1 ? 'room' : 'rooms'}`;
}

const STATUS_WORDS = {
  lobby: 'Lobby',
  question: 'Question open',
  paused: 'Paused',
  reveal: 'Reveal',
  finished: 'Finished',
  active: 'Active',
  left: 'Left',
  kicked: 'Kicked',
};

function statusPill(status) {
  return h('span', { class: 'status', 'data-status': status }, STATUS_WORDS[status] || status || '–');
}

// ---------- one room's results ----------

async function loadResults(roomId) {
  showScreen('results');
  $('#res-body').hidden = true;
  $('#res-loading').hidden = false;
  const data = await guarded(() => api.adminResults(token, roomId), $('#res-error'));
  $('#res-loading').hidden = true;
  if (!data) return;
  current = data;
  renderResults(data);
  $('#res-body').hidden = false;
  $('#res-h').focus?.();
}

function renderResults(data) {
  const room = data.room || {};
  const questions = data.questions || [];
  const players = data.players || [];
  $('#res-h').textContent = room.title || 'Room';
  $('#res-meta').replaceChildren(
    `PIN ${room.code} · `,
    statusPill(room.status),
    ` · created ${formatDate(room.created_at)}`,
    room.started_at ? ` · started ${formatDate(room.started_at)}` : '',
    room.finished_at ? ` · finished ${formatDate(room.finished_at)}` : '',
  );
  document.title = `${room.title} · results · quizroom`;

  const revealed = questions.filter((q) => q.revealed !== false && q.correct !== null && q.correct !== undefined);
  const answered = revealed.reduce((s, q) => s + (q.answered || 0), 0);
  const correct = revealed.reduce((s, q) => s + (q.correct_count || 0), 0);
  const times = revealed.map((q) => q.avg_response_ms).filter((x) => x !== null && x !== undefined);
  $('#res-stats').replaceChildren(
    stat(fmtNum(players.length), 'Players'),
    stat(`${revealed.length} / ${questions.length}`, 'Questions played'),
    stat(answered ? `${Math.round((correct / answered) * 100)}%` : '–', 'Answers correct'),
    stat(times.length ? formatMs(times.reduce((a, b) => a + b, 0) / times.length) : '–', 'Avg. response'),
  );

  $('#players-table tbody').replaceChildren(
    ...players.map((p) =>
      h(
        'tr',
        {},
        h('td', { class: 'num', style: 'font-weight:900' }, String(p.rank)),
        h('td', { style: 'font-weight:700' }, p.nickname),
        h('td', { class: 'num' }, fmtNum(p.score)),
        h('td', { class: 'num' }, `${p.correct_count ?? 0} / ${revealed.length}`),
        h('td', {}, statusPill(p.status || 'active')),
      ),
    ),
  );
  if (!players.length) {
    $('#players-table tbody').append(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'Nobody joined this game.')));
  }

  const byQuestion = new Map();
  for (const p of players) {
    for (const a of p.answers || []) {
      if (!byQuestion.has(a.question)) byQuestion.set(a.question, []);
      byQuestion.get(a.question).push({ ...a, nickname: p.nickname });
    }
  }
  $('#questions').replaceChildren(...questions.map((q) => questionCard(q, byQuestion.get(q.index) || [])));
  announce(`Results for ${room.title}: ${players.length} players.`);
}

function stat(value, label) {
  return h('div', { class: 'stat card', style: 'padding:14px' }, h('b', {}, value), h('span', {}, label));
}

function questionCard(q, answers) {
  const revealed = q.revealed !== false && q.correct !== null && q.correct !== undefined;
  const dist = q.distribution || q.choices.map(() => 0);
  const total = dist.reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...dist);
  const pct = revealed && q.answered ? Math.round(((q.correct_count || 0) / q.answered) * 100) : null;
  return h(
    'article',
    { class: 'card', 'aria-labelledby': `q-${q.index}-h` },
    h('h3', { id: `q-${q.index}-h`, style: 'font-size:1.1rem;margin-bottom:4px' }, `${q.index + 1}. ${q.prompt}`),
    revealed
      ? h(
          'div',
          { class: 'mini-stats' },
          h('span', {}, h('b', {}, fmtNum(q.answered)), ' answered'),
          h('span', {}, h('b', {}, pct === null ? '–' : `${pct}%`), ' correct'),
          h('span', {}, h('b', {}, formatMs(q.avg_response_ms)), ' avg. response'),
          h('span', { class: 'muted' }, `limit ${formatMs(q.time_limit_ms)}`),
        )
      : h('p', { class: 'muted' }, 'Not revealed yet: its answers are kept hidden until time is up.'),
    h(
      'div',
      {
        class: 'hbars',
        role: 'img',
        'aria-label': revealed
          ? `Answers: ${q.choices.map((c, i) => `${c} ${dist[i]}${i === q.correct ? ' (correct)' : ''}`).join(', ')}`
          : 'Answers hidden',
      },
      q.choices.map((c, i) =>
        h(
          'div',
          { class: `hbar${revealed && i === q.correct ? ' is-correct' : ''}` },
          h('span', { class: `swatch c${i}`, title: CHOICES[i].label }, shapeSvg(i)),
          h('span', { class: 'label', title: c }, revealed && i === q.correct ? `✓ ${c}` : c),
          h(
            'span',
            { class: 'track' },
            h('span', {
              class: `fill c${i}`,
              style: { display: 'block', width: `${revealed ? (dist[i] / max) * 100 : 0}%` },
            }),
          ),
          h('span', { class: 'n' }, revealed ? String(dist[i]) : '–'),
        ),
      ),
    ),
    revealed && answers.length ? responseChart(q, answers) : null,
    revealed && !total ? h('p', { class: 'muted' }, 'Nobody answered.') : null,
  );
}

/**
 * Response time of each answer, fastest first: one bar per answer, green when
 * right, red when wrong, against the question's time limit.
 */
function responseChart(q, answers) {
  const sorted = [...answers].sort((a, b) => a.response_ms - b.response_ms);
  const shown = sorted.slice(0, 12);
  const W = 460;
  const rowH = 20;
  const left = 100;
  const right = 56;
  const top = 8;
  const H = top + shown.length * rowH + 26;
  const limit = Math.max(q.time_limit_ms || 1, ...shown.map((a) => a.response_ms));
  const x = (ms) => left + (ms / limit) * (W - left - right);
  const NS = 'http://www.w3.org/2000/svg';
  const el = (tag, attrs, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'rt-chart',
    role: 'img',
    'aria-label': `Response times: ${sorted.map((a) => `${a.nickname} ${formatMs(a.response_ms)} ${a.correct ? 'right' : 'wrong'}`).join(', ')}`,
  });
  shown.forEach((a, i) => {
    const y = top + i * rowH;
    const name = a.nickname.length > 13 ? `${a.nickname.slice(0, 12)}…` : a.nickname;
    svg.append(el('text', { x: left - 8, y: y + 14, 'text-anchor': 'end' }, name));
    const bar = el('rect', {
      x: left,
      y: y + 3,
      width: Math.max(2, x(a.response_ms) - left),
      height: rowH - 6,
      rx: 3,
      fill: a.correct ? '#1d7a2f' : '#c2142f',
    });
    bar.append(el('title', {}, `${a.nickname}: ${formatMs(a.response_ms)}, ${a.correct ? 'right' : 'wrong'}, ${a.points} points`));
    svg.append(bar);
    svg.append(el('text', { x: x(a.response_ms) + 6, y: y + 14 }, formatMs(a.response_ms)));
  });
  const axisY = top + shown.length * rowH + 4;
  svg.append(el('line', { x1: left, x2: x(limit), y1: axisY, y2: axisY, stroke: '#c9c4dc' }));
  svg.append(el('text', { x: left, y: axisY + 16 }, '0 s'));
  svg.append(el('text', { x: x(limit), y: axisY + 16, 'text-anchor': 'end' }, `${formatMs(limit)} limit`));
  return h(
    'figure',
    { style: 'margin:14px 0 0' },
    h(
      'figcaption',
      { class: 'row', style: 'justify-content:space-between;font-weight:700;font-size:.9rem' },
      'Response time per answer',
      h('span', { class: 'legend-dots' }, h('span', {}, h('i', { style: 'background:#1d7a2f' }), 'right'), h('span', {}, h('i', { style: 'background:#c2142f' }), 'wrong')),
    ),
    svg,
    sorted.length > shown.length ? h('p', { class: 'muted', style: 'margin:4px 0 0;font-size:.85rem' }, `The ${shown.length} fastest of ${sorted.length} answers.`) : null,
  );
}

$('#res-csv').addEventListener('click', async () => {
  if (!current) return;
  const csv = await guarded(() => api.adminResultsCsv(token, current.room.room_id), $('#res-error'));
  if (csv !== null) download(`quizroom-${current.room.code}-results.csv`, csv);
});
$('#res-json').addEventListener('click', () => {
  if (current) download(`quizroom-${current.room.code}-results.json`, JSON.stringify(current, null, 2), 'application/json');
});

// ---------- routing ----------

function route() {
  if (!token) return signOut();
  $('#sign-out').hidden = false;
  const m = location.hash.match(/^#room=(.+)$/);
  if (m) loadResults(decodeURIComponent(m[1]));
  else loadRooms();
}

window.addEventListener('hashchange', route);
route();
