// Drives the official @vercel/blob SDK (pinned in package.json) against a
// running vercel-blob-emulator. Needs VERCEL_BLOB_API_URL and
// BLOB_READ_WRITE_TOKEN in the environment; tests/official_sdk.rs sets them.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Agent, setGlobalDispatcher, buildConnector } from 'undici';
import * as blob from '@vercel/blob';
import * as client from '@vercel/blob/client';

const API = process.env.VERCEL_BLOB_API_URL;
const TOKEN = process.env.BLOB_READ_WRITE_TOKEN;
assert.ok(API, 'VERCEL_BLOB_API_URL must be set');
assert.ok(TOKEN, 'BLOB_READ_WRITE_TOKEN must be set');
// A 5xx would otherwise be retried ten times with backoff; fail fast instead.
process.env.VERCEL_BLOB_RETRIES = '0';

const STORE = TOKEN.split('_')[3];
const apiUrl = new URL(API);
const RUN = `run-${Date.now()}-${crypto.randomBytes(3).toString('hex')}`;
const p = (name) => `${RUN}/${name}`;
const pub = { access: 'public', token: TOKEN };

// The SDK's get() and presigned GET URLs always target the production blob
// host; send those connections to the emulator, which serves that Host too.
const defaultConnect = buildConnector({});
setGlobalDispatcher(new Agent({
  connect: (opts, cb) => {
    if (opts.hostname.endsWith('.blob.vercel-storage.com')) {
      const socket = net.connect(Number(apiUrl.port), apiUrl.hostname, () => cb(null, socket));
      socket.on('error', (e) => cb(e));
      return;
    }
    return defaultConnect(opts, cb);
  },
}));

const sha = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
async function fetchText(url, init) {
  const res = await fetch(url, init);
  return { res, text: await res.text() };
}

