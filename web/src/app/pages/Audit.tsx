// The audit log: every change, who made it, with the request id.

import { useState } from "preact/hooks";
import type { ResponseOf } from "../../api";
import { api, ok } from "../api";
import { Empty, ErrorNote, JsonView, Loading, Page, Time, useLoad } from "../ui";

type Entry = ResponseOf<"/v1/audit-log", "get">["entries"][number];

export function Audit() {
  const [pages, setPages] = useState<(string | undefined)[]>([undefined]);
  const after = pages[pages.length - 1];
  const list = useLoad(async () => ok(await api.GET("/v1/audit-log", { params: { query: { limit: 50, ...(after ? { after } : {}) } } })), [after]);
  return (
    <Page title="Audit log" sub="Every change in this organization.">
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : list.data?.entries.length === 0 ? (
        <Empty>Nothing yet.</Empty>
      ) : (
        <table class="list" aria-label="Audit log">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.entries.map((e: Entry) => (
              <tr>
                <td>
                  <Time iso={e.created_at} />
                </td>
                <td>
                  {e.actor_type}
                  {e.actor_id && <div class="muted small">{e.actor_id.slice(0, 8)}</div>}
                </td>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>
                  {e.target_type} <span class="muted small">{e.target_id.slice(0, 8)}</span>
                </td>
                <td>
                  <details>
                    <summary>request {e.request_id.slice(0, 8)}</summary>
                    <JsonView value={e.details} />
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div class="row">
        {pages.length > 1 && (
          <button type="button" class="secondary" onClick={() => setPages(pages.slice(0, -1))}>
            Newer
          </button>
        )}
        {list.data?.next_cursor && (
          <button type="button" class="secondary" onClick={() => setPages([...pages, list.data!.next_cursor ?? undefined])}>
            Older
          </button>
        )}
      </div>
    </Page>
  );
}
