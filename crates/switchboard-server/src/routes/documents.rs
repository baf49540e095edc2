//! Documents: uploads (files, text, FAQ lists) and web pages by URL (a crawl),
//! answered 202 while workers fetch and ingest them; status, listing, deletion.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use switchboard_store::{Document, DocumentStatus, Metadata, NewDocumentVersion};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::iso;
use crate::auth::{Permission, Principal};
use crate::domain::Name;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::http::extract::{ApiJson, ApiQuery, IdPath, ListParams};
use crate::knowledge::uploads::{UploadError, clean_file_name, file_version, sha256_hex, text_version};
use crate::state::AppState;

pub fn router(max_upload_bytes: usize) -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(add_documents, list_documents))
        // Uploads may be larger than other bodies; a little room for the multipart framing.
        .layer(axum::extract::DefaultBodyLimit::max(max_upload_bytes.saturating_mul(2).saturating_add(64 * 1024)));
    OpenApiRouter::new().merge(uploads).routes(routes!(get_document, delete_document))
}

#[derive(Serialize, ToSchema)]
pub struct DocumentDto {
    pub id: String,
    pub collection_id: String,
    pub title: String,
    /// `file`, `text`, `faq` or `url`.
    pub source: String,
    pub url: Option<String>,
    /// Of the latest version: `queued`, `processing`, `ready` or `failed`.
    #[schema(value_type = String)]
    pub status: DocumentStatus,
    pub chunk_count: i32,
    /// Why the latest version failed.
    pub error: Option<String>,
    /// The latest version's number (1 for the first upload).
    pub version: i32,
    /// SHA-256 of the latest version's content.
    pub content_hash: String,
    /// What the latest upload of the source gave (see `AddDocument.metadata`).
    pub metadata: BTreeMap<String, String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Document> for DocumentDto {
    fn from(d: Document) -> Self {
        Self {
            id: d.id,
            collection_id: d.collection_id,
            title: d.title,
            source: d.source_kind,
            url: d.url,
            status: d.status,
            chunk_count: d.chunk_count,
            error: d.error,
            version: d.latest_version,
            content_hash: d.content_hash,
            metadata: d.metadata.entries().clone(),
            created_at: iso(d.created_at),
            updated_at: iso(d.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub id: String,
    #[schema(value_type = String)]
    pub status: DocumentStatus,
}

#[derive(Serialize, ToSchema)]
pub struct AcceptedDocuments {
    pub documents: Vec<Accepted>,
    /// For `{url}`: the crawl source (`GET /v1/crawl-sources/{id}`); the
    /// document is the start page's, and each page crawled becomes one more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crawl_source_id: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaqItem {
    #[schema(min_length = 1)]
    pub question: String,
    #[schema(min_length = 1)]
    pub answer: String,
}

/// One of: `{title, text}`, `{faq: [{question, answer}], title?}`, or
/// `{url, crawl?}` (a web site crawled from `url`: same host, robots.txt
/// honoured, sitemap.xml used, one document per page).
/// Files go as `multipart/form-data` with one or more `file` parts.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddDocument {
    pub title: Option<String>,
    pub text: Option<String>,
    pub faq: Option<Vec<FaqItem>>,
    /// An `http` or `https` URL on the public internet.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    pub crawl: Option<super::crawl::CrawlOptions>,
    /// Metadata to filter searches by: at most 32 keys of 1 to 64 characters
    /// (`a-z`, `0-9`, `_`, `.`, `-`), string values of at most 512
    /// characters. A new upload of the source replaces it; a crawl's pages
    /// all get it. Multipart uploads send it as a `metadata` field holding
    /// this JSON object, for the request's files.
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Upload metadata as the domain value (422 when it is out of bounds).
pub(super) fn parse_metadata(metadata: Option<BTreeMap<String, String>>) -> Result<Metadata, ApiError> {
    Metadata::parse(metadata.unwrap_or_default()).map_err(|e| ApiError::invalid(format!("`metadata`: {e}")))
}

#[derive(Serialize, ToSchema)]
pub struct DocumentList {
    pub documents: Vec<DocumentDto>,
    pub next_cursor: Option<String>,
}

fn from_json(body: AddDocument) -> Result<NewDocumentVersion, ApiError> {
    let metadata = parse_metadata(body.metadata)?;
    let upload = match (body.text, body.faq, body.url) {
        (Some(text), None, None) => {
            let title = Name::parse("title", body.title.as_deref().unwrap_or_default())?;
            if text.trim().is_empty() {
                return Err(ApiError::invalid("`text` must not be empty"));
            }
            Ok(text_version(format!("text:{}", title.as_str()), title.as_str(), text))
        }
        (None, Some(faq), None) => {
            if faq.is_empty() || faq.iter().any(|f| f.question.trim().is_empty() || f.answer.trim().is_empty()) {
                return Err(ApiError::invalid("`faq` needs at least one entry, each with a question and an answer"));
            }
            let title = Name::parse("title", body.title.as_deref().unwrap_or("FAQ"))?;
            // Stored as CSV, the same format an uploaded FAQ file has, so one parser serves both.
            let mut writer = csv::Writer::from_writer(Vec::new());
            writer.write_record(["question", "answer"]).map_err(anyhow::Error::from)?;
            for item in &faq {
                writer.write_record([item.question.trim(), item.answer.trim()]).map_err(anyhow::Error::from)?;
            }
            let content = writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(NewDocumentVersion {
                source_key: format!("faq:{}", title.as_str()),
                source_kind: "faq".into(),
                title: title.as_str().into(),
                url: None,
                content_hash: sha256_hex(&content),
                media_type: Some("text/csv".into()),
                content,
                metadata: Default::default(),
            })
        }
        _ => Err(ApiError::invalid("send exactly one of `text` (with `title`), `faq`, or `url`")),
    }?;
    Ok(NewDocumentVersion { metadata, ..upload })
}

async fn from_multipart(mut multipart: Multipart, max_bytes: usize) -> Result<Vec<NewDocumentVersion>, ApiError> {
    let mut out = Vec::new();
    let mut metadata = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| multipart_error(&e))? {
        if field.name() == Some("metadata") {
            if metadata.is_some() {
                return Err(ApiError::invalid("send at most one `metadata` field"));
            }
            let text = field.text().await.map_err(|e| multipart_error(&e))?;
            let entries = serde_json::from_str(&text)
                .map_err(|e| ApiError::invalid(format!("`metadata` must be a JSON object of string values: {e}")))?;
            metadata = Some(parse_metadata(Some(entries))?);
            continue;
        }
        if field.name() != Some("file") {
            return Err(ApiError::invalid(format!(
                "unexpected form field `{}`; send files as `file`",
                field.name().unwrap_or("")
            )));
        }
        let file_name = clean_file_name(field.file_name().unwrap_or("upload"));
        let declared = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| multipart_error(&e))?;
        out.push(file_version(&file_name, declared.as_deref(), bytes.to_vec(), max_bytes).map_err(|e| match e {
            UploadError::TooLarge(m) => ApiError::new(ErrorKind::PayloadTooLarge, m),
            UploadError::Invalid(m) => ApiError::invalid(m),
        })?);
    }
    if out.is_empty() {
        return Err(ApiError::invalid("send one or more `file` parts"));
    }
    let metadata = metadata.unwrap_or_default();
    for upload in &mut out {
        upload.metadata = metadata.clone();
    }
    Ok(out)
}

fn multipart_error(e: &axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorKind::PayloadTooLarge, "the upload is over the size limit")
    } else {
        ApiError::new(ErrorKind::BadRequest, format!("malformed multipart body: {}", e.body_text()))
    }
}

