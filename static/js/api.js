// REST helpers: JSON in and out, the protocol's error body turned into an
// `ApiError` whose `text` is a sentence a person can act on.

import { errorText } from './ui.js';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field || null;
    this.text = errorText(code, message, field);
  }
}

/**
 * `request('POST', '/api/rooms', {body, token})` → parsed JSON (or text when
 * `raw: true`). Throws `ApiError` for every non-2xx answer and for network
 * failures (`code: 'network'`).
 */
export async function request(method, path, { body, token, raw = false, signal } = {}) {
  const headers = { Accept: raw ? '*/*' : 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'The server could not be reached.');
  }
  if (!res.ok) {
    let code = `http_${res.status}`;
    let message = res.statusText;
    let field;
    try {
      const data = await res.json();
      if (data && data.error) ({ code = code, message = message, field } = data.error);
    } catch {
      /* not JSON: keep the status */
    }
    throw new ApiError(res.status, code, message, field);
  }
  if (raw) return res.text();
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const api = {
  createRoom: (quiz) => request('POST', '/api/rooms', { body: quiz }),
  room: (code) => request('GET', `/api/rooms/${encodeURIComponent(code)}`),
  leaderboard: (code) => request('GET', `/api/rooms/${encodeURIComponent(code)}/leaderboard`),
  control: (code, action, token) =>
    request('POST', `/api/rooms/${encodeURIComponent(code)}/${action}`, { token }),
  kick: (code, playerId, token) =>
    request('DELETE', `/api/rooms/${encodeURIComponent(code)}/players/${encodeURIComponent(playerId)}`, {
      token,
    }),
  results: (code, token) => request('GET', `/api/rooms/${encodeURIComponent(code)}/results`, { token }),
  adminRooms: (token, { status = '', limit = 50 } = {}) => {
    const q = new URLSearchParams();
    if (status) q.set('status', status);
    q.set('limit', String(limit));
    return request('GET', `/api/admin/rooms?${q}`, { token });
  },
  adminResults: (token, roomId) =>
    request('GET', `/api/admin/rooms/${encodeURIComponent(roomId)}/results`, { token }),
  adminResultsCsv: (token, roomId) =>
    request('GET', `/api/admin/rooms/${encodeURIComponent(roomId)}/results?format=csv`, { token, raw: true }),
};

/** Saves `text` as a file through a temporary Blob link. */
export function download(filename, text, type = 'text/csv') {
  const blob = new Blob([text], { type: `${type};charset=utf-8` });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function csvCell(v) {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Results JSON (as `GET .../results` returns it) → CSV with the same columns
 * as the admin CSV: one row per player and revealed question.
 */
export function resultsToCsv(results) {
  const header = [
    'room_code', 'player_id', 'nickname', 'question', 'choice', 'correct', 'points', 'response_ms', 'received_at',
  ];
  const rows = [header.join(',')];
  const code = results.room?.code ?? '';
  const questions = (results.questions || []).filter((q) => q.revealed !== false && q.correct !== null);
  for (const p of results.players || []) {
    for (const q of questions) {
      const a = (p.answers || []).find((x) => x.question === q.index);
      rows.push(
        [
          code, p.player_id, p.nickname, q.index,
          a ? a.choice : '', a ? a.correct : false, a ? a.points : 0,
          a ? a.response_ms : '', a ? a.received_at : '',
        ]
          .map(csvCell)
          .join(','),
      );
    }
  }
  return `${rows.join('\r\n')}\r\n`;
}
