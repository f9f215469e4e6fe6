/**
 * Versions, restore and conflicts in real Chromium against two real daemons
 * ("desk" and "laptop"):
 * - a file overwritten on the laptop is restored from the desk's dashboard:
 *   the old content is back on both devices;
 * - a directory deleted on the laptop is restored: every file is back on both;
 * - a conflict made while the two were apart shows, after the desk's daemon
 *   restarts, with both device names; "Keep this one" leaves one file and one
 *   archived version;
 * - each folder card lists the devices sharing it and how far each is by its
 *   own count (100 %, then short of a file the desk sends slowly), as
 *   `status --json` does;
 * - a paused folder shows the counts it had when paused (not zeros);
 * - no screen at 360 px overflows sideways (scrollWidth <= clientWidth), with
 *   screenshots at desktop and phone width in test-output/screenshots/.
 *
 * Chromium is /usr/bin/chromium (or $CHROMIUM_PATH); skipped without it
 * outside CI, as dashboard-browser.test.ts is.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ConflictInfo, FileVersionsInfo, StatusReport } from '../../src/api/daemon-api.js';
import type { FolderStatus } from '../../src/engine/peer/folder-status.js';
import { REPO_ROOT, TestHome, makeTempDir, pollUntil, type DaemonProcess } from './helpers/harness.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT_DIR = join(REPO_ROOT, 'test-output', 'screenshots');
const DOCS_SCREENSHOT_DIR = join(REPO_ROOT, 'docs', 'screenshots');
const SYNC_WAIT_MS = 45_000;
const UI_TIMEOUT_MS = 15_000;
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 360, height: 780 };
const DIR_FILES = ['photos/one.txt', 'photos/two.txt', 'photos/deeper/three.txt'];

const haveChromium = existsSync(CHROMIUM);
const skipReason = !haveChromium && process.env.CI !== 'true' ? `chromium not found at ${CHROMIUM}; skipped outside CI` : false;

async function readOrNull(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch(() => null);
}

async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  await pollUntil(async () => ((await probe()) ? true : undefined), { timeoutMs: SYNC_WAIT_MS, intervalMs: 200, description: what });
}

describe('versions, restore and conflicts in Chromium', { skip: skipReason }, () => {
  let desk: TestHome;
  let laptop: TestHome;
  let deskDaemon: DaemonProcess;
  let browser: Browser;
  let page: Page;
  let deskDocs: string;
  let laptopDocs: string;
  let deskListen: string;
  let laptopListen: string;

  async function login(): Promise<void> {
    const url = (await desk.cliOk(['ui'])).trim();
    await page.goto(url);
    await page.waitForSelector('[data-testid=folder-list]', { state: 'attached' });
  }

  async function shot(name: string, docs = false): Promise<void> {
    const file = join(SCREENSHOT_DIR, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (docs && process.env.SEALSYNC_UPDATE_SCREENSHOTS === '1') await copyFile(file, join(DOCS_SCREENSHOT_DIR, `${name}.png`));
  }

  async function openVersions(): Promise<void> {
    await page.locator('[data-testid=folder]', { hasText: 'desk-docs' }).locator('[data-testid=versions]').click();
    await page.waitForSelector('[data-testid=versions-dialog]');
  }

  async function closeDialog(): Promise<void> {
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
  }

  async function bothHave(rel: string, content: string): Promise<void> {
    await until(`${rel} = ${JSON.stringify(content)} on both devices`, async () =>
      (await readOrNull(join(deskDocs, rel))) === content && (await readOrNull(join(laptopDocs, rel))) === content);
  }

  before(async () => {
    if (!haveChromium) throw new Error(`CI=true but chromium is missing at ${CHROMIUM}`);
    const build = spawnSync(process.execPath, ['scripts/build-web.mjs'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    assert.equal(build.status, 0, `web build failed: ${build.stderr}`);
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    await mkdir(DOCS_SCREENSHOT_DIR, { recursive: true });
    const root = await makeTempDir('ss-versions-');
    desk = await TestHome.create({ root, name: 'desk', init: ['--name', 'desk', '--listen', '127.0.0.1:0', '--ui-listen', '127.0.0.1:0', '--no-discovery'] });
    laptop = await TestHome.create({ root, name: 'laptop', init: ['--name', 'laptop', '--listen', '127.0.0.1:0', '--ui-listen', '127.0.0.1:0', '--no-discovery'] });
    deskDocs = join(root, 'desk-docs');
    laptopDocs = join(root, 'laptop-docs');
    await mkdir(join(deskDocs, 'photos/deeper'), { recursive: true });
    await mkdir(laptopDocs);
    await writeFile(join(deskDocs, 'report.txt'), 'the old report\n');
    await writeFile(join(deskDocs, 'plan.txt'), 'the plan, first draft\n');
    for (const f of DIR_FILES) await writeFile(join(deskDocs, f), `content of ${f}\n`);
    deskDaemon = await desk.startDaemon();
    await laptop.startDaemon();
    deskListen = await desk.listenAddress();
    laptopListen = await laptop.listenAddress();
    const key = (await desk.newKey()).trim();
    await desk.cliOk(['folder', 'add', deskDocs, '--key', key, '--wait']);
    await laptop.cliOk(['folder', 'add', laptopDocs, '--key', key]);
    await desk.cliOk(['peer', 'add', laptopListen]);
    await laptop.cliOk(['peer', 'add', deskListen]);
    await bothHave('photos/deeper/three.txt', 'content of photos/deeper/three.txt\n');
    await bothHave('report.txt', 'the old report\n');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    page = await (await browser.newContext({ viewport: DESKTOP })).newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    await login();
  });

  after(async () => {
    await browser?.close();
    await laptop?.cleanup();
    await desk?.cleanup();
  });

  test('a file overwritten on the laptop is restored from the dashboard on both devices', async () => {
    await writeFile(join(laptopDocs, 'report.txt'), 'the laptop overwrote it\n');
    await laptop.cliOk(['folder', 'rescan', laptopDocs, '--wait']);
    await bothHave('report.txt', 'the laptop overwrote it\n');
    await openVersions();
    const file = page.locator('[data-testid=version-file][data-path="report.txt"]');
    await file.waitFor();
    assert.match((await file.locator('[data-testid=version]').first().textContent()) ?? '', /replaced by laptop/);
    await shot('versions', true);
    await file.locator('[data-testid=restore]').first().click();
    await page.waitForSelector('[data-testid=restore-done]');
    await closeDialog();
    await bothHave('report.txt', 'the old report\n');
  });

  test('a directory deleted on the laptop is restored: every file is back on both devices', async () => {
    await rm(join(laptopDocs, 'photos'), { recursive: true });
    await laptop.cliOk(['folder', 'rescan', laptopDocs, '--wait']);
    await until('photos gone on the desk', async () => !existsSync(join(deskDocs, 'photos/one.txt')));
    await openVersions();
    await page.locator('[data-testid=version-dir][data-path="photos"] [data-testid=restore-dir]').click();
    await page.waitForSelector('[data-testid=restore-done]');
    await closeDialog();
    for (const f of DIR_FILES) await bothHave(f, `content of ${f}\n`);
  });

  test('a conflict made while apart shows both device names after a restart; keeping one leaves one file and one archived version', async () => {
    await Promise.all([desk.cliOk(['peer', 'remove', laptopListen]), laptop.cliOk(['peer', 'remove', deskListen])]);
    await Promise.all([
      desk.waitForStatus((s) => !s.peers.some((p) => p.connected), { timeoutMs: SYNC_WAIT_MS }),
      laptop.waitForStatus((s) => !s.peers.some((p) => p.connected), { timeoutMs: SYNC_WAIT_MS }),
    ]);
    await writeFile(join(deskDocs, 'plan.txt'), 'the desk\'s plan\n');
    await utimes(join(deskDocs, 'plan.txt'), new Date(1_700_000_000_000), new Date(1_700_000_000_000));
    await writeFile(join(laptopDocs, 'plan.txt'), 'the laptop\'s plan, later\n');
    await utimes(join(laptopDocs, 'plan.txt'), new Date(1_700_000_100_000), new Date(1_700_000_100_000));
    await Promise.all([desk.cliOk(['folder', 'rescan', deskDocs, '--wait']), laptop.cliOk(['folder', 'rescan', laptopDocs, '--wait'])]);
    await Promise.all([desk.cliOk(['peer', 'add', laptopListen]), laptop.cliOk(['peer', 'add', deskListen])]);
    const conflictsOf = async (h: TestHome, dir: string) => JSON.parse(await h.cliOk(['folder', 'conflicts', dir, '--json'])) as ConflictInfo[];
    await until('the conflict copy on both devices', async () =>
      (await conflictsOf(desk, deskDocs)).length === 1 && (await conflictsOf(laptop, laptopDocs)).length === 1);

    await deskDaemon.stop();
    deskDaemon = await desk.startDaemon();
    await desk.waitForStatus((s) => s.peers.some((p) => p.connected && p.name === 'laptop'), { timeoutMs: SYNC_WAIT_MS });
    await login();
    await page.locator('[data-testid=folder]', { hasText: 'desk-docs' }).locator('[data-testid=conflicts]').click();
    const conflict = page.locator('[data-testid=conflict][data-file="plan.txt"]');
    await conflict.waitFor();
    assert.equal(await conflict.locator('[data-testid=conflict-original] [data-testid=conflict-device]').textContent(), 'written by laptop');
    assert.equal(await conflict.locator('[data-testid=conflict-copy] [data-testid=conflict-device]').textContent(), 'written by desk (this device)');
    await shot('conflicts', true);

    await conflict.locator('[data-testid=conflict-copy] [data-testid=keep]').click();
    await page.waitForSelector('[data-testid=no-conflicts]');
    await closeDialog();
    await bothHave('plan.txt', 'the desk\'s plan\n');
    const names = async (dir: string) => (await readdir(dir)).filter((n) => n.startsWith('plan'));
    await until('one plan file on both devices', async () => (await names(deskDocs)).length === 1 && (await names(laptopDocs)).length === 1);
    const versions = JSON.parse(await desk.cliOk(['folder', 'versions', deskDocs, 'plan.txt', '--json'])) as FileVersionsInfo[];
    const plan = versions.find((f) => f.path === 'plan.txt');
    assert.equal(plan?.versions.length, 1, 'one archived version: the laptop\'s content that was set aside');
    assert.equal(plan?.versions[0]?.replacedBy?.name, 'desk');
  });

  test('the history shows events from before the restart; devices show last seen and their folders', async () => {
    await page.click('[data-testid=tab-history]');
    // The conflict was resolved before the desk's daemon restarted: only the persistent log can show it now.
    const row = page.locator('[data-testid=history] li.ev-conflict', { hasText: 'plan.txt' }).first();
    await row.waitFor({ timeout: UI_TIMEOUT_MS });
    const logged = (await desk.cliOk(['events', '--json', '--limit', '1000'])).trim().split('\n').map((l) => JSON.parse(l) as { type: string; seq: number });
    assert.ok(logged.some((e) => e.type === 'conflict'), 'sealsync events shows the conflict from before the restart');
    const seqs = logged.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'oldest first, numbered on across the restart');
    assert.equal(new Set(seqs).size, seqs.length);
    await page.click('[data-testid=tab-peers]');
    const card = page.locator('[data-testid=peer]', { hasText: 'laptop' });
    assert.equal(await card.locator('[data-testid=peer-last-seen]').textContent(), 'now');
    assert.match((await card.textContent()) ?? '', /desk-docs/);
  });

  test('each folder card says how far every sharing device is, by its own count', async () => {
    const deviceOf = async (h: TestHome, dir: string, name: string) => {
      const folder = (await h.status()).folders.find((f) => f.path === dir);
      return folder?.devices?.find((d) => d.name === name);
    };
    await page.click('[data-testid=tab-folders]');
    const laptopRow = page.locator('[data-testid=folder]', { hasText: 'desk-docs' }).locator('[data-testid=folder-device]', { hasText: 'laptop' });
    await until('the laptop reported it is complete', async () => (await deviceOf(desk, deskDocs, 'laptop'))?.percent === 100);
    const cli = JSON.parse(await desk.cliOk(['status', '--json'])) as StatusReport;
    const fromCli = cli.folders.find((f) => f.path === deskDocs)?.devices ?? [];
    assert.deepEqual(fromCli.map((d) => [d.name, d.percent, d.needFiles, d.needBytes]), [['laptop', 100, 0, 0]], '`status --json` lists the laptop, complete');
    await laptopRow.and(page.locator('[data-percent="100"]')).waitFor();
    assert.match((await laptopRow.textContent()) ?? '', /laptop: 100 %, up to date/);

    // The desk sends slowly: while the laptop pulls a 1 MiB file it is short of it, by its own count.
    await desk.client.request('PATCH', '/api/settings', { bandwidth: { maxSendKBps: 64 } });
    try {
      await writeFile(join(deskDocs, 'slow.bin'), randomBytes(1024 * 1024));
      await desk.cliOk(['folder', 'rescan', deskDocs, '--wait']);
      await until('the laptop says it still needs slow.bin', async () => {
        const d = await deviceOf(desk, deskDocs, 'laptop');
        return d?.needFiles === 1 && d.needBytes !== null && d.needBytes > 0 && d.percent !== null && d.percent < 100;
      });
      await laptopRow.filter({ hasText: /\d+ %, 1 file \(/ }).waitFor({ timeout: SYNC_WAIT_MS });
      await shot('folder-devices');
    } finally {
      await desk.client.request('PATCH', '/api/settings', { bandwidth: { maxSendKBps: 0 } });
    }
    await until('the laptop has slow.bin and says so', async () => (await deviceOf(desk, deskDocs, 'laptop'))?.percent === 100);
    await laptopRow.and(page.locator('[data-percent="100"]')).waitFor({ timeout: SYNC_WAIT_MS });
  });

  test('the .sealignore editor previews what a draft excludes, saves it, and the rules reach the laptop', async () => {
    await mkdir(join(deskDocs, 'build'), { recursive: true });
    await writeFile(join(deskDocs, 'build/out.bin'), 'built');
    await writeFile(join(deskDocs, 'scratch.tmp'), 'scratch');
    await page.click('[data-testid=tab-folders]');
    await page.locator('[data-testid=folder]', { hasText: 'desk-docs' }).locator('[data-testid=ignore]').click();
    await page.waitForSelector('[data-testid=ignore-dialog]');
    await page.fill('[data-testid=ignore-text]', 'build/\n*.tmp\n');
    await page.click('[data-testid=ignore-preview]');
    const result = page.locator('[data-testid=ignore-result]');
    await result.waitFor();
    assert.deepEqual(await result.locator('li').allTextContents(), ['build/', 'scratch.tmp']);
    await page.click('[data-testid=ignore-save]');
    await bothHave('.sealignore', 'build/\n*.tmp\n');
    await closeDialog();
    // Made after the rules: scanned (a marker file next to it arrives) but never sent.
    await writeFile(join(deskDocs, 'late.tmp'), 'excluded');
    await writeFile(join(deskDocs, 'late-marker.txt'), 'sent');
    await desk.cliOk(['folder', 'rescan', deskDocs, '--wait']);
    await bothHave('late-marker.txt', 'sent');
    assert.equal(existsSync(join(laptopDocs, 'late.tmp')), false, 'an excluded file is not sent');
  });

  test('the versions browser sets the folder\'s retention', async () => {
    await openVersions();
    await page.fill('[data-testid=retention-days]', '90');
    await page.fill('[data-testid=retention-mib]', '512');
    await page.click('[data-testid=retention-save]');
    await page.locator('[data-testid=retention-save]', { hasText: 'Saved' }).waitFor();
    await closeDialog();
    const folders = JSON.parse(await desk.cliOk(['folder', 'list', '--json'])) as Array<{ retention?: unknown }>;
    assert.deepEqual(folders[0]?.retention, { retentionDays: 90, maxMiB: 512 });
  });

  test('pause stops syncing the folder here until resume', async () => {
    const card = page.locator('[data-testid=folder]', { hasText: 'desk-docs' });
    const counts = (f: FolderStatus | undefined) => f && [f.localFiles, f.localBytes, f.globalFiles, f.globalBytes, f.needFiles, f.needBytes];
    const before = (await desk.status()).folders.find((f) => f.path === deskDocs);
    await card.locator('[data-testid=pause]').click();
    await card.and(page.locator('[data-state=unshared]')).waitFor();
    assert.equal(await card.locator('[data-testid=pause]').textContent(), 'Resume');
    // Paused, the folder shows what it had and still needs (docs/daemon.md), not zeros; no devices.
    const st = await desk.cli(['status', '--json']);
    assert.equal(st.code, 3, 'a paused folder is not in sync: `status` exits 3');
    const paused = (JSON.parse(st.stdout) as StatusReport).folders.find((f) => f.path === deskDocs);
    assert.equal(paused?.paused, true);
    assert.equal(paused?.state, 'unshared');
    assert.match(paused?.notice ?? '', /^paused: /);
    assert.deepEqual(counts(paused), counts(before), 'the counts it had when paused');
    assert.ok((paused?.localFiles ?? 0) > 0 && (paused?.globalBytes ?? 0) > 0, 'not zero counts');
    assert.equal(paused?.devices, undefined, 'no device shares a paused folder');
    await writeFile(join(laptopDocs, 'while-paused.txt'), 'made while the desk paused\n');
    await laptop.cliOk(['folder', 'rescan', laptopDocs, '--wait']);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(existsSync(join(deskDocs, 'while-paused.txt')), false, 'nothing arrives while paused');
    const later = (await desk.status()).folders.find((f) => f.path === deskDocs);
    assert.deepEqual(counts(later), counts(before), 'still the counts it had when paused, though the laptop changed the folder');
    assert.match((await card.textContent()) ?? '', new RegExp(`Here${before?.localFiles} file`), 'the card shows them too');
    await card.locator('[data-testid=pause]').click();
    await bothHave('while-paused.txt', 'made while the desk paused\n');
  });

  test('every screen fits 360 px (no sideways scrolling), keyboard reachable, with screenshots', async () => {
    const screens: Array<[string, () => Promise<void>]> = [
      ['folders', async () => { await page.click('[data-testid=tab-folders]'); }],
      ['peers', async () => { await page.click('[data-testid=tab-peers]'); await page.waitForSelector('[data-testid=peer]'); }],
      ['history', async () => { await page.click('[data-testid=tab-history]'); }],
      ['settings', async () => { await page.click('[data-testid=tab-settings]'); }],
      ['versions', async () => { await page.click('[data-testid=tab-folders]'); await openVersions(); }],
      ['ignore', async () => {
        await page.locator('[data-testid=folder]', { hasText: 'desk-docs' }).locator('[data-testid=ignore]').click();
        await page.waitForSelector('[data-testid=ignore-dialog]');
      }],
      ['conflicts', async () => {
        await page.locator('[data-testid=folder]', { hasText: 'desk-docs' }).locator('[data-testid=conflicts]').click();
        await page.waitForSelector('[data-testid=conflicts-dialog]');
      }],
    ];
    for (const [viewport, suffix] of [[DESKTOP, 'desktop'], [PHONE, 'phone']] as const) {
      await page.setViewportSize(viewport);
      for (const [name, open] of screens) {
        await open();
        await page.waitForTimeout(150);
        const overflow = await page.evaluate(() => {
          const root = document.documentElement;
          const wide = Array.from(document.querySelectorAll("body *")).filter((e) => e.getBoundingClientRect().right > root.clientWidth + 0.5)
            .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
          return { scroll: root.scrollWidth, client: root.clientWidth, wide };
        });
        if (suffix === 'phone') assert.ok(overflow.scroll <= overflow.client, `${name} at 360 px: scrollWidth ${overflow.scroll} > ${overflow.client} (${overflow.wide.join(', ')})`);
        await shot(`${name}-${suffix}`, true);
        if (name === 'versions' || name === 'conflicts' || name === 'ignore') await closeDialog();
      }
    }
    // Keyboard: Tab from the top reaches the section tabs, Enter opens one.
    await page.click('[data-testid=tab-folders]');
    await page.focus('[data-testid=tab-peers]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=peer]');
    const labelled = await page.evaluate(() => Array.from(document.querySelectorAll("button")).every((b) => (b.getAttribute('aria-label') ?? b.textContent ?? '').trim() !== ''));
    assert.ok(labelled, 'every button has a name a screen reader can read');
  });
});
