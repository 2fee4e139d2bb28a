import type { Clock } from "../../../../runtime/boot/core/clock";

/** A clock that moves only when told to, or when the code under test sleeps (each sleep is recorded). */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];

  constructor(private ms: number = Date.UTC(2026, 0, 2, 3, 4, 5, 678)) {}

  now(): number {
    return this.ms;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.advance(Math.max(0, ms));
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
