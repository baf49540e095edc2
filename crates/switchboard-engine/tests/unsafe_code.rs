//! The workspace denies `unsafe` (`[workspace.lints]`); one call may allow
//! it: the dispatch into the AVX-512 VNNI int8 kernel, which Rust lets run
//! only from `unsafe` after the CPU features were checked. This test keeps it
//! the only one, so a new `unsafe` is a reviewed decision, not a lint
//! silenced in passing.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn unsafe_is_allowed_only_for_the_int8_kernel_dispatch() {
    let crates = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&crates, &mut files);
    let needle = ["allow(", "unsafe_code)"].concat();
    let mut sites = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            if line.contains(&needle) {
                let rel = file.strip_prefix(&crates).unwrap_or(file).display().to_string();
                sites.push(format!("{rel}:{}", n + 1));
            }
        }
    }
    assert_eq!(sites.len(), 1, "unsafe allowed at: {sites:?}");
    assert!(sites[0].starts_with("switchboard-engine/src/local/int8.rs:"), "unsafe allowed at: {sites:?}");
}
