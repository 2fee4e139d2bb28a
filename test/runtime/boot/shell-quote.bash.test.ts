/**
 * Side by side: bash's `printf %q` in the C locale (how boot.sh names
 * untrusted text in its log) against shellQuote, on the same strings.
 */
import { spawnSync } from 'node:child_process';

import { shellQuote } from '../../../runtime/boot/shell-quote';

const WORDS: readonly string[] = [
  '', 'plain', 'libgomp.so.1', './bin/llama-server', '--repofrompath=evil,https:', 'a b', 'a\tb', 'a\nb', 'a\rb',
  ...[...' !"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'].flatMap((c) => [c, `${c}x`, `x${c}`, `x${c}y`]),
  '#', '##', 'a#', '~', '~~', 'a~', ':~', '=~', 'a:~b', 'a=~b', '/~', '-~',
  ...Array.from({ length: 32 }, (_, i) => `x${String.fromCharCode(i === 0 ? 1 : i)}y`), 'x\x7fy',
  'café', 'naïve name', '日本', "it's\n", '\\n', '$(reboot)', '`id`', '*', '?', '[a]',
];

test('printf %q and shellQuote write every word alike', () => {
  const r = spawnSync('bash', ['-c', 'LC_ALL=C; for w in "$@"; do printf "%q\\0" "$w"; done', 'bash', ...WORDS], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const bash = r.stdout.split('\0').slice(0, -1);
  expect(bash).toHaveLength(WORDS.length);
  expect(WORDS.map((w) => [w, shellQuote(w)])).toEqual(WORDS.map((w, i) => [w, bash[i]]));
});
