// The host's screen: write a quiz, open a room, show the PIN and QR code,
// run the game with the controls, and end on a podium. The host token is
// kept per room code in localStorage, so a reload reconnects as the host.

import {
  $, $$, h, showScreen, announce, toast, shapeSvg, CHOICES, errorText, TIME_UP_REASONS, fmtNum, cleanCode,
  ordinal, store, icon, medal,
} from './ui.js';
import { api, download, resultsToCsv } from './api.js';
import { GameSocket, Countdown } from './ws.js';
import { toSvg } from './qr.js';
import { SAMPLE_QUIZ } from './sample-quiz.js';

const hostKey = (code) => `quizroom.host.${code}`;
const DRAFT_KEY = 'quizroom.draft';

// =====================================================================
// The quiz editor
// =====================================================================

const blankQuestion = () => ({ prompt: '', choices: ['', '', '', ''], correct: 0, time_limit_ms: 20000, points: 1000 });
let quiz = store.get(DRAFT_KEY)?.quiz || { title: '', questions: [blankQuestion()] };
let settings = store.get(DRAFT_KEY)?.settings || { ...SAMPLE_QUIZ.settings };

function saveDraft() {
  store.set(DRAFT_KEY, { quiz, settings });
}

function renderEditor() {
  $('#quiz-title').value = quiz.title;
  const box = $('#questions');
  box.replaceChildren(...quiz.questions.map((q, qi) => questionEditor(q, qi)));
  renderSettings();
}

function renderSettings() {
  $('#max-players').value = settings.max_players ?? 200;
  $('#end-all').checked = settings.end_when_all_answered !== false;
  $('#auto-adv').checked = settings.auto_advance_ms !== null && settings.auto_advance_ms !== undefined;
  $('#auto-adv-field').hidden = !$('#auto-adv').checked;
  if (settings.auto_advance_ms) $('#auto-adv-s').value = settings.auto_advance_ms / 1000;
}

function questionEditor(q, qi) {
  const n = qi + 1;
  const id = (s) => `q${qi}-${s}`;
  const structural = (fn) => () => {
    fn();
    saveDraft();
    renderEditor();
  };
  const choiceRows = q.choices.map((c, ci) =>
    h(
      'div',
      { class: 'choice-edit' },
      h('span', { class: `swatch c${ci}`, title: CHOICES[ci].label }, shapeSvg(ci)),
      h('input', {
        value: c,
        maxlength: 120,
        placeholder: `Choice ${ci + 1}${ci >= 2 ? ' (optional)' : ''}`,
        'aria-label': `Question ${n}, choice ${ci + 1}`,
        'data-field': `questions[${qi}].choices[${ci}]`,
        oninput: (e) => {
          q.choices[ci] = e.target.value;
          e.target.removeAttribute('aria-invalid');
          saveDraft();
        },
      }),
      h(
        'label',
        { class: 'correct-toggle' },
        h('input', {
          type: 'radio',
          name: id('correct'),
          checked: q.correct === ci,
          'aria-label': `Question ${n}: choice ${ci + 1} is correct`,
          onchange: () => {
            q.correct = ci;
            saveDraft();
          },
        }),
        'Correct',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'icon-btn',
          'aria-label': `Remove choice ${ci + 1} of question ${n}`,
          disabled: q.choices.length <= 2,
          onclick: structural(() => {
            q.choices.splice(ci, 1);
            if (q.correct >= q.choices.length) q.correct = q.choices.length - 1;
            else if (q.correct > ci) q.correct--;
          }),
        },
        '✕',
      ),
    ),
  );
  return h(
    'fieldset',
    { class: 'q-editor' },
    h(
      'div',
      { class: 'q-editor-head' },
      h('h3', {}, `Question ${n}`),
      h(
        'button',
        {
          type: 'button',
          class: 'icon-btn',
          'aria-label': `Move question ${n} up`,
          disabled: qi === 0,
          onclick: structural(() => quiz.questions.splice(qi - 1, 0, quiz.questions.splice(qi, 1)[0])),
        },
        '↑',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'icon-btn',
          'aria-label': `Remove question ${n}`,
          disabled: quiz.questions.length <= 1,
          onclick: structural(() => quiz.questions.splice(qi, 1)),
        },
        'Remove',
      ),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: id('prompt') }, `Question ${n} text`),
      h('input', {
        id: id('prompt'),
        value: q.prompt,
        maxlength: 500,
        placeholder: 'Ask something…',
        'data-field': `questions[${qi}].prompt`,
        oninput: (e) => {
          q.prompt = e.target.value;
          e.target.removeAttribute('aria-invalid');
          saveDraft();
        },
      }),
    ),
    h('div', { style: 'margin-top:12px', role: 'group', 'aria-label': `Question ${n} choices` }, choiceRows),
    q.choices.length < 6
      ? h(
          'button',
          {
            type: 'button',
            class: 'btn btn-sm',
            style: 'margin-top:10px',
            onclick: structural(() => q.choices.push('')),
          },
          `+ Add choice`,
        )
      : null,
    h(
      'div',
      { class: 'q-meta' },
      h(
        'div',
        { class: 'field' },
        h('label', { for: id('time') }, 'Time limit (seconds)'),
        h('input', {
          id: id('time'),
          type: 'number',
          min: 0.5,
          max: 600,
          step: 'any',
          value: q.time_limit_ms / 1000,
          'aria-label': `Question ${n} time limit in seconds`,
          'data-field': `questions[${qi}].time_limit_ms`,
          oninput: (e) => {
            q.time_limit_ms = Math.round(Number(e.target.value) * 1000);
            saveDraft();
          },
        }),
      ),
      h(
        'div',
        { class: 'field' },
        h('label', { for: id('points') }, 'Points'),
        h('input', {
          id: id('points'),
          type: 'number',
          min: 0,
          max: 10000,
          step: 100,
          value: q.points,
          'aria-label': `Question ${n} points`,
          'data-field': `questions[${qi}].points`,
          oninput: (e) => {
            q.points = Math.round(Number(e.target.value));
            saveDraft();
          },
        }),
      ),
    ),
  );
}

