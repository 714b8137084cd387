#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    veclite::fuzzing::plan_decoder(data);
});
