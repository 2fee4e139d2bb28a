import { Token } from 'aws-cdk-lib';
import { ARCHITECTURES, ARCHITECTURE_IDS, ArchitectureId, ModelArchitecture, minimumModelFileBytes } from '../catalogs/model-architectures';
import { CATALOG_MODEL_IDS, findCatalogModel, modelDownloadUrl } from '../catalogs/model-catalog';
import { BITS_PER_WEIGHT, QUANTIZATIONS, Quantization } from '../catalogs/quantizations';
import { GIB } from '../sizing/memory-fit';
import { PropProblem, PropsError, throwIfProblems } from '../base/problems';
import { PropType, isKnown, lowerCaseHint, numberType, printable, propTypeProblems, required, stringType, withoutProps } from '../base/prop-types';

/** Quantizations llama-quantize can produce on the instance from an F16 file. */
export const ON_INSTANCE_QUANTIZATIONS: readonly Quantization[] = ['Q4_0', 'Q8_0', 'Q4_K_M'];

/** Room on the root volume for the OS, the llama.cpp source and build, and logs. */
export const ROOT_VOLUME_BASE_GIB = 20;

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Where the instances may fetch a model: an S3 object, or an https:// URL
 * (host, optional port, path), in the characters the boot environment
 * carries unquoted. The port is group 2.
 */
const MODEL_SOURCE = /^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/[A-Za-z0-9_.,:/+@%=\-]+|https:\/\/[A-Za-z0-9][A-Za-z0-9.-]*(?::(\d+))?\/[A-Za-z0-9_.,:/+@%=?&~\-]*)$/;

/** A plain file name ending in .gguf, as the boot script accepts it (GLLM_MODEL_FILE). */
export const MODEL_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,250}\.gguf$/;

/** Your own GGUF file, for `LlamaModel.custom`. */
export interface CustomLlamaModelProps {
  /** Where the instances fetch the file: `s3://BUCKET/KEY` or an `https://` URL on port 443. */
  readonly source: string;
  /** SHA-256 of the file, 64 lowercase hexadecimal characters; a boot refuses a file that does not match. */
  readonly sha256: string;
  /** File size in bytes; sizes the memory fit check and the root volume. */
  readonly sizeBytes: number;
  /** The Llama 3 model it was fine-tuned from (`llama-3.2-1b`, `llama-3.2-3b`, `llama-3.1-8b`, `llama-3.3-70b`): the KV-cache shape and context limit. */
  readonly architecture: string;
  /** Quantization of the file as fetched: `Q4_0`, `Q8_0`, `Q4_K_M` or `F16`. */
  readonly quantization: string;
  /**
   * Quantize an F16 file on the instance to this (`Q4_0`, `Q8_0` or `Q4_K_M`) before serving; the result is cached.
   * @default - the file is served as fetched
   */
  readonly quantizeTo?: string;
  /**
   * Name the instances store the file under.
   * @default - `custom-` and the first 16 characters of sha256, `.gguf`
   */
  readonly fileName?: string;
  /**
   * What descriptions and messages call the model.
   * @default - "custom model (ARCHITECTURE architecture)"
   */
  readonly displayName?: string;
}

/**
 * The model an endpoint serves: one of the kit's catalog GGUF files (a
 * constant of this class, or `LlamaModel.fromCatalog(id)`), or your own file
 * with `LlamaModel.custom({...})`. Any field of a custom model but its
 * architecture and quantizations may be a CloudFormation token.
 */