$('#quiz-title').addEventListener('input', (e) => {
  quiz.title = e.target.value;
  e.target.removeAttribute('aria-invalid');
  saveDraft();
});
$('#add-question').addEventListener('click', () => {
  quiz.questions.push(blankQuestion());
  saveDraft();
  renderEditor();
  $(`#q${quiz.questions.length - 1}-prompt`).focus();
});
$('#load-sample').addEventListener('click', () => {
  quiz = structuredClone({ title: SAMPLE_QUIZ.title, questions: SAMPLE_QUIZ.questions });
  settings = { ...SAMPLE_QUIZ.settings };
  saveDraft();
  selectTab('form');
  renderEditor();
  $('#create-error').textContent = '';
  toast('Sample quiz loaded: 5 questions. Change anything you like.', 'good');
});
$('#max-players').addEventListener('input', (e) => {
  settings.max_players = Math.round(Number(e.target.value));
  saveDraft();
});
$('#end-all').addEventListener('change', (e) => {
  settings.end_when_all_answered = e.target.checked;
  saveDraft();
});
$('#auto-adv').addEventListener('change', (e) => {
  settings.auto_advance_ms = e.target.checked ? Math.round(Number($('#auto-adv-s').value || 8) * 1000) : null;
  $('#auto-adv-field').hidden = !e.target.checked;
  saveDraft();
});
$('#auto-adv-s').addEventListener('input', (e) => {
  settings.auto_advance_ms = Math.round(Number(e.target.value) * 1000);
  saveDraft();
});

// ---- tabs: the form and the JSON are two views of one quiz ----

function selectTab(which) {
  const json = which === 'json';
  if (json) $('#quiz-json').value = JSON.stringify({ ...quiz, settings }, null, 2);
  $('#tab-form').setAttribute('aria-selected', String(!json));
  $('#tab-json').setAttribute('aria-selected', String(json));
  $('#tab-form').tabIndex = json ? -1 : 0;
  $('#tab-json').tabIndex = json ? 0 : -1;
  $('#panel-form').hidden = json;
  $('#panel-json').hidden = !json;
}