describe('put', () => {
  test('public put returns emulator URLs whose content is readable', async () => {
    const r = await blob.put(p('a.txt'), 'hello', pub);
    assert.equal(r.pathname, p('a.txt'));
    assert.equal(r.contentType, 'text/plain');
    assert.match(r.etag, /^".+"$/);
    assert.equal(r.url, `${API}/_blob/public/${p('a.txt')}`);
    assert.equal(r.downloadUrl, `${r.url}?download=1`);
    assert.equal(r.contentDisposition, 'attachment; filename="a.txt"');
    const { res, text } = await fetchText(r.url);
    assert.equal(res.status, 200);
    assert.equal(text, 'hello');
    assert.equal(res.headers.get('etag'), r.etag);
    assert.match(res.headers.get('content-disposition'), /^inline/);
    const dl = await fetch(r.downloadUrl);
    assert.match(dl.headers.get('content-disposition'), /^attachment; filename="a.txt"/);
    await dl.arrayBuffer();
  });

  test('private blobs need the token to be read', async () => {
    const r = await blob.put(p('priv/secret.txt'), 'shh', { access: 'private', token: TOKEN });
    assert.equal(r.url, `${API}/_blob/private/${p('priv/secret.txt')}`);
    const anon = await fetchText(r.url);
    assert.equal(anon.res.status, 403);
    assert.equal(JSON.parse(anon.text).error.code, 'forbidden');
    const authed = await fetchText(r.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(authed.res.status, 200);
    assert.equal(authed.text, 'shh');
  });

  test('addRandomSuffix puts a suffix before the extension', async () => {
    const r = await blob.put(p('dir/b.json'), '{"x":1}', { ...pub, addRandomSuffix: true });
    assert.match(r.pathname, new RegExp(`^${RUN}/dir/b-[A-Za-z0-9]+\\.json$`));
    assert.equal(r.contentType, 'application/json');
  });

  test('overwriting is refused unless allowOverwrite', async () => {
    const first = await blob.put(p('ow.txt'), 'one', pub);
    await assert.rejects(blob.put(p('ow.txt'), 'two', pub), (e) => {
      assert.ok(e instanceof blob.BlobError);
      assert.match(e.message, /This blob already exists/);
      return true;
    });
    const second = await blob.put(p('ow.txt'), 'two', { ...pub, allowOverwrite: true });
    assert.notEqual(second.etag, first.etag);
    assert.equal((await fetchText(second.url)).text, 'two');
  });

  test('contentType and cacheControlMaxAge are kept', async () => {
    const r = await blob.put(p('ct.bin'), 'data', { ...pub, contentType: 'application/x-custom', cacheControlMaxAge: 3600 });
    assert.equal(r.contentType, 'application/x-custom');
    const h = await blob.head(r.url, { token: TOKEN });
    assert.equal(h.contentType, 'application/x-custom');
    assert.equal(h.cacheControl, 'public, max-age=3600');
    const res = await fetch(r.url);
    assert.equal(res.headers.get('content-type'), 'application/x-custom');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=3600');
    await res.arrayBuffer();
  });

  test('ifMatch: a stale etag is a precondition failure', async () => {
    const r = await blob.put(p('im.txt'), 'v1', pub);
    await assert.rejects(blob.put(p('im.txt'), 'v2', { ...pub, ifMatch: '"stale"' }), blob.BlobPreconditionFailedError);
    const r2 = await blob.put(p('im.txt'), 'v2', { ...pub, ifMatch: r.etag });
    assert.notEqual(r2.etag, r.etag);
  });

  test('a foreign token is refused with BlobAccessError', async () => {
    await assert.rejects(blob.put(p('x.txt'), 'x', { access: 'public', token: `vercel_blob_rw_${STORE}_wrongsecret` }), blob.BlobAccessError);
    await assert.rejects(blob.list({ token: 'vercel_blob_rw_otherstore_secret' }), blob.BlobAccessError);
  });
});

describe('head, list, copy, rename, del', () => {
  test('head by pathname and URL; missing blob is BlobNotFoundError', async () => {
    const r = await blob.put(p('h.txt'), 'hello head', pub);
    for (const ref of [p('h.txt'), r.url, `https://${STORE}.public.blob.vercel-storage.com/${p('h.txt')}`]) {
      const h = await blob.head(ref, { token: TOKEN });
      assert.equal(h.pathname, p('h.txt'));
      assert.equal(h.size, 10);
      assert.equal(h.etag, r.etag);
      assert.equal(h.url, r.url);
      assert.ok(h.uploadedAt instanceof Date && !Number.isNaN(h.uploadedAt.getTime()));
      assert.equal(h.cacheControl, 'public, max-age=2592000');
    }
    await assert.rejects(blob.head(p('nope.txt'), { token: TOKEN }), blob.BlobNotFoundError);
  });

  test('list paginates with cursor', async () => {
    const names = ['l/1.txt', 'l/2.txt', 'l/3.txt', 'l/4.txt', 'l/5.txt'].map(p);
    for (const n of names) await blob.put(n, n, pub);
    const seen = [];
    let cursor;
    let pages = 0;
    do {
      const page = await blob.list({ token: TOKEN, prefix: p('l/'), limit: 2, cursor });
      pages += 1;
      assert.ok(page.blobs.length <= 2);
      seen.push(...page.blobs.map((b) => b.pathname));
      for (const b of page.blobs) {
        assert.equal(b.size, b.pathname.length);
        assert.ok(b.uploadedAt instanceof Date);
        assert.equal(b.downloadUrl, `${b.url}?download=1`);
      }
      cursor = page.hasMore ? page.cursor : undefined;
      if (page.hasMore) assert.ok(page.cursor);
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, names);
  });

  test('list in folded mode returns folders', async () => {
    for (const n of ['f/a.txt', 'f/sub/x.txt', 'f/sub/y.txt', 'f/sub2/z.txt']) await blob.put(p(n), 'x', pub);
    const r = await blob.list({ token: TOKEN, prefix: p('f/'), mode: 'folded' });
    assert.deepEqual(r.folders, [p('f/sub/'), p('f/sub2/')]);
    assert.deepEqual(r.blobs.map((b) => b.pathname), [p('f/a.txt')]);
    assert.equal(r.hasMore, false);
    const paged = await blob.list({ token: TOKEN, prefix: p('f/'), mode: 'folded', limit: 2 });
    assert.equal(paged.hasMore, true);
    const rest = await blob.list({ token: TOKEN, prefix: p('f/'), mode: 'folded', limit: 2, cursor: paged.cursor });
    assert.deepEqual([...paged.blobs.map((b) => b.pathname), ...paged.folders, ...rest.folders], [p('f/a.txt'), p('f/sub/'), p('f/sub2/')]);
  });

  test('createFolder makes a folder entry', async () => {
    const r = await blob.createFolder(p('made'), { token: TOKEN });
    assert.equal(r.pathname, p('made/'));
    const listed = await blob.list({ token: TOKEN, prefix: `${RUN}/`, mode: 'folded' });
    assert.ok(listed.folders.includes(p('made/')));
  });

  test('copy keeps content and type; refuses to overwrite', async () => {
    const src = await blob.put(p('c/src.md'), '# title', pub);
    const c = await blob.copy(src.url, p('c/dst.md'), { access: 'public', token: TOKEN });
    assert.equal(c.pathname, p('c/dst.md'));
    assert.equal(c.contentType, 'text/markdown');
    assert.equal((await fetchText(c.url)).text, '# title');
    await assert.rejects(blob.copy(src.url, p('c/dst.md'), { access: 'public', token: TOKEN }), /already exists/);
    const c2 = await blob.copy(p('c/src.md'), p('c/dst.md'), { access: 'public', token: TOKEN, allowOverwrite: true, contentType: 'text/plain' });
    assert.equal(c2.contentType, 'text/plain');
    await assert.rejects(blob.copy(p('c/missing.md'), p('c/x.md'), { access: 'public', token: TOKEN }), blob.BlobNotFoundError);
  });

  test('rename moves a blob', async () => {
    await blob.put(p('r/old.txt'), 'moving', pub);
    const r = await blob.rename(p('r/old.txt'), p('r/new.txt'), pub);
    assert.equal(r.pathname, p('r/new.txt'));
    assert.equal((await fetchText(r.url)).text, 'moving');
    await assert.rejects(blob.head(p('r/old.txt'), { token: TOKEN }), blob.BlobNotFoundError);
  });

  test('del: single URL, batch, ifMatch', async () => {
    const a = await blob.put(p('d/a.txt'), 'a', pub);
    await blob.put(p('d/b.txt'), 'b', pub);
    await blob.put(p('d/c.txt'), 'c', pub);
    await blob.del(a.url, { token: TOKEN });
    await assert.rejects(blob.head(p('d/a.txt'), { token: TOKEN }), blob.BlobNotFoundError);
    await blob.del([p('d/b.txt'), p('d/never-existed.txt')], { token: TOKEN });
    await assert.rejects(blob.head(p('d/b.txt'), { token: TOKEN }), blob.BlobNotFoundError);
    await assert.rejects(blob.del(p('d/c.txt'), { token: TOKEN, ifMatch: '"stale"' }), blob.BlobPreconditionFailedError);
    const c = await blob.head(p('d/c.txt'), { token: TOKEN });
    await blob.del(p('d/c.txt'), { token: TOKEN, ifMatch: c.etag });
    const left = await blob.list({ token: TOKEN, prefix: p('d/') });
    assert.deepEqual(left.blobs, []);
  });
});

describe('multipart', () => {
  test('put with multipart: true for a body over 10 MiB', async () => {
    const big = crypto.randomBytes(10 * 1024 * 1024 + 123);
    const r = await blob.put(p('big.bin'), big, { ...pub, multipart: true });
    assert.equal(r.pathname, p('big.bin'));
    assert.equal(r.contentType, 'application/octet-stream');
    const h = await blob.head(r.url, { token: TOKEN });
    assert.equal(h.size, big.length);
    const body = Buffer.from(await (await fetch(r.url)).arrayBuffer());
    assert.equal(sha(body), sha(big));
  });

  test('manual createMultipartUpload / uploadPart / completeMultipartUpload', async () => {
    const part1 = crypto.randomBytes(5 * 1024 * 1024);
    const { key, uploadId } = await blob.createMultipartUpload(p('manual.bin'), pub);
    assert.ok(key && uploadId);
    const p2 = await blob.uploadPart(p('manual.bin'), 'tail', { ...pub, key, uploadId, partNumber: 2 });
    const p1 = await blob.uploadPart(p('manual.bin'), part1, { ...pub, key, uploadId, partNumber: 1 });
    assert.equal(p1.partNumber, 1);
    const r = await blob.completeMultipartUpload(p('manual.bin'), [p2, p1], { ...pub, key, uploadId });
    const body = Buffer.from(await (await fetch(r.url)).arrayBuffer());
    assert.equal(sha(body), sha(Buffer.concat([part1, Buffer.from('tail')])));
  });

  test('a non-final part under 5 MiB is refused', async () => {
    const { key, uploadId } = await blob.createMultipartUpload(p('small.bin'), pub);
    const p1 = await blob.uploadPart(p('small.bin'), 'tiny', { ...pub, key, uploadId, partNumber: 1 });
    const p2 = await blob.uploadPart(p('small.bin'), 'tail', { ...pub, key, uploadId, partNumber: 2 });
    await assert.rejects(blob.completeMultipartUpload(p('small.bin'), [p1, p2], { ...pub, key, uploadId }), /minimum part size/);
  });
});

describe('client tokens', () => {
  let app;
  let appUrl;
  const completed = [];
  let waiters = [];
  const nextCompletion = () => new Promise((resolve, reject) => {
    if (completed.length) return resolve(completed.shift());
    const timer = setTimeout(() => reject(new Error('no upload-completed callback within 10 s')), 10_000);
    waiters.push((v) => { clearTimeout(timer); resolve(v); });
  });

  before(async () => {
    app = http.createServer(async (req, res) => {
      let raw = '';
      for await (const c of req) raw += c;
      try {
        const r = await client.handleUpload({
          token: TOKEN,
          request: req,
          body: JSON.parse(raw),
          onBeforeGenerateToken: async () => ({
            allowedContentTypes: ['text/plain'],
            tokenPayload: 'from-app',
            callbackUrl: `${appUrl}/cb`,
          }),
          onUploadCompleted: async (payload) => {
            const w = waiters.shift();
            if (w) w(payload); else completed.push(payload);
          },
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(r));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: e.message }));
      }
    });
    await new Promise((r) => app.listen(0, '127.0.0.1', r));
    appUrl = `http://127.0.0.1:${app.address().port}`;
  });
  after(() => app.close());

  const token = (extra = {}) => client.generateClientTokenFromReadWriteToken({
    token: TOKEN,
    pathname: p('up/avatar.png'),
    allowedContentTypes: ['image/*'],
    maximumSizeInBytes: 1024,
    validUntil: Date.now() + 60_000,
    ...extra,
  });

  test('client put with an SDK-generated token, and its signed callback', async () => {
    const t = await token({ onUploadCompleted: { callbackUrl: `${appUrl}/cb`, tokenPayload: '{"user":1}' } });
    const r = await client.put(p('up/avatar.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]), { access: 'public', token: t, contentType: 'image/png' });
    assert.equal(r.pathname, p('up/avatar.png'));
    assert.equal(r.contentType, 'image/png');
    // handleUpload throws unless x-vercel-signature verifies with the rw token.
    const done = await nextCompletion();
    assert.equal(done.blob.pathname, p('up/avatar.png'));
    assert.equal(done.blob.url, r.url);
    assert.equal(done.tokenPayload, '{"user":1}');
  });

  test('wrong content type is BlobContentTypeNotAllowedError', async () => {
    await assert.rejects(client.put(p('up/avatar.png'), 'text', { access: 'public', token: await token(), contentType: 'text/plain' }), blob.BlobContentTypeNotAllowedError);
  });

  test('too large a body is BlobFileTooLargeError', async () => {
    await assert.rejects(client.put(p('up/avatar.png'), crypto.randomBytes(2048), { access: 'public', token: await token(), contentType: 'image/png' }), blob.BlobFileTooLargeError);
  });

  test('an expired token is BlobClientTokenExpiredError', async () => {
    await assert.rejects(client.put(p('up/avatar.png'), 'x', { access: 'public', token: await token({ validUntil: Date.now() - 1000 }), contentType: 'image/png' }), blob.BlobClientTokenExpiredError);
  });

  test('another pathname is BlobPathnameMismatchError', async () => {
    await assert.rejects(client.put(p('up/other.png'), 'x', { access: 'public', token: await token(), contentType: 'image/png' }), blob.BlobPathnameMismatchError);
  });

  test('a token signed with another key is BlobAccessError', async () => {
    const forged = await client.generateClientTokenFromReadWriteToken({ token: `vercel_blob_rw_${STORE}_notthesecret`, pathname: p('up/avatar.png') });
    await assert.rejects(client.put(p('up/avatar.png'), 'x', { access: 'public', token: forged, contentType: 'image/png' }), blob.BlobAccessError);
  });

  test('a client token cannot list', async () => {
    await assert.rejects(blob.list({ token: await token() }), (e) => e instanceof blob.BlobError && /client token/.test(e.message));
  });

  test('client multipart upload with a client token', async () => {
    const t = await token({ pathname: p('up/big.png'), maximumSizeInBytes: 20 * 1024 * 1024 });
    const data = crypto.randomBytes(6 * 1024 * 1024);
    const { key, uploadId } = await client.createMultipartUpload(p('up/big.png'), { access: 'public', token: t, contentType: 'image/png' });
    const part = await client.uploadPart(p('up/big.png'), data, { access: 'public', token: t, key, uploadId, partNumber: 1, contentType: 'image/png' });
    const r = await client.completeMultipartUpload(p('up/big.png'), [part], { access: 'public', token: t, key, uploadId, contentType: 'image/png' });
    const h = await blob.head(r.url, { token: TOKEN });
    assert.equal(h.size, data.length);
  });

  test('upload() through handleUpload, with the completion callback', async () => {
    const r = await client.upload(p('up/note.txt'), 'client side', { access: 'public', handleUploadUrl: `${appUrl}/api/upload`, clientPayload: 'cp' });
    assert.equal(r.pathname, p('up/note.txt'));
    assert.equal((await fetchText(r.url)).text, 'client side');
    const done = await nextCompletion();
    assert.equal(done.blob.pathname, p('up/note.txt'));
    assert.equal(done.tokenPayload, 'from-app');
  });
});

describe('presigned URLs', () => {
  test('issueSignedToken + presignUrl for put, get, head and delete', async () => {
    const pathname = p('ps/file.txt');
    const st = await blob.issueSignedToken({ token: TOKEN, pathname, operations: ['get', 'head', 'put', 'delete'], validUntil: Date.now() + 600_000 });
    assert.ok(st.delegationToken && st.clientSigningToken);
    assert.ok(st.validUntil > Date.now());
    assert.equal(blob.parseStoreIdFromDelegationToken(st.delegationToken), STORE);

    const { presignedUrl: putUrl } = await blob.presignUrl(st, { pathname, operation: 'put', access: 'private', maximumSizeInBytes: 100, allowOverwrite: true });
    assert.ok(putUrl.startsWith(`${API}/?pathname=`));
    const put = await fetchText(putUrl, { method: 'PUT', body: 'presigned body', headers: { 'x-vercel-blob-access': 'private' } });
    assert.equal(put.res.status, 200, put.text);
    const putResult = JSON.parse(put.text);
    assert.equal(putResult.pathname, pathname);

    const tooBig = await fetchText(putUrl, { method: 'PUT', body: 'x'.repeat(200), headers: { 'x-vercel-blob-access': 'private' } });
    assert.equal(tooBig.res.status, 400);
    assert.match(JSON.parse(tooBig.text).error.message, /the file length cannot be greater than 100/);

    const { presignedUrl: getUrl } = await blob.presignUrl(st, { pathname, operation: 'get', access: 'private' });
    assert.ok(getUrl.startsWith(`https://${STORE}.private.blob.vercel-storage.com/`));
    const got = await fetchText(getUrl);
    assert.equal(got.res.status, 200);
    assert.equal(got.text, 'presigned body');
    // The same URL on the emulator's own blob host works as well.
    const local = new URL(getUrl);
    const localUrl = `${API}/_blob/private${local.pathname}${local.search}`;
    assert.equal((await fetchText(localUrl)).text, 'presigned body');

    const { presignedUrl: headUrl } = await blob.presignUrl(st, { pathname, operation: 'head', access: 'private' });
    const headRes = await fetch(headUrl, { method: 'HEAD' });
    assert.equal(headRes.status, 200);
    assert.equal(headRes.headers.get('content-length'), '14');
    // A get signature does not authorize a head, and tampering is caught.
    assert.equal((await fetch(getUrl, { method: 'HEAD' })).status, 403);
    const tampered = new URL(getUrl);
    tampered.searchParams.set('vercel-blob-signature', 'A'.repeat(43));
    assert.equal((await fetchText(tampered.toString())).res.status, 403);
    assert.equal((await fetchText(`${API}/_blob/private/${pathname}`)).res.status, 403);

    const { presignedUrl: delUrl } = await blob.presignUrl(st, { pathname, operation: 'delete' });
    const del = await fetchText(delUrl, { method: 'DELETE' });
    assert.equal(del.res.status, 200, del.text);
    await assert.rejects(blob.head(pathname, { token: TOKEN }), blob.BlobNotFoundError);
  });

  test('a token scoped to one pathname does not sign another', async () => {
    const st = await blob.issueSignedToken({ token: TOKEN, pathname: p('ps/only.txt'), operations: ['put'] });
    await assert.rejects(blob.presignUrl(st, { pathname: p('ps/other.txt'), operation: 'put' }), /does not match the signed token scope/);
    // Forge the URL for another pathname by hand: the emulator refuses it.
    const { presignedUrl } = await blob.presignUrl(st, { pathname: p('ps/only.txt'), operation: 'put' });
    const forged = new URL(presignedUrl);
    forged.searchParams.set('pathname', p('ps/other.txt'));
    const res = await fetchText(forged.toString(), { method: 'PUT', body: 'x' });
    assert.equal(res.res.status, 403);
  });

  test('uploadPresigned through handleUploadPresigned', async () => {
    const { publicKey } = crypto.generateKeyPairSync('ed25519');
    const webhookPublicKey = publicKey.export({ type: 'spki', format: 'pem' });
    const app = http.createServer(async (req, res) => {
      let raw = '';
      for await (const c of req) raw += c;
      try {
        const r = await client.handleUploadPresigned({
          body: JSON.parse(raw),
          request: req,
          webhookPublicKey,
          getSignedToken: async (pathname) => ({
            token: await blob.issueSignedToken({ token: TOKEN, pathname, operations: ['put'] }),
            urlOptions: { allowOverwrite: true, maximumSizeInBytes: 1000 },
          }),
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(r));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: e.message }));
      }
    });
    await new Promise((r) => app.listen(0, '127.0.0.1', r));
    try {
      const r = await client.uploadPresigned(p('ps/up.txt'), 'presigned upload', {
        access: 'public',
        handleUploadUrl: `http://127.0.0.1:${app.address().port}/api/presigned`,
      });
      assert.equal(r.pathname, p('ps/up.txt'));
      assert.equal((await fetchText(r.url)).text, 'presigned upload');
    } finally {
      app.close();
    }
  });
});

