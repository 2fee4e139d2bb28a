import { COMPILER_COMMANDS, compilerFits, pickCompiler, toolchainIdentity } from '../../../../runtime/boot/build/toolchain';

describe('the build key\'s toolchain line names the compiler the boot installs, without running it', () => {
  test.each([
    [{ id: 'amzn', versionId: '2023', debianVersion: undefined, amznRelease: '2023.6.20250107' }, 'gcc14 from amzn release 2023.6.20250107'],
    [{ id: 'amzn', versionId: '2023', debianVersion: undefined, amznRelease: undefined }, 'gcc14 from amzn release 2023'],
    [{ id: 'debian', versionId: '12', debianVersion: '12.8', amznRelease: undefined }, 'default g++ from debian 12.8'],
    [{ id: 'debian', versionId: '12', debianVersion: undefined, amznRelease: undefined }, 'default g++ from debian 12'],
    [{ id: 'ubuntu', versionId: '24.04', debianVersion: 'trixie/sid', amznRelease: undefined }, 'default compiler from ubuntu 24.04'],
    [{ id: 'unknown', versionId: 'unknown', debianVersion: undefined, amznRelease: undefined }, 'default compiler from unknown unknown'],
  ])('%j', (facts, line) => expect(toolchainIdentity(facts)).toBe(line));
});

describe('the compiler', () => {
  test('GCC 14 first, then gcc, then cc; a pair needs both commands', () => {
    expect(pickCompiler([])).toEqual({ cc: 'gcc14-gcc', cxx: 'gcc14-g++' });
    expect(pickCompiler(['gcc14-g++'])).toEqual({ cc: 'gcc', cxx: 'g++' });
    expect(pickCompiler(['gcc14-gcc', 'g++'])).toEqual({ cc: 'cc', cxx: 'c++' });
    expect(pickCompiler(COMPILER_COMMANDS)).toBeUndefined();
  });

  test('on Amazon Linux only gcc14 fits; elsewhere any pair', () => {
    expect(compilerFits('amzn', ['gcc14-gcc', 'gcc14-g++'])).toBe(false);
    expect(compilerFits('amzn', [])).toBe(true);
    expect(compilerFits('debian', ['gcc14-gcc', 'gcc14-g++'])).toBe(true);
    expect(compilerFits('debian', COMPILER_COMMANDS)).toBe(false);
  });
});