/** Reads the JSON tab into the quiz; returns false (and says why) when it can't. */
function applyJson() {
  $('#json-error').textContent = '';
  let data;
  try {
    data = JSON.parse($('#quiz-json').value);
  } catch (e) {
    $('#json-error').textContent = `That is not valid JSON: ${e.message}`;
    $('#quiz-json').setAttribute('aria-invalid', 'true');
    return false;
  }
  if (!data || typeof data !== 'object' || !Array.isArray(data.questions)) {
    $('#json-error').textContent = 'The JSON needs a "title" and a "questions" list.';
    return false;
  }
  $('#quiz-json').removeAttribute('aria-invalid');
  quiz = {
    title: String(data.title ?? ''),
    questions: data.questions.map((q) => ({
      prompt: String(q?.prompt ?? ''),
      choices: Array.isArray(q?.choices) ? q.choices.map((c) => String(c)) : ['', ''],
      correct: Number.isInteger(q?.correct) ? q.correct : 0,
      time_limit_ms: Number.isFinite(q?.time_limit_ms) ? q.time_limit_ms : 20000,
      points: Number.isFinite(q?.points) ? q.points : 1000,
    })),
  };
  if (data.settings && typeof data.settings === 'object') settings = { ...settings, ...data.settings };
  saveDraft();
  renderEditor();
  return true;
}

$('#tab-form').addEventListener('click', () => {
  if (!$('#panel-json').hidden && !applyJson()) return;
  selectTab('form');
});
$('#tab-json').addEventListener('click', () => selectTab('json'));
$('.tabs').addEventListener('keydown', (e) => {
  if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
  const toJson = $('#tab-json').getAttribute('aria-selected') !== 'true';
  (toJson ? $('#tab-json') : $('#tab-form')).click();
  (toJson ? $('#tab-json') : $('#tab-form')).focus();
});

/** Client-side checks that mirror the server's limits; returns [field, text] or null. */
function checkQuiz() {
  if (!quiz.title.trim()) return ['title', 'Give the quiz a title.'];
  if (!quiz.questions.length) return ['questions', 'Add at least one question.'];
  for (const [qi, q] of quiz.questions.entries()) {
    const n = qi + 1;
    if (!q.prompt.trim()) return [`questions[${qi}].prompt`, `Question ${n} has no text.`];
    const filled = q.choices.filter((c) => c.trim());
    if (filled.length < 2) return [`questions[${qi}].choices[${filled.length}]`, `Question ${n} needs at least 2 choices.`];
    if (!q.choices[q.correct]?.trim()) return [`questions[${qi}].choices[${q.correct}]`, `Question ${n}: the correct choice is empty.`];
    if (!(q.time_limit_ms >= 500 && q.time_limit_ms <= 600000))
      return [`questions[${qi}].time_limit_ms`, `Question ${n}: the time limit is 0.5 to 600 seconds.`];
    if (!(q.points >= 0 && q.points <= 10000)) return [`questions[${qi}].points`, `Question ${n}: points are 0 to 10,000.`];
  }
  return null;
}

/** The request body: empty optional choices are dropped and `correct` follows. */
function quizBody() {
  return {
    title: quiz.title.trim(),
    questions: quiz.questions.map((q) => {
      const kept = [];
      let correct = 0;
      q.choices.forEach((c, i) => {
        if (!c.trim()) return;
        if (i === q.correct) correct = kept.length;
        kept.push(c.trim());
      });
      return { prompt: q.prompt.trim(), choices: kept, correct, time_limit_ms: q.time_limit_ms, points: q.points };
    }),
    settings: {
      max_players: settings.max_players,
      auto_advance_ms: settings.auto_advance_ms ?? null,
      end_when_all_answered: settings.end_when_all_answered !== false,
    },
  };
}

function showFieldError(field, text) {
  $('#create-error').textContent = text;
  selectTab('form');
  const input = field && $(`[data-field="${CSS.escape(field)}"]`);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
  announce(text);
}

$('#create-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#create-error').textContent = '';
  if (!$('#panel-json').hidden && !applyJson()) return;
  const problem = checkQuiz();
  if (problem) return showFieldError(...problem);
  const btn = $('#create-btn');
  btn.disabled = true;
  btn.textContent = 'Creating…';
  try {
    const room = await api.createRoom(quizBody());
    store.set(hostKey(room.code), {
      host_token: room.host_token,
      room_id: room.room_id,
      join_url: room.join_url,
      title: quiz.title.trim(),
    });
    history.pushState(null, '', `/host.html?code=${room.code}`);
    beginHosting(room.code);
  } catch (e) {
    showFieldError(e.field, e.text || String(e));
  } finally {
    btn.disabled = false;
    btn.textContent = 'Create game';
  }
});

