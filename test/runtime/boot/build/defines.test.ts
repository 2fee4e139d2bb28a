/**
 * The kit's CMake defines in-process. What a real build compiles with them
 * is test/integration/kit-build.test.ts's.
 */
import { GENERATIONS } from '../../../../lib/catalogs/graviton-generations';
import { rangeProblems } from '../../../../lib/constructs/prop-ranges';
import {
  cmakeDefineMap, kitCmakeDefines, kitCmakeDefinesWith, SERVER_KEEPALIVE_SECONDS,
} from '../../../../runtime/boot/build/defines';

test('the build never tunes for the build host, and the Arm flags are the generation\'s', () => {
  const x86 = cmakeDefineMap(kitCmakeDefines({ machine: 'x86_64' }));
  expect(x86.get('GGML_NATIVE')).toBe('OFF');
  expect(x86.has('GGML_CPU_ARM_ARCH')).toBe(false);
  expect(x86.get('CMAKE_CXX_FLAGS')).toBe(`-DCPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND=${SERVER_KEEPALIVE_SECONDS}`);
  const arm = cmakeDefineMap(kitCmakeDefines({ machine: 'aarch64', armArch: GENERATIONS[3].armArch }));
  expect(arm.get('GGML_NATIVE')).toBe('OFF');
  expect(arm.get('GGML_CPU_ARM_ARCH')).toBe(GENERATIONS[3].armArch);
});

test('a build may add only defines that select programs, never ones that change the code', () => {
  const tests = kitCmakeDefinesWith({ machine: 'x86_64' }, { LLAMA_BUILD_EXAMPLES: 'ON' });
  expect(tests.get('LLAMA_BUILD_EXAMPLES')).toBe('ON');
  expect(tests.get('GGML_NATIVE')).toBe('OFF');
  expect(() => kitCmakeDefinesWith({ machine: 'x86_64' }, { GGML_NATIVE: 'ON' })).toThrow(/GGML_NATIVE=ON would change what the kit's build compiles/);
  expect(() => kitCmakeDefinesWith({ machine: 'x86_64' }, { CMAKE_C_FLAGS: '-march=native' })).toThrow(/CMAKE_C_FLAGS/);
});

test('a define list is read as an ordered map, and a malformed or repeated define throws', () => {
  expect([...cmakeDefineMap(['-DB=1', '-DA=x=y']).entries()]).toEqual([['B', '1'], ['A', 'x=y']]);
  expect(() => cmakeDefineMap(['-DA=1', '-DA=2'])).toThrow(/A given twice/);
  expect(() => cmakeDefineMap(['-G Ninja'])).toThrow(/not a -DNAME=VALUE/);
});

test('the keep-alive compiled into llama-server outlasts every idle timeout the load balancer may be given', () => {
  const seconds = Number(/^-DCPPHTTPLIB_KEEPALIVE_TIMEOUT_SECOND=(\d+)$/.exec(cmakeDefineMap(kitCmakeDefines({ machine: 'x86_64' })).get('CMAKE_CXX_FLAGS')!)![1]);
  expect(seconds).toBe(SERVER_KEEPALIVE_SECONDS);
  // The endpoint (and so the configuration) refuses any idle timeout this long or longer.
  const idle = (value: number) => rangeProblems([{ field: 'loadBalancerIdleTimeout', setting: 'loadBalancerIdleTimeoutSeconds', value, unit: 'seconds' }]);
  expect(idle(seconds)).not.toEqual([]);
  expect(idle(4000)).toEqual([]);
});
