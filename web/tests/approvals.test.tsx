// @vitest-environment jsdom
// The approvals page against a loopback server: pending calls are listed with
// their arguments; approving and denying (with a reason) call the API.
import { render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { json, loopback } from "./fixtures/loopback";

const target = vi.hoisted(() => ({ base: "" }));
vi.mock("../src/app/api", async (importOriginal) =>
  (await import("./fixtures/dashboard")).forwardingApi(await importOriginal(), target),
);

const { Approvals } = await import("../src/app/pages/Approvals");

const pending = (id: string, tool: string) => ({
  id,
  conversation_id: "conv1",
  agent_version_id: "v1",
  tool,
  arguments: { order_id: "A-1001", amount: 25 },
  status: "pending",
  requested_at: new Date().toISOString(),
});

let server: Awaited<ReturnType<typeof loopback>>;
let root: HTMLDivElement;

beforeEach(async () => {
  const waiting = [pending("ap1", "refund"), pending("ap2", "cancel_order")];
  server = await loopback((req, res) => {
    if (req.method === "GET" && req.url.startsWith("/v1/approvals")) {
      const status = new URL(req.url, "http://x").searchParams.get("status");
      return json(res, 200, { approvals: status === "pending" ? waiting : [], next_cursor: null });
    }
    const m = req.url.match(/^\/v1\/approvals\/(\w+)\/(approve|deny)$/);
    if (req.method === "POST" && m) {
      const i = waiting.findIndex((w) => w.id === m[1]);
      const [done] = waiting.splice(i, 1);
      return json(res, 200, { ...done, status: m[2] === "approve" ? "succeeded" : "denied" });
    }
    json(res, 404, {});
  });
  target.base = server.base;
  root = document.createElement("div");
  document.body.appendChild(root);
});

afterEach(async () => {
  render(null, root);
  root.remove();
  await server.close();
});

const byLabel = <T extends HTMLElement>(label: string) => root.querySelector<T>(`[aria-label="${label}"]`)!;

describe("Approvals", () => {
  it("lists pending calls and approves or denies them", async () => {
    render(<Approvals />, root);
    await vi.waitFor(() => expect(root.querySelectorAll("tbody tr")).toHaveLength(2));
    expect(server.seen[0]!.url).toContain("status=pending");
    expect(root.querySelector("tbody")!.textContent).toContain("A-1001");

    byLabel<HTMLButtonElement>("Approve refund").click();
    await vi.waitFor(() => expect(root.querySelectorAll("tbody tr")).toHaveLength(1));
    const approve = server.seen.find((s) => s.url === "/v1/approvals/ap1/approve")!;
    expect(JSON.parse(approve.body)).toEqual({});
    expect(root.querySelector("[role=status]")!.textContent).toContain("Approved: refund");

    const reason = byLabel<HTMLInputElement>("Reason to deny cancel_order (optional)");
    reason.value = "The order has shipped";
    reason.dispatchEvent(new Event("input", { bubbles: true }));
    await act(async () => {});
    byLabel<HTMLButtonElement>("Deny cancel_order").click();
    await vi.waitFor(() => expect(root.textContent).toContain("Nothing is waiting for approval."));
    const deny = server.seen.find((s) => s.url === "/v1/approvals/ap2/deny")!;
    expect(JSON.parse(deny.body)).toEqual({ reason: "The order has shipped" });
  });
});