// =====================================================================
// Hosting a room
// =====================================================================

const G = {
  /** ms from a reveal to the next question when the room moves on by itself (null: by hand). */
  autoAdvanceMs: null,
  code: null,
  token: null,
  joinUrl: '',
  title: '',
  status: 'lobby',
  questionCount: 0,
  q: null,
  players: new Map(), // player_id -> {nickname, connected}
  answered: 0,
  busy: false,
};
let sock = null;
let countdown = null;

function setConn(state, text) {
  $('#conn-pill').dataset.state = state;
  $('#conn-text').textContent = text;
  const banner = $('#conn-banner');
  banner.hidden = state !== 'reconnecting';
  banner.textContent = state === 'reconnecting' ? 'Connection lost. Reconnecting… the game goes on.' : '';
}

function beginHosting(code) {
  const saved = store.get(hostKey(code));
  G.code = code;
  G.token = saved.host_token;
  G.title = saved.title || '';
  G.joinUrl = new URL(saved.join_url || `/play.html?code=${code}`, location.origin).href;
  $('#conn-pill').hidden = false;
  $('#connecting-text').textContent = 'Opening the game…';
  showScreen('connecting');
  sock?.stop();
  sock = new GameSocket({
    hello: () => ({ type: 'host', code: G.code, host_token: G.token }),
    onMessage,
    onStatus: (state, info) => {
      if (state === 'open') setConn('open', 'Live');
      else if (state === 'reconnecting') {
        setConn('reconnecting', 'Reconnecting');
        if (info.code === 1012) toast('The server is restarting. Reconnecting…');
      } else if (state === 'connecting') setConn('connecting', 'Connecting');
      else if (state === 'closed') setConn('closed', 'Offline');
    },
  });
  countdown = new Countdown(sock.clock);
  sock.connect();
}

function onMessage(m) {
  const fn = HANDLERS[m.type];
  if (fn) fn(m);
}

const HANDLERS = {
  welcome(m) {
    const room = m.room || {};
    G.autoAdvanceMs = m.settings?.auto_advance_ms ?? null;
    G.title = room.title || G.title;
    G.questionCount = room.question_count ?? G.questionCount;
    G.players = new Map(
      (m.players || []).map((p) => [p.player_id, { nickname: p.nickname, connected: p.connected !== false }]),
    );
    showGameChrome();
    renderRoster();
    G.status = room.status;
    const cur = room.current;
    if (room.status === 'lobby' || !cur) {
      if (room.status === 'finished') return showFinishedFromRest();
      showLobby();
    } else if (room.status === 'reveal') {
      openQuestion(cur, { silent: true });
      G.status = 'reveal';
      // The room armed its auto-advance at the reveal: count down to that, on this clock.
      G.advanceAt = m.advance_at != null ? Date.now() + (m.advance_at - m.server_time) : null;
      showReveal({ question: cur.question, correct: cur.correct, distribution: cur.distribution, answered: cur.answered });
      api.leaderboard(G.code).then((lb) => renderBoard(lb.entries || []), () => {});
    } else {
      openQuestion(cur, { remaining: cur.remaining_ms });
      if (cur.paused || room.status === 'paused') pause(cur.remaining_ms);
    }
    updateControls();
  },

  player_joined(m) {
    G.players.set(m.player_id, { nickname: m.nickname, connected: true });
    renderRoster();
    announce(`${m.nickname} joined`);
  },

  player_left(m) {
    G.players.delete(m.player_id);
    renderRoster();
  },

  question(m) {
    stopAdvanceCountdown();
    G.status = 'question';
    G.questionCount = m.question_count ?? G.questionCount;
    G.answered = 0;
    openQuestion(m);
    updateControls();
  },

  tick(m) {
    if (G.q && m.question === G.q.index && G.status === 'question') countdown.tick(m.remaining_ms);
  },

  paused(m) {
    G.status = 'paused';
    pause(m.remaining_ms);
    updateControls();
  },

  resumed(m) {
    G.status = 'question';
    $('#hq-bar').classList.remove('is-paused');
    $('#hq-status').textContent = '';
    countdown.start(m.deadline_at, G.q.timeLimit, m.remaining_ms);
    runTimer();
    updateControls();
  },

  answers_progress(m) {
    if (G.q && m.question === G.q.index) setAnswered(m.answered, m.player_count);
  },

  time_up(m) {
    if (!G.q || m.question !== G.q.index) return;
    G.status = 'reveal';
    countdown.stop();
    $('#hq-status').textContent = TIME_UP_REASONS[m.reason] || 'Time’s up!';
    updateControls();
  },

  reveal(m) {
    G.status = 'reveal';
    showReveal(m);
    updateControls();
  },

  leaderboard(m) {
    renderBoard(m.entries || []);
  },

  game_over(m) {
    stopAdvanceCountdown();
    G.status = 'finished';
    // Nothing more comes over the socket; the results are a REST call away.
    sock?.stop();
    setConn('idle', 'Finished');
    updateControls();
    showPodium(m.entries || []);
  },

  error(m) {
    const text = errorText(m.code, m.message);
    if (m.code === 'invalid_token' || m.code === 'room_not_found') {
      sock?.stop();
      store.remove(hostKey(G.code));
      history.replaceState(null, '', '/host.html');
      showCreate(`Could not open game ${G.code} as its host: ${text}`);
      return;
    }
    if (m.code === 'game_finished') {
      sock?.stop();
      showFinishedFromRest();
      return;
    }
    toast(text, 'error');
  },
};

