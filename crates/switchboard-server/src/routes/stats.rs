//! `GET /v1/stats/overview`: the dashboard's overview figures. Conversations
//! started, assistant turns by outcome, cost and per-turn latency, totals and
//! per day (or hour), counted by the database (GROUP BY bucket) from what the
//! message path stored: no turn is read into the server.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_store::{Millis, TurnFigures, now_millis};
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

/// Milliseconds to a tenth, 0 without timed turns.
fn round_ms(ms: Option<f64>) -> f64 {
    ms.map(|v| (v * 10.0).round() / 10.0).unwrap_or(0.0)
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
    let mut conversations = vec![0_i64; usize::try_from(count).unwrap_or_default()];
    for (i, n) in state.store.conversation_counts(t, from, to, bucket_ms).await? {
        if let Some(c) = usize::try_from(i).ok().and_then(|i| conversations.get_mut(i)) {
            *c += n;
        }
    }
    let mut turns: Vec<Option<TurnFigures>> = vec![None; conversations.len()];
    for f in state.store.turn_figures(t, from, to, bucket_ms).await? {
        if let Some(slot) = usize::try_from(f.bucket).ok().and_then(|i| turns.get_mut(i)) {
            *slot = Some(f);
        }
    }
    // The whole range as one bucket, for the totals' percentiles.
    let all = state.store.turn_figures(t, from, to, to - from).await?.into_iter().next();
    let (csat_count, csat_average) = state.store.csat_stats(t, from, to).await?;
    let outcomes = |f: Option<&TurnFigures>| f.map_or([0; 4], |f| [f.answered, f.abstained, f.escalated, f.refused]);
    let [answered, abstained, escalated, refused] = outcomes(all.as_ref());
    let totals = Totals {
        conversations: conversations.iter().sum(),
        answered,
        abstained,
        escalated,
        refused,
        cost_usd: round_cost(all.as_ref().map_or(0.0, |f| f.cost_usd)),
        p50_ms: round_ms(all.as_ref().and_then(|f| f.p50_ms)),
        p95_ms: round_ms(all.as_ref().and_then(|f| f.p95_ms)),
        csat_count,
        csat_average: csat_average.map(|a| (a * 100.0).round() / 100.0),
    };
    let series = conversations
        .into_iter()
        .zip(turns)
        .enumerate()
        .map(|(i, (conversations, f))| {
            let [answered, abstained, escalated, refused] = outcomes(f.as_ref());
            Point {
                t: iso(from + i as i64 * bucket_ms),
                conversations,
                answered,
                abstained,
                escalated,
                refused,
                cost_usd: round_cost(f.as_ref().map_or(0.0, |f| f.cost_usd)),
                p95_ms: round_ms(f.as_ref().and_then(|f| f.p95_ms)),
            }
        })
        .collect();
    Ok(Json(Overview { from: iso(from), to: iso(to), bucket: bucket_name.into(), totals, series }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_dates() {
        assert_eq!(parse_time("from", "1970-01-02").unwrap(), DAY_MS);
        assert_eq!(parse_time("from", "1970-01-01T01:00:00Z").unwrap(), HOUR_MS);
        assert!(parse_time("from", "yesterday").is_err());
    }
}
