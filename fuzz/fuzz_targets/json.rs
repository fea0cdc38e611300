#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dozor_fuzz::fuzz_format("json", data));
