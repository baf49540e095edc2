//! Real documents the story tests upload: DOCX written as OOXML parts and zipped with the zip
//! crate, PDFs written with lopdf (Helvetica text placed with text operators, so positions and
//! pages are real), and the hostile variants of both (RELIABILITY section 4).

use std::io::{Cursor, Write};

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use zip::write::SimpleFileOptions;

#[path = "../../../switchboard-ingest/tests/support/mod.rs"]
mod ingest_support;

pub const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"#;
const RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#;

/// A Word document as Word writes one: content types, relationships, styles with the built-in
/// headings and list paragraph, core properties with a title, and `body` as the document body.
pub fn docx(title: &str, body: &str) -> Vec<u8> {
    let styles = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="{W_NS}"><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/></w:style><w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/></w:style><w:style w:type="paragraph" w:styleId="ListParagraph"><w:name w:val="List Paragraph"/></w:style></w:styles>"#
    );
    let core = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>{title}</dc:title></cp:coreProperties>"#
    );
    zip_parts(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELS.as_bytes()),
        ("word/document.xml", document_xml(body).as_bytes()),
        ("word/styles.xml", styles.as_bytes()),
        ("docProps/core.xml", core.as_bytes()),
    ])
}

pub fn document_xml(body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{W_NS}"><w:body>{body}<w:sectPr/></w:body></w:document>"#
    )
}

pub fn zip_parts(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in parts {
        zip.start_file(*name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub fn para(text: &str) -> String {
    format!("<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>")
}

pub fn heading(level: u8, text: &str) -> String {
    format!("<w:p><w:pPr><w:pStyle w:val=\"Heading{level}\"/></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>")
}

pub fn list_item(level: u8, text: &str) -> String {
    format!(
        "<w:p><w:pPr><w:pStyle w:val=\"ListParagraph\"/><w:numPr><w:ilvl w:val=\"{level}\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>"
    )
}

pub fn table(rows: &[&[&str]]) -> String {
    let mut xml = String::from("<w:tbl><w:tblPr><w:tblLook w:val=\"04A0\" w:firstRow=\"1\"/></w:tblPr>");
    for row in rows {
        xml.push_str("<w:tr>");
        for cell in *row {
            xml.push_str(&format!("<w:tc>{}</w:tc>", para(cell)));
        }
        xml.push_str("</w:tr>");
    }
    xml.push_str("</w:tbl>");
    xml
}

/// One line of PDF text: font size, x, y (from the bottom of an A4 page), text.
pub type PdfLine<'a> = (f64, f64, f64, &'a str);

/// A PDF with one page per element of `pages`, in Helvetica, titled "Shipping handbook".
pub fn pdf(pages: &[Vec<PdfLine<'_>>]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids: Vec<Object> = Vec::new();
    for lines in pages {
        let mut operations = Vec::new();
        for &(size, x, y, text) in lines {
            operations.push(Operation::new("BT", vec![]));
            operations.push(Operation::new("Tf", vec!["F1".into(), size.into()]));
            operations.push(Operation::new("Td", vec![x.into(), y.into()]));
            operations.push(Operation::new("Tj", vec![Object::string_literal(text)]));
            operations.push(Operation::new("ET", vec![]));
        }
        let mut stream = Stream::new(dictionary! {}, Content { operations }.encode().unwrap());
        stream.compress().unwrap();
        let content_id = doc.add_object(stream);
        let page_id = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id });
        kids.push(page_id.into());
    }
    finish_pdf(doc, pages_id, kids, resources_id, "Shipping handbook")
}

/// One line of PDF text (shared with the ingest crate's format tests).
pub use ingest_support::pdf_text;

/// A PDF titled `title` whose pages draw the given operations, with Helvetica as font `F1`
/// (for text a reader would not see: white fill, render mode 3, a one-point font).
pub fn pdf_operations(title: &str, pages: Vec<Vec<Operation>>) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut kids: Vec<Object> = Vec::new();
    for operations in pages {
        let mut stream = Stream::new(dictionary! {}, Content { operations }.encode().unwrap());
        stream.compress().unwrap();
        let content_id = doc.add_object(stream);
        let page_id = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id });
        kids.push(page_id.into());
    }
    finish_pdf(doc, pages_id, kids, resources_id, title)
}

