import { describe, expect, it } from "vitest";
import { urlMatches } from "../src/widget/proactive";

describe("urlMatches", () => {
  const href = "https://shop.example/pricing/plans?x=1";
  it("matches every page without patterns", () => {
    expect(urlMatches(undefined, href)).toBe(true);
    expect(urlMatches([], href)).toBe(true);
  });
  it("matches when the URL contains a pattern, * matching anything", () => {
    expect(urlMatches(["/pricing"], href)).toBe(true);
    expect(urlMatches(["shop.example/*/plans"], href)).toBe(true);
    expect(urlMatches(["/checkout", "plans?x=1"], href)).toBe(true);
    expect(urlMatches(["/checkout"], href)).toBe(false);
    expect(urlMatches(["/pricing/*/x"], href)).toBe(false);
  });
  it("treats regex characters in patterns literally", () => {
    expect(urlMatches(["(.*)"], href)).toBe(false);
    expect(urlMatches(["pricing.plans"], href)).toBe(false);
  });
});
