/**
 * The command line's promises, through the real binary (bin/sealsync.js):
 * --version, examples and --home in every help, hints that keep --home,
 * `start` refusing a home that is not one (only the default home is created),
 * JSON errors with --json, readable logs on a terminal and JSON otherwise,
 * the dashboard hint at start, and the documented exit codes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { commandPath } from '../../src/cli/help.js';
import { CLI_ENTRY, CLI_NODE_ARGS, REPO_ROOT, makeTempDir, pollUntil, runCli, TestHome, type CliResult } from './helpers/harness.js';

const ONE_LINE = /^sealsync: [^\n]+\n$/;
const VERSION = (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const HAS_SCRIPT = await new Promise<boolean>((r) => execFile('script', ['--version'], (err) => r(!err)));

function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

function assertOneLineError(r: CliResult, code: number, pattern: RegExp, what: string): void {
  assert.equal(r.code, code, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: printed to stdout`);
  assert.match(r.stderr, ONE_LINE, what);
  assert.match(r.stderr, pattern, `${what}: ${r.stderr}`);
}

describe('help and version', () => {
  test('--version and -V print the package version', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `${VERSION}\n`);
    }
  });

  test('every command has examples and shows --home in its help', () => {
    let help = '';
    const program = buildProgram({ stdout: (t) => { help += t; }, stderr: () => undefined });
    const commands = allCommands(program);
    assert.ok(commands.length >= 30, `only ${commands.length} commands found`);
    for (const cmd of commands) {
      help = '';
      cmd.outputHelp();
      const name = commandPath(cmd) || '(program)';
      assert.match(help, /\nExamples:\n {2}\$ sealsync /, `${name} has no examples`);
      assert.match(help, /--home <dir>/, `${name} does not show --home`);
      // Every example names this command (or, for the program, any command).
      const examples = help.slice(help.indexOf('Examples:')).split('\n').filter((l) => l.startsWith('  $ '));
      for (const e of examples) assert.ok(e.includes(`sealsync ${commandPath(cmd)}`) || e.includes(' --home ') || cmd === program, `${name}: ${e}`);
    }
  });

  test('the binary prints the same help, exit 0', async () => {
    for (const args of [['--help'], ['folder', 'add', '--help'], ['server', 'setup', '--help'], ['help', 'config']]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /Examples:/, args.join(' '));
      assert.match(r.stdout, /--home <dir>/, args.join(' '));
    }
  });

  test('a reader that closes the pipe early (`| head -1`) ends the output quietly, exit 0', async () => {
    // The child's stdout is a pipe whose reading end we close at once, long before
    // the CLI has loaded: its write gets EPIPE, which must not become a stack trace.
    const child = spawn(process.execPath, [...CLI_NODE_ARGS, CLI_ENTRY, 'key', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(stderr, '', 'nothing on stderr');
    assert.equal(code, 0);
  });
});

describe('exit codes and --json errors', () => {
  let root: string;
  before(async () => { root = await makeTempDir('ss-cli-'); });
  after(() => rm(root, { recursive: true, force: true }));

  test('bad usage exits 2 with one line', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['status', '--frob'], /unknown option '--frob'/],
      [['folder', 'add', '/tmp'], /required option '--key <key>' not specified/],
      [['config', 'set', 'listen'], /missing required argument 'value'/],
      [['--home', root, 'config', 'get', 'no.such'], /unknown setting 'no\.such'/],
      [['folder', 'share', '.', '--type', 'everything'], /--type must be rw, ro or encrypted/],
    ];
    for (const [args, pattern] of cases) assertOneLineError(await runCli(args), 2, pattern, args.join(' '));
    // A group without its subcommand prints its help (on stderr) and is bad usage too.
    const group = await runCli(['folder']);
    assert.equal(group.code, 2);
    assert.match(group.stderr, /Usage: sealsync folder/);
  });

  test('with --json an error is JSON on stdout with its code, nothing on stderr', async () => {
    const home = join(root, 'nothing-here');
    const cases: [string[], string, number][] = [
      [['--home', home, 'status', '--json'], 'ERR_DAEMON_NOT_RUNNING', 1],
      [['--home', home, 'folder', 'list', '--json'], 'ERR_DAEMON_NOT_RUNNING', 1],
      [['status', '--json', '--frob'], 'ERR_USAGE', 2],
      [['key', 'inspect', 'Wnotakey', '--json'], 'ERR_KEY_LENGTH', 1],
      [['--home', home, 'config', 'get', 'nope', '--json'], 'ERR_INVALID_ARGUMENT', 2],
    ];
    for (const [args, code, exit] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, exit, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr, '', args.join(' '));
      const body = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      assert.equal(body.error.code, code, args.join(' '));
      assert.ok(body.error.message.length > 0 && !body.error.message.includes('\n'));
    }
    // The hint in a JSON error keeps --home too.
    const r = await runCli(['--home', home, 'status', '--json']);
    assert.ok((JSON.parse(r.stdout) as { error: { message: string } }).error.message.includes(`\`sealsync --home ${home} start\``));
  });
});

describe('--home is kept in every hint', () => {
  test('init, status, errors: the hints name the same home, quoted for the shell', async () => {
    const root = await makeTempDir('ss-cli-');
    try {
      const home = join(root, "it's here");
      const quoted = `'${home.replaceAll("'", `'\\''`)}'`;
      const notRunning = await runCli(['--home', home, 'status']);
      assertOneLineError(notRunning, 1, new RegExp(`start it with \`sealsync --home ${escape(quoted)} start\``), 'status, no daemon');
      const init = await runCli(['--home', home, 'init', '--listen', '127.0.0.1:0', '--no-ui', '--no-discovery']);
      assert.equal(init.code, 0, init.stderr);
      assert.ok(init.stdout.includes(`\`sealsync --home ${quoted} start\``), init.stdout);
      // A relative --home is shown absolute, so the hint works from any directory.
      const rel = await runCli(['--home', 'rel-home', 'status'], {});
      assert.match(rel.stderr, new RegExp(`sealsync --home ${escape(join(REPO_ROOT, 'rel-home'))} start`));
      // Without --home the hint is the plain command.
      const plain = await runCli(['status'], { env: { SEALSYNC_HOME: join(root, 'env-home') } });
      assert.match(plain.stderr, /start it with `sealsync start`/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Spawns `sealsync … start` and resolves once it says it runs (or rejects with what it said). */
