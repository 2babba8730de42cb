// The small parsers: sizes, headers, checksums, names, Retry-After.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dispositionName, parseChecksum, parseHeaders, parseSize, retryAfterMs, safeName, urlName } from '../src/parse.js';

const T = { timeout: 10_000 };

test('sizes: binary units, plain counts; nonsense refused with the option named', T, () => {
  assert.equal(parseSize('4M', 'x'), 4 * 1024 * 1024);
  assert.equal(parseSize('512k', 'x'), 512 * 1024);
  assert.equal(parseSize('1g', 'x'), 1024 ** 3);
  assert.equal(parseSize('1MiB', 'x'), 1024 * 1024);
  assert.equal(parseSize('65536', 'x'), 65536);
  for (const bad of ['', '0', '-1', '4X', 'M', '1.5.2k'])
    assert.throws(() => parseSize(bad, '--chunk-size'), { code: 'ERR_GET_USAGE', message: /--chunk-size/ });
});

test('headers: Name: value, repeated names kept last, bad lines refused', T, () => {
  assert.deepEqual(parseHeaders(['Authorization: Bearer a:b', 'X-A:1']), { Authorization: 'Bearer a:b', 'X-A': '1' });
  assert.throws(() => parseHeaders(['no colon']), { code: 'ERR_GET_USAGE' });
  assert.throws(() => parseHeaders(['Bad Name: x']), { code: 'ERR_GET_USAGE' });
});

test('checksums: the four algorithms with their full digest length', T, () => {
  assert.deepEqual(parseChecksum(`SHA256=${'A'.repeat(64)}`), { algorithm: 'sha256', hex: 'a'.repeat(64) });
  assert.equal(parseChecksum(`md5:${'0'.repeat(32)}`).algorithm, 'md5');
  assert.throws(() => parseChecksum(`sha256=${'a'.repeat(63)}`), { code: 'ERR_GET_USAGE' });
  assert.throws(() => parseChecksum(`crc32=${'a'.repeat(8)}`), { code: 'ERR_GET_USAGE' });
});

test('names: Content-Disposition plain, quoted and RFC 5987 forms; URL segments decoded; climbing names refused', T, () => {
  assert.equal(dispositionName('attachment; filename="a b.iso"'), 'a b.iso');
  assert.equal(dispositionName('attachment; filename=plain.bin; size=3'), 'plain.bin');
  assert.equal(dispositionName('attachment; filename="fallback.bin"; filename*=UTF-8\'\'%C3%A9t%C3%A9.bin'), 'été.bin');
  assert.equal(dispositionName('inline'), undefined);
  assert.equal(urlName('http://h/dir/file%20name.tar.gz?x=1'), 'file name.tar.gz');
  assert.equal(urlName('http://h/'), '');
  assert.equal(safeName('ok.bin', 'URL'), 'ok.bin');
  for (const bad of ['../x', 'a/b', '..', '.', 'a\\b', '']) assert.throws(() => safeName(bad, 'server'), { code: 'ERR_GET_USAGE' });
});

test('Retry-After: seconds or an HTTP date, capped, absent or unreadable is undefined', T, () => {
  assert.equal(retryAfterMs('3', 60_000), 3000);
  assert.equal(retryAfterMs('999', 60_000), 60_000);
  const inTwo = new Date(Date.now() + 2000).toUTCString();
  const ms = retryAfterMs(inTwo, 60_000) ?? -1;
  assert.ok(ms > 0 && ms <= 2000, `${ms}`);
  assert.equal(retryAfterMs(new Date(Date.now() - 5000).toUTCString(), 60_000), 0);
  assert.equal(retryAfterMs(undefined, 60_000), undefined);
  assert.equal(retryAfterMs('soon', 60_000), undefined);
});
