// The official @vercel/blob SDK (pinned in package.json) doing the compare
// program's Vercel rows against the same emulator as our VercelStore.
//
// One long-lived process, so the SDK runs warm (JIT, connection pool) like
// the Rust client does. It reads one JSON command per line on stdin and
// answers one JSON line on stdout; times cover the SDK calls only:
//   {"op":"hello"}                                    -> {"node","sdk"}
//   {"op":"put_get","prefix","size","count","concurrency"} -> {"put_ms","get_ms"}
//   {"op":"list","prefix"}                            -> {"list_ms","listed"}
// Failures answer {"error": "..."}.
// Needs VERCEL_BLOB_API_URL and BLOB_READ_WRITE_TOKEN in the environment.
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';
import { Agent, setGlobalDispatcher, buildConnector } from 'undici';
import * as blob from '@vercel/blob';

const API = process.env.VERCEL_BLOB_API_URL;
const TOKEN = process.env.BLOB_READ_WRITE_TOKEN;
if (!API || !TOKEN) {
  console.error('bench.mjs: VERCEL_BLOB_API_URL and BLOB_READ_WRITE_TOKEN must be set');
  process.exit(2);
}
const apiUrl = new URL(API);
const access = { access: 'private', token: TOKEN };

// get() always addresses the production blob host; the emulator serves
// that Host too, so its connections are sent to the emulator instead.
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

const key = (prefix, i) => `${prefix}/${String(i).padStart(5, '0')}.bin`;

// `count` calls of `op`, `concurrency` at a time, like the Rust side's workers.
async function pool(count, concurrency, op) {
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      await op(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
}

async function putGet({ prefix, size, count, concurrency }) {
  const body = crypto.randomBytes(size);
  let start = performance.now();
  await pool(count, concurrency, (i) =>
    blob.put(key(prefix, i), body, { ...access, contentType: 'application/octet-stream' }));
  const put_ms = performance.now() - start;
  start = performance.now();
  await pool(count, concurrency, async (i) => {
    const got = await blob.get(key(prefix, i), access);
    if (!got || got.statusCode !== 200) {
      throw new Error(`get ${key(prefix, i)}: ${got ? `status ${got.statusCode}` : 'not found'}`);
    }
    const bytes = await new Response(got.stream).arrayBuffer();
    if (bytes.byteLength !== size) {
      throw new Error(`get ${key(prefix, i)}: ${bytes.byteLength} bytes, expected ${size}`);
    }
  });
  const get_ms = performance.now() - start;
  return { put_ms, get_ms };
}

async function list({ prefix }) {
  const start = performance.now();
  let listed = 0;
  let cursor;
  do {
    const page = await blob.list({ token: TOKEN, prefix, limit: 1000, cursor });
    listed += page.blobs.length;
    cursor = page.hasMore ? page.cursor : undefined;
  } while (cursor);
  return { list_ms: performance.now() - start, listed };
}

function hello() {
  const pkg = new URL('./node_modules/@vercel/blob/package.json', import.meta.url);
  return { node: process.version, sdk: JSON.parse(fs.readFileSync(pkg, 'utf8')).version };
}

const ops = { hello, put_get: putGet, list };
for await (const line of readline.createInterface({ input: process.stdin })) {
  let reply;
  try {
    const command = JSON.parse(line);
    const op = ops[command.op];
    reply = op ? await op(command) : { error: `unknown op ${command.op}` };
  } catch (e) {
    reply = { error: String((e && e.stack) || e) };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}
