//! The caller's organization and its billing settings.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use switchboard_store::Billing;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::OrgDto;
use crate::auth::{Permission, Principal};
use crate::domain::{Email, Name};
use crate::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_org, update_org)).routes(routes!(get_billing, update_billing))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrg {
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*\\S[^\\x00-\\x1F\\x7F-\\x9F]*$")]
    pub name: String,
}

/// The caller's organization.
#[utoipa::path(get, path = "/v1/org", tag = "organization", responses((status = 200, body = OrgDto)))]
async fn get_org(State(state): State<AppState>, p: Principal) -> ApiResult<Json<OrgDto>> {
    p.require(Permission::Read)?;
    Ok(Json(state.store.get_org(&p.tenant).await?.into()))
}

/// Renames the organization.
#[utoipa::path(patch, path = "/v1/org", tag = "organization", request_body = UpdateOrg,
    responses((status = 200, body = OrgDto)))]
async fn update_org(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<UpdateOrg>,
) -> ApiResult<Json<OrgDto>> {
    p.require(Permission::ManageBilling)?;
    let name = Name::parse("name", &body.name)?;
    Ok(Json(state.store.rename_org(&p.tenant, &p.audit(), name.as_str()).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct BillingDto {
    pub billing_email: Option<String>,
    /// LLM tokens the organization may use per calendar month; null = unlimited.
    pub monthly_token_budget: Option<i64>,
    /// LLM tokens used this calendar month (UTC).
    pub tokens_used_this_month: i64,
}

async fn billing_dto(state: &AppState, p: &Principal, b: Billing) -> ApiResult<BillingDto> {
    let usage = state.store.token_usage(&p.tenant, &crate::conversation::budget::period()).await?;
    Ok(BillingDto {
        billing_email: b.billing_email,
        monthly_token_budget: b.monthly_token_budget,
        tokens_used_this_month: usage.used,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBilling {
    /// Omit to keep; null to clear.
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, format = Email)]
    pub billing_email: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub monthly_token_budget: Option<Option<i64>>,
}

/// Billing settings (owners and admins).
#[utoipa::path(get, path = "/v1/org/billing", tag = "organization", responses((status = 200, body = BillingDto)))]
async fn get_billing(State(state): State<AppState>, p: Principal) -> ApiResult<Json<BillingDto>> {
    p.require(Permission::ManageBilling)?;
    let b = state.store.get_billing(&p.tenant).await?;
    Ok(Json(billing_dto(&state, &p, b).await?))
}

/// Changes billing settings (owners and admins).
#[utoipa::path(patch, path = "/v1/org/billing", tag = "organization", request_body = UpdateBilling,
    responses((status = 200, body = BillingDto)))]
async fn update_billing(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(body): ApiJson<UpdateBilling>,
) -> ApiResult<Json<BillingDto>> {
    p.require(Permission::ManageBilling)?;
    let mut billing: Billing = state.store.get_billing(&p.tenant).await?;
    if let Some(email) = body.billing_email {
        billing.billing_email = email.map(|e| Email::parse(&e).map(|e| e.as_str().to_owned())).transpose()?;
    }
    if let Some(budget) = body.monthly_token_budget {
        if budget.is_some_and(|b| b < 0) {
            return Err(ApiError::invalid("`monthly_token_budget` must not be negative"));
        }
        billing.monthly_token_budget = budget;
    }
    let b = state.store.update_billing(&p.tenant, &p.audit(), &billing).await?;
    Ok(Json(billing_dto(&state, &p, b).await?))
}

/// Distinguishes an absent field (keep) from an explicit null (clear).
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