function startAndWait(args: string[], env: Record<string, string>): Promise<{ stderr: () => string; stdout: () => string; exited: Promise<number> }> {
  const child = spawn(process.execPath, [...CLI_NODE_ARGS, CLI_ENTRY, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
  const exited = new Promise<number>((r) => child.once('close', (code) => r(code ?? 1)));
  after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return pollUntil(async () => {
    if (child.exitCode !== null) throw new Error(`start exited: ${err}`);
    return err.includes('running.') ? { stderr: () => err, stdout: () => out, exited } : undefined;
  }, { timeoutMs: 30_000, description: 'sealsync start to say it runs', last: () => err });
}

describe('start and the home', () => {
  let root: string;
  before(async () => { root = await makeTempDir('ss-start-'); });
  after(() => rm(root, { recursive: true, force: true }));

  test('a --home or $SEALSYNC_HOME that holds no home is refused and nothing is created', async () => {
    const missing = join(root, 'typo');
    assertOneLineError(await runCli(['--home', missing, 'start']), 1, /no sealsync home at .*typo \(--home\).*`sealsync --home \S+typo init`/, '--home missing');
    await assert.rejects(stat(missing), 'the mistyped home was created');
    const empty = join(root, 'empty');
    await mkdir(empty);
    assertOneLineError(await runCli(['--home', empty, 'start']), 1, /no sealsync home at .*empty/, '--home empty dir');
    assert.deepEqual(await readdir(empty), []);
    assertOneLineError(await runCli(['start'], { env: { SEALSYNC_HOME: missing } }), 1, /\(\$SEALSYNC_HOME\).*`sealsync init`/, 'env missing');
    await assert.rejects(stat(missing));
    assertOneLineError(await runCli(['start'], { env: { SEALSYNC_HOME: missing, SEALSYNC_LOG_FORMAT: 'xml' } }), 2, /SEALSYNC_LOG_FORMAT must be json or pretty/, 'bad log format');
  });

  test('the default home is created on the first run, and start says so and how to open the dashboard', async () => {
    const env = { HOME: join(root, 'user'), XDG_CONFIG_HOME: join(root, 'xdg'), SEALSYNC_HOME: '', SEALSYNC_LOG_FORMAT: '' };
    const d = await startAndWait(['start'], env);
    const home = join(root, 'xdg', 'sealsync');
    assert.match(d.stderr(), new RegExp(`first run: created a new home at ${escape(home)} \\(device id [A-Z2-7-]+\\)`));
    assert.match(d.stderr(), /Dashboard: http:\/\/127\.0\.0\.1:\d+\/? — `sealsync ui --open`/);
    // Not a terminal: JSON lines.
    const lines = d.stdout().trim().split('\n');
    assert.ok(lines.length > 0 && lines.every((l) => typeof (JSON.parse(l) as { msg?: unknown }).msg === 'string'), d.stdout());
    assert.equal((await stat(join(home, 'config.json'))).mode & 0o777, 0o600);
    const stop = await runCli(['stop'], { env });
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(await d.exited, 0);
  });

  test('a home without a dashboard says how to turn it on, keeping --home', async () => {
    const h = await TestHome.create({ root, name: 'noui' });
    const d = await startAndWait(['--home', h.home, 'start'], { SEALSYNC_LOG_LEVEL: 'warn' });
    assert.match(d.stderr(), new RegExp(`Dashboard: off \\(\`sealsync --home ${escape(h.home)} config set webui.enabled true\``));
    assert.equal((await h.cli(['stop'])).code, 0);
    assert.equal(await d.exited, 0);
  });

  test('on a terminal the logs are readable lines, not JSON', { skip: HAS_SCRIPT ? false : 'needs script(1)' }, async () => {
    const h = await TestHome.create({ root, name: 'tty' });
    const command = [process.execPath, ...CLI_NODE_ARGS, CLI_ENTRY, '--home', h.home, 'start'].map((w) => `'${w}'`).join(' ');
    // script(1) gives the daemon a pseudo-terminal; `sealsync stop` ends it once it logs.
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: REPO_ROOT, env: { ...process.env, SEALSYNC_LOG_FORMAT: '', SEALSYNC_LOG_LEVEL: 'info' }, stdio: ['pipe', 'pipe', 'pipe'] });
    after(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (t: string) => { out += t; });
    const exited = new Promise<number>((r) => child.once('close', (c) => r(c ?? 1)));
    await pollUntil(async () => (out.includes('control socket listening') ? true : undefined), { timeoutMs: 30_000, description: 'readable logs', last: () => out });
    assert.equal((await h.cli(['stop'])).code, 0);
    await exited;
    // eslint-disable-next-line no-control-regex
    const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
    assert.match(plain, /^\[\d\d:\d\d:\d\d\] INFO: daemon: daemon started/m);
    assert.ok(!plain.split(/\r?\n/).some((l) => l.startsWith('{"level"')), 'a JSON line on the terminal');
  });
});

