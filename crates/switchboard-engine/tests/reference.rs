//! The local embedder reproduces sentence-transformers.
//!
//! `tests/fixtures/minilm_reference.json` holds vectors computed by
//! sentence-transformers (PyTorch) from the same model folder, made by
//! `bench/embedding/make_reference.py`. Every sentence must come out with
//! cosine >= 0.999 to its reference vector.

use std::path::PathBuf;

use serde::Deserialize;
use switchboard_engine::{Embedder, LocalEmbedder, LocalEmbedderOptions, Precision};

#[derive(Deserialize)]
struct Reference {
    model: String,
    dimension: usize,
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    text: String,
    vector: Vec<f32>,
}

/// `SWITCHBOARD_MODEL_DIR`, or where `scripts/fetch-model` puts the model.
fn model_dir() -> PathBuf {
    match std::env::var_os("SWITCHBOARD_MODEL_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/models/all-MiniLM-L6-v2"),
    }
}

/// Loads the model or fails the test with the fix: a missing model is a
/// broken checkout, never a reason to skip.
fn load_embedder() -> LocalEmbedder {
    load_with(LocalEmbedderOptions::SENTENCE_TRANSFORMERS)
}

fn load_with(options: LocalEmbedderOptions) -> LocalEmbedder {
    let dir = model_dir();
    assert!(
        dir.join("model.safetensors").is_file(),
        "no model at {}: run scripts/fetch-model (or set SWITCHBOARD_MODEL_DIR to an \
         all-MiniLM-L6-v2 folder)",
        dir.display()
    );
    LocalEmbedder::load(&dir, options).unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()))
}

fn reference() -> Reference {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm_reference.json");
    let text = std::fs::read_to_string(&path).expect("read the reference fixture");
    serde_json::from_str(&text).expect("parse the reference fixture")
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn matches_sentence_transformers_on_the_reference_fixture() {
    let reference = reference();
    let embedder = load_embedder();
    assert_eq!(reference.model, "all-MiniLM-L6-v2");
    assert_eq!(embedder.dimension(), reference.dimension);

    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    let vectors = embedder.embed(&texts).expect("embed the fixture sentences");
    assert_eq!(vectors.len(), texts.len());

    let mut failures = Vec::new();
    let mut worst = f64::INFINITY;
    for (item, vector) in reference.items.iter().zip(&vectors) {
        assert_eq!(vector.len(), reference.dimension);
        let cos = cosine(vector, &item.vector);
        worst = worst.min(cos);
        if cos < 0.999 {
            failures.push(format!("cosine {cos:.6} for {:?}", item.text));
        }
    }
    eprintln!("worst cosine to sentence-transformers: 1 - {:.2e}", 1.0 - worst);
    assert!(failures.is_empty(), "vectors differ from sentence-transformers:\n{}", failures.join("\n"));
}

/// The int8 model's vectors stay close to sentence-transformers' f32 ones
/// (retrieval quality is measured on SciFact by bench/retrieval/run), and
/// its model id tells collections they came from another model.
#[test]
fn the_int8_model_stays_close_to_sentence_transformers() {
    let reference = reference();
    let embedder = load_with(LocalEmbedderOptions::SENTENCE_TRANSFORMERS.with_precision(Precision::Int8));
    assert_eq!(embedder.model_id(), "all-MiniLM-L6-v2+int8");
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    let vectors = embedder.embed(&texts).expect("embed the fixture sentences");
    let cosines: Vec<f64> = reference.items.iter().zip(&vectors).map(|(i, v)| cosine(v, &i.vector)).collect();
    let worst = cosines.iter().copied().fold(f64::INFINITY, f64::min);
    let mean = cosines.iter().sum::<f64>() / cosines.len() as f64;
    eprintln!("int8 vs sentence-transformers: worst cosine {worst:.5}, mean {mean:.5}");
    assert!(worst >= 0.99 && mean >= 0.997, "int8 vectors drift: worst {worst:.5}, mean {mean:.5}");
}

#[test]
fn order_and_batching_do_not_change_vectors() {
    let reference = reference();
    let embedder = load_embedder();
    let texts: Vec<&str> = reference.items.iter().map(|i| i.text.as_str()).collect();
    let together = embedder.embed(&texts).expect("embed all at once");

    // One at a time: no padding at all, and a different batch composition.
    for (text, expected) in texts.iter().zip(&together) {
        let alone = embedder.embed(&[text]).expect("embed one");
        let cos = cosine(&alone[0], expected);
        assert!(cos > 0.99999, "cosine {cos} between batched and single for {text:?}");
    }
}

#[test]
fn vectors_are_unit_length_and_empty_input_is_empty() {
    let embedder = load_embedder();
    assert!(embedder.embed(&[]).expect("embed nothing").is_empty());
    let vectors = embedder.embed(&["Where is my parcel?", ""]).expect("embed");
    for v in &vectors {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
}

#[test]
fn a_missing_model_folder_is_a_clear_error() {
    let dir = std::env::temp_dir().join("switchboard-engine-no-model-here");
    let err = match LocalEmbedder::load(&dir, LocalEmbedderOptions::SENTENCE_TRANSFORMERS) {
        Ok(_) => panic!("loaded a model from an empty folder"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("scripts/fetch-model"), "{err}");
}

#[test]
fn one_embedder_serves_several_threads() {
    let embedder: std::sync::Arc<dyn Embedder> = std::sync::Arc::new(load_embedder());
    let expected = embedder.embed(&["Can I get a refund for a damaged parcel?"]).expect("embed");
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let embedder = embedder.clone();
            std::thread::spawn(move || embedder.embed(&["Can I get a refund for a damaged parcel?"]).expect("embed"))
        })
        .collect();
    for handle in handles {
        let got = handle.join().expect("thread");
        assert!(cosine(&got[0], &expected[0]) > 0.99999);
    }
}