export class LlamaModel {
  /** Llama 3.2 1B Instruct, Q4_0. */
  static readonly LLAMA_3_2_1B_INSTRUCT_Q4_0 = LlamaModel.fromCatalog('llama-3.2-1b-instruct-q4_0');
  /** Llama 3.2 1B Instruct, Q8_0. */
  static readonly LLAMA_3_2_1B_INSTRUCT_Q8_0 = LlamaModel.fromCatalog('llama-3.2-1b-instruct-q8_0');
  /** Llama 3.2 1B Instruct, Q4_K_M. */
  static readonly LLAMA_3_2_1B_INSTRUCT_Q4_K_M = LlamaModel.fromCatalog('llama-3.2-1b-instruct-q4_k_m');
  /** Llama 3.2 3B Instruct, Q8_0. */
  static readonly LLAMA_3_2_3B_INSTRUCT_Q8_0 = LlamaModel.fromCatalog('llama-3.2-3b-instruct-q8_0');
  /** Llama 3.2 3B Instruct, Q4_K_M: the kit's default. */
  static readonly LLAMA_3_2_3B_INSTRUCT_Q4_K_M = LlamaModel.fromCatalog('llama-3.2-3b-instruct-q4_k_m');
  /** Llama 3.1 8B Instruct, Q8_0. */
  static readonly LLAMA_3_1_8B_INSTRUCT_Q8_0 = LlamaModel.fromCatalog('llama-3.1-8b-instruct-q8_0');
  /** Llama 3.1 8B Instruct, Q4_K_M. */
  static readonly LLAMA_3_1_8B_INSTRUCT_Q4_K_M = LlamaModel.fromCatalog('llama-3.1-8b-instruct-q4_k_m');
  /** Llama 3.3 70B Instruct, Q4_K_M. */
  static readonly LLAMA_3_3_70B_INSTRUCT_Q4_K_M = LlamaModel.fromCatalog('llama-3.3-70b-instruct-q4_k_m');

  /** A catalog model by id (see the README's model catalog). */
  static fromCatalog(id: string): LlamaModel {
    const entry = findCatalogModel(id);
    if (!entry) {
      throw new PropsError('LlamaModel.fromCatalog', [{ field: 'id', given: id, expected: catalogModelExpectation('use LlamaModel.custom') }]);
    }
    const architecture = ARCHITECTURES[entry.architecture];
    return new LlamaModel({
      id: entry.id,
      displayName: architecture.displayName,
      source: modelDownloadUrl(entry),
      sha256: entry.sha256,
      sizeBytes: entry.sizeBytes,
      fileName: entry.file,
      architecture,
      quantization: entry.quantization,
      license: architecture.license,
    });
  }

  /** Your own GGUF file, checked as far as its values are known at synth (see customModelProblems). */
  static custom(props: CustomLlamaModelProps): LlamaModel {
    throwIfProblems('LlamaModel.custom', typeof props === 'object' && props !== null
      ? customModelProblems(props)
      : [{ field: 'props', given: props, expected: 'expected an object: { source, sha256, sizeBytes, architecture, quantization }' }]);
    const architecture = ARCHITECTURES[props.architecture as ArchitectureId];
    return new LlamaModel({
      id: 'custom',
      displayName: props.displayName ?? `custom model (${architecture.displayName} architecture)`,
      source: props.source,
      sha256: props.sha256,
      sizeBytes: props.sizeBytes,
      fileName: props.fileName ?? `custom-${props.sha256.slice(0, 16)}.gguf`,
      architecture,
      quantization: props.quantization as Quantization,
      quantizeTo: props.quantizeTo as Quantization | undefined,
      license: `as the model's publisher states; fine-tunes of ${architecture.displayName} inherit: ${architecture.license}`,
    });
  }

  /** Catalog id, or `custom`. */
  readonly id: string;
  readonly displayName: string;
  /** `https://` or `s3://` location of the GGUF file. */
  readonly source: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** File name the instance stores it under. */
  readonly fileName: string;
  readonly architecture: ModelArchitecture;
  readonly quantization: Quantization;
  /** Quantize on the instance to this type before serving. */
  readonly quantizeTo?: Quantization;
  readonly license: string;

  private constructor(fields: Omit<LlamaModel, 'servedBytes' | 'minimumRootVolumeGiB'>) {
    this.id = fields.id;
    this.displayName = fields.displayName;
    this.source = fields.source;
    this.sha256 = fields.sha256;
    this.sizeBytes = fields.sizeBytes;
    this.fileName = fields.fileName;
    this.architecture = fields.architecture;
    this.quantization = fields.quantization;
    this.quantizeTo = fields.quantizeTo;
    this.license = fields.license;
  }

