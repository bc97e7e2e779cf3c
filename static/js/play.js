// The player's page: join, wait in the lobby, answer, see how it went.
// The player token is kept per room code in localStorage, so a reload or a
// dropped network resumes the same player.

import {
  $, h, showScreen, announce, toast, shapeSvg, CHOICES, errorText, REJECT_REASONS, TIME_UP_REASONS,
  ordinal, formatMs, fmtNum, cleanCode, store, icon, medal,
} from './ui.js';
import { GameSocket, Countdown } from './ws.js';

const params = new URLSearchParams(location.search);
const tokenKey = (code) => `quizroom.player.${code}`;
const finalKey = (code) => `quizroom.final.${code}`;

const S = {
  code: cleanCode(params.get('code')),
  nickname: params.get('nickname') || localStorage.getItem('quizroom.nickname') || '',
  token: null,
  playerId: null,
  score: 0,
  rank: null,
  title: '',
  q: null, // the open question: {index, count, prompt, choices, timeLimit, points}
  answered: null, // the acknowledged choice for q
  pending: null, // a choice sent and not yet judged
  locked: false, // time is up for q
  paused: false,
};

let sock = null;
let countdown = null;

// ---------- decoration ----------

for (let i = 0; i < 4; i++) {
  $('#join-shapes').append(h('span', { class: `c${i}` }, shapeSvg(i)));
  $('#bouncers').append(h('span', { class: `c${i}` }, shapeSvg(i)));
}

// ---------- connection status ----------

function setConn(state, text) {
  const pill = $('#conn-pill');
  pill.dataset.state = state;
  $('#conn-text').textContent = text;
  const banner = $('#conn-banner');
  if (state === 'reconnecting') {
    banner.hidden = false;
    banner.textContent = 'Connection lost. Reconnecting… your answers and score are safe.';
  } else {
    banner.hidden = true;
    banner.textContent = '';
  }
}

function onStatus(state, info) {
  if (state === 'open') setConn('open', 'Online');
  else if (state === 'connecting') setConn('connecting', 'Connecting');
  else if (state === 'reconnecting') {
    setConn('reconnecting', 'Reconnecting');
    if (info.code === 1012) toast('The server is restarting. Reconnecting…', 'info', 3000);
  } else if (state === 'closed') {
    setConn('closed', 'Offline');
    if (info.code === 4000) {
      showEnded('devices', 'Playing somewhere else', 'This game continued in another tab or device. Close this one.');
    }
  }
}

function updateMe() {
  if (!S.playerId) return;
  $('#me-pill').hidden = false;
  $('#me-name').textContent = S.nickname;
  $('#me-score').textContent = `${fmtNum(S.score)} pts`;
}

// ---------- join ----------

function showJoin(errorMsg = '', note = '') {
  stopSocket();
  showScreen('join');
  $('#code').value = S.code || '';
  $('#nickname').value = S.nickname || '';
  $('#join-error').textContent = errorMsg;
  $('#join-note').textContent = note;
  const focus = !S.code ? $('#code') : $('#nickname');
  focus.focus();
  if (errorMsg) announce(errorMsg);
}

$('#join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const codeInput = $('#code');
  const nickInput = $('#nickname');
  codeInput.removeAttribute('aria-invalid');
  nickInput.removeAttribute('aria-invalid');
  const code = cleanCode(codeInput.value);
  const nickname = nickInput.value.trim();
  if (!code) {
    codeInput.setAttribute('aria-invalid', 'true');
    $('#join-error').textContent = 'The game PIN is 6 digits.';
    return codeInput.focus();
  }
  if (!nickname || [...nickname].length > 24) {
    nickInput.setAttribute('aria-invalid', 'true');
    $('#join-error').textContent = !nickname ? 'Please choose a nickname.' : 'Nicknames are at most 24 characters.';
    return nickInput.focus();
  }
  S.code = code;
  S.nickname = nickname;
  localStorage.setItem('quizroom.nickname', nickname);
  S.token = store.get(tokenKey(code))?.player_token || null;
  start('Joining…');
});

// ---------- the socket ----------

function stopSocket() {
  if (sock) sock.stop();
  sock = null;
}

function start(text) {
  stopSocket();
  $('#connecting-text').textContent = text;
  showScreen('connecting');
  sock = new GameSocket({
    hello: () =>
      S.token
        ? { type: 'resume', code: S.code, player_token: S.token }
        : { type: 'join', code: S.code, nickname: S.nickname },
    onMessage,
    onStatus,
  });
  countdown = new Countdown(sock.clock);
  sock.connect();
}

