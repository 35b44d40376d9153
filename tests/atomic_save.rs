//! Saving is atomic and safe from several threads at once (issue 16, defect 6).

use nn::prelude::*;

network! {
    struct Small: [8] => Linear<8, 64> -> ReLU -> Linear<64, 4>
}

fn bits(module: &impl Module) -> Vec<u32> {
    let mut all = Vec::new();
    module.visit_params("", &mut |_, _, values| all.extend(values.iter().map(|v| v.to_bits())));
    all
}

#[test]
fn eight_threads_saving_the_same_path_all_succeed_and_leave_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.safetensors");
    let nets: Vec<Small> = (0..8).map(Small::init).collect();
    for round in 0..20 {
        let results: Vec<nn::Result<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = nets.iter().map(|net| scope.spawn(|| net.save(&path))).collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        });
        for (thread, result) in results.iter().enumerate() {
            assert!(result.is_ok(), "round {round}, thread {thread}: {result:?}");
        }
        // The file is one of the eight networks, whole.
        let loaded = Small::load(&path).unwrap();
        assert!(nets.iter().any(|net| bits(net) == bits(&loaded)), "round {round}");
    }
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["shared.safetensors"]);
}

#[test]
fn a_failed_save_names_the_target_not_the_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("net.safetensors");
    let error = Small::init(0).save(&path).unwrap_err().to_string();
    assert!(error.starts_with(&format!("{}: ", path.display())), "{error}");
    assert!(!error.contains("/.net.safetensors."), "{error}");
}

#[test]
fn a_save_onto_a_directory_names_it_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("taken");
    std::fs::create_dir(&path).unwrap();
    let error = Small::init(0).save(&path).unwrap_err().to_string();
    assert!(error.starts_with(&format!("{}: ", path.display())), "{error}");
    assert!(!error.contains("/.taken."), "{error}");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["taken"]);
}
