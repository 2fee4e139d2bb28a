import { PropProblem } from '../base/problems';
import { isKnown, lowerCaseHint } from '../base/prop-types';

/**
 * The llama.cpp release the instances build by default: the upstream release
 * whose source node-llama-cpp 3.22.1 ships (`llama/llama.cpp.info.json` in that
 * package), which is exactly the source the kit's tests build and run. Moving
 * it means moving the tests' node-llama-cpp pin with it.
 */
export const LLAMA_CPP_DEFAULT_REF = 'v0.5.0';

/**
 * The commits of the releases the kit knows. Instances fetch the commit, not
 * the tag (a tag can be moved), check what they fetched, and key the cached
 * build on it. The commit is the tag's in node-llama-cpp's bundle of the same
 * release (test/catalogs/llama-cpp-release.test.ts checks it).
 */
export const LLAMA_CPP_RELEASE_COMMITS: Readonly<Record<string, string>> = {
  'v0.5.0': 'de3ff815ea7d559ee917f063901b8986f038abc6',
};

/** A full 40-character commit hash. */
export const LLAMA_CPP_COMMIT_PATTERN = /^[0-9a-f]{40}$/;

/** Where the instances fetch llama.cpp's source. */
export const LLAMA_CPP_REPOSITORY = 'https://github.com/ggml-org/llama.cpp';

/** A release tag (`b6500`, `v0.5.0`) or a full commit hash. */
export const LLAMA_CPP_REF_PATTERN = /^(b\d{3,6}|v\d+\.\d+\.\d+|[0-9a-f]{40})$/;

const LLAMA_CPP_REF_EXPECTATION = 'expected a llama.cpp release tag like v0.5.0 or b6500, or a 40-character commit hash';
const LLAMA_CPP_COMMIT_EXPECTATION = 'expected the 40-character commit hash the llamaCppRef tag names (40 lowercase hexadecimal characters)';

/**
 * The llama.cpp commit to build: the ref itself when it is one, else the
 * known or the given commit of the tag. Instances build a commit, never a
 * tag that could be moved. A ref or commit is first held to its shape (a
 * release tag or commit; a full commit hash), which the boot script fetches
 * by name; the problems name `llamaCppRef` and `llamaCppCommit`.
 */
export function llamaCppCommitOf(ref: string, given: string | undefined): { readonly commit?: string; readonly problems: PropProblem[] } {
  const shape: PropProblem[] = [];
  if (isKnown(ref) && !LLAMA_CPP_REF_PATTERN.test(ref)) {
    shape.push({ field: 'llamaCppRef', given: ref, expected: `${LLAMA_CPP_REF_EXPECTATION}${lowerCaseHint(ref, LLAMA_CPP_REF_PATTERN)}` });
  }
  if (given !== undefined && isKnown(given) && !LLAMA_CPP_COMMIT_PATTERN.test(given)) {
    shape.push({ field: 'llamaCppCommit', given, expected: `${LLAMA_CPP_COMMIT_EXPECTATION}${lowerCaseHint(given, LLAMA_CPP_COMMIT_PATTERN)}` });
  }
  if (shape.length > 0) {
    return { problems: shape };
  }
  const known = LLAMA_CPP_COMMIT_PATTERN.test(ref) ? ref : LLAMA_CPP_RELEASE_COMMITS[ref];
  if (given !== undefined && known !== undefined && given !== known) {
    return {
      problems: [{
        field: 'llamaCppCommit',
        given,
        expected: `${known}, the commit of llamaCppRef ${ref}; drop llamaCppCommit, or set llamaCppRef to the release it belongs to`,
      }],
    };
  }
  const commit = given ?? known;
  if (commit === undefined) {
    return {
      problems: [{
        field: 'llamaCppCommit',
        expected: `required with llamaCppRef ${ref}, a tag the kit does not know the commit of (it knows ${Object.keys(LLAMA_CPP_RELEASE_COMMITS).join(', ')}): `
          + `instances build a commit, never a tag that could be moved. \`git ls-remote ${LLAMA_CPP_REPOSITORY} refs/tags/${ref}\` prints it`,
      }],
    };
  }
  return { commit, problems: [] };
}
