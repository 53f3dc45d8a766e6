// Drives the last pre-1.0 @vercel/blob SDK (pinned in package.json; it sends
// x-api-version 9) against a running vercel-blob-emulator, proving the
// emulator keeps that version's defaults: a random suffix unless
// addRandomSuffix is false, and overwrites allowed. Needs VERCEL_BLOB_API_URL
// and BLOB_READ_WRITE_TOKEN in the environment; tests/official_sdk.rs sets them.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import * as blob from '@vercel/blob';
import * as client from '@vercel/blob/client';

const API = process.env.VERCEL_BLOB_API_URL;
const TOKEN = process.env.BLOB_READ_WRITE_TOKEN;
assert.ok(API, 'VERCEL_BLOB_API_URL must be set');
assert.ok(TOKEN, 'BLOB_READ_WRITE_TOKEN must be set');
// The SDK would send this instead of its own version; the suite is about 9.
assert.equal(process.env.VERCEL_BLOB_API_VERSION_OVERRIDE, undefined,
  'VERCEL_BLOB_API_VERSION_OVERRIDE must not be set');
// A 5xx would otherwise be retried ten times with backoff; fail fast instead.
process.env.VERCEL_BLOB_RETRIES = '0';

const RUN = `run-${Date.now()}-${crypto.randomBytes(3).toString('hex')}`;
const p = (name) => `${RUN}/${name}`;
const pub = { access: 'public', token: TOKEN };
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
// `dir/name.ext` with a random suffix is `dir/name-<random>.ext`.
const suffixed = (pathname) => {
  const dot = pathname.lastIndexOf('.');
  return new RegExp(
    `^${escape(pathname.slice(0, dot))}-[A-Za-z0-9]+${escape(pathname.slice(dot))}$`);
};

async function text(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  return res.text();
}

describe('defaults of API version 9', () => {
  test('put without options adds a random suffix before the extension', async () => {
    const r = await blob.put(p('a.txt'), 'hello', pub);
    assert.notEqual(r.pathname, p('a.txt'));
    assert.match(r.pathname, suffixed(p('a.txt')));
    assert.equal(r.contentType, 'text/plain');
    assert.equal(r.url, `${API}/_blob/public/${r.pathname}`);
    assert.equal(await text(r.url), 'hello');
    const again = await blob.put(p('a.txt'), 'hello again', pub);
    assert.match(again.pathname, suffixed(p('a.txt')));
    assert.notEqual(again.pathname, r.pathname);
  });

  test('addRandomSuffix false keeps the pathname, and a second put overwrites', async () => {
    const opts = { ...pub, addRandomSuffix: false };
    const first = await blob.put(p('same.txt'), 'first', opts);
    assert.equal(first.pathname, p('same.txt'));
    const second = await blob.put(p('same.txt'), 'second', opts);
    assert.equal(second.pathname, p('same.txt'));
    assert.equal(second.url, first.url);
    assert.equal(await text(second.url), 'second');
  });

  test('multipart put adds a suffix too', async () => {
    const r = await blob.put(p('parts/big.bin'), Buffer.alloc(1024, 7), { ...pub, multipart: true });
    assert.match(r.pathname, suffixed(p('parts/big.bin')));
    assert.equal((await blob.head(r.url, { token: TOKEN })).size, 1024);
  });

  test('copy without options adds a suffix', async () => {
    const src = await blob.put(p('copy-src.txt'), 'copied', { ...pub, addRandomSuffix: false });
    const r = await blob.copy(src.url, p('copy-dst.txt'), pub);
    assert.match(r.pathname, suffixed(p('copy-dst.txt')));
    assert.equal(await text(r.url), 'copied');
  });

  test('a client token that does not say gets a suffix', async () => {
    const clientToken = await client.generateClientTokenFromReadWriteToken({
      token: TOKEN,
      pathname: p('browser.txt'),
    });
    const r = await client.put(p('browser.txt'), 'from the browser', {
      access: 'public',
      token: clientToken,
    });
    assert.match(r.pathname, suffixed(p('browser.txt')));
    assert.equal(await text(r.url), 'from the browser');
  });
});

describe('head, list, del', () => {
  test('head reports what was put; a missing blob is BlobNotFoundError', async () => {
    const r = await blob.put(p('h/info.json'), '{"a":1}', { ...pub, addRandomSuffix: false });
    const h = await blob.head(r.url, { token: TOKEN });
    assert.equal(h.pathname, p('h/info.json'));
    assert.equal(h.url, r.url);
    assert.equal(h.size, 7);
    assert.equal(h.contentType, 'application/json');
    assert.ok(h.uploadedAt instanceof Date);
    await assert.rejects(blob.head(`${API}/_blob/public/${p('h/missing.txt')}`, { token: TOKEN }),
      blob.BlobNotFoundError);
  });

  test('list finds the blobs under a prefix', async () => {
    const names = ['l/one.txt', 'l/two.txt', 'l/three.txt'];
    const put = await Promise.all(names.map((n) => blob.put(p(n), n, pub)));
    const sizes = Object.fromEntries(put.map((r, i) => [r.pathname, names[i].length]));
    const { blobs, hasMore } = await blob.list({ prefix: p('l/'), token: TOKEN });
    assert.equal(hasMore, false);
    assert.deepEqual(
      Object.fromEntries(blobs.map((b) => [b.pathname, b.size])),
      sizes);
  });

  test('del removes one blob and a batch', async () => {
    const a = await blob.put(p('d/a.txt'), 'a', pub);
    const b = await blob.put(p('d/b.txt'), 'b', pub);
    const c = await blob.put(p('d/c.txt'), 'c', pub);
    await blob.del(a.url, { token: TOKEN });
    await assert.rejects(blob.head(a.url, { token: TOKEN }), blob.BlobNotFoundError);
    await blob.del([b.url, c.url], { token: TOKEN });
    const { blobs } = await blob.list({ prefix: p('d/'), token: TOKEN });
    assert.deepEqual(blobs, []);
  });
});
