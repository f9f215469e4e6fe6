/**
 * The dashboard in real Chromium against real daemons: log in with the
 * one-time URL, see the folder list, add a folder with a new key, open the
 * share dialog (three keys, three QR codes), watch a second daemon sync, see a
 * file with a hostile name (made on the second daemon) and a conflict in the
 * history as text, change settings (and see which need a restart), see hostile
 * names rendered as text (no script runs), log out, and find the one-time URL
 * used up. Screenshots of each view go to test-output/screenshots/ on every
 * run.
 *
 * Chromium is /usr/bin/chromium (or $CHROMIUM_PATH). Without it the test is
 * skipped with a message, except under CI=true, where that is a failure.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile, access, utimes } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT, TestHome, makeTempDir, pollUntil, type DaemonProcess } from './helpers/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const SCREENSHOT_DIR = join(REPO_ROOT, 'test-output', 'screenshots');
const README_SCREENSHOT = join(REPO_ROOT, 'docs', 'images', 'dashboard.png');
const XSS = '<img src=x onerror=window.__xss=1>';
const UI_TIMEOUT_MS = 15_000;
/** How long to wait for the two daemons to connect before concluding sync is not wired yet. */
const PEER_CONNECT_WAIT_MS = 20_000;
const SYNC_WAIT_MS = 30_000;
const README_VIEWPORT = { width: 1280, height: 560 };
const PHOTO_BYTES = 180 * 1024;
/** Modification times of the two conflicting edits: the second device's is later, so it wins. */
const OLDER_EDIT_MTIME = new Date(1_700_000_000_000);
const NEWER_EDIT_MTIME = new Date(1_700_000_100_000);

interface PageProbe {
  __xss?: unknown;
  __cspViolations?: string[];
}

const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const skipReason = !haveChromium && !inCi ? `chromium not found at ${CHROMIUM} (install it, or set CHROMIUM_PATH); skipped outside CI` : false;