/// Adds documents to a collection: files (multipart `file` parts: PDF, DOCX,
/// HTML, Markdown, TXT, CSV of question,answer), or JSON `{title, text}`,
/// `{faq: [...]}` or `{url, crawl?: {max_pages, max_depth,
/// recrawl_interval_secs}}`. Answers 202 at once; poll `GET /v1/documents/{id}`
/// for the status. Re-sending a source with the same name makes a new version;
/// an identical one changes nothing. A URL starts a crawl (or re-crawls the
/// source already made for it); a URL on a private or loopback address is
/// refused with 422 unless the server allows private networks.
#[utoipa::path(post, path = "/v1/collections/{id}/documents", tag = "knowledge", params(("id" = String, Path)),
    request_body(content((AddDocument = "application/json"), (String = "multipart/form-data"))),
    responses((status = 202, body = AcceptedDocuments)))]
async fn add_documents(
    State(state): State<AppState>,
    p: Principal,
    IdPath(collection_id): IdPath,
    request: Request,
) -> ApiResult<(StatusCode, Json<AcceptedDocuments>)> {
    p.require(Permission::Write)?;
    let max = state.settings.knowledge.max_upload_bytes;
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    let uploads = if is_multipart {
        let multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::new(ErrorKind::BadRequest, e.body_text()))?;
        from_multipart(multipart, max).await?
    } else {
        let ApiJson(mut body) = ApiJson::<AddDocument>::from_request(request, &state).await?;
        if let Some(url) = body.url.take() {
            if body.text.is_some() || body.faq.is_some() || body.title.is_some() {
                return Err(ApiError::invalid("send exactly one of `text` (with `title`), `faq`, or `url`"));
            }
            let metadata = parse_metadata(body.metadata)?;
            return super::crawl::add_crawl(&state, &p, &collection_id, &url, body.crawl, metadata).await;
        }
        if body.crawl.is_some() {
            return Err(ApiError::invalid("`crawl` goes with `url`"));
        }
        let upload = from_json(body)?;
        if upload.content.len() > max {
            return Err(ApiError::new(ErrorKind::PayloadTooLarge, format!("over the {max}-byte upload limit")));
        }
        vec![upload]
    };
    let mut accepted = Vec::with_capacity(uploads.len());
    for upload in &uploads {
        let added = state
            .store
            .add_document_version(
                &p.tenant,
                &p.audit(),
                &collection_id,
                upload,
                state.settings.knowledge.job_max_attempts,
            )
            .await?;
        accepted.push(Accepted { id: added.document.id, status: added.document.status });
    }
    state.jobs_queued.notify_waiters();
    Ok((StatusCode::ACCEPTED, Json(AcceptedDocuments { documents: accepted, crawl_source_id: None })))
}

