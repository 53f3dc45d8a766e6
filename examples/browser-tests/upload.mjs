// Opens the recordings page in headless Chromium, uploads a file through the
// page's own form (straight to the signed URL), then downloads it through
// the listed link inside the page. Prints one JSON line for the Rust test.
//
// Environment: APP_URL, UPLOAD_FILE, UPLOAD_NAME, UPLOAD_TYPE, CHROMIUM_PATH,
// and optionally SCREENSHOT (a PNG path).
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { chromium } from 'playwright-core';

const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const appUrl = need('APP_URL');
const file = readFileSync(need('UPLOAD_FILE'));
const name = need('UPLOAD_NAME');
const type = need('UPLOAD_TYPE');

const browser = await chromium.launch({
  executablePath: need('CHROMIUM_PATH'),
  // Root in CI needs --no-sandbox; the machine has no network, so keep
  // Chromium from trying to reach Google's services at start-up.
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
try {
  const page = await browser.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  await page.goto(appUrl);
  await page.setInputFiles('#file', { name, mimeType: type, buffer: file });
  await page.click('#upload');
  // The page marks failures with the `error` class, whatever their text.
  await page.waitForFunction(() => {
    const s = document.getElementById('status');
    return s.className === 'error' || s.textContent.startsWith('Uploaded');
  }, null, { timeout: 30000 });
  const statusText = await page.locator('#status').textContent();
  if (!statusText.startsWith('Uploaded')) {
    throw new Error(`the page reported: ${statusText}; console: ${consoleErrors.join(' | ')}`);
  }
  const item = page.locator('#recordings li', { hasText: name });
  await item.waitFor({ timeout: 10000 });
  const key = await item.getAttribute('data-key');
  const href = await item.locator('a.download').getAttribute('href');
  const downloaded = await page.evaluate(async (url) => {
    const response = await fetch(url);
    const bytes = new Uint8Array(await response.arrayBuffer());
    return { status: response.status, disposition: response.headers.get('content-disposition'), bytes: Array.from(bytes) };
  }, href);
  if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
  const sha256 = createHash('sha256').update(Buffer.from(downloaded.bytes)).digest('hex');
  console.log(JSON.stringify({
    key,
    status: statusText,
    downloadStatus: downloaded.status,
    disposition: downloaded.disposition,
    downloadedSha256: sha256,
    downloadedLength: downloaded.bytes.length,
  }));
} finally {
  await browser.close();
}
