//! Hostile uploads (RELIABILITY section 4): each must fail with a typed error, or succeed with
//! bounded output, quickly and without panicking. Times are asserted only with wide margins; the
//! hard guarantee on inflated bytes is asserted on the bounded reader itself (unit tests in
//! `src/docx.rs`).

mod support;

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use switchboard_ingest::{ChunkOptions, ExtractError, Format, Limits, chunk, detect, estimate_tokens, extract};
use zip::write::SimpleFileOptions;

/// Generous: these finish in milliseconds; the bound catches a parser that spins or inflates
/// everything, not a slow CI machine.
const FAST: Duration = Duration::from_secs(2);

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn two_page_pdf() -> Vec<u8> {
    support::pdf(&[
        vec![(11.0, 72.0, 750.0, "Page one has some text about refunds.")],
        vec![(11.0, 72.0, 750.0, "Page two has some text about shipping.")],
    ])
}

#[test]
fn empty_file_is_refused_by_detect_and_extract() {
    assert!(matches!(detect(b"", Some("a.pdf"), None), Err(ExtractError::Empty)));
    for format in [Format::Pdf, Format::Docx, Format::Html, Format::Markdown, Format::Text, Format::Csv] {
        assert!(matches!(extract(format, b"", &Limits::default()), Err(ExtractError::Empty)));
    }
    // Whitespace only: parses, but there is nothing to index.
    let err = extract(Format::Text, b"  \n\n ", &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "no_text");
}

#[test]
fn input_over_the_size_limit_is_refused_before_parsing() {
    let limits = Limits { max_input_bytes: 1024, ..Limits::default() };
    let err = extract(Format::Text, &[b'a'; 2048], &limits).unwrap_err();
    assert!(matches!(err, ExtractError::TooLarge { size: 2048, limit: 1024 }), "{err}");
    assert_eq!(err.code(), "file_too_large");
}

#[test]
fn corrupt_and_truncated_pdfs_fail_cleanly() {
    let garbage = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF";
    let err = extract(Format::Pdf, garbage, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "corrupt_document", "{err}");

    let pdf = two_page_pdf();
    for cut in [9, pdf.len() / 3, pdf.len() / 2, pdf.len() - 30] {
        let (result, took) = timed(|| extract(Format::Pdf, &pdf[..cut], &Limits::default()));
        assert!(took < FAST);
        // Truncation may leave recoverable pages (lopdf rebuilds a lost xref); what it must never
        // do is panic, hang, or return an error without a message.
        if let Err(e) = result {
            assert!(!e.to_string().is_empty());
        }
    }
}

#[test]
fn mutated_pdfs_never_panic_out_of_extract() {
    let pdf = two_page_pdf();
    // A fixed pseudo-random walk (no flaky seeds): flip bytes all over a valid file.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..48 {
        let mut bytes = pdf.clone();
        for _ in 0..8 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % bytes.len();
            bytes[at] = (state >> 32) as u8;
        }
        let _ = extract(Format::Pdf, &bytes, &Limits::default());
    }
}

#[test]
fn encrypted_pdf_is_reported_as_encrypted() {
    let mut doc = Document::load_mem(&two_page_pdf()).unwrap();
    let encrypt = doc.add_object(dictionary! {
        "Filter" => "Standard", "V" => 1, "R" => 2, "P" => -44,
        "O" => Object::string_literal(vec![7u8; 32]), "U" => Object::string_literal(vec![9u8; 32]),
    });
    doc.trailer.set("Encrypt", encrypt);
    doc.trailer.set("ID", vec![Object::string_literal(vec![1u8; 16]), Object::string_literal(vec![1u8; 16])]);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    let err = extract(Format::Pdf, &bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, ExtractError::Encrypted(Format::Pdf)), "{err}");
}

#[test]
fn pdf_page_limit() {
    let limits = Limits { max_pages: 1, ..Limits::default() };
    let err = extract(Format::Pdf, &two_page_pdf(), &limits).unwrap_err();
    assert!(matches!(err, ExtractError::TooManyPages { pages: 2, limit: 1 }), "{err}");
}

/// A form XObject that draws itself would recurse in pdf-extract until the stack overflows,
/// which aborts the process: it must be refused before any page is interpreted.
#[test]
fn self_including_pdf_drawing_is_refused_not_a_stack_overflow() {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let form_id = doc.new_object_id();
    let draw = Content { operations: vec![Operation::new("Do", vec!["X1".into()])] }.encode().unwrap();
    let form = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "X1" => form_id } },
        },
        draw.clone(),
    );
    doc.objects.insert(form_id, Object::Stream(form));
    let content_id = doc.add_object(Stream::new(dictionary! {}, draw));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
        "Resources" => dictionary! { "XObject" => dictionary! { "X1" => form_id } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    let err = extract(Format::Pdf, &bytes, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "refused_content", "{err}");
}

