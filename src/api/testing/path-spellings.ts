/**
 * Test support: every other way to spell a route's path that some layer
 * (percent-decoding router, URL normaliser, file system, proxy) could read as
 * the same path. None of them is the canonical spelling, so the dashboard and
 * the control socket must refuse each one before any handler runs.
 */

export interface Spelling {
  /** What was changed, for the failure message. */
  readonly label: string;
  /** The raw request target. */
  readonly target: string;
}

function hex(ch: string): string {
  return `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
}

function replaceAt(s: string, i: number, by: string): string {
  return s.slice(0, i) + by + s.slice(i + 1);
}

/**
 * Spellings of `path` (canonical, starting with '/', no query). `absoluteHost`
 * is the `host:port` for the absolute-form target.
 */
export function pathSpellings(path: string, absoluteHost: string): Spelling[] {
  const out: Spelling[] = [];
  const add = (label: string, target: string): void => { if (target !== path) out.push({ label, target }); };
  const segments = path.split('/').slice(1);
  const slashes: number[] = [];
  for (let i = 0; i < path.length; i++) if (path[i] === '/') slashes.push(i);

  // Percent-encoding of any single character (upper- and lower-case hex), and of all of them.
  for (let i = 0; i < path.length; i++) {
    const ch = path[i] as string;
    add(`encoded ${JSON.stringify(ch)} at ${i}`, replaceAt(path, i, hex(ch)));
    if (/[a-z]/i.test(hex(ch))) add(`encoded ${JSON.stringify(ch)} at ${i}, lower-case hex`, replaceAt(path, i, hex(ch).toLowerCase()));
    // Double encoding: %25 then the escape's hex digits.
    add(`double-encoded ${JSON.stringify(ch)} at ${i}`, replaceAt(path, i, `%25${hex(ch).slice(1)}`));
  }
  add('every character encoded', path.split('').map((c) => (c === '/' ? c : hex(c))).join(''));
  add('every character double-encoded', path.split('').map((c) => (c === '/' ? c : `%25${hex(c).slice(1)}`)).join(''));
  // Overlong UTF-8 for '/', and a fullwidth letter: decoders that are too lenient map them to ASCII.
  if (slashes.length > 1) add('overlong UTF-8 slash', replaceAt(path, slashes[1] as number, '%C0%AF'));
  if (segments[0]) add('fullwidth first letter', `/${String.fromCharCode((segments[0].charCodeAt(0) - 0x20) + 0xff00)}${path.slice(2)}`);

  // Empty segments.
  add('leading //', `/${path}`);
  add('leading ///', `//${path}`);
  for (const i of slashes.slice(1)) add(`// at ${i}`, `${path.slice(0, i)}/${path.slice(i)}`);
  add('trailing /', `${path}/`);
  add('trailing //', `${path}//`);

  // Dot segments, plain and encoded.
  for (const i of slashes) {
    add(`/./ at ${i}`, `${path.slice(0, i)}/.${path.slice(i)}`);
    add(`/x/../ at ${i}`, `${path.slice(0, i)}/x/..${path.slice(i)}`);
    add(`/%2e/ at ${i}`, `${path.slice(0, i)}/%2e${path.slice(i)}`);
    add(`/x/%2e%2e/ at ${i}`, `${path.slice(0, i)}/x/%2e%2e${path.slice(i)}`);
    add(`/x/.%2E/ at ${i}`, `${path.slice(0, i)}/x/.%2E${path.slice(i)}`);
  }
  add('leading /..', `/..${path}`);
  add('trailing /.', `${path}/.`);
  add('trailing /x/..', `${path}/x/..`);

  // Case.
  add('upper case', path.toUpperCase());
  segments.forEach((seg, k) => {
    const caps = segments.map((s, j) => (j === k ? s.toUpperCase() : s));
    add(`segment ${k} upper case`, `/${caps.join('/')}`);
    const first = segments.map((s, j) => (j === k ? s.charAt(0).toUpperCase() + s.slice(1) : s));
    add(`segment ${k} capitalised`, `/${first.join('/')}`);
  });

  // Matrix parameters.
  segments.forEach((_, k) => {
    add(`; after segment ${k}`, `/${segments.map((s, j) => (j === k ? `${s};` : s)).join('/')}`);
    add(`;x=1 after segment ${k}`, `/${segments.map((s, j) => (j === k ? `${s};x=1` : s)).join('/')}`);
  });

  // NUL, raw and encoded, inside and at the end; a fragment; a space.
  add('trailing %00', `${path}%00`);
  add('trailing raw NUL', `${path}\0`);
  if (slashes.length > 1) add('raw NUL before a slash', replaceAt(path, slashes[1] as number, '\0/'));
  add('%00 inside', `${path.slice(0, 2)}%00${path.slice(2)}`);
  add('trailing #', `${path}#`);
  add('trailing %20', `${path}%20`);

  // Backslashes, raw and encoded.
  add('all slashes as backslashes', path.replace(/\//g, '\\'));
  for (const i of slashes.slice(1)) {
    add(`backslash at ${i}`, replaceAt(path, i, '\\'));
    add(`%5C at ${i}`, replaceAt(path, i, '%5C'));
  }
  add('trailing backslash', `${path}\\`);

  // Absolute form.
  add('absolute form', `http://${absoluteHost}${path}`);
  add('absolute form, upper-case scheme', `HTTP://${absoluteHost}${path}`);
  return out;
}