function forgetToken() {
  S.token = null;
  store.remove(tokenKey(S.code));
}

function onMessage(m) {
  const handler = HANDLERS[m.type];
  if (handler) handler(m);
}

const HANDLERS = {
  welcome(m) {
    cutIn();
    S.playerId = m.player_id;
    S.token = m.player_token;
    if (m.nickname) S.nickname = m.nickname;
    store.set(tokenKey(S.code), { player_token: m.player_token, player_id: m.player_id, nickname: S.nickname });
    history.replaceState(null, '', `/play.html?code=${S.code}`);
    const room = m.room || {};
    S.title = room.title || '';
    S.score = m.you?.score ?? 0;
    updateMe();
    const cur = room.current;
    if (room.status === 'lobby' || !cur) {
      if (room.status === 'finished') return showFinished();
      showLobby(room.player_count);
      return;
    }
    if (room.status === 'reveal') {
      openQuestion(cur, room.question_count, { silent: true });
      S.answered = m.you?.answered_choice ?? null;
      lockQuestion(null);
      showRevealFromSnapshot(cur, m.you || {});
      return;
    }
    const wasPending = S.pending !== null;
    openQuestion(cur, room.question_count, { remaining: cur.remaining_ms, silent: S.q?.index === cur.question });
    // The snapshot says what the server stored: an answer sent just before the
    // connection dropped either made it (answered_choice) or may be sent again.
    const picked = m.you?.answered_choice;
    S.pending = null;
    S.answered = picked ?? null;
    markPicked(S.answered);
    if (S.answered !== null) setStatus('good', 'Answer locked in ✓ Waiting for the others…');
    else if (wasPending) setStatus('warn', 'Your answer did not reach the game. Please tap again.');
    if (cur.paused || room.status === 'paused') pauseQuestion(cur.remaining_ms);
  },

  lobby(m) {
    if (document.body.dataset.screen === 'lobby') setLobbyCount(m.player_count);
  },

  question(m) {
    openQuestion(m, m.question_count);
  },

  tick(m) {
    if (S.q && m.question === S.q.index && !S.locked && !S.paused) countdown.tick(m.remaining_ms);
  },

  paused(m) {
    if (S.q && m.question === S.q.index) pauseQuestion(m.remaining_ms);
  },

  resumed(m) {
    if (!S.q || m.question !== S.q.index) return;
    S.paused = false;
    $('#q-bar').classList.remove('is-paused');
    $('#q-choices').classList.remove('is-paused');
    countdown.start(m.deadline_at, S.q.timeLimit, m.remaining_ms);
    if (S.answered === null) setStatus('', 'Back on! Pick an answer.');
    else setStatus('good', 'Answer locked in ✓ Waiting for the others…');
    runTimer();
  },

  time_up(m) {
    if (!S.q || m.question !== S.q.index) return;
    lockQuestion(m.reason);
    // A short "time's up" beat before the result, as on the big screen.
    holdFor(TIME_UP_HOLD_MS);
  },

  answer_ack(m) {
    if (!S.q || m.question !== S.q.index) return;
    S.pending = null;
    S.answered = m.choice;
    markPicked(m.choice);
    if (navigator.userActivation?.hasBeenActive) navigator.vibrate?.(40);
    if (!S.locked) setStatus('good', 'Answer locked in ✓ Waiting for the others…');
    announce(`Answer locked in: ${S.q.choices[m.choice]}`);
  },

  answer_rejected(m) {
    if (!S.q || m.question !== S.q.index) {
      if (m.reason === 'wrong_question') setStatus('bad', REJECT_REASONS.wrong_question);
      return;
    }
    const picked = S.pending;
    S.pending = null;
    const text = REJECT_REASONS[m.reason] || `Your answer was not accepted (${m.reason}).`;
    if (m.reason === 'unavailable') {
      markPicked(null);
      setStatus('warn', text);
      return;
    }
    if (m.reason === 'already_answered') {
      if (S.answered === null) S.answered = picked;
      markPicked(S.answered);
      setStatus('good', text);
      return;
    }
    if (m.reason === 'too_late') {
      markPicked(null);
      S.locked = true;
      $('#q-choices').classList.add('is-locked');
      for (const b of $('#q-choices').children) b.setAttribute('aria-disabled', 'true');
      setStatus('bad', text);
      return;
    }
    if (m.reason === 'not_joined') sock?.reconnectNow();
    markPicked(S.answered);
    setStatus('bad', text);
  },

  reveal(m) {
    if (!S.q || m.question !== S.q.index) return;
    lockQuestion(null);
    later(() => showReveal(m), REVEAL_HOLD_MS);
  },

  leaderboard(m) {
    if (m.you) {
      S.score = m.you.score;
      S.rank = m.you.rank;
    }
    later(() => showBoard(m), 0);
  },

  game_over(m) {
    if (m.you) {
      S.score = m.you.score;
      S.rank = m.you.rank;
    }
    const final = { entries: m.entries || [], you: m.you || null, nickname: S.nickname, playerId: S.playerId };
    store.set(finalKey(S.code), final);
    forgetToken();
    stopSocket();
    setConn('idle', 'Finished');
    later(() => showGameOver(final), 0);
  },

  kicked() {
    forgetToken();
    sock?.expectFinalClose();
    stopSocket();
    setConn('closed', 'Removed');
    showEnded('door', 'You were removed from the game', 'The host removed you from this game. You can join another one.');
  },

  error(m) {
    const code = m.code;
    const text = errorText(code, m.message);
    if (code === 'rate_limited') {
      toast(text, 'error');
      return;
    }
    if (code === 'game_finished') {
      forgetToken();
      stopSocket();
      showFinished();
      return;
    }
    if (code === 'invalid_token') {
      forgetToken();
      showJoin('', 'Your place in this game is no longer valid. Join again with your nickname.');
      return;
    }
    if (['room_not_found', 'nickname_taken', 'room_full', 'invalid_nickname'].includes(code)) {
      if (S.token) forgetToken();
      showJoin(text);
      if (code === 'nickname_taken' || code === 'invalid_nickname') {
        $('#nickname').setAttribute('aria-invalid', 'true');
        $('#nickname').focus();
      } else {
        $('#code').setAttribute('aria-invalid', 'true');
      }
      return;
    }
    toast(text, 'error');
  },
};

