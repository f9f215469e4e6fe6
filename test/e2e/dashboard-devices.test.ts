/**
 * "My devices" in real Chromium against real daemons on loopback:
 * - A's dashboard makes an invite ("Add device": QR code, link, code, copy
 *   buttons, the auto-approve choice); a second invite is revoked from the
 *   list and a join with it is refused;
 * - device C joins with the CLI (`device join CODE`); A's dashboard shows the
 *   join waiting (a banner on every tab, a card with Approve / Deny), C's
 *   name (hostile markup) shown as text only; Approve in the dashboard, and C
 *   gets A's folders with their key types and their files;
 * - a server invited from A's CLI is listed as a server, with why it is never
 *   linked; unlinking C asks first and then refuses C; Deny refuses a
 *   waiting device in one line;
 * - the invite code's secret is in no daemon log and no browser console line;
 * - every state fits 360 px (scrollWidth <= clientWidth), every control has a
 *   name, and Approve is reachable with Tab; screenshots at desktop and 360 px.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseInviteCode } from '../../src/crypto/invite.js';
import { makeTempDir, pollUntil, scanSettled, TestHome, type DaemonProcess } from './helpers/harness.js';
import { browserSkipReason, buildAndLaunch, DESKTOP, horizontalOverflow, PHONE, screenshot, unnamedControls } from './helpers/browser.js';

const SYNC_TIMEOUT_MS = 45_000;
const UI_TIMEOUT_MS = 15_000;
/** C's name: markup that must show as text. */
const HOSTILE_NAME = '<img src=x onerror="window.pwned=1">gamma';
const init = (name: string, ui: boolean) => ['--name', name, '--listen', '127.0.0.1:0', ui ? '--ui-listen' : '--no-ui', ...(ui ? ['127.0.0.1:0'] : []), '--no-discovery'];

