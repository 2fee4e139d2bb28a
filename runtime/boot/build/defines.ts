/**
 * The kit's llama.cpp build: the CMake defines that decide what code is
 * generated, defined once. The boot's build phase compiles with it, and the tests' and
 * the benchmarks' builds (test/support/llama-cpp-build.ts, which
 * tools/bench/local-serving.ts uses) take it from here. So what the tests
 * serve and what the benchmarks measure is what an instance serves, and
 * never depends on the CPU of the machine that builds it: a `-march=native`
 * build on an Intel Xeon with AMX turns on ggml's AMX kernels, whose
 * llama-server died loading a model where the kit's build serves.
 *
 * Pure: no I/O.
 */

/**
 * How long llama-server keeps an idle connection open for its next request.
 * The load balancer reuses its connections to a target for up to its idle
 * timeout (at most 4000 s, an ALB limit): a target that closes first races
 * the load balancer's next request on that connection, which the client sees
 * as a 502. cpp-httplib's default is 5 s and llama-server has no flag for it,
 * so it is compiled in (CPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND), above any ALB
 * setting.
 */
export const SERVER_KEEPALIVE_SECONDS = 4060;

/** The machine a build is for: `uname -m`, and on aarch64 the Graviton generation's GGML_CPU_ARM_ARCH. */
export type BuildMachine =
  | { readonly machine: 'x86_64' }
  | { readonly machine: 'aarch64'; readonly armArch: string };

/**
 * The `/proc/cpuinfo` flags that ggml's portable x86 build (GGML_NATIVE=OFF
 * with its default instruction-set options) compiles for: `-msse4.2 -mavx
 * -mavx2 -mfma -mf16c -mbmi2` and nothing else. The cpu phase refuses an
 * x86_64 CPU without one of them (test/integration/kit-build.test.ts checks
 * the compile commands of a real build).
 */
export const X86_BASELINE_CPU_FLAGS = ['sse4_2', 'avx', 'avx2', 'fma', 'f16c', 'bmi2'] as const;

/**
 * The kit's CMake defines for `machine`, as `-DNAME=VALUE` arguments in a
 * fixed order (the build key holds them as one string, so the order is part
 * of the key).
 */
export function kitCmakeDefines(machine: BuildMachine): string[] {
  const defines = [
    '-DCMAKE_BUILD_TYPE=Release',
    // Self-contained executables: the tarball is just bin/.
    '-DBUILD_SHARED_LIBS=OFF',
    // Never tune for the build host: the key names the target, not the host.
    '-DGGML_NATIVE=OFF',
    // KleidiAI's CMake downloads its sources at configure time.
    '-DGGML_CPU_KLEIDIAI=OFF',
    // Model downloads are the boot's job, not the server's. LLAMA_CURL is the
    // switch in older releases, LLAMA_OPENSSL in newer ones; each release
    // ignores the other.
    '-DLLAMA_CURL=OFF',
    '-DLLAMA_OPENSSL=OFF',
    // The endpoint is an API; the web UI would be fetched from Hugging Face.
    '-DLLAMA_BUILD_UI=OFF',
    '-DLLAMA_USE_PREBUILT_UI=OFF',
    '-DLLAMA_BUILD_TESTS=OFF',
    '-DLLAMA_BUILD_EXAMPLES=OFF',
    '-DLLAMA_BUILD_APP=OFF',
    '-DLLAMA_BUILD_TOOLS=ON',
    '-DLLAMA_BUILD_SERVER=ON',
    // Every C++ unit that includes cpp-httplib must see the same value.
    `-DCMAKE_CXX_FLAGS=-DCPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND=${SERVER_KEEPALIVE_SECONDS}`,
  ];
  if (machine.machine === 'aarch64') defines.push(`-DGGML_CPU_ARM_ARCH=${machine.armArch}`);
  return defines;
}

/**
 * Defines that choose only which programs are configured, or how the build
 * runs, never the code generated for a program: a build that differs from
 * the kit's in these alone compiles llama-server and llama-quantize as the
 * kit does. The tests set them (llama-simple is an example; the compile
 * commands prove what the build does; ccache and the cross toolchain).
 */
export const TARGET_SELECTION_DEFINES = [
  'LLAMA_BUILD_EXAMPLES',
  'CMAKE_EXPORT_COMPILE_COMMANDS',
  'CMAKE_C_COMPILER_LAUNCHER',
  'CMAKE_CXX_COMPILER_LAUNCHER',
  'CMAKE_TOOLCHAIN_FILE',
] as const;

/** `-DNAME=VALUE` arguments as an ordered map; throws on anything else or a name given twice. */
export function cmakeDefineMap(defines: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const d of defines) {
    const m = /^-D([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(d);
    if (!m) throw new Error(`not a -DNAME=VALUE CMake define: ${JSON.stringify(d)}`);
    if (map.has(m[1])) throw new Error(`CMake define ${m[1]} given twice`);
    map.set(m[1], m[2]);
  }
  return map;
}

/**
 * The kit's defines for `machine` with `extra` set on top, as a name -> value
 * map in the kit's order (new names after). Only TARGET_SELECTION_DEFINES may
 * be set: anything else would make the build generate other code than the
 * kit's, and throws.
 */
export function kitCmakeDefinesWith(machine: BuildMachine, extra: Readonly<Record<string, string>>): Map<string, string> {
  const map = cmakeDefineMap(kitCmakeDefines(machine));
  for (const [name, value] of Object.entries(extra)) {
    if (!(TARGET_SELECTION_DEFINES as readonly string[]).includes(name)) {
      throw new Error(`${name}=${value} would change what the kit's build compiles; only ${TARGET_SELECTION_DEFINES.join(', ')} may be added`);
    }
    map.set(name, value);
  }
  return map;
}
