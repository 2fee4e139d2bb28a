import { CfnParameter, Stack, Token } from 'aws-cdk-lib';
import { PropsError } from '../../lib/base/problems';
import { GENERATIONS } from '../../lib/catalogs/graviton-generations';
import { GravitonInstanceType, deployTimeInstanceTypeProblems } from '../../lib/instances/graviton-instance-type';

const G3 = { instanceType: 'c7g.xlarge', generation: 3, cpuPart: GENERATIONS[3].cpuPart, armArch: GENERATIONS[3].armArch };

describe('GravitonInstanceType.chosenAtDeployTime checks what synth can read', () => {
  test('each generation\'s own build flags pass, with a literal type of that generation or a parameter', () => {
    for (const g of Object.values(GENERATIONS)) {
      const stack = new Stack();
      expect(deployTimeInstanceTypeProblems({ instanceType: new CfnParameter(stack, 'Type').valueAsString, generation: g.generation, cpuPart: g.cpuPart, armArch: g.armArch })).toEqual([]);
    }
    expect(GravitonInstanceType.chosenAtDeployTime(G3)).toMatchObject({ instanceType: 'c7g.xlarge', generation: 3 });
  });

  test('CloudFormation values are the template\'s: a generation, CPU part and build flags picked from a mapping', () => {
    const stack = new Stack();
    const param = (id: string) => new CfnParameter(stack, id).valueAsString;
    expect(deployTimeInstanceTypeProblems({ instanceType: param('Type'), generation: Token.asNumber(param('Gen')), cpuPart: param('Part'), armArch: param('Arch') })).toEqual([]);
    // With the generation a token, a literal armArch must still be one the kit builds for some generation.
    expect(deployTimeInstanceTypeProblems({ ...G3, generation: Token.asNumber(param('Gen2')), armArch: 'x86-64' }).map((p) => p.field)).toEqual(['armArch']);
  });

  test('every problem at once, each naming its prop', () => {
    expect(() => GravitonInstanceType.chosenAtDeployTime({ instanceType: 'm5.large', generation: 9, cpuPart: 'd40', armArch: 'x86-64' })).toThrow(PropsError);
    const problems = deployTimeInstanceTypeProblems({ instanceType: 'm5.large', generation: 9, cpuPart: 'd40', armArch: 'x86-64' });
    expect(problems.map((p) => p.field)).toEqual(['generation', 'cpuPart', 'armArch', 'instanceType']);
    expect(problems[0].expected).toBe('expected a Graviton generation the kit builds for: 2, 3, 4, 5');
  });

  test('a type of another generation than the one given', () => {
    expect(deployTimeInstanceTypeProblems({ ...G3, instanceType: 'c8g.large' })).toEqual([
      { field: 'instanceType', given: 'c8g.large', expected: 'expected a Graviton3 type, as generation is 3; c8g.large is Graviton4 (generation 4)' },
    ]);
  });

  test('JavaScript values of the wrong type', () => {
    expect(deployTimeInstanceTypeProblems({ ...G3, generation: '3' as never, cpuPart: undefined as never }).map((p) => [p.field, p.expected])).toEqual([
      ['generation', 'expected a Graviton generation the kit builds for: 2, 3, 4, 5'],
      ['cpuPart', 'required: the generation\'s CPU part, e.g. 0xd40'],
    ]);
  });
});

describe('GravitonInstanceType.of', () => {
  test('a parameter, or a value that is not a string, is refused naming instanceType', () => {
    const stack = new Stack();
    expect(() => GravitonInstanceType.of(new CfnParameter(stack, 'Type').valueAsString)).toThrow(/instanceType: nothing was given; expected a literal instance type .*chosenAtDeployTime/);
    expect(() => GravitonInstanceType.of(7 as never)).toThrow('GravitonInstanceType.of: invalid props:\n  - instanceType: got 7; expected a Graviton instance type name such as c7g.2xlarge (a string)');
  });
});