function showGameChrome() {
  $('#control-bar').hidden = false;
  $('#title-pill').hidden = !G.title;
  $('#title-pill').textContent = G.title;
  $('#pin-pill').hidden = false;
  $('#pin-pill').textContent = `PIN ${G.code}`;
  document.title = `${G.title || 'Game'} · PIN ${G.code} · quizroom`;
}

// ---- controls ----

const ALLOWED = {
  lobby: ['start', 'end'],
  question: ['pause', 'lock', 'end'],
  paused: ['resume', 'lock', 'end'],
  reveal: ['next', 'end'],
  finished: [],
};

function updateControls() {
  const allowed = ALLOWED[G.status] || [];
  for (const b of $$('#control-bar [data-action]')) {
    const a = b.dataset.action;
    const ok = allowed.includes(a);
    // Buttons that can't apply now are hidden when their twin is shown
    // (pause/resume), otherwise disabled so the bar doesn't jump.
    b.hidden = (a === 'resume' && G.status !== 'paused') || (a === 'pause' && G.status === 'paused');
    b.disabled = !ok || G.busy;
  }
  const last = G.q && G.q.index + 1 >= G.questionCount;
  $('[data-action=next]').textContent = last ? 'Finish ▸' : 'Next question ▸';
  const players = G.players.size;
  const text = {
    lobby: `Lobby · ${players} ${players === 1 ? 'player' : 'players'}`,
    question: G.q
      ? `Question ${G.q.index + 1} of ${G.questionCount} · ${G.q.points ? `${fmtNum(G.q.points)} points` : 'no points'}`
      : 'Question',
    paused: G.q ? `Question ${G.q.index + 1} of ${G.questionCount} · paused` : 'Paused',
    reveal: G.q ? `Question ${G.q.index + 1} of ${G.questionCount} · results` : 'Results',
    finished: 'Game over',
  }[G.status];
  $('#state-text').textContent = text || '';
  $('#players-btn').hidden = G.status === 'lobby' || G.status === 'finished' || !G.code;
  $('#control-bar').hidden = G.status === 'finished';
}

$('#control-bar').addEventListener('click', async (ev) => {
  const b = ev.target.closest('[data-action]');
  if (!b || b.disabled) return;
  const action = b.dataset.action;
  if (action === 'end' && !(await confirmEnd())) return;
  G.busy = true;
  updateControls();
  try {
    const room = await api.control(G.code, action, G.token);
    // The socket usually beats the REST answer; only fill in what it hasn't.
    if (room && room.status === 'finished') G.status = 'finished';
  } catch (e) {
    toast(e.text || String(e), 'error');
  } finally {
    G.busy = false;
    updateControls();
  }
});

