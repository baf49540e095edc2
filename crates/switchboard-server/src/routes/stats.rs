//! `GET /v1/stats/overview`: the dashboard's overview figures. Conversations
//! started, assistant turns by outcome, cost and per-turn latency, totals and
//! per day (or hour), read from what the message path stored.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_store::{Millis, TurnStat, now_millis};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiQuery;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(overview))
}

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const MAX_RANGE_MS: i64 = 366 * DAY_MS;
const MAX_BUCKETS: i64 = 1000;
/// Turns read for one overview; beyond this the figures cover the earliest ones.
const MAX_TURNS: u32 = 500_000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewQuery {
    /// Start (RFC 3339 time or `YYYY-MM-DD`, UTC); default: 30 days before `to`.
    pub from: Option<String>,
    /// End, exclusive; default: now.
    pub to: Option<String>,
    /// `day` (default) or `hour`.
    pub bucket: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Totals {
    /// Conversations started.
    pub conversations: i64,
    /// Assistant turns by outcome.
    pub answered: i64,
    pub abstained: i64,
    pub escalated: i64,
    pub refused: i64,
    pub cost_usd: f64,
    /// Per-turn latency (the whole message path), milliseconds; 0 without turns.
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Satisfaction ratings given, and their mean (1 to 5).
    pub csat_count: i64,
    pub csat_average: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct Point {
    /// The bucket's start.
    pub t: String,
    pub conversations: i64,
    pub answered: i64,
    pub abstained: i64,
    pub escalated: i64,
    pub refused: i64,
    pub cost_usd: f64,
    /// 0 without turns.
    pub p95_ms: f64,
}

#[derive(Serialize, ToSchema)]
pub struct Overview {
    pub from: String,
    pub to: String,
    pub bucket: String,
    pub totals: Totals,
    pub series: Vec<Point>,
}

fn parse_time(field: &str, value: &str) -> ApiResult<Millis> {
    let v = value.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or_default());
    }
    Err(ApiError::invalid(format!("`{field}` must be an RFC 3339 time or a YYYY-MM-DD date")))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    Some((sorted[rank.min(sorted.len()) - 1] * 10.0).round() / 10.0)
}

#[derive(Default)]
struct Bucket {
    conversations: i64,
    outcomes: [i64; 4],
    cost: f64,
    latencies: Vec<f64>,
}

impl Bucket {
    fn add(&mut self, turn: &TurnStat) {
        match turn.outcome.as_deref() {
            Some("answered") => self.outcomes[0] += 1,
            Some("abstained") => self.outcomes[1] += 1,
            Some("escalated") => self.outcomes[2] += 1,
            Some("refused") => self.outcomes[3] += 1,
            _ => {}
        }
        self.cost += turn.cost_usd.unwrap_or(0.0);
        if let Some(ms) = turn.total_ms {
            self.latencies.push(ms);
        }
    }
}

fn round_cost(c: f64) -> f64 {
    (c * 1_000_000.0).round() / 1_000_000.0
}

/// Overview figures for a time range: totals and a series per day or hour.
#[utoipa::path(get, path = "/v1/stats/overview", tag = "conversations", params(OverviewQuery),
    responses((status = 200, body = Overview)))]
async fn overview(
    State(state): State<AppState>,
    p: Principal,
    ApiQuery(q): ApiQuery<OverviewQuery>,
) -> ApiResult<Json<Overview>> {
    p.require(Permission::Read)?;
    let (bucket_name, bucket_ms) = match q.bucket.as_deref().unwrap_or("day") {
        "day" => ("day", DAY_MS),
        "hour" => ("hour", HOUR_MS),
        _ => return Err(ApiError::invalid("`bucket` must be day or hour")),
    };
    let to = q.to.as_deref().map(|v| parse_time("to", v)).transpose()?.unwrap_or_else(now_millis);
    let from = q.from.as_deref().map(|v| parse_time("from", v)).transpose()?.unwrap_or(to - 30 * DAY_MS);
    // Buckets start on whole UTC days or hours.
    let from = from.div_euclid(bucket_ms) * bucket_ms;
    if to <= from {
        return Err(ApiError::invalid("`from` must be before `to`"));
    }
    if to - from > MAX_RANGE_MS {
        return Err(ApiError::invalid("the range is at most 366 days"));
    }
    let count = (to - from + bucket_ms - 1) / bucket_ms;
    if count > MAX_BUCKETS {
        return Err(ApiError::invalid(format!("at most {MAX_BUCKETS} buckets: widen `bucket` or narrow the range")));
    }
    let t = &p.tenant;
    let mut buckets: Vec<Bucket> = (0..count).map(|_| Bucket::default()).collect();
    let mut all = Bucket::default();
    for (i, n) in state.store.conversation_counts(t, from, to, bucket_ms).await? {
        if let Some(b) = usize::try_from(i).ok().and_then(|i| buckets.get_mut(i)) {
            b.conversations += n;
        }
        all.conversations += n;
    }
    for turn in state.store.turn_stats(t, from, to, MAX_TURNS).await? {
        if let Some(b) = usize::try_from((turn.at - from) / bucket_ms).ok().and_then(|i| buckets.get_mut(i)) {
            b.add(&turn);
        }
        all.add(&turn);
    }
    all.latencies.sort_by(f64::total_cmp);
    let (csat_count, csat_average) = state.store.csat_stats(t, from, to).await?;
    let totals = Totals {
        conversations: all.conversations,
        answered: all.outcomes[0],
        abstained: all.outcomes[1],
        escalated: all.outcomes[2],
        refused: all.outcomes[3],
        cost_usd: round_cost(all.cost),
        p50_ms: percentile(&all.latencies, 50.0).unwrap_or(0.0),
        p95_ms: percentile(&all.latencies, 95.0).unwrap_or(0.0),
        csat_count,
        csat_average: csat_average.map(|a| (a * 100.0).round() / 100.0),
    };
    let series = buckets
        .into_iter()
        .enumerate()
        .map(|(i, mut b)| {
            b.latencies.sort_by(f64::total_cmp);
            Point {
                t: iso(from + i as i64 * bucket_ms),
                conversations: b.conversations,
                answered: b.outcomes[0],
                abstained: b.outcomes[1],
                escalated: b.outcomes[2],
                refused: b.outcomes[3],
                cost_usd: round_cost(b.cost),
                p95_ms: percentile(&b.latencies, 95.0).unwrap_or(0.0),
            }
        })
        .collect();
    Ok(Json(Overview { from: iso(from), to: iso(to), bucket: bucket_name.into(), totals, series }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 95.0), Some(95.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn times_are_rfc3339_or_dates() {
        assert_eq!(parse_time("from", "1970-01-02").unwrap(), DAY_MS);
        assert_eq!(parse_time("from", "1970-01-01T01:00:00Z").unwrap(), HOUR_MS);
        assert!(parse_time("from", "yesterday").is_err());
    }
}