// ---------- pacing ----------
// time_up, reveal and leaderboard arrive together; each screen stays up
// long enough to be read before the next one. A new question cuts in.

const TIME_UP_HOLD_MS = 2000;
const REVEAL_HOLD_MS = 3500;
const pace = { items: [], timer: null, busyUntil: 0 };

function holdFor(ms) {
  pace.busyUntil = Math.max(pace.busyUntil, Date.now() + ms);
}

/** Shows `show()` after the screens queued before it, then holds it `hold` ms. */
function later(show, hold) {
  pace.items.push({ show, hold });
  pump();
}

function pump() {
  if (pace.timer) return;
  const wait = pace.busyUntil - Date.now();
  if (wait > 0) {
    pace.timer = setTimeout(() => {
      pace.timer = null;
      pump();
    }, wait);
    return;
  }
  const item = pace.items.shift();
  if (!item) return;
  item.show();
  holdFor(item.hold);
  pump();
}

function cutIn() {
  pace.items = [];
  clearTimeout(pace.timer);
  pace.timer = null;
  pace.busyUntil = 0;
}

// ---------- screens ----------

function setLobbyCount(n) {
  const count = n ?? 1;
  $('#lobby-count').textContent = fmtNum(count);
  $('#lobby-count-label').textContent = count === 1 ? 'player in the lobby' : 'players in the lobby';
}

function showLobby(count) {
  $('#lobby-nick').textContent = S.nickname;
  $('#lobby-title').textContent = S.title ? `Quiz: ${S.title}` : '';
  setLobbyCount(count);
  showScreen('lobby');
  announce(`You're in as ${S.nickname}. Waiting for the host to start.`);
}

function openQuestion(q, count, { remaining = null, silent = false } = {}) {
  cutIn();
  const index = q.question;
  const same = S.q && S.q.index === index;
  S.q = {
    index,
    count: count ?? q.question_count ?? S.q?.count ?? 1,
    prompt: q.prompt,
    choices: q.choices,
    timeLimit: q.time_limit_ms,
    points: q.points,
  };
  if (!same) {
    S.answered = null;
    S.pending = null;
  }
  S.locked = false;
  S.paused = false;
  $('#q-number').textContent = `Question ${index + 1} of ${S.q.count}`;
  $('#q-points').textContent = q.points ? `${fmtNum(q.points)} pts` : 'No points';
  $('#q-prompt').textContent = q.prompt;
  $('#q-bar').classList.remove('is-paused');
  const box = $('#q-choices');
  box.className = 'choices';
  box.dataset.count = String(q.choices.length);
  box.replaceChildren(
    ...q.choices.map((text, i) =>
      h(
        'button',
        {
          type: 'button',
          class: `choice c${i}`,
          'data-choice': String(i),
          'aria-label': `${i + 1}: ${text} (${CHOICES[i].label})`,
          onclick: () => tap(i),
        },
        shapeSvg(i),
        h('span', { class: 'text' }, text),
        h('span', { class: 'key', 'aria-hidden': 'true' }, String(i + 1)),
      ),
    ),
  );
  setStatus('', 'Tap your answer!');
  // Before the first pong, the message's own server_time is the best clue.
  const left = remaining ?? (q.server_time ? q.deadline_at - q.server_time : null);
  countdown.start(q.deadline_at, q.time_limit_ms, left);
  showScreen('question');
  if (!silent) announce(`Question ${index + 1} of ${S.q.count}: ${q.prompt}`);
  runTimer();
}

