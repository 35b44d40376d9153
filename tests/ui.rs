//! Compile-fail tests of the diagnostics `network!` and the type system give for wrong
//! networks, and a pass test of what must compile. Snapshots: `tests/ui/**/*.stderr`;
//! regenerate with `TRYBUILD=overwrite cargo test --test ui` and read every diff as a
//! newcomer would.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/shape/*.rs");
    t.compile_fail("tests/ui/syntax/*.rs");
    t.compile_fail("tests/ui/types/*.rs");
    t.compile_fail("tests/ui/use/*.rs");
    t.compile_fail("tests/ui/conv/*.rs");
    t.compile_fail("tests/ui/blocks/*.rs");
    t.compile_fail("tests/ui/norm/*.rs");
    t.compile_fail("tests/ui/cascade/*.rs");
    t.compile_fail("tests/ui/derive/*.rs");
    t.compile_fail("tests/ui/sequence/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