describe('reading through the SDK', () => {
  test('get() public and private, 304 with ifNoneMatch, null when missing', async () => {
    await blob.put(p('g/pub.txt'), 'get me', pub);
    const r = await blob.get(p('g/pub.txt'), { access: 'public', token: TOKEN });
    assert.equal(r.statusCode, 200);
    assert.equal(r.blob.contentType, 'text/plain');
    assert.equal(r.blob.size, 6);
    assert.equal(await new Response(r.stream).text(), 'get me');

    await blob.put(p('g/priv.txt'), 'private get', { access: 'private', token: TOKEN });
    const pr = await blob.get(p('g/priv.txt'), { access: 'private', token: TOKEN });
    assert.equal(pr.statusCode, 200);
    assert.equal(await new Response(pr.stream).text(), 'private get');

    const again = await blob.get(p('g/priv.txt'), { access: 'private', token: TOKEN, ifNoneMatch: pr.blob.etag });
    assert.equal(again.statusCode, 304);
    assert.equal(again.stream, null);
    assert.equal(again.blob.etag, pr.blob.etag);

    assert.equal(await blob.get(p('g/missing.txt'), { access: 'public', token: TOKEN }), null);
    // A public blob is not readable through the private host.
    assert.equal(await blob.get(p('g/pub.txt'), { access: 'private', token: TOKEN }), null);
  });

  test('Range requests on the blob host', async () => {
    const r = await blob.put(p('range.txt'), '0123456789', pub);
    const part = await fetchText(r.url, { headers: { range: 'bytes=2-5' } });
    assert.equal(part.res.status, 206);
    assert.equal(part.text, '2345');
    assert.equal(part.res.headers.get('content-range'), 'bytes 2-5/10');
    const bad = await fetchText(r.url, { headers: { range: 'bytes=50-' } });
    assert.equal(bad.res.status, 416);
    assert.equal(bad.res.headers.get('content-range'), 'bytes */10');
  });
});

describe('API base with the production-style /api/blob suffix', () => {
  test('put, head, list, del work under <base>/api/blob', async () => {
    const saved = process.env.VERCEL_BLOB_API_URL;
    process.env.VERCEL_BLOB_API_URL = `${API}/api/blob`;
    try {
      const r = await blob.put(p('api/x.txt'), 'x', pub);
      assert.equal((await blob.head(p('api/x.txt'), { token: TOKEN })).size, 1);
      assert.equal((await blob.list({ token: TOKEN, prefix: p('api/') })).blobs.length, 1);
      await blob.del(r.url, { token: TOKEN });
      await assert.rejects(blob.head(p('api/x.txt'), { token: TOKEN }), blob.BlobNotFoundError);
    } finally {
      process.env.VERCEL_BLOB_API_URL = saved;
    }
  });
});
