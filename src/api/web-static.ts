/**
 * Serves the built dashboard (web/dist) read-only: regular files only, no
 * directory listings, no dotfiles, nothing outside the root (symlinks are
 * resolved and must stay inside), explicit content types.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';

export const MAX_STATIC_FILE_BYTES = 8 * 1024 * 1024;
export const MAX_STATIC_PATH_LENGTH = 512;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface StaticFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Vite puts content-hashed files under /assets/: those may be cached forever. */
  readonly immutable: boolean;
}

export class StaticFiles {
  readonly #root: string;
  #realRoot: string | null = null;

  constructor(root: string) {
    this.#root = root;
  }

  /** Whether the dashboard has been built (index.html exists). */
  async available(): Promise<boolean> {
    return (await this.read('/index.html')) !== null;
  }

  /** The file for a URL path (no query), or null for anything that is not a servable file. */
  async read(urlPath: string): Promise<StaticFile | null> {
    if (urlPath.length > MAX_STATIC_PATH_LENGTH) return null;
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return null;
    }
    const segments = decoded.split('/').filter((s) => s.length > 0);
    if (segments.some((s) => s.startsWith('.') || s.includes('\\') || s.includes('\0'))) return null;
    const type = CONTENT_TYPES[extname(segments[segments.length - 1] ?? '').toLowerCase()];
    if (type === undefined || segments.length === 0) return null;
    try {
      this.#realRoot ??= await realpath(this.#root);
      const real = await realpath(join(this.#realRoot, ...segments));
      if (!real.startsWith(this.#realRoot + sep)) return null;
      const st = await stat(real);
      if (!st.isFile() || st.size > MAX_STATIC_FILE_BYTES) return null;
      return { body: await readFile(real), contentType: type, immutable: segments[0] === 'assets' };
    } catch {
      return null;
    }
  }
}
