//! Web crawl storage, shared by both backends the way `shared.rs` is: a macro
//! expanded inside `impl_store!`, so it sees that module's helpers
//! (`fetch_document`, `add_version_in`, `delete_document_in`, `audit`). The
//! `Store` trait methods in `shared.rs` call the inherent methods made here.
//!
//! A crawl is a numbered run. Starting a run bumps `crawl_sources.run`, puts
//! the start page in the frontier and queues one `crawl` job, in one
//! transaction. Every page result (its document version, its state, the links
//! it adds to the frontier) is one transaction too, so a worker that dies
//! mid-crawl leaves a frontier the next attempt resumes from: fetched pages are
//! not fetched again, and a page fetched twice dedupes by content hash.

macro_rules! impl_crawl_store {
    ($store:ty, $db:ty) => {
        const CRAWL_SOURCE_COLUMNS: &str = "id, collection_id, start_url, start_document_id, max_pages, max_depth, \
             recrawl_interval_secs, status, run, job_id, run_started_at, run_truncated, next_crawl_at, \
             last_crawled_at, last_error, metadata, created_at, updated_at";

        type CrawlConn = <$db as sqlx::Database>::Connection;

        async fn fetch_crawl_source(conn: &mut CrawlConn, t: &Tenant, id: &str) -> Result<CrawlSource> {
            use sqlx::Row;
            let sql = format!("SELECT {CRAWL_SOURCE_COLUMNS} FROM crawl_sources WHERE org_id = $1 AND id = $2");
            let r = sqlx::query(&sql).bind(t.org_id()).bind(id).fetch_optional(&mut *conn).await?;
            let r = r.ok_or(StoreError::NotFound)?;
            let status: String = r.try_get("status")?;
            let truncated: i32 = r.try_get("run_truncated")?;
            let run: i32 = r.try_get("run")?;
            let counts: Vec<(String, i64)> = sqlx::query_as(
                "SELECT state, COUNT(*) FROM crawl_pages WHERE source_id = $1 AND run = $2 GROUP BY state",
            )
            .bind(id)
            .bind(run)
            .fetch_all(&mut *conn)
            .await?;
            let mut pages = CrawlPageCounts::default();
            for (state, n) in counts {
                match state.as_str() {
                    "pending" => pages.pending = n,
                    "indexed" => pages.indexed = n,
                    "unchanged" => pages.unchanged = n,
                    "skipped" => pages.skipped = n,
                    "gone" => pages.gone = n,
                    _ => pages.failed += n,
                }
            }
            Ok(CrawlSource {
                id: r.try_get("id")?,
                collection_id: r.try_get("collection_id")?,
                start_url: r.try_get("start_url")?,
                start_document_id: r.try_get("start_document_id")?,
                max_pages: r.try_get("max_pages")?,
                max_depth: r.try_get("max_depth")?,
                recrawl_interval_secs: r.try_get("recrawl_interval_secs")?,
                status: status.parse().map_err(|e: String| StoreError::Other(anyhow::anyhow!(e)))?,
                run,
                job_id: r.try_get("job_id")?,
                run_started_at: r.try_get("run_started_at")?,
                run_truncated: truncated != 0,
                next_crawl_at: r.try_get("next_crawl_at")?,
                last_crawled_at: r.try_get("last_crawled_at")?,
                last_error: r.try_get("last_error")?,
                metadata: crate::Metadata::from_json(&r.try_get::<String, _>("metadata")?),
                pages,
                created_at: r.try_get("created_at")?,
                updated_at: r.try_get("updated_at")?,
            })
        }

        /// The start page's document: the existing one for that URL in the
        /// collection, or a new one with no version yet (`queued` until the
        /// crawl fetches the page).
        async fn ensure_start_document(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            collection_id: &str,
            source_id: &str,
            start_url: &str,
        ) -> Result<String> {
            let existing: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM documents WHERE org_id = $1 AND collection_id = $2 AND source_key = $3",
            )
            .bind(t.org_id())
            .bind(collection_id)
            .bind(start_url)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some((id,)) = existing {
                return Ok(id);
            }
            let id = new_id();
            sqlx::query(
                "INSERT INTO documents (id, org_id, collection_id, source_key, source_kind, title, url, status, \
                 latest_version, content_hash, created_at, updated_at, crawl_source_id) \
                 VALUES ($1, $2, $3, $4, 'url', $4, $4, 'queued', 0, '', $5, $5, $6)",
            )
            .bind(&id)
            .bind(t.org_id())
            .bind(collection_id)
            .bind(start_url)
            .bind(now_millis())
            .bind(source_id)
            .execute(&mut **tx)
            .await?;
            Ok(id)
        }

        /// A source left `queued` or `crawling` by a job that ended without
        /// finishing the run (it failed for good, or its workers kept dying)
        /// becomes idle again, with the job's error, so that it can be crawled.
        const CRAWL_REPAIR: &str = "UPDATE crawl_sources SET status = 'idle', updated_at = $1, \
             last_error = COALESCE((SELECT j.last_error FROM jobs j WHERE j.id = crawl_sources.job_id), last_error), \
             next_crawl_at = CASE WHEN recrawl_interval_secs IS NULL THEN NULL \
                 ELSE $1 + recrawl_interval_secs * 1000 END \
             WHERE status IN ('queued', 'crawling') \
             AND (job_id IS NULL OR job_id IN (SELECT j.id FROM jobs j WHERE j.status IN ('succeeded', 'failed')))";

        /// Starts the next run when none is queued or running; false when one is.
        async fn start_crawl_run_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            source_id: &str,
            start_url: &str,
            job_max_attempts: i32,
        ) -> Result<bool> {
            let now = now_millis();
            let job_id = new_id();
            let started = sqlx::query(
                "UPDATE crawl_sources SET status = 'queued', run = run + 1, job_id = $1, run_started_at = NULL, \
                 run_truncated = 0, last_error = NULL, updated_at = $2 \
                 WHERE org_id = $3 AND id = $4 AND status = 'idle'",
            )
            .bind(&job_id)
            .bind(now)
            .bind(t.org_id())
            .bind(source_id)
            .execute(&mut **tx)
            .await?;
            if started.rows_affected() == 0 {
                return Ok(false);
            }
            let (run,): (i32,) = sqlx::query_as("SELECT run FROM crawl_sources WHERE id = $1")
                .bind(source_id)
                .fetch_one(&mut **tx)
                .await?;
            upsert_crawl_page(tx, t, source_id, run, start_url, 0, "pending", None).await?;
            sqlx::query(
                "INSERT INTO jobs (id, org_id, kind, payload, status, attempts, max_attempts, run_after, \
                 created_at, updated_at) VALUES ($1, $2, 'crawl', $3, 'queued', 0, $4, $5, $5, $5)",
            )
            .bind(&job_id)
            .bind(t.org_id())
            .bind(serde_json::json!({"source_id": source_id, "run": run}).to_string())
            .bind(job_max_attempts.max(1))
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok(true)
        }

        /// Puts a page in the run with this state (a redirect target or alias
        /// may be new to the run); its depth and discovery time stay as first seen.
        #[allow(clippy::too_many_arguments)]
        async fn upsert_crawl_page(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            source_id: &str,
            run: i32,
            url: &str,
            depth: i32,
            state: &str,
            detail: Option<&str>,
        ) -> Result<()> {
            let now = now_millis();
            sqlx::query(
                "INSERT INTO crawl_pages (source_id, url, org_id, run, depth, state, detail, discovered, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT (source_id, url) DO UPDATE SET run = excluded.run, state = excluded.state, \
                 detail = excluded.detail, updated_at = excluded.updated_at, \
                 depth = CASE WHEN crawl_pages.run < excluded.run THEN excluded.depth ELSE crawl_pages.depth END",
            )
            .bind(source_id)
            .bind(url)
            .bind(t.org_id())
            .bind(run)
            .bind(depth)
            .bind(state)
            .bind(detail)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Adds URLs to the run's frontier at `depth`, skipping ones the run
        /// already has, until the run holds `max_pages` pages. When a URL new to
        /// the run does not fit, the run is marked truncated (pages it does not
        /// reach may still exist, so they are not removed at the end).
        async fn queue_crawl_links_in(
            tx: &mut sqlx::Transaction<'_, $db>,
            t: &Tenant,
            source: &CrawlSource,
            urls: &[String],
            depth: i32,
        ) -> Result<usize> {
            let (held,): (i64,) =
                sqlx::query_as("SELECT COUNT(*) FROM crawl_pages WHERE source_id = $1 AND run = $2")
                    .bind(&source.id)
                    .bind(source.run)
                    .fetch_one(&mut **tx)
                    .await?;
            let mut room = i64::from(source.max_pages) - held;
            let mut added = 0;
            let now = now_millis();
            for (i, url) in urls.iter().enumerate() {
                if room <= 0 {
                    for rest in &urls[i..] {
                        let known: Option<(i32,)> = sqlx::query_as(
                            "SELECT run FROM crawl_pages WHERE source_id = $1 AND url = $2 AND run = $3",
                        )
                        .bind(&source.id)
                        .bind(rest)
                        .bind(source.run)
                        .fetch_optional(&mut **tx)
                        .await?;
                        if known.is_none() {
                            sqlx::query("UPDATE crawl_sources SET run_truncated = 1 WHERE id = $1")
                                .bind(&source.id)
                                .execute(&mut **tx)
                                .await?;
                            break;
                        }
                    }
                    break;
                }
                let done = sqlx::query(
                    "INSERT INTO crawl_pages (source_id, url, org_id, run, depth, state, discovered, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) \
                     ON CONFLICT (source_id, url) DO UPDATE SET run = excluded.run, depth = excluded.depth, \
                     state = 'pending', detail = NULL, discovered = excluded.discovered, updated_at = excluded.updated_at \
                     WHERE crawl_pages.run < excluded.run",
                )
                .bind(&source.id)
                .bind(url)
                .bind(t.org_id())
                .bind(source.run)
                .bind(depth)
                .bind(now)
                .execute(&mut **tx)
                .await?;
                if done.rows_affected() == 1 {
                    added += 1;
                    room -= 1;
                }
            }
            Ok(added)
        }

        impl $store {
            async fn crawl_add_source(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                collection_id: &str,
                new: &NewCrawlSource,
                job_max_attempts: i32,
            ) -> Result<AddedCrawl> {
                let mut tx = self.begin_write().await?;
                fetch_collection(&mut *tx, t, collection_id).await?;
                let now = now_millis();
                let existing: Option<(String,)> = sqlx::query_as(
                    "SELECT id FROM crawl_sources WHERE org_id = $1 AND collection_id = $2 AND start_url = $3",
                )
                .bind(t.org_id())
                .bind(collection_id)
                .bind(&new.start_url)
                .fetch_optional(&mut *tx)
                .await?;
                let next_crawl_at = new.recrawl_interval_secs.map(|s| now + s * 1000);
                let id = match existing {
                    Some((id,)) => {
                        let start_document = ensure_start_document(&mut tx, t, collection_id, &id, &new.start_url).await?;
                        sqlx::query(
                            "UPDATE crawl_sources SET max_pages = $1, max_depth = $2, recrawl_interval_secs = $3, \
                             next_crawl_at = $4, start_document_id = $5, updated_at = $6, metadata = $9 \
                             WHERE org_id = $7 AND id = $8",
                        )
                        .bind(new.max_pages)
                        .bind(new.max_depth)
                        .bind(new.recrawl_interval_secs)
                        .bind(next_crawl_at)
                        .bind(&start_document)
                        .bind(now)
                        .bind(t.org_id())
                        .bind(&id)
                        .bind(new.metadata.to_json())
                        .execute(&mut *tx)
                        .await?;
                        id
                    }
                    None => {
                        let id = new_id();
                        // The source row first: the start document refers to it.
                        sqlx::query(
                            "INSERT INTO crawl_sources (id, org_id, collection_id, start_url, start_document_id, \
                             max_pages, max_depth, recrawl_interval_secs, status, run, next_crawl_at, created_at, \
                             updated_at, metadata) VALUES ($1, $2, $3, $4, '', $5, $6, $7, 'idle', 0, $8, $9, $9, $10)",
                        )
                        .bind(&id)
                        .bind(t.org_id())
                        .bind(collection_id)
                        .bind(&new.start_url)
                        .bind(new.max_pages)
                        .bind(new.max_depth)
                        .bind(new.recrawl_interval_secs)
                        .bind(next_crawl_at)
                        .bind(now)
                        .bind(new.metadata.to_json())
                        .execute(&mut *tx)
                        .await?;
                        let start_document = ensure_start_document(&mut tx, t, collection_id, &id, &new.start_url).await?;
                        sqlx::query("UPDATE crawl_sources SET start_document_id = $1 WHERE id = $2")
                            .bind(&start_document)
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                        id
                    }
                };
                sqlx::query(&format!("{CRAWL_REPAIR} AND org_id = $2 AND id = $3"))
                    .bind(now)
                    .bind(t.org_id())
                    .bind(&id)
                    .execute(&mut *tx)
                    .await?;
                let started = start_crawl_run_in(&mut tx, t, &id, &new.start_url, job_max_attempts).await?;
                let details = serde_json::json!({
                    "url": new.start_url, "max_pages": new.max_pages, "max_depth": new.max_depth,
                    "recrawl_interval_secs": new.recrawl_interval_secs, "started": started,
                    "metadata": new.metadata.entries(),
                });
                audit(&mut tx, t, a, "crawl.add", ("crawl_source", &id), details).await?;
                let source = fetch_crawl_source(&mut *tx, t, &id).await?;
                let start_document = fetch_document(&mut *tx, t, &source.start_document_id).await?;
                tx.commit().await?;
                Ok(AddedCrawl { source, start_document })
            }

            async fn crawl_get_source(&self, t: &Tenant, id: &str) -> Result<CrawlSource> {
                let mut conn = self.pool.acquire().await?;
                fetch_crawl_source(&mut *conn, t, id).await
            }

            async fn crawl_start_urls_of(&self, t: &Tenant, collection_ids: &[String]) -> Result<Vec<String>> {
                if collection_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let sql = format!(
                    "SELECT DISTINCT start_url FROM crawl_sources WHERE org_id = $1 AND collection_id IN ({}) \
                     ORDER BY start_url",
                    crate::search::placeholders(2, collection_ids.len())
                );
                let mut query = sqlx::query_as::<_, (String,)>(&sql).bind(t.org_id());
                for id in collection_ids {
                    query = query.bind(id);
                }
                Ok(query.fetch_all(&self.pool).await?.into_iter().map(|(url,)| url).collect())
            }

            async fn crawl_start(&self, t: &Tenant, a: &AuditCtx, id: &str, job_max_attempts: i32) -> Result<CrawlSource> {
                let mut tx = self.begin_write().await?;
                let source = fetch_crawl_source(&mut *tx, t, id).await?;
                sqlx::query(&format!("{CRAWL_REPAIR} AND org_id = $2 AND id = $3"))
                    .bind(now_millis())
                    .bind(t.org_id())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                let start_document =
                    ensure_start_document(&mut tx, t, &source.collection_id, id, &source.start_url).await?;
                sqlx::query("UPDATE crawl_sources SET start_document_id = $1 WHERE id = $2")
                    .bind(&start_document)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if start_crawl_run_in(&mut tx, t, id, &source.start_url, job_max_attempts).await? {
                    audit(&mut tx, t, a, "crawl.start", ("crawl_source", id), serde_json::json!({"url": source.start_url}))
                        .await?;
                }
                let source = fetch_crawl_source(&mut *tx, t, id).await?;
                tx.commit().await?;
                Ok(source)
            }

            async fn crawl_start_due(&self, now: Millis, job_max_attempts: i32) -> Result<u64> {
                {
                    let mut tx = self.begin_write().await?;
                    sqlx::query(CRAWL_REPAIR).bind(now).execute(&mut *tx).await?;
                    tx.commit().await?;
                }
                let due: Vec<(String, String)> = sqlx::query_as(
                    "SELECT org_id, id FROM crawl_sources WHERE status = 'idle' AND next_crawl_at IS NOT NULL \
                     AND next_crawl_at <= $1 ORDER BY next_crawl_at, id LIMIT 100",
                )
                .bind(now)
                .fetch_all(&self.pool)
                .await?;
                let mut started = 0;
                for (org_id, id) in due {
                    let t = Tenant::new(org_id);
                    let mut tx = self.begin_write().await?;
                    let source = fetch_crawl_source(&mut *tx, &t, &id).await?;
                    // Another node may have started it since the query above.
                    if source.next_crawl_at.is_some_and(|at| at <= now)
                        && start_crawl_run_in(&mut tx, &t, &id, &source.start_url, job_max_attempts).await?
                    {
                        let a = AuditCtx::system("scheduler");
                        let details = serde_json::json!({"url": source.start_url, "scheduled": true});
                        audit(&mut tx, &t, &a, "crawl.start", ("crawl_source", &id), details).await?;
                        started += 1;
                    }
                    tx.commit().await?;
                }
                Ok(started)
            }

            async fn crawl_begin_run(&self, t: &Tenant, id: &str, run: i32) -> Result<CrawlSource> {
                let mut tx = self.begin_write().await?;
                let now = now_millis();
                let begun = sqlx::query(
                    "UPDATE crawl_sources SET status = 'crawling', run_started_at = COALESCE(run_started_at, $1), \
                     updated_at = $1 WHERE org_id = $2 AND id = $3 AND run = $4 AND status IN ('queued', 'crawling')",
                )
                .bind(now)
                .bind(t.org_id())
                .bind(id)
                .bind(run)
                .execute(&mut *tx)
                .await?;
                if begun.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                let source = fetch_crawl_source(&mut *tx, t, id).await?;
                tx.commit().await?;
                Ok(source)
            }

            async fn crawl_queue_pages(&self, t: &Tenant, id: &str, run: i32, urls: &[String], depth: i32) -> Result<usize> {
                let mut tx = self.begin_write().await?;
                let source = fetch_crawl_source(&mut *tx, t, id).await?;
                if source.run != run {
                    return Ok(0);
                }
                let added = queue_crawl_links_in(&mut tx, t, &source, urls, depth).await?;
                tx.commit().await?;
                Ok(added)
            }

            async fn crawl_pending_pages(&self, t: &Tenant, id: &str, run: i32, limit: u32) -> Result<Vec<CrawlPage>> {
                let found: Vec<(String, i32)> = sqlx::query_as(
                    "SELECT url, depth FROM crawl_pages WHERE org_id = $1 AND source_id = $2 AND run = $3 \
                     AND state = 'pending' ORDER BY depth, discovered, url LIMIT $4",
                )
                .bind(t.org_id())
                .bind(id)
                .bind(run)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                Ok(found.into_iter().map(|(url, depth)| CrawlPage { url, depth }).collect())
            }

            async fn crawl_record_page(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                id: &str,
                run: i32,
                page: &CrawledPage,
                job_max_attempts: i32,
            ) -> Result<RecordedPage> {
                let mut tx = self.begin_write().await?;
                let source = fetch_crawl_source(&mut *tx, t, id).await?;
                if source.run != run || source.status == CrawlStatus::Idle {
                    return Ok(RecordedPage { document: None, links_added: 0 });
                }
                let mut document = None;
                let (state, detail) = match &page.outcome {
                    CrawlPageOutcome::Fetched(new) => {
                        let added =
                            add_version_in(&mut tx, t, a, &source.collection_id, new, job_max_attempts, Some(id)).await?;
                        let state = if added.version_id.is_some() { "indexed" } else { "unchanged" };
                        document = Some(added);
                        (state, None)
                    }
                    CrawlPageOutcome::Skipped(why) => ("skipped", Some(why.as_str())),
                    CrawlPageOutcome::Gone(why) => ("gone", Some(why.as_str())),
                    CrawlPageOutcome::Failed(why) => ("failed", Some(why.as_str())),
                };
                upsert_crawl_page(&mut tx, t, id, run, &page.url, page.depth, state, detail).await?;
                let alias_detail = format!("redirects to {}", page.url);
                for alias in page.aliases.iter().filter(|u| **u != page.url) {
                    upsert_crawl_page(&mut tx, t, id, run, alias, page.depth, "skipped", Some(&alias_detail)).await?;
                }
                if page.url == source.start_url
                    && let Some(why) = detail
                {
                    // The start page could not be indexed: say so on the source, and on
                    // its document while that has nothing better to show.
                    sqlx::query("UPDATE crawl_sources SET last_error = $1 WHERE id = $2")
                        .bind(why)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE documents SET status = 'failed', error = $1, updated_at = $2 \
                         WHERE org_id = $3 AND id = $4 AND latest_version = 0",
                    )
                    .bind(why)
                    .bind(now_millis())
                    .bind(t.org_id())
                    .bind(&source.start_document_id)
                    .execute(&mut *tx)
                    .await?;
                }
                let links_added = queue_crawl_links_in(&mut tx, t, &source, &page.links, page.depth + 1).await?;
                tx.commit().await?;
                Ok(RecordedPage { document, links_added })
            }

            async fn crawl_finish_run(
                &self,
                t: &Tenant,
                a: &AuditCtx,
                id: &str,
                run: i32,
                complete: bool,
                error: Option<&str>,
            ) -> Result<FinishedCrawl> {
                let mut tx = self.begin_write().await?;
                let source = fetch_crawl_source(&mut *tx, t, id).await?;
                if source.run != run || source.status == CrawlStatus::Idle {
                    return Ok(FinishedCrawl { removed: 0 });
                }
                // Complete: the frontier ran dry with nothing dropped at the cap, so a
                // page the run did not reach is no longer linked from the site.
                let complete = complete && error.is_none() && !source.run_truncated && source.pages.pending == 0;
                let gone: Vec<(String, String)> = sqlx::query_as(
                    "SELECT d.id, d.title FROM documents d \
                     LEFT JOIN crawl_pages p ON p.source_id = d.crawl_source_id AND p.url = d.source_key \
                     WHERE d.org_id = $1 AND d.crawl_source_id = $2 AND d.id <> $3 \
                     AND ((p.run = $4 AND p.state IN ('gone', 'skipped')) \
                          OR ($5 = 1 AND (p.url IS NULL OR p.run < $4)))",
                )
                .bind(t.org_id())
                .bind(id)
                .bind(&source.start_document_id)
                .bind(run)
                .bind(i32::from(complete))
                .fetch_all(&mut *tx)
                .await?;
                for (document_id, title) in &gone {
                    delete_document_in(&mut tx, t, document_id).await?;
                    let details = serde_json::json!({"title": title, "reason": "the page is gone from the site"});
                    audit(&mut tx, t, a, "document.delete", ("document", document_id), details).await?;
                }
                let now = now_millis();
                sqlx::query(
                    "UPDATE crawl_sources SET status = 'idle', last_crawled_at = $1, updated_at = $1, \
                     last_error = COALESCE($2, last_error), \
                     next_crawl_at = CASE WHEN recrawl_interval_secs IS NULL THEN NULL \
                         ELSE $1 + recrawl_interval_secs * 1000 END \
                     WHERE org_id = $3 AND id = $4",
                )
                .bind(now)
                .bind(error)
                .bind(t.org_id())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(FinishedCrawl { removed: gone.len() as u64 })
            }
        }
    };
}

pub(crate) use impl_crawl_store;