document.addEventListener('keydown', (ev) => {
  if (ev.target.closest('input, textarea, select, [contenteditable]')) return;
  if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if ($('#control-bar').hidden) return;
  // Space or N: the next sensible step, like a presentation clicker.
  if (ev.key === 'n' || ev.key === 'N' || (ev.key === ' ' && ev.target === document.body)) {
    const order = ['start', 'next', 'lock', 'resume'];
    for (const a of order) {
      const b = $(`#control-bar [data-action=${a}]`);
      if (!b.hidden && !b.disabled) {
        ev.preventDefault();
        b.click();
        return;
      }
    }
  }
});

// ---- roster ----

function renderRoster() {
  const players = [...G.players.entries()].sort((a, b) => a[1].nickname.localeCompare(b[1].nickname));
  for (const ul of $$('.roster')) {
    ul.replaceChildren(
      ...players.map(([id, p]) =>
        h(
          'li',
          { class: p.connected ? '' : 'is-away', 'data-player': id },
          h('span', {}, p.nickname),
          h(
            'button',
            {
              type: 'button',
              class: 'kick',
              'aria-label': `Remove ${p.nickname}`,
              title: `Remove ${p.nickname}`,
              onclick: () => kick(id, p.nickname),
            },
            '✕',
          ),
        ),
      ),
    );
  }
  $('#roster-count').textContent = String(players.length);
  $('#drawer-count').textContent = String(players.length);
  $('#players-btn-count').textContent = String(players.length);
  $('.roster-empty').hidden = players.length > 0;
  if (G.status === 'lobby') updateControls();
}

async function kick(id, nickname) {
  try {
    await api.kick(G.code, id, G.token);
    G.players.delete(id);
    renderRoster();
    toast(`${nickname} was removed from the game.`);
  } catch (e) {
    toast(e.text || String(e), 'error');
  }
}

/** Asks before ending: resolves true when the host confirms. */
function confirmEnd() {
  const dialog = $('#end-dialog');
  return new Promise((resolve) => {
    dialog.returnValue = 'cancel';
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'end'), { once: true });
    dialog.showModal();
  });
}

$('#players-btn').addEventListener('click', () => $('#roster-dialog').showModal());
$('#roster-close').addEventListener('click', () => $('#roster-dialog').close());

// ---- lobby ----

function showLobby() {
  G.status = 'lobby';
  $('#pin').textContent = G.code;
  $('#pin').setAttribute('aria-label', `Game PIN ${G.code.split('').join(' ')}`);
  const url = new URL(G.joinUrl);
  $('#join-url').textContent = `${url.host}${url.pathname === '/play.html' ? '' : url.pathname}`;
  $('#join-link').href = G.joinUrl;
  $('#join-link').textContent = G.joinUrl;
  $('#qr').innerHTML = toSvg(G.joinUrl, { label: `QR code for ${G.joinUrl}`, dark: '#17122b' });
  showScreen('lobby');
  updateControls();
  announce(`Game PIN ${G.code}. Waiting for players.`);
}

$('#copy-link').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText(G.joinUrl);
    toast('Join link copied.', 'good');
  } catch {
    toast(G.joinUrl);
  }
});

// ---- question ----

function openQuestion(q, { remaining = null, silent = false } = {}) {
  G.q = { index: q.question, prompt: q.prompt, choices: q.choices, timeLimit: q.time_limit_ms, points: q.points };
  updateControls();
  G.questionCount = q.question_count ?? G.questionCount;
  $('#hq-prompt').textContent = q.prompt;
  $('#hq-prompt').classList.toggle('is-long', [...q.prompt].length > 90);
  $('#hq-status').textContent = '';
  $('#hq-bar').classList.remove('is-paused');
  const box = $('#hq-choices');
  box.dataset.count = String(q.choices.length);
  box.replaceChildren(
    ...q.choices.map((c, i) =>
      h('div', { class: `choice c${i}` }, shapeSvg(i), h('span', {}, c)),
    ),
  );
  setAnswered(G.answered, G.players.size);
  // Before the first pong, the message's own server_time is the best clue.
  const left = remaining ?? (q.server_time ? q.deadline_at - q.server_time : null);
  countdown.start(q.deadline_at, q.time_limit_ms, left);
  showScreen('question');
  if (!silent) announce(`Question ${q.question + 1}: ${q.prompt}`);
  runTimer();
}

