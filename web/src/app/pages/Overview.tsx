// Overview: conversations and outcomes, latency and cost over time, from
// GET /v1/stats/overview. The charts are hand-drawn SVG: a charting library
// would be most of the dashboard's budget for three line charts.

import { useState } from "preact/hooks";
import type { ResponseOf } from "../../api";
import { api, ok } from "../api";
import { ErrorNote, Field, Loading, Page, useLoad } from "../ui";

type Stats = ResponseOf<"/v1/stats/overview", "get">;
type Point = Stats["series"][number];

const RANGES: Record<string, number> = { "7 days": 7, "30 days": 30, "90 days": 90 };

export function Overview() {
  const [range, setRange] = useState("30 days");
  const stats = useLoad(async () => {
    const to = new Date();
    const from = new Date(to.getTime() - RANGES[range]! * 86_400_000);
    return ok(await api.GET("/v1/stats/overview", { params: { query: { from: from.toISOString(), to: to.toISOString(), bucket: "day" } } }));
  }, [range]);
  const s = stats.data;
  return (
    <Page
      title="Overview"
      actions={
        <Field label="Period">
          <select value={range} onChange={(e) => setRange(e.currentTarget.value)}>
            {Object.keys(RANGES).map((r) => (
              <option>{r}</option>
            ))}
          </select>
        </Field>
      }
    >
      <ErrorNote error={stats.error} />
      {!s ? (
        stats.loading && <Loading />
      ) : (
        <>
          <div class="kpis">
            <Kpi label="Conversations" value={s.totals.conversations} />
            <Kpi label="Answered" value={s.totals.answered} of={s.totals.conversations} />
            <Kpi label="Abstained" value={s.totals.abstained} of={s.totals.conversations} />
            <Kpi label="Escalated" value={s.totals.escalated} of={s.totals.conversations} />
            <Kpi label="Refused" value={s.totals.refused} of={s.totals.conversations} />
            <Kpi label="Latency p50 / p95" text={`${Math.round(s.totals.p50_ms ?? 0)} / ${Math.round(s.totals.p95_ms ?? 0)} ms`} />
            <Kpi label="Cost" text={`$${s.totals.cost_usd.toFixed(2)}`} />
          </div>
          <div class="charts">
            <Chart
              title="Conversations and outcomes per day"
              series={s.series}
              lines={[
                ["conversations", "Conversations"],
                ["answered", "Answered"],
                ["abstained", "Abstained"],
                ["escalated", "Escalated"],
              ]}
            />
            <Chart title="Latency p95 (ms)" series={s.series} lines={[["p95_ms", "p95"]]} />
            <Chart title="Cost (USD)" series={s.series} lines={[["cost_usd", "Cost"]]} format={(v) => `$${v.toFixed(2)}`} />
          </div>
        </>
      )}
    </Page>
  );
}

function Kpi(props: { label: string; value?: number; of?: number; text?: string }) {
  const share = props.of && props.value != null ? ` (${Math.round((100 * props.value) / props.of)}%)` : "";
  return (
    <div class="kpi card">
      <div class="muted small">{props.label}</div>
      <div class="kpi-value">{props.text ?? `${props.value ?? 0}${share}`}</div>
    </div>
  );
}

type Key = Exclude<keyof Point, "t">;

export function Chart(props: { title: string; series: Point[]; lines: [Key, string][]; format?: (v: number) => string }) {
  const W = 560;
  const H = 200;
  const pad = { l: 52, r: 16, t: 10, b: 26 };
  const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
  const fmt = props.format ?? ((v: number) => compact.format(v));
  const values = props.series.flatMap((p) => props.lines.map(([k]) => Number(p[k]) || 0));
  const max = Math.max(1, ...values);
  const n = props.series.length;
  const x = (i: number) => pad.l + (n <= 1 ? 0 : (i * (W - pad.l - pad.r)) / (n - 1));
  const y = (v: number) => H - pad.b - (v / max) * (H - pad.t - pad.b);
  const label = (t: string) => new Date(t).toLocaleDateString(undefined, { month: "short", day: "numeric" });
  const ticks = [0, max / 2, max];
  const summary = props.lines
    .map(([k, name]) => `${name}: ${props.series.map((p) => fmt(Number(p[k]) || 0)).join(", ")}`)
    .join("; ");
  return (
    <figure class="chart card">
      <figcaption>{props.title}</figcaption>
      {n === 0 ? (
        <p class="muted">No data in this period.</p>
      ) : (
        <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${props.title}. ${summary}`}>
          {ticks.map((t) => (
            <g>
              <line x1={pad.l} x2={W - pad.r} y1={y(t)} y2={y(t)} class="grid" />
              <text x={pad.l - 6} y={y(t) + 4} text-anchor="end" class="axis">
                {fmt(t)}
              </text>
            </g>
          ))}
          {props.series.map((p, i) =>
            i % Math.max(1, Math.ceil(n / 6)) === 0 || i === n - 1 ? (
              <text x={x(i)} y={H - 8} text-anchor={i === 0 ? "start" : i === n - 1 ? "end" : "middle"} class="axis">
                {label(p.t)}
              </text>
            ) : null,
          )}
          {props.lines.map(([k], li) => (
            <polyline
              class={`line l${li}`}
              fill="none"
              points={props.series.map((p, i) => `${x(i).toFixed(1)},${y(Number(p[k]) || 0).toFixed(1)}`).join(" ")}
            />
          ))}
        </svg>
      )}
      {props.lines.length > 1 && (
        <ul class="legend">
          {props.lines.map(([, name], li) => (
            <li>
              <span class={`swatch l${li}`} aria-hidden="true" />
              {name}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
