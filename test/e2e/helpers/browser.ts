/**
 * Chromium for dashboard tests: where it is, how it is launched, and the
 * checks every screen gets (no sideways scrolling at phone width, every
 * button named), plus screenshots (test-output/screenshots/, copied to
 * docs/screenshots/ with SEALSYNC_UPDATE_SCREENSHOTS=1).
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from './harness.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT_DIR = join(REPO_ROOT, 'test-output', 'screenshots');
const DOCS_SCREENSHOT_DIR = join(REPO_ROOT, 'docs', 'screenshots');
export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 360, height: 780 };

/** Why the browser tests cannot run here (no Chromium outside CI), or false. */
export function browserSkipReason(): string | false {
  return !existsSync(CHROMIUM) && process.env.CI !== 'true' ? `chromium not found at ${CHROMIUM} (install it, or set CHROMIUM_PATH); skipped outside CI` : false;
}

/** Builds the dashboard (web/ -> dist/web) and starts Chromium. */
export async function buildAndLaunch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`CI=true but chromium is missing at ${CHROMIUM}`);
  const build = spawnSync(process.execPath, ['scripts/build-web.mjs'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  if (build.status !== 0) throw new Error(`web build failed: ${build.stderr}`);
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** Saves a full-page screenshot; into the docs too when SEALSYNC_UPDATE_SCREENSHOTS=1 and `docs`. */
export async function screenshot(page: Page, name: string, docs = false): Promise<void> {
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  if (docs && process.env.SEALSYNC_UPDATE_SCREENSHOTS === '1') {
    await mkdir(DOCS_SCREENSHOT_DIR, { recursive: true });
    await copyFile(file, join(DOCS_SCREENSHOT_DIR, `${name}.png`));
  }
}

/** The page's scroll and client width, and the first elements that stick out (for the message). */
export async function horizontalOverflow(page: Page): Promise<{ scroll: number; client: number; wide: string[] }> {
  return page.evaluate(() => {
    const root = document.documentElement;
    const wide = Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > root.clientWidth + 0.5)
      .slice(0, 3).map((e) => `${e.tagName.toLowerCase()}.${e.className}`);
    return { scroll: root.scrollWidth, client: root.clientWidth, wide };
  });
}

/** Buttons (and links) with no name a screen reader could read, as their outer HTML. */
export async function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => Array.from(document.querySelectorAll('button, a[href], input, textarea, select'))
    .filter((e) => {
      const el = e as HTMLElement;
      if (el.getAttribute('aria-label')?.trim()) return false;
      if ((el.tagName === 'BUTTON' || el.tagName === 'A') && el.textContent?.trim()) return false;
      const id = el.getAttribute('id');
      if (el.closest('label') || (id && document.querySelector(`label[for="${id}"]`))) return false;
      return true;
    })
    .map((e) => e.outerHTML.slice(0, 120)));
}