let rafId = 0;
function runTimer() {
  cancelAnimationFrame(rafId);
  const bar = $('#q-bar > span');
  const num = $('#q-timer');
  let lastSecond = -1;
  const frame = () => {
    const rem = S.locked ? 0 : countdown.remaining();
    bar.style.transform = `scaleX(${S.locked ? 0 : countdown.fraction()})`;
    const secs = Math.ceil(rem / 1000);
    if (secs !== lastSecond) {
      lastSecond = secs;
      num.textContent = S.paused ? '❚❚' : String(secs);
      num.classList.toggle('is-low', !S.paused && !S.locked && secs <= 5 && secs > 0);
      num.setAttribute('aria-label', S.paused ? 'Paused' : `${secs} seconds left`);
    }
    if (!S.locked && document.body.dataset.screen === 'question') rafId = requestAnimationFrame(frame);
  };
  frame();
}

function setStatus(kind, text) {
  const el = $('#q-status');
  el.dataset.kind = kind;
  el.textContent = text;
}

function markPicked(choice) {
  const box = $('#q-choices');
  for (const b of box.children) b.classList.toggle('is-picked', Number(b.dataset.choice) === choice);
  box.classList.toggle('is-locked', choice !== null && choice !== undefined);
}

function tap(i) {
  if (!S.q || document.body.dataset.screen !== 'question') return;
  if (S.locked) {
    setStatus('bad', 'Too late: time is up for this question.');
    return;
  }
  if (S.paused) {
    setStatus('warn', 'The game is paused. Wait for the host to resume.');
    return;
  }
  if (S.answered !== null) {
    setStatus('good', `You already answered “${S.q.choices[S.answered]}”.`);
    return;
  }
  if (S.pending !== null) return;
  if (!sock || !sock.send({ type: 'answer', question: S.q.index, choice: i })) {
    setStatus('warn', 'Not connected right now. Tap again once you are back online.');
    return;
  }
  S.pending = i;
  markPicked(i);
  setStatus('locked', 'Sending your answer…');
}

function lockQuestion(reason) {
  if (!S.q) return;
  S.locked = true;
  S.pending = null;
  countdown?.stop();
  cancelAnimationFrame(rafId);
  $('#q-bar > span').style.transform = 'scaleX(0)';
  $('#q-timer').textContent = '0';
  $('#q-timer').classList.remove('is-low');
  const box = $('#q-choices');
  box.classList.add('is-locked');
  for (const b of box.children) b.setAttribute('aria-disabled', 'true');
  markPicked(S.answered);
  box.classList.add('is-locked');
  if (reason !== null) {
    const why = TIME_UP_REASONS[reason] || 'Time’s up!';
    setStatus(
      'locked',
      S.answered !== null ? `${why} Your answer is in. Let’s see…` : `${why} No answer this time.`,
    );
  }
}

function pauseQuestion(remaining) {
  S.paused = true;
  countdown.pause(remaining);
  $('#q-bar').classList.add('is-paused');
  $('#q-choices').classList.add('is-paused');
  setStatus('warn', '❚❚ Paused by the host');
  runTimer();
}

function fillReveal({ correct, choice, points, score, rank, responseMs, correctText }) {
  const card = $('#rv-card');
  const answered = choice !== null && choice !== undefined;
  card.className = `result-card ${!answered ? 'is-none' : correct ? 'is-correct' : 'is-wrong'}`;
  $('#rv-icon').textContent = !answered ? '…' : correct ? '✓' : '✗';
  $('#rv-title').textContent = !answered ? 'No answer' : correct ? 'Correct!' : 'Not quite';
  $('#rv-points').hidden = points === null || !answered;
  $('#rv-points').textContent = `+${fmtNum(points ?? 0)} points`;
  $('#rv-answer').textContent = correctText;
  $('#rv-score').textContent = fmtNum(score);
  $('#rv-rank').textContent = rank ? ordinal(rank) : '–';
  $('#rv-time-wrap').hidden = !answered || responseMs === null || responseMs === undefined;
  $('#rv-time').textContent = formatMs(responseMs);
  S.score = score;
  if (rank) S.rank = rank;
  updateMe();
  showScreen('reveal');
  const title = $('#rv-title').textContent;
  announce(`${title} ${points ? `You got ${points} points.` : ''} Score ${score}${rank ? `, ${ordinal(rank)} place` : ''}.`);
}

