/**
 * Whether a cached build's tarball may be unpacked: the decision on its
 * `tar` listing, taken before anything of it reaches the disk.
 *
 * Why: a cached build comes from the artifact bucket, which every instance
 * (and so whoever holds an instance's credentials) may write. Unpacked as
 * root, tar keeps the owners, setuid bits and device files it records, and
 * follows links: a setuid program or a device node would hand root to the
 * service user, a link or an absolute or `..` name would write outside the
 * build tree (/etc/passwd, a unit file). A build is bin/ and three text files;
 * it needs none of these, so any of them refuses the whole tarball (issue 20
 * §2; README, Security: "Build programs never run as root").
 *
 * Pure: the caller runs tar (TAR_LIST_ARGS, TAR_LIST_ENV).
 */
import { shellQuote } from '../shell-quote';

/**
 * How to list a tarball: tar's verbose listing in one fixed layout (the C
 * locale, numeric owners), each name as recorded (`--absolute-names` keeps a
 * leading `/`, to be refused). The tarball's path follows.
 */
export const TAR_LIST_ARGS: readonly string[] = ['--numeric-owner', '--absolute-names', '-tvzf'];
export const TAR_LIST_ENV: Readonly<Record<string, string>> = { LC_ALL: 'C' };

/** What makes a tarball unfit to unpack. */
export type TarballProblemKind =
  /** tar could not list it (not gzip, not tar, cut short). */
  | 'unreadable'
  | 'symbolic-link'
  | 'hard-link'
  | 'device'
  /** Any other entry that is not a plain file or directory (a FIFO, a line tar lists oddly). */
  | 'not-plain'
  /** A setuid, setgid or sticky bit. */
  | 'special-bits'
  /** A name that is absolute, climbs out with `..`, or holds characters a build's names never do. */
  | 'name';

export interface TarballProblem {
  readonly kind: TarballProblemKind;
  /** For the log and the discarded version's reason. */
  readonly text: string;
}

/** The problem of a tarball tar could not list, from what tar printed (its last line says why). */
export function unreadableTarballProblem(tarOutput: string): TarballProblem {
  const lines = tarOutput.replace(/\n+$/, '').split('\n');
  return { kind: 'unreadable', text: `not a readable tar.gz (${lines[lines.length - 1]})` };
}

/**
 * What makes the tarball of this listing (`tar TAR_LIST_ARGS`'s output)
 * unfit to unpack, or undefined where every entry is a plain file or
 * directory with a plain relative name inside the tree and mode bits no
 * more than rwx. The first entry at fault is named.
 */
export function tarballListingProblem(listing: string): TarballProblem | undefined {
  for (const line of listing.split('\n')) {
    if (line === '') continue;
    const [mode, , , , time, name] = shellFields(line, 6);
    // The entry as tar lists it, from its name on (a link's target included).
    const entry = () => afterFirst(line, `${time} `);
    switch (mode.charAt(0)) {
      case '-': case 'd': break;
      case 'l': return { kind: 'symbolic-link', text: `it holds a symbolic link (${entry()})` };
      case 'h': return { kind: 'hard-link', text: `it holds a hard link (${entry()})` };
      case 'b': case 'c': return { kind: 'device', text: `it holds a device file (${entry()})` };
      default: return { kind: 'not-plain', text: `it holds ${line}, which is not a plain file or directory` };
    }
    if (!/^[-d]([-r][-w][-x]){3}$/.test(mode)) {
      return { kind: 'special-bits', text: `it holds ${shellQuote(name)} with the setuid, setgid or sticky bit (${mode})` };
    }
    if (!/^[A-Za-z0-9._+-][A-Za-z0-9._+/-]*$/.test(name) || `/${name}/`.includes('/../')) {
      return { kind: 'name', text: `it holds an entry named ${shellQuote(name)}, which is not a plain name inside the build tree` };
    }
  }
  return undefined;
}

/**
 * `line` split as bash's `read -r` splits it into `count` variables: fields
 * between runs of blanks, the last one the rest of the line (its inner
 * blanks kept), missing ones empty.
 */
function shellFields(line: string, count: number): string[] {
  let rest = line.replace(/^[ \t]+/, '');
  const fields: string[] = [];
  for (let i = 0; i < count - 1; i++) {
    const m = /^([^ \t]*)[ \t]*/.exec(rest)!;
    fields.push(m[1]);
    rest = rest.slice(m[0].length);
  }
  fields.push(rest.replace(/[ \t]+$/, ''));
  return fields;
}

/** What follows the first `marker` in `text`; all of `text` where it has none. */
function afterFirst(text: string, marker: string): string {
  const at = text.indexOf(marker);
  return at < 0 ? text : text.slice(at + marker.length);
}