describe('My devices in Chromium', { skip: browserSkipReason() }, () => {
  let root: string;
  let a: TestHome;
  let c: TestHome;
  let srv: TestHome;
  let aDaemon: DaemonProcess;
  let cDaemon: DaemonProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let docs: string;
  let photos: string;
  let into: string;
  const codes: string[] = [];
  const consoleLines: string[] = [];

  async function devicesTab(): Promise<void> {
    await page.click('[data-testid=tab-peers]');
    await page.waitForSelector('[data-testid=linked-list]');
  }

  /** Desktop and 360 px screenshots; at 360 px nothing scrolls sideways and every control is named. */
  async function bothWidths(name: string, docsShot = true): Promise<void> {
    for (const [viewport, suffix] of [[DESKTOP, 'desktop'], [PHONE, 'phone']] as const) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(150);
      const o = await horizontalOverflow(page);
      assert.ok(o.scroll <= o.client, `${name} at ${viewport.width} px: scrollWidth ${o.scroll} > ${o.client} (${o.wide.join(', ')})`);
      assert.deepEqual(await unnamedControls(page), [], `${name}: every control has a name`);
      await screenshot(page, `${name}-${suffix}`, docsShot);
    }
    await page.setViewportSize(DESKTOP);
  }

  async function createInvite(autoApprove: boolean): Promise<string> {
    await page.click('[data-testid=add-device]');
    await page.waitForSelector('[data-testid=add-device-dialog]');
    const box = page.locator('[data-testid=invite-auto-approve]');
    assert.equal(await box.isChecked(), false, 'auto-approve is off unless chosen');
    if (autoApprove) await box.check();
    await page.click('[data-testid=invite-create]');
    const code = (await page.locator('[data-testid=invite-code]').inputValue()).trim();
    codes.push(code);
    return code;
  }

  async function closeDialog(): Promise<void> {
    await page.keyboard.press('Escape');
    await page.waitForSelector('dialog[open]', { state: 'detached' });
  }

  before(async () => {
    browser = await buildAndLaunch();
    root = await makeTempDir('ss-devices-ui-');
    [a, c, srv] = await Promise.all([
      TestHome.create({ root, name: 'a', init: init('alpha', true) }),
      TestHome.create({ root, name: 'c', init: init(HOSTILE_NAME, false) }),
      TestHome.create({ root, name: 's', init: init('vps', false) }),
    ]);
    const homeA = join(root, 'home-a');
    docs = join(root, 'a-docs');
    photos = join(root, 'a-photos');
    into = join(root, 'c-sync');
    await Promise.all([mkdir(homeA), mkdir(docs), mkdir(photos), mkdir(into)]);
    await writeFile(join(docs, 'hello.txt'), 'hello from A\n');
    const debug = { SEALSYNC_LOG_LEVEL: 'debug' };
    // A loaded machine (other tests, Chromium) can take a while to start three daemons.
    const timeoutMs = 60_000;
    [aDaemon, cDaemon] = await Promise.all([a.startDaemon({ env: { ...debug, HOME: homeA }, timeoutMs }), c.startDaemon({ env: debug, timeoutMs }), srv.startDaemon({ timeoutMs })]);
    await a.cliOk(['folder', 'add', docs, '--key', await a.newKey(), '--wait']);
    // A read-only folder: C must receive it as read-only (empty: a read-only device's own files reach no one).
    await a.cliOk(['folder', 'add', photos, '--key', (await a.cliOk(['key', 'derive', '--read-only', await a.newKey()])).trim(), '--wait']);
    context = await browser.newContext({ viewport: DESKTOP });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    page = await context.newPage();
    page.setDefaultTimeout(UI_TIMEOUT_MS);
    page.on('console', (m) => consoleLines.push(m.text()));
    await page.goto((await a.cliOk(['ui'])).trim());
    await page.waitForSelector('[data-testid=folder-list]', { state: 'attached' });
  });

  after(async () => {
    await browser?.close();
    await Promise.all([a?.cleanup(), c?.cleanup(), srv?.cleanup()]);
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('"Add device" shows the invite as QR code, link and code with copy buttons; a revoked invite is refused', async () => {
    await devicesTab();
    assert.match(await page.locator('[data-testid=servers-why]').textContent() ?? '', /never linked: it holds only the encrypted keys/);
    await bothWidths('devices-empty', false);

    const code = await createInvite(false);
    assert.doesNotThrow(() => parseInviteCode(code), 'the shown code parses');
    assert.equal(await page.locator('[data-testid=invite-link]').inputValue(), `sealsync://invite?code=${code}`);
    assert.match(await page.locator('[data-testid=invite-qr]').getAttribute('src') ?? '', /^data:image\/svg\+xml;base64,/);
    await page.click('[data-testid=copy-invite-code]');
    await page.locator('[data-testid=copy-invite-code]', { hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code, 'Copy puts the code on the clipboard');
    await page.click('[data-testid=copy-invite-link]');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `sealsync://invite?code=${code}`);
    await bothWidths('add-device');
    await closeDialog();

    // A second invite, approved automatically, revoked from the list: joining with it is refused in one line.
    const revoked = await createInvite(true);
    const inviteId = await page.locator('[data-testid=invite]').getAttribute('data-id');
    assert.match(await page.locator('[data-testid=invite]').textContent() ?? '', /approved as soon as it joins/);
    await closeDialog();
    const listed = JSON.parse(await a.cliOk(['device', 'invites', '--json'])) as unknown;
    assert.ok(JSON.stringify(listed).includes(`"${inviteId}"`), 'the CLI lists the same invite');
    const row = page.locator(`[data-testid=invite-row][data-id="${inviteId}"]`);
    await row.waitFor();
    assert.match(await row.textContent() ?? '', /waiting until .* approved automatically/);
    await row.locator('[data-testid=revoke-invite]').click();
    await page.locator(`[data-testid=invite-row][data-id="${inviteId}"][data-state=revoked]`).waitFor();
    const refused = await c.cli(['device', 'join', revoked, '--into', into]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr.trim(), /^[^\n]*revoked[^\n]*$/, 'one line saying the code was revoked');
    assert.equal(await page.locator('[data-testid=invite-row][data-state=pending]').count(), 1, 'the first invite still waits');
  });

  test('C joins with the CLI, waits in A\'s dashboard, is approved there, and gets A\'s folders', async () => {
    const cId = (await c.status()).device.id;
    const joining = c.cli(['device', 'join', codes[0] as string, '--into', into], { timeoutMs: 90_000 });
    // Wherever the user is, a banner says a device waits.
    await page.click('[data-testid=tab-folders]');
    const banner = page.locator('[data-testid=pending-banner]');
    await banner.waitFor();
    assert.equal(await banner.locator('span').textContent(), `“${HOSTILE_NAME}” waits for your approval to join.`);
    await banner.locator('button').click();
    const card = page.locator(`[data-testid=pending-join][data-id="${cId}"]`);
    await card.waitFor();
    assert.equal(await card.locator('[data-testid=pending-name]').textContent(), HOSTILE_NAME, 'the peer-given name as text');
    assert.equal(await card.locator('img').count(), 0, 'no markup from the name');
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
    assert.equal(await card.locator('[data-testid=pending-id]').textContent(), cId);
    await bothWidths('devices-pending');

    // Keyboard: Tab from the Devices tab reaches Deny, then Approve; Enter approves.
    await page.focus('[data-testid=tab-peers]');
    let reached = '';
    for (let i = 0; i < 40 && reached !== 'approve'; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '');
    }
    assert.equal(reached, 'approve', 'Approve is reachable with Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), `Approve ${HOSTILE_NAME}`);
    await page.keyboard.press('Enter');

    const r = await joining;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Linked to alpha/);
    const s = await c.waitForStatus((st) => st.folders.length === 2, { timeoutMs: SYNC_TIMEOUT_MS, description: 'A\'s two folders on C' });
    assert.deepEqual(new Map(s.folders.map((f) => [f.path, f.type])), new Map([[join(into, 'a-docs'), 'rw'], [join(into, 'a-photos'), 'ro']]));
    await c.waitForFolder(join(into, 'a-docs'), (f) => scanSettled(f) && f.needFiles === 0 && f.localFiles === 1, { timeoutMs: SYNC_TIMEOUT_MS });
    assert.equal(await readFile(join(into, 'a-docs', 'hello.txt'), 'utf8'), 'hello from A\n');

    await page.locator('[data-testid=pending-join]').waitFor({ state: 'detached' });
    const linked = page.locator(`[data-testid=linked-device][data-id="${cId}"]`);
    await linked.locator('[data-testid=device-row-state]', { hasText: /^connected$/ }).waitFor({ timeout: SYNC_TIMEOUT_MS });
    assert.equal(await linked.locator('[data-testid=device-row-name]').textContent(), HOSTILE_NAME);
    assert.equal(await page.locator('[data-testid=invite-row][data-state=used]').count(), 1);
  });

  test('a server is listed as a server, never linked; unlinking C asks first, then refuses it', async () => {
    const created = JSON.parse(await a.cliOk(['device', 'invite', '--server', docs, '--auto-approve', '--json'])) as { code: string };
    codes.push(created.code);
    const joined = await srv.cli(['device', 'join', created.code, '--into', join(root, 's-store')]);
    assert.equal(joined.code, 0, joined.stderr);
    const sId = (await srv.status()).device.id;
    const server = page.locator(`[data-testid=server][data-id="${sId}"]`);
    await server.waitFor();
    assert.equal(await page.locator(`[data-testid=linked-device][data-id="${sId}"]`).count(), 0, 'a server is never a linked device');
    assert.equal(await server.locator('[data-testid=unlink]').count(), 0);
    await page.locator('[data-testid=peer]', { hasText: 'vps' }).waitFor({ timeout: SYNC_TIMEOUT_MS });
    await bothWidths('devices');

    const cId = (await c.status()).device.id;
    const unlink = page.locator(`[data-testid=linked-device][data-id="${cId}"] [data-testid=unlink]`);
    assert.equal(await unlink.getAttribute('aria-label'), `Unlink ${HOSTILE_NAME}`);
    await unlink.click();
    await page.waitForSelector('[data-testid=unlink-dialog]');
    await bothWidths('unlink');
    await closeDialog();
    assert.equal(await page.locator(`[data-testid=linked-device][data-id="${cId}"]`).count(), 1, 'Escape unlinks nothing');
    await unlink.click();
    await page.click('[data-testid=confirm-unlink]');
    await page.locator(`[data-testid=linked-device][data-id="${cId}"]`).waitFor({ state: 'detached' });
    await page.locator('[data-testid=unlinked]', { hasText: cId }).waitFor();
    const list = JSON.parse(await a.cliOk(['device', 'list', '--json'])) as { unlinked: string[] };
    assert.ok(list.unlinked.includes(cId), 'the CLI agrees: C is unlinked');
  });

  test('Deny in the dashboard refuses the waiting device in one line and gives it nothing', async () => {
    await devicesTab();
    const code = await createInvite(false);
    await closeDialog();
    const sId = (await srv.status()).device.id;
    const before = (await srv.status()).folders.length;
    const joining = srv.cli(['device', 'join', code, '--into', join(root, 's-other')], { timeoutMs: 90_000 });
    const card = page.locator(`[data-testid=pending-join][data-id="${sId}"]`);
    await card.waitFor();
    assert.equal(await card.locator('[data-testid=deny]').getAttribute('aria-label'), 'Deny vps');
    await card.locator('[data-testid=deny]').click();
    const r = await joining;
    assert.notEqual(r.code, 0);
    assert.match(r.stderr.trim(), /^[^\n]*did not approve[^\n]*$/, 'one line: not approved');
    await card.waitFor({ state: 'detached' });
    assert.equal(await page.locator(`[data-testid=linked-device][data-id="${sId}"]`).count(), 0, 'a denied device is not linked');
    assert.equal((await srv.status()).folders.length, before, 'nothing more reached it');
  });

  test('no invite secret in any daemon log or browser console line', async () => {
    await pollUntil(async () => (codes.length === 4 ? true : undefined), { timeoutMs: 1000, description: 'four codes made' });
    const text = [aDaemon.logs().stdout, aDaemon.logs().stderr, cDaemon.logs().stdout, cDaemon.logs().stderr, ...consoleLines].join('\n');
    assert.ok(text.includes('invite created'), 'the logs were captured (and name the invite, not its secret)');
    for (const code of codes) {
      const secret = Buffer.from(parseInviteCode(code).secret);
      for (const needle of [code, code.replace(/[^A-Za-z0-9]/g, ''), code.slice(4, 24), secret.toString('hex'), secret.toString('base64'), secret.toString('base64url')]) {
        assert.ok(!text.includes(needle), `a secret's form appears in a log: ${needle.slice(0, 6)}…`);
      }
    }
  });
});
