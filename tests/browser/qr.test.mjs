// The QR encoder in static/js/qr.js, without a browser: structure checks
// always, and a real decode with zbarimg (zbar-tools) where it is installed.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode, toSvg } from '../../static/js/qr.js';

const ZBAR = '/usr/bin/zbarimg';

/** Writes the symbol as a binary PGM (4 px a module, 4-module quiet zone). */
function toPgm(qr, file) {
  const scale = 4;
  const border = 4;
  const dim = (qr.size + border * 2) * scale;
  const px = Buffer.alloc(dim * dim, 255);
  for (let y = 0; y < qr.size; y++) {
    for (let x = 0; x < qr.size; x++) {
      if (!qr.modules[y][x]) continue;
      for (let dy = 0; dy < scale; dy++) {
        px.fill(0, ((y + border) * scale + dy) * dim + (x + border) * scale, ((y + border) * scale + dy) * dim + (x + border + 1) * scale);
      }
    }
  }
  writeFileSync(file, Buffer.concat([Buffer.from(`P5 ${dim} ${dim} 255\n`), px]));
}

const CASES = [
  ['a', 1, 'M'],
  ['http://127.0.0.1:8080/play.html?code=048213', 4, 'M'],
  ['https://quiz.example.org/play.html?code=123456', 4, 'M'],
  ['héllo wörld ✓', 2, 'M'],
  ['x'.repeat(100), 6, 'M'],
  ['x'.repeat(110), 7, 'M'],
  ['x'.repeat(200), 10, 'M'],
  ['x'.repeat(260), 10, 'L'],
];

describe('qr.js', () => {
  for (const [text, version, ecl] of CASES) {
    it(`encodes ${text.length} bytes as version ${version}-${ecl}`, () => {
      const qr = encode(text);
      assert.equal(qr.version, version);
      assert.equal(qr.ecl, ecl);
      assert.equal(qr.size, version * 4 + 17);
      // The three finder patterns: dark 7x7 ring around a dark 3x3 core.
      for (const [fx, fy] of [[0, 0], [qr.size - 7, 0], [0, qr.size - 7]]) {
        assert.equal(qr.modules[fy][fx], true);
        assert.equal(qr.modules[fy + 1][fx + 1], false);
        assert.equal(qr.modules[fy + 3][fx + 3], true);
      }
      // Timing pattern and the dark module.
      for (let i = 8; i < qr.size - 8; i++) assert.equal(qr.modules[6][i], i % 2 === 0);
      assert.equal(qr.modules[qr.size - 8][8], true);
      if (existsSync(ZBAR)) {
        const file = path.join(mkdtempSync(path.join(tmpdir(), 'qr-')), 'q.pgm');
        toPgm(qr, file);
        const out = execFileSync(ZBAR, ['-q', '--raw', file], { stdio: ['ignore', 'pipe', 'ignore'] });
        assert.equal(out.toString('utf8').replace(/\n$/, ''), text);
      }
    });
  }

  it('refuses text beyond version 10', () => {
    assert.throws(() => encode('x'.repeat(400)), RangeError);
  });

  it('draws an SVG with a label and a quiet zone', () => {
    const svg = toSvg('hello', { label: 'Join "here"' });
    assert.match(svg, /^<svg [^>]*viewBox="0 0 29 29"/);
    assert.match(svg, /aria-label="Join &#34;here&#34;"/);
  });
});
