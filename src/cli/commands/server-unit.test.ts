import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readUnitTemplate, renderUnit, systemdWord } from './server-unit.js';

const VALUES = {
  user: 'sealsync', group: 'sealsync', version: '1.2.3',
  execStart: ['/usr/bin/node', '/opt/sealsync/bin/sealsync.js', '--home', '/var/lib/sealsync', 'start'],
  readWritePaths: ['/var/lib/sealsync', '-/srv/sealsync'],
};

test('systemd words: plain paths stay plain; spaces, quotes, % and $ are escaped', () => {
  assert.equal(systemdWord('/usr/bin/node'), '/usr/bin/node');
  assert.equal(systemdWord('-/srv/sealsync'), '-/srv/sealsync');
  assert.equal(systemdWord('/opt/my apps/x.js'), '"/opt/my apps/x.js"');
  assert.equal(systemdWord('/a"b'), '"/a\\"b"');
  assert.equal(systemdWord('/a\\b'), '"/a\\\\b"');
  assert.equal(systemdWord('/a%h'), '/a%%h', 'no specifier expansion');
  assert.equal(systemdWord('/a$HOME'), '/a$$HOME', 'no variable expansion');
  assert.equal(systemdWord('/a b%$'), '"/a b%%$$"');
  assert.equal(systemdWord(''), '""');
});

test('the unit is the template with User, Group, ExecStart and ReadWritePaths substituted', async () => {
  const template = await readUnitTemplate();
  const unit = renderUnit(template, { ...VALUES, execStart: ['/usr/bin/node', '/opt/my apps/bin/sealsync.js', 'start'] });
  assert.match(unit, /^# Installed by `sealsync server setup` \(sealsync 1\.2\.3\)/);
  assert.match(unit, /^ExecStart=\/usr\/bin\/node "\/opt\/my apps\/bin\/sealsync\.js" start$/m);
  assert.match(unit, /^ReadWritePaths=\/var\/lib\/sealsync -\/srv\/sealsync$/m);
  assert.equal(unit.match(/^ExecStart=/gm)?.length, 1);
  const keep = (t: string): string[] => t.slice(t.indexOf('[Unit]')).split('\n').filter((l) => !/^(User|Group|ExecStart|ReadWritePaths)=/.test(l));
  assert.deepEqual(keep(unit), keep(template));
});

test('a template that lacks a substituted key, or sets one twice, is refused', () => {
  const base = '[Unit]\nDescription=x\n[Service]\nUser=a\nGroup=a\nExecStart=/bin/true\nReadWritePaths=/x\n';
  assert.doesNotThrow(() => renderUnit(base, VALUES));
  assert.throws(() => renderUnit(base.replace('Group=a\n', ''), VALUES), /must set Group= exactly once/);
  assert.throws(() => renderUnit(`${base}ExecStart=/bin/false\n`, VALUES), /must set ExecStart= exactly once/);
  assert.throws(() => renderUnit('no sections', VALUES), /no section/);
});
