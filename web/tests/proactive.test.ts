import { describe, expect, it } from "vitest";
import { urlMatches } from "../src/widget/proactive";

describe("urlMatches", () => {
  const href = "https://shop.example/pricing/plans?x=1";
  it("matches every page without patterns", () => {
    expect(urlMatches(undefined, href)).toBe(true);
    expect(urlMatches([], href)).toBe(true);
  });
  it("matches a glob against the whole URL or the path", () => {
    expect(urlMatches(["/pricing/*"], href)).toBe(true);
    expect(urlMatches(["https://shop.example/pricing*"], href)).toBe(true);
    expect(urlMatches(["/checkout", "*plans*"], href)).toBe(true);
    expect(urlMatches(["/checkout"], href)).toBe(false);
    expect(urlMatches(["/pricing"], href)).toBe(false);
  });
  it("treats regex characters in patterns literally", () => {
    expect(urlMatches(["/pricing/plans?x=1"], href)).toBe(false);
    expect(urlMatches(["(.*)"], href)).toBe(false);
  });
});