describe('status exit codes', () => {
  let h: TestHome;
  let root: string;
  before(async () => {
    root = await makeTempDir('ss-status-');
    h = await TestHome.create({ root });
  });
  after(() => h.cleanup());

  test('3 while no device shares a folder (not in sync), 4 with a folder in error, 1 not running; the same through server status', async () => {
    assert.equal((await h.cli(['status'])).code, 1);
    let d = await h.startDaemon();
    const dir = join(root, 'docs');
    await mkdir(dir);
    await h.cliOk(['folder', 'add', dir, '--key', await h.newKey(), '--wait']);
    // Scanned, but no device has it: honest "not yet" (exit 0 needs every folder up to date; see status.test.ts).
    await h.waitForFolder(dir, (f) => f.state === 'unshared');
    const ok = await h.cli(['status']);
    assert.equal(ok.code, 3, ok.stderr);
    const server = await h.cli(['server', 'status', '--json']);
    assert.equal(server.code, 3, server.stderr);
    assert.equal((JSON.parse(server.stdout) as { folders: unknown[] }).folders.length, 1);
    assert.equal(await d.stop(), 0);
    await rm(dir, { recursive: true });
    d = await h.startDaemon();
    await h.waitForFolder(dir, (f) => f.state === 'error');
    const bad = await h.cli(['status', '--json']);
    assert.equal(bad.code, 4, bad.stderr);
    assert.equal((JSON.parse(bad.stdout) as { folders: { state: string }[] }).folders[0]?.state, 'error');
    assert.equal((await h.cli(['server', 'status'])).code, 4);
    assert.equal(await d.stop(), 0);
  });
});