  /** The bytes held in memory while serving: on-instance quantization shrinks an F16 source. */
  servedBytes(): number {
    if (!this.quantizeTo) {
      return this.sizeBytes;
    }
    return Math.ceil(this.sizeBytes * BITS_PER_WEIGHT[this.quantizeTo] / BITS_PER_WEIGHT.F16);
  }

  /** The smallest root volume that holds the download, its verified copy (and a quantized output), the OS and the build. */
  minimumRootVolumeGiB(): number {
    const modelGiB = (this.sizeBytes * 2 + (this.quantizeTo ? this.servedBytes() : 0)) / GIB;
    return ROOT_VOLUME_BASE_GIB + Math.ceil(modelGiB);
  }
}

/**
 * What a model id that is not in the catalog should be: the catalog's ids,
 * or the way to give a file of one's own (`customAlternative`, as the caller
 * names it: a prop or a configuration field).
 */
export function catalogModelExpectation(customAlternative: string): string {
  return `expected a catalog model id: ${CATALOG_MODEL_IDS.join(', ')}; or ${customAlternative} for your own file`;
}

/** Whether a value is a LlamaModel (by its shape, so that a model of another copy of the package passes too). */
export function isLlamaModel(value: unknown): value is LlamaModel {
  return value instanceof LlamaModel || (typeof value === 'object' && value !== null
    && typeof (value as LlamaModel).servedBytes === 'function' && typeof (value as LlamaModel).architecture === 'object');
}

const LLAMA_MODEL_EXPECTATION = 'expected a LlamaModel: a constant such as LlamaModel.LLAMA_3_2_3B_INSTRUCT_Q4_K_M, LlamaModel.fromCatalog(id) or LlamaModel.custom({...})';

/** A prop that must be a LlamaModel (GravitonLlmEndpoint's and InferenceFleet's `model`). */
export const llamaModelType: PropType = required(
  (field, value) => (isLlamaModel(value) ? undefined : { field, given: printable(value), expected: LLAMA_MODEL_EXPECTATION }),
  LLAMA_MODEL_EXPECTATION,
);

const SOURCE_EXPECTATION = 'expected an s3://BUCKET/KEY or https://HOST/PATH URL of a .gguf file (letters, digits and _ . , : / + @ % = ? & ~ - only)';
const SHA256_EXPECTATION = 'expected 64 lowercase hexadecimal characters (what `sha256sum FILE` prints)';
const SIZE_EXPECTATION = 'expected the file\'s size in bytes (`stat -c %s FILE`), a whole number of at least 1';

/** The JavaScript type of each prop of a custom model. */
const CUSTOM_MODEL_TYPES: { readonly [K in keyof CustomLlamaModelProps]-?: PropType } = {
  source: required(stringType(SOURCE_EXPECTATION), SOURCE_EXPECTATION),
  sha256: required(stringType(SHA256_EXPECTATION), SHA256_EXPECTATION),
  sizeBytes: required(numberType(SIZE_EXPECTATION), SIZE_EXPECTATION),
  architecture: required(stringType(`expected one of ${ARCHITECTURE_IDS.join(', ')}`), `one of ${ARCHITECTURE_IDS.join(', ')}, the Llama 3 model yours was fine-tuned from`),
  quantization: required(stringType(`expected one of ${QUANTIZATIONS.join(', ')}`), `one of ${QUANTIZATIONS.join(', ')}, the file's quantization as fetched`),
  quantizeTo: stringType(`expected one of ${ON_INSTANCE_QUANTIZATIONS.join(', ')}`),
  fileName: stringType('expected a plain file name ending in .gguf'),
  displayName: stringType('expected a string: what descriptions and messages call the model'),
};

/**
 * What is wrong with a custom model's props, as far as their values are
 * known at synth (a CloudFormation token is checked by the template, not
 * here). `prefix` is prepended to the fields named, e.g. `customModel.`.
 * The one definition of these rules: `LlamaModel.custom` throws them, and the
 * configuration reports them for its `customModel` field.
 */
export function customModelProblems(props: CustomLlamaModelProps, prefix = ''): PropProblem[] {
  const types = propTypeProblems(props, CUSTOM_MODEL_TYPES, prefix);
  return [...types, ...customModelValueProblems(withoutProps(props, types, prefix), prefix)];
}

