import { PhaseFailure } from '../../../../runtime/boot/core/phase';

/** The PhaseFailure `p` rejects with (of `phase`, where named); the test fails if it resolves or rejects with anything else. */
export async function failureOf(p: Promise<unknown>, phase?: string): Promise<PhaseFailure> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(PhaseFailure);
  if (phase !== undefined) expect((e as PhaseFailure).phase).toBe(phase);
  return e as PhaseFailure;
}