function setAnswered(n, total) {
  G.answered = n;
  $('#hq-answered').textContent = fmtNum(n);
  $('#hq-answered-label').textContent = total ? `of ${fmtNum(total)} answered` : n === 1 ? 'answer' : 'answers';
}

let rafId = 0;
function runTimer() {
  cancelAnimationFrame(rafId);
  const bar = $('#hq-bar > span');
  const num = $('#hq-timer');
  const frame = () => {
    const open = G.status === 'question' || G.status === 'paused';
    const rem = open ? countdown.remaining() : 0;
    bar.style.transform = `scaleX(${open ? countdown.fraction() : 0})`;
    const secs = Math.ceil(rem / 1000);
    num.textContent = G.status === 'paused' ? '❚❚' : String(secs);
    num.classList.toggle('is-low', G.status === 'question' && secs <= 5);
    if (open && document.body.dataset.screen === 'question') rafId = requestAnimationFrame(frame);
  };
  frame();
}

function pause(remaining) {
  countdown.pause(remaining);
  $('#hq-bar').classList.add('is-paused');
  $('#hq-status').textContent = 'Paused';
  runTimer();
}

// ---- reveal ----

let advanceTimer = null;

/** With auto-advance on, the reveal says when the room moves on by itself. */
function startAdvanceCountdown(q) {
  stopAdvanceCountdown();
  const note = $('#hr-advance');
  const armedAt = G.advanceAt;
  G.advanceAt = null;
  if (!G.autoAdvanceMs || !note) return;
  const until = armedAt ?? Date.now() + G.autoAdvanceMs;
  const last = q.index + 1 >= (G.questionCount ?? q.index + 1);
  const render = () => {
    const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    note.textContent = `${last ? 'Final results' : 'Next question'} in ${s} s`;
  };
  note.hidden = false;
  render();
  advanceTimer = setInterval(render, 250);
}

function stopAdvanceCountdown() {
  if (advanceTimer) clearInterval(advanceTimer);
  advanceTimer = null;
  const note = $('#hr-advance');
  if (note) note.hidden = true;
}

function showReveal(m) {
  const q = G.q;
  if (!q) return;
  const dist = m.distribution || q.choices.map(() => 0);
  const max = Math.max(1, ...dist);
  const total = dist.reduce((a, b) => a + b, 0);
  $('#hr-title').textContent = q.prompt;
  const chart = $('#hr-chart');
  chart.setAttribute(
    'aria-label',
    `Answers: ${q.choices.map((c, i) => `${c} ${dist[i]}${i === m.correct ? ' (correct)' : ''}`).join(', ')}`,
  );
  chart.replaceChildren(
    ...q.choices.map((c, i) =>
      h(
        'div',
        { class: `col${i === m.correct ? ' is-correct' : ' is-dim'}` },
        h('span', { class: 'tick-mark', style: 'color:var(--good)', 'aria-hidden': 'true' }, i === m.correct ? '✓' : ''),
        h('span', { class: 'val' }, String(dist[i] ?? 0)),
        h('div', { class: `bar-v c${i}`, style: { height: '0%' } }),
      ),
    ),
  );
  requestAnimationFrame(() =>
    requestAnimationFrame(() => {
      chart.querySelectorAll('.bar-v').forEach((bar, i) => {
        bar.style.height = `${Math.max(4, ((dist[i] ?? 0) / max) * 100) * 0.72}%`;
      });
    }),
  );
  $('#hr-legend').dataset.count = String(q.choices.length);
  $('#hr-legend').replaceChildren(
    ...q.choices.map((c, i) =>
      h(
        'div',
        { class: `choice c${i}${i === m.correct ? ' is-correct' : ''}`, style: i === m.correct ? '' : 'opacity:.45' },
        shapeSvg(i),
        h('span', {}, c),
        i === m.correct ? h('span', { style: 'margin-left:auto;font-size:1.5rem', 'aria-label': 'correct' }, '✓') : null,
      ),
    ),
  );
  const right = dist[m.correct] ?? 0;
  const answered = m.answered ?? total;
  $('#hr-summary').textContent = answered
    ? `${right} of ${answered} answered correctly (${Math.round((right / answered) * 100)}%).`
    : 'Nobody answered this one.';
  startAdvanceCountdown(q);
  $('#hr-board').replaceChildren();
  showScreen('reveal');
  announce(`The answer was ${q.choices[m.correct]}. ${$('#hr-summary').textContent}`);
}