fn finish_pdf(
    mut doc: Document,
    pages_id: lopdf::ObjectId,
    kids: Vec<Object>,
    resources_id: lopdf::ObjectId,
    title: &str,
) -> Vec<u8> {
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let info_id = doc.add_object(dictionary! { "Title" => Object::string_literal(title) });
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

/// A one-page PDF whose page draws the same compressed content stream `repeats` times. Each
/// copy inflates to `inflated` bytes of spaces, and the PDF stack concatenates them all in
/// memory before it reads a single operator: a few kilobytes that ask for
/// `repeats * inflated` bytes (the nextcloud-mcp-server #852 class of file).
pub fn pdf_inflation_bomb(repeats: usize, inflated: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let resources_id = doc.add_object(dictionary! {});
    let mut stream = Stream::new(dictionary! {}, vec![b' '; inflated]);
    stream.compress().unwrap();
    let stream_id = doc.add_object(stream);
    let contents: Vec<Object> = (0..repeats).map(|_| stream_id.into()).collect();
    let page_id = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => contents });
    finish_pdf(doc, pages_id, vec![page_id.into()], resources_id, "Shipping handbook")
}

/// About 1 GiB of zeros deflated to about a megabyte as `word/document.xml`.
pub fn honest_zip_bomb() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).compression_level(Some(9));
    zip.start_file("[Content_Types].xml", options).unwrap();
    zip.write_all(CONTENT_TYPES.as_bytes()).unwrap();
    zip.start_file("word/document.xml", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        zip.write_all(&zeros).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// 64 MiB of zeros whose local header and central directory both claim 100 bytes.
pub fn lying_central_directory() -> Vec<u8> {
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
    bytes
}

fn patch_u32(bytes: &mut [u8], signature: &[u8], offset: usize, value: u32) {
    let at = bytes.windows(4).position(|w| w == signature).unwrap() + offset;
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// A Word document with 10,000 extra parts.
pub fn ten_thousand_entries() -> Vec<u8> {
    let names: Vec<String> = (0..10_000).map(|i| format!("word/media/image{i}.xml")).collect();
    let document = document_xml(&para("Ten thousand parts"));
    let mut parts: Vec<(&str, &[u8])> = vec![("word/document.xml", document.as_bytes())];
    parts.extend(names.iter().map(|n| (n.as_str(), b"x".as_slice())));
    zip_parts(&parts)
}

/// A ZIP whose main part is itself a Word document.
pub fn nested_zip() -> Vec<u8> {
    let inner = docx("Inner", &para("Inside another archive"));
    zip_parts(&[("[Content_Types].xml", CONTENT_TYPES.as_bytes()), ("word/document.xml", &inner)])
}

/// Billion laughs: nine levels of entities that expand tenfold each.
pub fn billion_laughs() -> Vec<u8> {
    let mut dtd = String::from(r#"<!ENTITY lol0 "lol">"#);
    for level in 1..10 {
        let refs = format!("&lol{};", level - 1).repeat(10);
        dtd.push_str(&format!(r#"<!ENTITY lol{level} "{refs}">"#));
    }
    let xml = format!(
        r#"<?xml version="1.0"?><!DOCTYPE lolz [{dtd}]><w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"#
    );
    zip_parts(&[("[Content_Types].xml", CONTENT_TYPES.as_bytes()), ("word/document.xml", xml.as_bytes())])
}

/// An external entity pointing at a file on the server.
pub fn xxe(path: &str) -> Vec<u8> {
    let xml = format!(
        r#"<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{path}">]><w:document xmlns:w="{W_NS}"><w:body><w:p><w:r><w:t>leak: &xxe;</w:t></w:r></w:p></w:body></w:document>"#
    );
    zip_parts(&[("[Content_Types].xml", CONTENT_TYPES.as_bytes()), ("word/document.xml", xml.as_bytes())])
}

/// `bytes` with `flips` bytes overwritten at positions from a fixed xorshift walk.
pub fn mutate(bytes: &[u8], seed: u64, flips: usize) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = bytes.to_vec();
    for _ in 0..flips {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let at = (state as usize) % out.len();
        out[at] = (state >> 32) as u8;
    }
    out
}