/** The values' own rules, on props whose types are right (a prop of the wrong type is left out: unset). */
function customModelValueProblems(props: Partial<CustomLlamaModelProps>, prefix: string): PropProblem[] {
  const problems: PropProblem[] = [];
  const architecture = props.architecture !== undefined && (ARCHITECTURE_IDS as readonly string[]).includes(props.architecture)
    ? ARCHITECTURES[props.architecture as ArchitectureId] as ModelArchitecture
    : undefined;
  const quantization = props.quantization !== undefined && (QUANTIZATIONS as readonly string[]).includes(props.quantization)
    ? props.quantization as Quantization
    : undefined;
  if (props.architecture !== undefined && !architecture) {
    problems.push({ field: `${prefix}architecture`, given: props.architecture, expected: `expected one of ${ARCHITECTURE_IDS.join(', ')}, the Llama 3 model yours was fine-tuned from` });
  }
  if (props.quantization !== undefined && !quantization) {
    problems.push({ field: `${prefix}quantization`, given: props.quantization, expected: `expected one of ${QUANTIZATIONS.join(', ')}` });
  }
  if (isKnown(props.quantizeTo) && !(ON_INSTANCE_QUANTIZATIONS as readonly string[]).includes(props.quantizeTo!)) {
    problems.push({ field: `${prefix}quantizeTo`, given: props.quantizeTo, expected: `expected one of ${ON_INSTANCE_QUANTIZATIONS.join(', ')}, what llama-quantize produces` });
  } else if (isKnown(props.quantizeTo) && quantization !== undefined && quantization !== 'F16') {
    problems.push({
      field: `${prefix}quantizeTo`,
      given: props.quantizeTo,
      expected: `on-instance quantization needs an F16 source; ${prefix}quantization is ${props.quantization}. Remove quantizeTo, or give an F16 file`,
    });
  }
  if (isKnown(props.sha256) && !SHA256.test(props.sha256!)) {
    problems.push({ field: `${prefix}sha256`, given: props.sha256, expected: `${SHA256_EXPECTATION}${lowerCaseHint(props.sha256!, SHA256)}` });
  }
  if (isKnown(props.sizeBytes)) {
    const size = props.sizeBytes!;
    const minimum = architecture && quantization ? minimumModelFileBytes(architecture, quantization) : undefined;
    if (!(Number.isInteger(size) && size >= 1)) {
      problems.push({ field: `${prefix}sizeBytes`, given: size, expected: SIZE_EXPECTATION });
    } else if (minimum !== undefined && size < minimum) {
      // A size far below what the architecture's weights take would size the fit check and the disk on a wrong number.
      problems.push({
        field: `${prefix}sizeBytes`,
        given: size,
        expected: `expected at least ${minimum} bytes for a ${quantization} file of ${architecture!.displayName} `
          + `(${architecture!.parametersBillions}B parameters): give the file's size in bytes (\`stat -c %s FILE\`), `
          + 'or correct architecture or quantization',
      });
    }
  }
  if (props.fileName === undefined && props.sha256 !== undefined && Token.isUnresolved(props.sha256)) {
    problems.push({ field: `${prefix}fileName`, expected: 'required when sha256 is a CloudFormation value: the default file name is built from the hash, which synth cannot read' });
  } else if (isKnown(props.fileName) && !MODEL_FILE_NAME.test(props.fileName!)) {
    problems.push({
      field: `${prefix}fileName`,
      given: props.fileName,
      expected: 'expected a plain file name ending in .gguf: a letter or digit, then letters, digits, _ . or - (no path, no spaces), at most 255 characters',
    });
  }
  if (isKnown(props.source)) {
    const match = MODEL_SOURCE.exec(props.source!);
    if (!match) {
      problems.push({ field: `${prefix}source`, given: props.source, expected: SOURCE_EXPECTATION });
    } else if (match[2] !== undefined && match[2] !== '443') {
      problems.push({
        field: `${prefix}source`,
        given: props.source,
        expected: 'an https:// URL on the default port 443: the instances\' security group lets out HTTPS on port 443 only. Serve the file on 443, or from S3',
      });
    }
  }
  return problems;
}