function showReveal(m) {
  const you = m.you || {};
  const correctText = `The answer was: ${S.q.choices[m.correct]}`;
  fillReveal({
    correct: you.correct,
    choice: you.choice ?? S.answered,
    points: you.points ?? 0,
    score: you.score ?? S.score,
    rank: you.rank,
    responseMs: you.response_ms,
    correctText,
  });
  $('#rv-next').textContent =
    S.q.index + 1 >= S.q.count ? 'That was the last question…' : 'The leaderboard is next…';
}

// A reload or reconnect during a reveal: the welcome's `you` says what this answer earned.
function showRevealFromSnapshot(cur, you) {
  const choice = S.answered;
  fillReveal({
    correct: you.correct ?? (choice !== null && choice === cur.correct),
    choice,
    points: you.points ?? null,
    score: S.score,
    rank: you.rank ?? S.rank,
    responseMs: you.response_ms ?? null,
    correctText: cur.correct !== undefined && cur.correct !== null ? `The answer was: ${cur.choices[cur.correct]}` : '',
  });
  $('#rv-next').textContent = 'Waiting for the next question…';
}

function boardList(listEl, entries) {
  listEl.replaceChildren(
    ...entries.map((e) => {
      const isYou = e.player_id === S.playerId;
      return h(
        'li',
        { class: isYou ? 'is-you' : '' },
        h('span', { class: 'rank', 'aria-label': `Rank ${e.rank}` }, String(e.rank)),
        h('span', { class: 'name' }, e.nickname, isYou ? h('span', { class: 'you-chip' }, 'you') : null),
        h('span', { class: 'score' }, fmtNum(e.score)),
      );
    }),
  );
}

function showBoard(m) {
  boardList($('#lb-list'), m.entries || []);
  const you = m.you;
  $('#lb-you').textContent = you ? `You are ${ordinal(you.rank)} with ${fmtNum(you.score)} points` : '';
  showScreen('leaderboard');
  announce(`Leaderboard. ${$('#lb-you').textContent}`);
}

function showGameOver(final) {
  const you = final.you;
  if (final.playerId) S.playerId = final.playerId;
  boardList($('#go-list'), final.entries || []);
  $('#go-medal').replaceChildren(you ? medal(you.rank, 88) : icon('flag', { size: 72 }));
  $('#go-h').textContent = you && you.rank === 1 ? 'You won!' : 'Game over';
  $('#go-you').textContent = you
    ? `You finished ${ordinal(you.rank)} with ${fmtNum(you.score)} points`
    : 'Thanks for playing!';
  showScreen('gameover');
  announce(`${$('#go-h').textContent}. ${$('#go-you').textContent}`);
}

function showFinished() {
  const final = store.get(finalKey(S.code));
  if (final) {
    showGameOver(final);
    return;
  }
  setConn('idle', 'Finished');
  showEnded('flag', 'This game has ended', 'The game you were in is over. Thanks for playing!');
}

function showEnded(iconName, title, text) {
  cutIn();
  $('#end-icon').replaceChildren(icon(iconName, { size: 72 }));
  $('#end-h').textContent = title;
  $('#end-text').textContent = text;
  showScreen('ended');
  announce(`${title}. ${text}`);
}

$('#leave-btn').addEventListener('click', () => {
  sock?.expectFinalClose();
  sock?.send({ type: 'leave' });
  forgetToken();
  stopSocket();
  location.href = '/';
});

// ---------- keyboard ----------

document.addEventListener('keydown', (ev) => {
  if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
  if (document.body.dataset.screen !== 'question') return;
  if (ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement) return;
  const n = Number(ev.key);
  if (Number.isInteger(n) && n >= 1 && n <= 6 && S.q && n <= S.q.choices.length) {
    ev.preventDefault();
    tap(n - 1);
  }
});

// ---------- start ----------

if (S.code && store.get(tokenKey(S.code))?.player_token) {
  const saved = store.get(tokenKey(S.code));
  S.token = saved.player_token;
  S.nickname = saved.nickname || S.nickname;
  start('Reconnecting to your game…');
} else if (S.code && params.get('nickname')) {
  start('Joining…');
} else if (S.code && store.get(finalKey(S.code))) {
  showGameOver(store.get(finalKey(S.code)));
} else {
  showJoin();
}
