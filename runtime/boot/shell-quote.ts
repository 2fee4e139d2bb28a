/**
 * A string written as one shell word, as bash's `printf %q` writes it in the
 * C locale: the form the boot's log lines name untrusted text in (a tarball's
 * entry names, the library names a cached binary asks for). Such text may hold
 * spaces, quotes or a newline; quoted, it reads as one unambiguous word and
 * cannot start a line of its own in the log that looks like the boot's.
 *
 * Pure. Text that is all printable ASCII is backslash-escaped where a shell
 * would read a character specially; anything else (control characters,
 * non-ASCII bytes, which the C locale does not print) gives `$'...'` with
 * escapes and octal bytes.
 */

/** The characters bash's %q puts a backslash before wherever they stand (its sh_backslash_quote table). */
const SPECIAL = new Set([...' \t\n!"$&\'()*,;<>?[\\]^`{|}']);

/** Named escapes of `$'...'`. */
const ANSI_C_ESCAPES: Readonly<Record<number, string>> = {
  0x07: '\\a', 0x08: '\\b', 0x09: '\\t', 0x0a: '\\n', 0x0b: '\\v', 0x0c: '\\f', 0x0d: '\\r', 0x1b: '\\E', 0x27: "\\'", 0x5c: '\\\\',
};

const printable = (byte: number) => byte >= 0x20 && byte <= 0x7e;

/** `text` as one shell word (see the file's comment). */
export function shellQuote(text: string): string {
  if (text === '') return "''";
  const bytes = new TextEncoder().encode(text);
  if (!bytes.every(printable)) {
    const body = [...bytes].map((b) => ANSI_C_ESCAPES[b] ?? (printable(b) ? String.fromCharCode(b) : `\\${b.toString(8).padStart(3, '0')}`));
    return `$'${body.join('')}'`;
  }
  return [...text].map((c, i) => {
    const prev = text[i - 1];
    const escaped = SPECIAL.has(c)
      // A comment at the start of a word; a tilde where it would expand.
      || (c === '#' && i === 0)
      || (c === '~' && (i === 0 || prev === ':' || prev === '='));
    return escaped ? `\\${c}` : c;
  }).join('');
}
