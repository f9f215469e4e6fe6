/**
 * Device invite codes (src/crypto/invite.ts parseInviteCode), as a user
 * pastes them: UTF-8 text, a code or a sealsync://invite link. Valid samples
 * are codes for random device ids, secrets and up to 8 addresses, spelled
 * every way the parser accepts (lower case, grouped, padded, as a link).
 * Oracle: a parsed code formats back to the same characters and parses to
 * the same fields.
 */
import fc from 'fast-check';
import { formatInviteCode, inviteLink, parseInviteCode, type InviteCode } from '../../../src/crypto/invite.js';
import { DEFAULT_BOUNDS, bytesOf, oracle, textOf, type FuzzTarget } from '../target.js';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
const code: fc.Arbitrary<InviteCode> = fc.record({
  deviceId: bytes32,
  secret: bytes32,
  addresses: fc.array(fc.record({ host, port: fc.integer({ min: 1, max: 65535 }) }), { maxLength: 8 }),
});

const spelling: fc.Arbitrary<(c: InviteCode) => string> = fc.oneof(
  fc.constant((c: InviteCode) => formatInviteCode(c)),
  fc.constant((c: InviteCode) => formatInviteCode(c).toLowerCase()),
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.constantFrom(' ', '-', '\n')).map(([every, sep]) => (c: InviteCode) => {
    const text = formatInviteCode(c);
    const groups: string[] = [];
    for (let i = 0; i < text.length; i += every) groups.push(text.slice(i, i + every));
    return groups.join(sep);
  }),
  fc.constant((c: InviteCode) => ` ${inviteLink(c)}\n`),
);

export const inviteCodesTarget: FuzzTarget = {
  name: 'invite-codes',
  description: 'parseInviteCode (src/crypto/invite.ts) on a pasted invite code or sealsync://invite link',
  valid: fc.tuple(code, spelling).map(([c, spell]) => bytesOf(spell(c))),
  dictionary: ['sealsync://invite?code=', 'sealsync:', 'I', 'W', '-', ' ', '\u00a0', '0', '1', '8', '9', '='],
  bounds: DEFAULT_BOUNDS,
  open: () => ({
    decode(input) {
      return parseInviteCode(textOf(input));
    },
    check(input, decoded) {
      const parsed = decoded as InviteCode;
      const canonical = formatInviteCode(parsed);
      const again = parseInviteCode(canonical);
      oracle(JSON.stringify(again) === JSON.stringify(parsed), 'a parsed code does not survive formatting and parsing again');
      const text = textOf(input);
      if (!/^\s*sealsync:/i.test(text)) oracle(canonical === text.replace(/[\s-]+/g, '').toUpperCase(), 'a parsed code formats to other characters than it was typed with');
    },
  }),
};
