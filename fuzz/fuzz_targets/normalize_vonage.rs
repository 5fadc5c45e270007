#![no_main]
use libfuzzer_sys::fuzz_target;
use telhook_core::Provider;
use telhook_fuzz::{run, FuzzRequest};

fuzz_target!(|input: FuzzRequest| run(Provider::Vonage, &input));
