#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hyphae_fuzz_targets::kad_dht(data));