async function uiUrl(h: TestHome): Promise<string> {
  const printed = (await h.cliOk(['ui'])).trim();
  assert.match(printed, /^http:\/\/127\.0\.0\.1:\d+\/login#token=[A-Za-z0-9_-]{43}$/);
  return printed;
}

describe('dashboard in Chromium', { skip: skipReason }, () => {
  let a: TestHome;
  let b: TestHome;
  let daemonA: DaemonProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let firstLoginUrl: string;
  let xssDir: string;
  let docsDir: string;
  let rwKey = '';
  let bDocs: string;
  let aListen: string;
  let bListen: string;
  const pageErrors: string[] = [];

  async function shot(name: string): Promise<string> {
    const file = join(SCREENSHOT_DIR, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }

  async function openTab(name: 'folders' | 'peers' | 'history' | 'settings'): Promise<void> {
    await page.click(`[data-testid=tab-${name}]`);
  }

  before(async () => {
    if (!haveChromium) throw new Error(`CI=true but chromium is missing at ${CHROMIUM}`);
    const build = spawnSync(process.execPath, ['scripts/build-web.mjs'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(build.status, 0, `web build failed: ${build.stderr}`);
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const root = await makeTempDir('ss-ui-');
    a = await TestHome.create({ root, name: 'a', init: ['--name', XSS, '--listen', '127.0.0.1:0', '--ui-listen', '127.0.0.1:0', '--no-discovery'] });
    b = await TestHome.create({ root, name: 'b', init: ['--name', 'laptop', '--listen', '127.0.0.1:0', '--ui-listen', '127.0.0.1:0', '--no-discovery'] });
    xssDir = join(root, XSS);
    docsDir = join(root, 'Documents');
    await mkdir(xssDir);
    await mkdir(docsDir);
    await writeFile(join(xssDir, `${XSS}.txt`), 'hostile name, harmless content\n');
    for (let i = 0; i < 5; i++) await writeFile(join(docsDir, `note-${i}.txt`), `note ${i}\n`.repeat(200 * (i + 1)));
    daemonA = await a.startDaemon();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    // Injected by the browser, outside the page's CSP: records any violation the policy reports.
    await context.addInitScript(() => {
      const w = window as unknown as PageProbe;
      w.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => { w.__cspViolations?.push(`${e.violatedDirective} ${e.blockedURI}`); });
    });
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (msg) => { if (msg.type() === 'error' && /Content Security Policy/i.test(msg.text())) pageErrors.push(msg.text()); });
  });

  after(async () => {
    await browser?.close();
    await b?.cleanup();
    await a?.cleanup();
  });

  test('the one-time URL logs in and shows the folder list', async () => {
    firstLoginUrl = await uiUrl(a);
    base = firstLoginUrl.split('/login')[0] as string;
    await page.goto(firstLoginUrl);
    await page.waitForURL(`${base}/`);
    await page.waitForSelector('[data-testid=folder-list]', { state: 'attached' });
    await page.waitForSelector('text=No folders yet');
    assert.equal(await page.textContent('[data-testid=device-name]'), XSS);
    await shot('folders-empty');
  });

  test('add a folder with a new key; with no device sharing it, it says so (not "up to date")', async () => {
    for (const dir of [docsDir, xssDir]) {
      await page.click('[data-testid=add-folder]');
      await page.fill('[data-testid=add-folder-dialog] input[name=path]', dir);
      await page.click('[data-testid=add-folder-submit]');
      await page.waitForSelector('[data-testid=add-folder-dialog]', { state: 'detached' });
    }
    const folder = page.locator('[data-testid=folder]', { hasText: 'Documents' });
    await folder.and(page.locator('[data-state=unshared]')).waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=folder][data-state=unshared]').nth(1).waitFor({ timeout: 30_000 });
    assert.equal(await folder.locator('[data-testid=folder-state]').textContent(), 'Not shared yet');
    assert.equal(await folder.locator('[data-testid=folder-notice]').textContent(), 'no device that shares this folder is connected');
    const status = await a.status();
    assert.deepEqual(status.folders.map((f) => f.path).sort(), [docsDir, xssDir].sort());
    assert.ok(status.folders.every((f) => f.type === 'rw'));
    const hostile = page.locator('[data-testid=folder]', { has: page.locator('h3', { hasText: XSS }) });
    assert.equal(await hostile.locator('h3').textContent(), xssDir, 'a hostile path is shown as text');
    await shot('folders');
  });

  test('the share dialog shows three keys, each with a QR code', async () => {
    await page.locator('[data-testid=folder]', { hasText: 'Documents' }).locator('[data-testid=share]').click();
    await page.waitForSelector('[data-testid=share-dialog]');
    const rows = page.locator('[data-testid=share-key]');
    await pollUntil(async () => ((await rows.count()) === 3 ? true : undefined), { timeoutMs: UI_TIMEOUT_MS, description: 'three share keys' });
    const types = await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));
    assert.deepEqual(types, ['rw', 'ro', 'encrypted']);
    const keys = await page.locator('[data-testid=share-key-text]').evaluateAll((els) => els.map((e) => (e as HTMLTextAreaElement).value));
    assert.match(keys[0] ?? '', /^W/);
    assert.match(keys[1] ?? '', /^R/);
    assert.match(keys[2] ?? '', /^E/);
    assert.equal(new Set(keys).size, 3);
    rwKey = keys[0] ?? '';
    const cliRo = (await a.cliOk(['folder', 'share', docsDir, '--type', 'ro'])).trim();
    assert.ok(cliRo.includes(keys[1] ?? '-'), 'the page shows the same read-only key as the CLI');
    const qrs = await page.locator('[data-testid=share-qr]').evaluateAll((els) =>
      els.map((e) => ({ src: (e as HTMLImageElement).src.slice(0, 26), width: (e as HTMLImageElement).naturalWidth })));
    assert.equal(qrs.length, 3);
    for (const qr of qrs) {
      assert.equal(qr.src, 'data:image/svg+xml;base64,');
      assert.ok(qr.width > 0, 'the QR code image decoded');
    }
    await shot('share');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=share-dialog]', { state: 'detached' });
  });

  test('a second daemon joins the folder: progress reaches 100%', async () => {
    await b.startDaemon();
    aListen = await a.listenAddress();
    bListen = await b.listenAddress();
    await a.cliOk(['peer', 'add', bListen]);
    await b.cliOk(['peer', 'add', aListen]);
    bDocs = join(b.root, 'b-docs');
    await mkdir(bDocs);
    await b.cliOk(['folder', 'add', bDocs, '--key', rwKey]);
    await openTab('peers');
    await page.waitForSelector('[data-testid=peer]');
    // The daemons run the network: the peers must connect, and the second device must sync.
    await pollUntil(async () => ((await a.status()).peers.some((p) => p.connected) ? true : undefined), { timeoutMs: PEER_CONNECT_WAIT_MS });
    const ctxB = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    try {
      const pageB = await ctxB.newPage();
      pageB.setDefaultTimeout(UI_TIMEOUT_MS);
      await pageB.goto(await uiUrl(b));
      const folderB = pageB.locator('[data-testid=folder]', { hasText: 'b-docs' });
      // An empty folder also reads 100%: wait for the five files to be shown here, then for 100%.
      await folderB.locator('dd', { hasText: /^5 files/ }).first().waitFor({ timeout: SYNC_WAIT_MS });
      await folderB.locator('[data-testid=folder-progress]', { hasText: '100%' }).waitFor({ timeout: SYNC_WAIT_MS });
      const done = await b.waitForFolder(bDocs, (f) => f.state === 'idle' && f.needFiles === 0 && f.localFiles === 5, { timeoutMs: SYNC_WAIT_MS });
      assert.equal(done.localBytes, (await a.status()).folders.find((f) => f.path === docsDir)?.localBytes);
      await pageB.screenshot({ path: join(SCREENSHOT_DIR, 'second-device.png'), fullPage: true });
    } finally {
      await ctxB.close();
    }
    await page.waitForSelector('[data-testid=peer] >> text=connected');
    await shot('peers');
  });

  /** No script ran, nothing was injected, the CSP reported nothing (pageerror, console or the violation event). */
  async function assertNothingInjected(): Promise<void> {
    const probe = await page.evaluate(() => {
      const w = window as unknown as PageProbe;
      return {
        xss: w.__xss,
        csp: w.__cspViolations ?? null,
        injectedImgs: Array.from(document.querySelectorAll('img')).filter((i) => i.getAttribute('src') === 'x').length,
        historyImgs: document.querySelectorAll('[data-testid=history] img').length,
      };
    });
    assert.equal(probe.xss, undefined, 'no injected handler ran');
    assert.equal(probe.injectedImgs, 0, 'no img element was injected');
    assert.equal(probe.historyImgs, 0, 'the history holds text only');
    assert.deepEqual(probe.csp, [], 'no CSP violation was reported');
    assert.deepEqual(pageErrors, []);
  }

  test('a file with a hostile name made on the second device syncs here and is text in the history', async () => {
    const name = `${XSS}.txt`;
    await writeFile(join(bDocs, name), 'made on the laptop\n');
    await b.cliOk(['folder', 'rescan', bDocs, '--wait']);
    await pollUntil(async () => ((await readFile(join(docsDir, name), 'utf8').catch(() => null)) === 'made on the laptop\n' ? true : undefined),
      { timeoutMs: SYNC_WAIT_MS, description: 'the hostile file on the first device' });
    await openTab('history');
    const line = `Added by a peer: ${name} in ${docsDir}`;
    const row = page.locator('[data-testid=history] li.from-peer', { hasText: name });
    await row.first().waitFor({ timeout: UI_TIMEOUT_MS });
    assert.equal(await row.first().locator('.ev-text').textContent(), line);
    await assertNothingInjected();
  });

  test('both devices edit one file while apart: the history names the conflict copy of this device\'s edit', async () => {
    const file = 'note-0.txt';
    await Promise.all([a.cliOk(['peer', 'remove', bListen]), b.cliOk(['peer', 'remove', aListen])]);
    await Promise.all([
      a.waitForStatus((s) => !s.peers.some((p) => p.connected), { timeoutMs: SYNC_WAIT_MS, description: 'a apart from b' }),
      b.waitForStatus((s) => !s.peers.some((p) => p.connected), { timeoutMs: SYNC_WAIT_MS, description: 'b apart from a' }),
    ]);
    await writeFile(join(docsDir, file), 'edited on the workstation\n');
    await utimes(join(docsDir, file), OLDER_EDIT_MTIME, OLDER_EDIT_MTIME);
    await writeFile(join(bDocs, file), 'edited on the laptop, later\n');
    await utimes(join(bDocs, file), NEWER_EDIT_MTIME, NEWER_EDIT_MTIME);
    // Both scanners must have recorded their edit before the two meet again.
    await Promise.all([a.cliOk(['folder', 'rescan', docsDir, '--wait']), b.cliOk(['folder', 'rescan', bDocs, '--wait'])]);
    await Promise.all([a.cliOk(['peer', 'add', bListen]), b.cliOk(['peer', 'add', aListen])]);
    const row = page.locator('[data-testid=history] li.ev-conflict', { hasText: file }).first();
    await row.waitFor({ timeout: SYNC_WAIT_MS });
    const text = (await row.locator('.ev-text').textContent()) ?? '';
    const m = /^Conflict on note-0\.txt in (.+): another device's edit won; this device's own edit was kept as (note-0\.sync-conflict-\d{8}-\d{6}-[0-9A-F]{7}\.txt)$/.exec(text);
    assert.ok(m, `conflict line: ${text}`);
    assert.equal(m[1], docsDir);
    // The words match the disk: the copy holds this device's edit, the file the laptop's.
    assert.equal(await readFile(join(docsDir, m[2] as string), 'utf8'), 'edited on the workstation\n');
    await pollUntil(async () => ((await readFile(join(docsDir, file), 'utf8')) === 'edited on the laptop, later\n' ? true : undefined),
      { timeoutMs: SYNC_WAIT_MS, description: 'the winning version here' });
    await page.locator('[data-testid=peer-summary].on').waitFor({ timeout: SYNC_WAIT_MS });
    await assertNothingInjected();
  });

  test('settings: the name applies at once; a setting that needs a restart is listed', async () => {
    await openTab('settings');
    assert.equal(await page.locator('[data-testid=restart-notice]').count(), 0, 'nothing waits for a restart yet');
    await page.fill('[data-testid=settings-name]', 'workstation');
    await page.check('[data-testid=settings-discovery]');
    await page.click('[data-testid=settings-save]');
    await page.waitForSelector('[data-testid=settings-message] >> text=Saved');
    assert.equal((await a.status()).device.name, 'workstation');
    const notice = page.locator('[data-testid=restart-notice]');
    await notice.waitFor();
    assert.deepEqual(await notice.locator('li').allTextContents(), ['Finding devices on the local network']);
    await shot('settings');
    // Back as the daemon runs: the notice goes away.
    await page.uncheck('[data-testid=settings-discovery]');
    await page.click('[data-testid=settings-save]');
    await notice.waitFor({ state: 'detached' });
    // Put the hostile name back for the next test.
    await page.fill('[data-testid=settings-name]', XSS);
    await page.click('[data-testid=settings-save]');
    await pollUntil(async () => ((await a.status()).device.name === XSS ? true : undefined), { timeoutMs: 5000, description: 'name restored' });
  });

  test('hostile names are text: no script ran, no injected element, no CSP violation', async () => {
    await openTab('history');
    await page.waitForSelector('[data-testid=history] li');
    const historyText = await page.textContent('[data-testid=history]');
    assert.ok(historyText?.includes(`Folder added: ${xssDir}`), 'the hostile path is listed as text');
    assert.ok(historyText?.includes(`Added by a peer: ${XSS}.txt in ${docsDir}`), 'the hostile file name is listed as text');
    await openTab('folders');
    await page.waitForFunction((name) => document.querySelector('[data-testid=device-name]')?.textContent === name, XSS);
    await assertNothingInjected();
    await openTab('history');
    await shot('history');
    await openTab('folders');
  });

  test('log out: the API refuses the page and the one-time URL no longer works', async () => {
    await page.click('[data-testid=logout]');
    await page.waitForURL(`${base}/login`);
    const apiStatus = await page.evaluate(async () => (await fetch('/api/status')).status);
    assert.equal(apiStatus, 401);
    // Opened again (a new tab, as from a terminal): refused.
    const again = await context.newPage();
    try {
      again.setDefaultTimeout(UI_TIMEOUT_MS);
      await again.goto(firstLoginUrl);
      await again.waitForSelector('[data-testid=login-message]');
      assert.match((await again.textContent('[data-testid=login-message]')) ?? '', /expired or was already used/);
      assert.equal(again.url(), `${base}/login`, 'the token is wiped from the address bar');
      assert.equal(await again.evaluate(async () => (await fetch('/api/status')).status), 401);
      await again.screenshot({ path: join(SCREENSHOT_DIR, 'login.png'), fullPage: true });
    } finally {
      await again.close();
    }
    // Pasted into the same tab (only the fragment changes): refused as well.
    await page.goto(firstLoginUrl);
    await page.waitForSelector('[data-testid=login-message]');
    assert.equal(await page.evaluate(async () => (await fetch('/api/status')).status), 401);
    assert.ok(daemonA.running);
  });

  test('remove a folder (after a confirmation), then the README screenshot', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 760 } });
    try {
      const p = await ctx.newPage();
      p.setDefaultTimeout(UI_TIMEOUT_MS);
      await p.goto(await uiUrl(a));
      await p.waitForSelector('[data-testid=folder][data-state=idle]');
      const hostile = p.locator('[data-testid=folder]', { has: p.locator('h3', { hasText: XSS }) });
      await hostile.locator('[data-testid=remove]').click();
      await p.waitForSelector('[data-testid=remove-dialog]');
      assert.equal((await a.status()).folders.length, 2, 'nothing is removed before the confirmation');
      await p.click('[data-testid=confirm-remove]');
      await hostile.waitFor({ state: 'detached' });
      assert.deepEqual((await a.status()).folders.map((f) => f.path), [docsDir]);
      // A second folder, on this device only, so the README image shows more than one card.
      const photosDir = join(dirname(docsDir), 'Photos');
      await mkdir(photosDir);
      for (let i = 1; i <= 3; i++) await writeFile(join(photosDir, `holiday-${i}.jpg`), randomBytes(PHOTO_BYTES * i));
      await a.cliOk(['folder', 'add', photosDir, '--key', await a.newKey(), '--wait']);
      await p.click('[data-testid=tab-settings]');
      await p.fill('[data-testid=settings-name]', 'workstation');
      await p.click('[data-testid=settings-save]');
      await p.waitForSelector('[data-testid=settings-message] >> text=Saved');
      await p.click('[data-testid=tab-folders]');
      await p.waitForFunction(() => document.querySelector('[data-testid=device-name]')?.textContent === 'workstation');
      // The README image shows a folder with files here and a connected peer.
      await p.locator('[data-testid=peer-summary].on').waitFor({ timeout: SYNC_WAIT_MS });
      await p.locator('[data-testid=folder][data-state=idle]', { hasText: 'Documents' }).locator('dd', { hasText: /^7 files/ }).first().waitFor();
      // Photos is on this device only: scanned, and honest that no device has it.
      await p.locator('[data-testid=folder][data-state=unshared]', { hasText: 'Photos' }).locator('dd', { hasText: /^3 files/ }).first().waitFor();
      const file = join(SCREENSHOT_DIR, 'dashboard.png');
      await p.setViewportSize(README_VIEWPORT);
      await p.screenshot({ path: file });
      // Narrow screens: the layout reflows, nothing scrolls sideways.
      await p.setViewportSize({ width: 390, height: 800 });
      const overflow = await p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone screen`);
      await p.screenshot({ path: join(SCREENSHOT_DIR, 'mobile.png'), fullPage: true });
      // The committed README image is refreshed on request, so ordinary runs leave the tree clean.
      const missing = await access(README_SCREENSHOT).then(() => false, () => true);
      if (missing || process.env.SEALSYNC_UPDATE_SCREENSHOTS === '1') {
        await mkdir(join(REPO_ROOT, 'docs', 'images'), { recursive: true });
        await copyFile(file, README_SCREENSHOT);
      }
    } finally {
      await ctx.close();
    }
  });
});
