/**
 * Which boot program the instance box's stacks are synthesized with
 * (GLLM_TEST_BOOT_PROGRAM, default the kit's), while both exist: the box runs
 * every scenario against either (lib/boot/boot-program.ts, transitional).
 *
 *   GLLM_TEST_BOOT_PROGRAM=typescript npx jest test/integration/instance-box.test.ts
 */
import { BOOT_PROGRAMS, BootProgram, bootBundleFile, DEFAULT_BOOT_PROGRAM } from '../../../lib/boot/boot-program';
import { BOOT_SCRIPT } from '../../../lib/boot/boot-script';
import { INSTANCE_FILES } from '../../../runtime/boot/layout';

function fromEnvironment(): BootProgram {
  const given = process.env.GLLM_TEST_BOOT_PROGRAM;
  if (given === undefined || given === '') return DEFAULT_BOOT_PROGRAM;
  if ((BOOT_PROGRAMS as readonly string[]).includes(given)) return given as BootProgram;
  throw new Error(`GLLM_TEST_BOOT_PROGRAM: got ${JSON.stringify(given)}; expected one of ${BOOT_PROGRAMS.join(', ')} (default ${DEFAULT_BOOT_PROGRAM})`);
}

export const BOX_BOOT_PROGRAM: BootProgram = fromEnvironment();

/** The file a program's instance fetches from S3, checks and runs. */
export interface ProgramFile {
  /** Where the instance keeps it. */
  readonly instancePath: string;
  /** The file the stack was synthesized with (the asset's source). */
  readonly synthesized: string;
  /** Its asset object's extension. */
  readonly extension: string;
  /** What the user data calls it when it refuses it. */
  readonly what: string;
}

export function programFile(program: BootProgram): ProgramFile {
  return program === 'bash'
    ? { instancePath: INSTANCE_FILES.bootScript, synthesized: BOOT_SCRIPT, extension: '.sh', what: 'boot script' }
    : { instancePath: INSTANCE_FILES.bootProgram, synthesized: bootBundleFile(), extension: '.js', what: 'boot program' };
}
