import { describe, expect, it } from "vitest";
import { Backoff } from "../src/shared/backoff";

describe("Backoff", () => {
  const opts = { baseMs: 500, capMs: 8000, stableMs: 10_000 };

  it("doubles the ceiling per failure up to the cap", () => {
    const b = new Backoff(opts, () => 0.999999, () => 0);
    const delays = Array.from({ length: 7 }, () => b.next());
    expect(delays).toEqual([499, 999, 1999, 3999, 7999, 7999, 7999]);
  });

  it("draws the delay uniformly below the ceiling (full jitter)", () => {
    const draws = [0, 0.5, 0.25];
    const b = new Backoff(opts, () => draws.shift()!, () => 0);
    expect([b.next(), b.next(), b.next()]).toEqual([0, 500, 500]);
  });

  it("starts over after a connection that stayed up, not after a short one", () => {
    let now = 0;
    const b = new Backoff(opts, () => 0.999999, () => now);
    b.next();
    b.next();
    b.next();
    b.connected();
    now += 2000;
    expect(b.next()).toBe(3999);
    b.connected();
    now += 10_000;
    expect(b.next()).toBe(499);
  });

  it("never overflows after many failures", () => {
    const b = new Backoff(opts, () => 0.5, () => 0);
    for (let i = 0; i < 10_000; i++) expect(b.next()).toBeLessThanOrEqual(8000);
  });
});
