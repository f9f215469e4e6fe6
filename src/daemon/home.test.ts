import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homePaths, platformHome, resolveHome } from './home.js';

test('--home beats $SEALSYNC_HOME beats the platform folder', () => {
  const env = { SEALSYNC_HOME: '/from/env', XDG_CONFIG_HOME: '/xdg' };
  assert.equal(resolveHome('/flag', { env }), '/flag');
  assert.equal(resolveHome(undefined, { env }), '/from/env');
  assert.equal(resolveHome(undefined, { env: { XDG_CONFIG_HOME: '/xdg' }, platform: 'linux' }), '/xdg/sealsync');
});

test('platform folders', () => {
  assert.equal(platformHome({ env: {}, platform: 'linux', homedir: '/home/u' }), '/home/u/.config/sealsync');
  assert.equal(platformHome({ env: { XDG_CONFIG_HOME: 'relative' }, platform: 'linux', homedir: '/home/u' }), '/home/u/.config/sealsync');
  assert.equal(platformHome({ env: {}, platform: 'darwin', homedir: '/Users/u' }), '/Users/u/Library/Application Support/sealsync');
  assert.match(platformHome({ env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, platform: 'win32', homedir: 'C:\\Users\\u' }), /Roaming.sealsync$/);
});

test('home layout', () => {
  const p = homePaths('/h');
  assert.deepEqual([p.config, p.deviceKey, p.deviceCert, p.index, p.controlSocket, p.lock],
    ['/h/config.json', '/h/device-key.pem', '/h/device-cert.pem', '/h/index.db', '/h/control.sock', '/h/daemon.lock']);
});