function renderBoard(entries) {
  $('#hr-board').replaceChildren(
    ...entries.map((e) =>
      h(
        'li',
        {},
        h('span', { class: 'rank' }, String(e.rank)),
        h('span', { class: 'name' }, e.nickname),
        h('span', { class: 'score' }, fmtNum(e.score)),
      ),
    ),
  );
  $('#hr-board').classList.toggle('is-compact', entries.length > 5);
  $('#hr-board-empty').hidden = entries.length > 0;
}

// ---- game over ----

function showPodium(entries) {
  G.status = 'finished';
  $('#control-bar').hidden = true;
  if ($('#roster-dialog').open) $('#roster-dialog').close();
  const podium = $('#podium');
  const places = [2, 1, 3];
  podium.replaceChildren(
    ...places.map((place) => {
      const e = entries[place - 1];
      return h(
        'div',
        { class: `place p${place}${e ? '' : ' empty'}` },
        h('div', { class: 'medal' }, e ? medal(place, 64) : ''),
        h('div', { class: 'who' }, e ? e.nickname : '—'),
        h('div', { class: 'pts' }, e ? `${fmtNum(e.score)} pts` : ''),
        h('div', { class: 'block', 'aria-label': `${ordinal(place)} place` }, String(place)),
      );
    }),
  );
  $('#go-rest').replaceChildren(
    ...entries.slice(3).map((e) =>
      h(
        'li',
        {},
        h('span', { class: 'rank' }, String(e.rank)),
        h('span', { class: 'name' }, e.nickname),
        h('span', { class: 'score' }, fmtNum(e.score)),
      ),
    ),
  );
  $('#go-h').replaceChildren(
    ...(entries.length ? [icon('trophy', { size: 56 }), ' The winners'] : ['Game over']),
  );
  showScreen('gameover');
  announce(
    entries.length
      ? `Game over. ${entries
          .slice(0, 3)
          .map((e) => `${ordinal(e.rank)}: ${e.nickname} with ${e.score} points`)
          .join('. ')}`
      : 'Game over.',
  );
}

async function showFinishedFromRest() {
  sock?.stop();
  setConn('idle', 'Finished');
  showGameChrome();
  try {
    const results = await api.results(G.code, G.token);
    const entries = (results.players || [])
      .filter((p) => !p.status || p.status === 'active')
      .map((p) => ({ rank: p.rank, player_id: p.player_id, nickname: p.nickname, score: p.score }))
      .slice(0, 10);
    showPodium(entries);
  } catch (e) {
    showPodium([]);
    toast(e.text || String(e), 'error');
  }
}

$('#dl-csv').addEventListener('click', async () => {
  try {
    download(`quizroom-${G.code}-results.csv`, resultsToCsv(await api.results(G.code, G.token)));
  } catch (e) {
    toast(e.text || String(e), 'error');
  }
});
$('#dl-json').addEventListener('click', async () => {
  try {
    download(`quizroom-${G.code}-results.json`, JSON.stringify(await api.results(G.code, G.token), null, 2), 'application/json');
  } catch (e) {
    toast(e.text || String(e), 'error');
  }
});

// =====================================================================
// start
// =====================================================================

function showCreate(note = '') {
  $('#control-bar').hidden = true;
  $('#pin-pill').hidden = true;
  $('#title-pill').hidden = true;
  setConn('idle', 'Not connected');
  $('#conn-pill').hidden = true;
  $('#create-note').textContent = note;
  renderEditor();
  showScreen('create');
}

function route() {
  const code = cleanCode(new URLSearchParams(location.search).get('code'));
  if (code && store.get(hostKey(code))?.host_token) {
    beginHosting(code);
  } else {
    sock?.stop();
    sock = null;
    showCreate(code ? `This browser does not hold the host key for game ${code}. Create a new game below.` : '');
  }
}

window.addEventListener('popstate', route);
route();