/// An honest bomb: ~1 GiB of zeros deflated to about a megabyte as `word/document.xml`.
/// Built once per test run (compressing a gigabyte takes seconds).
fn honest_bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(build_honest_bomb)
}

fn build_honest_bomb() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).compression_level(Some(9));
    zip.start_file("[Content_Types].xml", options).unwrap();
    zip.write_all(b"<Types/>").unwrap();
    zip.start_file("word/document.xml", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[test]
fn honest_zip_bomb_stops_at_the_inflate_limit() {
    let bomb = honest_bomb();
    assert!(bomb.len() < 2 << 20, "the bomb should be ~1 MB, is {}", bomb.len());
    assert_eq!(detect(bomb, Some("bomb.docx"), None).unwrap(), Format::Docx);
    let (result, took) = timed(|| extract(Format::Docx, bomb, &Limits::default()));
    let err = result.unwrap_err();
    assert!(matches!(err, ExtractError::InflatedTooLarge { limit } if limit == 25 << 20), "{err}");
    assert_eq!(err.code(), "archive_limits_exceeded");
    assert!(took < FAST, "took {took:?}");
}

#[test]
fn lying_central_directory_changes_nothing() {
    // 64 MiB of zeros that the headers claim is 100 bytes.
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("word/document.xml", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        zip.write_all(&zeros).unwrap();
    }
    let mut bytes = zip.finish().unwrap().into_inner();
    patch_u32(&mut bytes, b"PK\x03\x04", 22, 100); // local header: uncompressed size
    patch_u32(&mut bytes, b"PK\x01\x02", 24, 100); // central directory: uncompressed size
    let limits = Limits { max_inflated_bytes: 4 << 20, ..Limits::default() };
    let (result, took) = timed(|| extract(Format::Docx, &bytes, &limits));
    let err = result.unwrap_err();
    // Either our count trips (the zip crate ignored the lie) or the zip crate stops at the
    // claimed size and the XML is garbage; both without inflating the 64 MiB.
    assert!(matches!(err.code(), "archive_limits_exceeded" | "corrupt_document"), "{err}");
    assert!(took < FAST, "took {took:?}");
}

fn patch_u32(bytes: &mut [u8], signature: &[u8], offset: usize, value: u32) {
    let at = bytes.windows(4).position(|w| w == signature).unwrap() + offset;
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn ten_thousand_entries_are_refused_before_indexing() {
    let mut parts: Vec<(String, Vec<u8>)> =
        (0..10_000).map(|i| (format!("word/media/{i}.xml"), b"x".to_vec())).collect();
    parts.push(("word/document.xml".into(), b"<w:document/>".to_vec()));
    let refs: Vec<(&str, Vec<u8>)> = parts.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    let bytes = support::zip_parts(&refs);
    let (result, took) = timed(|| extract(Format::Docx, &bytes, &Limits::default()));
    assert!(matches!(result, Err(ExtractError::TooManyEntries { limit: 1000 })), "{result:?}");
    assert!(took < FAST);
}

#[test]
fn billion_laughs_and_xxe_are_refused() {
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"#;
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"#;
    for xml in [laughs, xxe] {
        let bytes = support::zip_parts(&[("word/document.xml", xml.as_bytes().to_vec())]);
        let (result, took) = timed(|| extract(Format::Docx, &bytes, &Limits::default()));
        let err = result.unwrap_err();
        assert_eq!(err.code(), "refused_content", "{err}");
        assert!(!err.to_string().contains("root:"));
        assert!(took < FAST);
    }
    // Without a DTD, an undefined entity is inert: dropped, never resolved.
    let body = "<w:p><w:r><w:t>before &xxe; after</w:t></w:r></w:p>";
    let doc = extract(Format::Docx, &support::docx(body, &[]), &Limits::default()).unwrap();
    assert_eq!(doc.blocks[0].kind, switchboard_ingest::BlockKind::Paragraph { text: "before after".into() });
}

#[test]
fn nested_and_encrypted_entries() {
    // The main part is itself an archive: refused.
    let inner = support::docx(&support::para("hi"), &[]);
    let bytes = support::zip_parts(&[("word/document.xml", inner)]);
    assert_eq!(extract(Format::Docx, &bytes, &Limits::default()).unwrap_err().code(), "refused_content");

    // An embedded archive (a bomb, even) is never opened: the document reads normally.
    let bytes = support::docx(&support::para("Hello"), &[("word/embeddings/sheet.xlsx", honest_bomb())]);
    let (doc, took) = timed(|| extract(Format::Docx, &bytes, &Limits::default()).unwrap());
    assert_eq!(doc.blocks.len(), 1);
    assert!(took < FAST);

    // The encryption flag on the main part (general-purpose bit 0, local and central headers).
    let mut bytes = support::zip_parts(&[("word/document.xml", b"<w:document/>".to_vec())]);
    patch_u16_or(&mut bytes, b"PK\x03\x04", 6, 1);
    patch_u16_or(&mut bytes, b"PK\x01\x02", 8, 1);
    let err = extract(Format::Docx, &bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, ExtractError::Encrypted(Format::Docx)), "{err}");
}

fn patch_u16_or(bytes: &mut [u8], signature: &[u8], offset: usize, bits: u16) {
    let at = bytes.windows(4).position(|w| w == signature).unwrap() + offset;
    let value = u16::from_le_bytes([bytes[at], bytes[at + 1]]) | bits;
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn hundred_thousand_nested_divs_are_refused_fast() {
    let nest = |depth: usize| {
        format!("<!DOCTYPE html><html><body>{}deep text{}</body></html>", "<div>".repeat(depth), "</div>".repeat(depth))
    };
    let (result, took) = timed(|| extract(Format::Html, nest(100_000).as_bytes(), &Limits::default()));
    assert_eq!(result.unwrap_err().code(), "refused_content");
    assert!(took < FAST, "took {took:?}");

    // Deep but plausible nesting parses, and walking it uses no recursion.
    let (doc, took) = timed(|| extract(Format::Html, nest(1_000).as_bytes(), &Limits::default()).unwrap());
    assert_eq!(doc.char_count(), "deep text".len());
    assert!(took < FAST, "took {took:?}");

    // A million unclosed <p> and <li> do not nest, so they are not "deep".
    let flat = "<p>para<li>item".repeat(100_000);
    let doc = extract(Format::Html, flat.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(doc.blocks.len(), 200_000);
}

#[test]
fn ten_megabytes_without_whitespace() {
    let blob = "x".repeat(10 << 20);
    for (format, bytes) in [(Format::Text, blob.clone()), (Format::Html, format!("<p>{blob}</p>"))] {
        let (doc, took) = timed(|| extract(format, bytes.as_bytes(), &Limits::default()).unwrap());
        assert!(doc.truncated, "5M characters is the default limit");
        assert_eq!(doc.char_count(), 5_000_000);
        let options = ChunkOptions::default();
        let (chunks, chunk_took) = timed(|| chunk(&doc, &options));
        assert!(chunks.iter().all(|c| estimate_tokens(&c.text) <= 200));
        assert_eq!(chunks.iter().map(|c| c.text.len()).sum::<usize>(), 5_000_000);
        assert!(took + chunk_took < Duration::from_secs(30), "{format}: {took:?} + {chunk_took:?}");
    }
}

#[test]
fn wrong_extensions() {
    let html = b"<!doctype html><html><body><p>Hello</p></body></html>";
    assert_eq!(detect(html, Some("invoice.pdf"), Some("application/pdf")).unwrap(), Format::Html);
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_eq!(detect(png, Some("notes.docx"), None).unwrap_err().code(), "unsupported_format");
    assert_eq!(detect(b"plain words", Some("scan.pdf"), None).unwrap_err().code(), "unsupported_format");
    let xlsx = support::zip_parts(&[("xl/workbook.xml", b"<workbook/>".to_vec())]);
    assert_eq!(detect(&xlsx, Some("book.docx"), None).unwrap_err().code(), "unsupported_format");
    // A real PDF with a .txt name is a PDF.
    assert_eq!(detect(&two_page_pdf(), Some("a.txt"), Some("text/plain")).unwrap(), Format::Pdf);
}

#[test]
fn deadline_is_checked_while_parsing() {
    let md = "- item\n".repeat(10_000);
    let limits = Limits { time_budget: Duration::ZERO, ..Limits::default() };
    for format in [Format::Markdown, Format::Html, Format::Text, Format::Csv] {
        let err = extract(format, md.as_bytes(), &limits).unwrap_err();
        assert_eq!(err.code(), "parse_timeout", "{format}: {err}");
    }
    let docx = support::docx(&support::para("x").repeat(2_000), &[]);
    assert_eq!(extract(Format::Docx, &docx, &limits).unwrap_err().code(), "parse_timeout");
}

#[test]
fn character_limit_truncates_with_a_warning() {
    let limits = Limits { max_extracted_chars: 100, ..Limits::default() };
    let text = "Some sentence here.\n\n".repeat(50);
    let doc = extract(Format::Text, text.as_bytes(), &limits).unwrap();
    assert!(doc.truncated);
    assert_eq!(doc.char_count(), 100);
    assert_eq!(doc.warnings.len(), 1);
    let pdf = extract(Format::Pdf, &two_page_pdf(), &Limits { max_extracted_chars: 20, ..Limits::default() }).unwrap();
    assert!(pdf.truncated);
    assert!(pdf.char_count() <= 20);
}