/// Lists a collection's documents.
#[utoipa::path(get, path = "/v1/collections/{id}/documents", tag = "knowledge", params(("id" = String, Path), ListParams),
    responses((status = 200, body = DocumentList)))]
async fn list_documents(
    State(state): State<AppState>,
    p: Principal,
    IdPath(collection_id): IdPath,
    ApiQuery(q): ApiQuery<ListParams>,
) -> ApiResult<Json<DocumentList>> {
    p.require(Permission::Read)?;
    let page = state.store.list_documents(&p.tenant, &collection_id, &q.page()?).await?;
    Ok(Json(DocumentList {
        documents: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One document: status, chunk count, error, version, content hash.
#[utoipa::path(get, path = "/v1/documents/{id}", tag = "knowledge", params(("id" = String, Path)),
    responses((status = 200, body = DocumentDto)))]
async fn get_document(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<Json<DocumentDto>> {
    p.require(Permission::Read)?;
    Ok(Json(state.store.get_document(&p.tenant, &id).await?.into()))
}

/// Deletes a document with all its versions, chunks, vectors and the stored file.
#[utoipa::path(delete, path = "/v1/documents/{id}", tag = "knowledge", params(("id" = String, Path)),
    responses((status = 204)))]
async fn delete_document(State(state): State<AppState>, p: Principal, IdPath(id): IdPath) -> ApiResult<StatusCode> {
    p.require(Permission::Write)?;
    state.store.delete_document(&p.tenant, &p.audit(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
