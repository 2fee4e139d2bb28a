/** shellQuote in-process: each word as bash's `printf %q` writes it. */
import { shellQuote } from '../../../runtime/boot/shell-quote';

test('a plain word is itself', () => {
  for (const word of ['libgomp.so.1', './bin/llama-server', 'a=b', 'x:y', '%@+-_.', 'a#b', 'a~']) expect(shellQuote(word)).toBe(word);
});

test('characters a shell reads specially get a backslash, comma included; # and ~ only where they would act', () => {
  expect(shellQuote('a b')).toBe('a\\ b');
  expect(shellQuote('--repofrompath=evil,https:')).toBe('--repofrompath=evil\\,https:');
  expect(shellQuote(`it's "$x" \`y\` (z) {w} [v] <u> a|b;c&d!e*f?g^h\\i`)).toBe(
    'it\\\'s\\ \\"\\$x\\"\\ \\`y\\`\\ \\(z\\)\\ \\{w\\}\\ \\[v\\]\\ \\<u\\>\\ a\\|b\\;c\\&d\\!e\\*f\\?g\\^h\\\\i',
  );
  expect(shellQuote('#x')).toBe('\\#x');
  expect(shellQuote('~root')).toBe('\\~root');
  expect(shellQuote('a:~b=~')).toBe('a:\\~b=\\~');
});

test('the empty string is two quotes', () => {
  expect(shellQuote('')).toBe("''");
});

test('a newline, any control character or non-ASCII letter makes it $\'...\', which cannot break a log line', () => {
  expect(shellQuote('a\nb')).toBe("$'a\\nb'");
  expect(shellQuote("x\t\r\x07\x08\x0b\x0c\x1b\x7f\x01'\\ y")).toBe("$'x\\t\\r\\a\\b\\v\\f\\E\\177\\001\\'\\\\ y'");
  expect(shellQuote('café')).toBe("$'caf\\303\\251'");
});
