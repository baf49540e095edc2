// Approvals: calls of HTTP tools that change something (side effects) wait
// here for a person. Approving runs the call once and the conversation gets
// its result; denying records the refusal (with the reason, if given). Both
// leave a note in the conversation's transcript.

import { useState } from "preact/hooks";
import type { ResponseOf } from "../../api";
import { api, ok } from "../api";
import { Link } from "../router";
import { Badge, Empty, ErrorNote, Field, JsonView, Loading, Page, Time, useAction, useLoad } from "../ui";

type Approval = ResponseOf<"/v1/approvals", "get">["approvals"][number];
const STATUSES = ["pending", "approved", "succeeded", "failed", "denied"];

export function Approvals() {
  const [status, setStatus] = useState("pending");
  const list = useLoad(async () => ok(await api.GET("/v1/approvals", { params: { query: { status, limit: 100 } } })), [status]);
  const a = useAction();
  const [done, setDone] = useState<string>();
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const decide = async (x: Approval, verdict: "approve" | "deny") => {
    setDone(undefined);
    const reason = reasons[x.id]?.trim();
    const body = verdict === "deny" && reason ? { reason } : {};
    const path = verdict === "approve" ? "/v1/approvals/{id}/approve" : "/v1/approvals/{id}/deny";
    const r = await a.run(async () => ok(await api.POST(path, { params: { path: { id: x.id } }, body })));
    if (r) {
      setDone(`${verdict === "approve" ? "Approved" : "Denied"}: ${x.tool} (now ${r.status.replace(/_/g, " ")}).`);
      list.reload();
    }
  };
  const items = list.data?.approvals ?? [];
  return (
    <Page title="Approvals" sub="Tool calls that change something wait here until a person approves or denies them.">
      <div class="filters">
        <Field label="Status">
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            {STATUSES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorNote error={a.error ?? list.error} />
      {done && <p role="status">{done}</p>}
      {list.loading && !list.data ? (
        <Loading />
      ) : items.length === 0 ? (
        <Empty>{status === "pending" ? "Nothing is waiting for approval." : `No ${status} calls.`}</Empty>
      ) : (
        <table class="list" aria-label={`Approvals: ${status}`}>
          <thead>
            <tr>
              <th scope="col">Tool</th>
              <th scope="col">Arguments</th>
              <th scope="col">Conversation</th>
              <th scope="col">Asked</th>
              <th scope="col">{status === "pending" ? <span class="sr-only">Decision</span> : "Result"}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((x) => (
              <tr>
                <td>
                  <code>{x.tool}</code> <Badge value={x.status} />
                </td>
                <td>
                  <JsonView value={x.arguments} />
                </td>
                <td>
                  <Link href={`/conversations/${x.conversation_id}`}>Open conversation</Link>
                </td>
                <td>
                  <Time iso={x.requested_at} />
                </td>
                <td>
                  {x.status === "pending" ? (
                    <div class="decision">
                      <button type="button" onClick={() => void decide(x, "approve")} disabled={a.busy} aria-label={`Approve ${x.tool}`}>
                        Approve
                      </button>
                      <input
                        aria-label={`Reason to deny ${x.tool} (optional)`}
                        placeholder="Reason (optional)"
                        maxLength={500}
                        value={reasons[x.id] ?? ""}
                        onInput={(e) => setReasons({ ...reasons, [x.id]: e.currentTarget.value })}
                      />
                      <button type="button" class="secondary danger" onClick={() => void decide(x, "deny")} disabled={a.busy} aria-label={`Deny ${x.tool}`}>
                        Deny
                      </button>
                    </div>
                  ) : (
                    <pre class="small">{x.result ?? "—"}</pre>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Page>
  );
}
