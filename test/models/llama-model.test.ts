import { CfnParameter, Stack, Token } from 'aws-cdk-lib';
import { LlamaModel, customModelProblems } from '../../lib/models/llama-model';

const CUSTOM = { source: 's3://my-models/tuned-8b.gguf', sha256: 'a'.repeat(64), sizeBytes: 4_900_000_000, architecture: 'llama-3.1-8b', quantization: 'Q4_K_M' };

describe('LlamaModel.custom checks what synth can read', () => {
  test('a valid file passes, on S3 or https on port 443 (given or not)', () => {
    for (const source of ['s3://my-models/tuned-8b.gguf', 'https://models.example.com/m.gguf', 'https://models.example.com:443/m.gguf?v=1']) {
      expect(customModelProblems({ ...CUSTOM, source })).toEqual([]);
    }
  });

  test('CloudFormation values are the template\'s: source, hash and size known at deploy time', () => {
    const stack = new Stack();
    const param = (id: string) => new CfnParameter(stack, id).valueAsString;
    expect(customModelProblems({ ...CUSTOM, source: param('Source'), sha256: param('Sha'), sizeBytes: Token.asNumber(param('Size')), fileName: param('File') })).toEqual([]);
  });

  test('the size floor is the architecture\'s at the quantization', () => {
    expect(customModelProblems({ ...CUSTOM, sizeBytes: 2_434_093_749 }).map((p) => p.field)).toEqual([]);
    expect(customModelProblems({ ...CUSTOM, sizeBytes: 2_000_000_000 })).toEqual([expect.objectContaining({
      field: 'sizeBytes', expected: expect.stringMatching(/^expected at least 2434093749 bytes for a Q4_K_M file of Llama 3\.1 8B Instruct \(8\.03B parameters\)/),
    })]);
  });

  test('the prefix names a configuration\'s fields, in the fields and in the messages', () => {
    expect(customModelProblems({ ...CUSTOM, quantizeTo: 'Q4_0' }, 'customModel.')).toEqual([{
      field: 'customModel.quantizeTo', given: 'Q4_0', expected: 'on-instance quantization needs an F16 source; customModel.quantization is Q4_K_M. Remove quantizeTo, or give an F16 file',
    }]);
  });

  test('a source that is no URL at all is a problem, not a TypeError', () => {
    for (const source of ['https://', 'https://:443', 'https:///x.gguf', 's3://', '']) {
      expect(() => LlamaModel.custom({ ...CUSTOM, source })).toThrow(/^LlamaModel\.custom: invalid props:\n {2}- source: /);
    }
  });
});
