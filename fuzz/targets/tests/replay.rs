//! Replays every committed corpus file through its target, on stable: what the fuzzers
//! found (and the crashes fixed since) stays covered by the ordinary test run.

use std::fs;
use std::path::{Path, PathBuf};

use hyphae_fuzz_targets::TARGETS;

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus")
}

#[test]
fn every_corpus_file_replays_without_a_failure() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for &(name, target) in TARGETS {
        let dir = corpus_root().join(name);
        let mut files: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .collect();
        assert!(!files.is_empty(), "target {name} has no seed inputs");
        files.sort();
        for file in files {
            let data = fs::read(&file).expect("corpus file");
            replayed += 1;
            if std::panic::catch_unwind(|| target(&data)).is_err() {
                failures.push(file.display().to_string());
            }
        }
    }
    assert!(failures.is_empty(), "failing inputs: {failures:#?}");
    assert!(replayed > 0);
}

#[test]
fn every_target_has_a_corpus_directory_and_a_libfuzzer_wrapper() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for &(name, _) in TARGETS {
        assert!(
            root.join("corpus").join(name).is_dir(),
            "no corpus for {name}"
        );
        let wrapper = root.join("fuzz_targets").join(format!("{name}.rs"));
        assert!(wrapper.is_file(), "no {}", wrapper.display());
    }
}

#[test]
fn empty_and_tiny_inputs_are_handled() {
    for &(_, target) in TARGETS {
        for data in [&[][..], &[0], &[0xff], &[0x80; 11]] {
            target(data);
        }
    }
}
