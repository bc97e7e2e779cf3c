// The landing page: check the PIN exists, then hand over to play.html.

import { $, $$, cleanCode, shapeSvg, h } from './ui.js';
import { api } from './api.js';

for (let i = 0; i < 4; i++) $('#hero-shapes').append(h('span', { class: `c${i}` }, shapeSvg(i)));
for (const li of $$('#features li')) {
  const i = Number(li.dataset.i);
  const icon = h('span', { class: `fg${i}` }, shapeSvg(i));
  li.prepend(icon);
}

const form = $('#join-form');
const err = $('#join-error');
const pin = $('#pin');
const nick = $('#nickname');

const last = sessionStorage.getItem('quizroom.nickname') || localStorage.getItem('quizroom.nickname');
if (last) nick.value = last;

function fail(input, text) {
  err.textContent = text;
  input.setAttribute('aria-invalid', 'true');
  input.focus();
}

for (const input of [pin, nick]) input.addEventListener('input', () => input.removeAttribute('aria-invalid'));

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  err.textContent = '';
  const code = cleanCode(pin.value);
  const nickname = nick.value.trim();
  if (!code) return fail(pin, 'The game PIN is 6 digits.');
  if (!nickname) return fail(nick, 'Please choose a nickname.');
  if ([...nickname].length > 24) return fail(nick, 'Nicknames are at most 24 characters.');
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  button.textContent = 'Checking…';
  try {
    const room = await api.room(code);
    if (room.status === 'finished') return fail(pin, 'That game has already ended.');
    localStorage.setItem('quizroom.nickname', nickname);
    location.href = `/play.html?code=${code}&nickname=${encodeURIComponent(nickname)}`;
  } catch (e) {
    fail(pin, e.text || String(e));
  } finally {
    button.disabled = false;
    button.textContent = 'Enter';
  }
});
