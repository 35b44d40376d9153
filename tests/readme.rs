//! The README's quick start is `examples/quick_start.rs`, character for character, so the code on
//! the front page is code that compiles and runs (`cargo run --release --example quick_start`).

#[test]
fn the_quick_start_is_the_example() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/examples/quick_start.rs")).unwrap();
    let start = readme.find("## Quick start").expect("a quick start section");
    let block = &readme[start..];
    let code_start = block.find("```rust\n").expect("a rust block") + "```rust\n".len();
    let code_end = code_start + block[code_start..].find("\n```").expect("the block's end") + 1;
    assert_eq!(
        &block[code_start..code_end],
        example,
        "README.md's quick start differs from examples/quick_start.rs"
    );
}
