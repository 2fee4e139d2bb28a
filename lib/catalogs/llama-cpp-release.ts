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
