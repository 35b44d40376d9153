//! Standardisation: learnt on the training set, applied to every set.
//!
//! Sources of the expected numbers: the column `2, 4, 4, 4, 5, 5, 7, 9` has mean 5 and
//! population standard deviation 2 (the worked example of Wikipedia's "Standard deviation"
//! article; its sample standard deviation, sqrt(32 / 7) = 2.138, is what we must *not* get, as
//! scikit-learn's `StandardScaler` uses the population one); `1, -1, 1, ...` has mean 0 and
//! standard deviation 1; a constant column has standard deviation 0. The rest is arithmetic
//! written out next to each assertion.

use nn::data::{Csv, Dataset, InMemory, Mnist, Standardize};

fn train() -> InMemory<[f32; 3]> {
    let column0 = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
    let inputs: Vec<[f32; 3]> = column0
        .iter()
        .enumerate()
        .map(|(i, &x)| [x, 3.0, if i % 2 == 0 { 1.0 } else { -1.0 }])
        .collect();
    InMemory::new(inputs, vec![0; 8]).unwrap()
}

#[test]
fn mean_and_population_std_per_feature() {
    let scaler = Standardize::fit(&train()).unwrap();
    assert_eq!(scaler.mean(), &[5.0, 3.0, 0.0]);
    assert_eq!(scaler.std(), &[2.0, 0.0, 1.0]);
}

#[test]
fn applied_to_train_and_test_with_the_training_figures() {
    let mut train = train();
    let mut test = InMemory::new(vec![[9.0f32, 4.0, 2.0], [5.0, 3.0, 0.0]], vec![1, 0]).unwrap();
    let scaler = Standardize::fit(&train).unwrap();
    scaler.apply(&mut train);
    scaler.apply(&mut test);
    // Row 0 of train: ((2 - 5) / 2, 3 - 3, (1 - 0) / 1).
    assert_eq!(train.get(0), ([-1.5, 0.0, 1.0], 0));
    // Test rows use the training mean and std: ((9 - 5) / 2, 4 - 3 (std 0: centred only), 2 / 1).
    assert_eq!(test.get(0), ([2.0, 1.0, 2.0], 1));
    assert_eq!(test.get(1), ([0.0, 0.0, 0.0], 0));
    // After standardising, the training set has mean 0 and std 1 (0 for the constant feature).
    let again = Standardize::fit(&train).unwrap();
    assert_eq!(again.mean(), &[0.0, 0.0, 0.0]);
    assert_eq!(again.std(), &[1.0, 0.0, 1.0]);
}

#[test]
fn large_offsets_lose_no_precision() {
    // 999999 and 1000001 are exact in f32; mean 1e6, std 1. A one-pass f32 formula
    // (E[x^2] - E[x]^2 with E[x^2] near 1e12) would give 0 or garbage here.
    let scaler = Standardize::fit_inputs(&[[999_999.0f32], [1_000_001.0]]).unwrap();
    assert_eq!((scaler.mean(), scaler.std()), (&[1_000_000.0], &[1.0]));
    assert_eq!(scaler.transform([1_000_003.0]), [3.0]);
}

#[test]
fn inverse_and_regression_targets() {
    let mut data = InMemory::new(vec![[0.0f32]; 4], vec![[10.0f32], [20.0], [30.0], [40.0]]).unwrap();
    // Targets 10..40: mean 25; deviations -15, -5, 5, 15; variance (225 + 25 + 25 + 225) / 4 = 125.
    let scaler = Standardize::fit_inputs(data.targets()).unwrap();
    assert_eq!(scaler.mean(), &[25.0]);
    assert_eq!(scaler.std(), &[125.0f32.sqrt()]);
    scaler.apply_targets(&mut data);
    assert_eq!(data.get(0).1, [-15.0 / 125.0f32.sqrt()]);
    assert_eq!(data.get(0).0, [0.0], "inputs untouched");
    for target in [10.0f32, 25.0, 37.5] {
        let back = scaler.inverse(scaler.transform([target]))[0];
        assert!(
            (back - target).abs() <= 4.0 * f32::EPSILON * target,
            "{target} -> {back}"
        );
    }
}

#[test]
fn one_scalar_over_all_pixels() {
    let images = vec![[[0.0f32, 1.0], [2.0, 3.0]], [[4.0, 5.0], [6.0, 7.0]]];
    let data = InMemory::new(images, vec![0, 1]).unwrap();
    // Values 0..=7: mean 3.5; squared deviations 12.25, 6.25, 2.25, 0.25 twice = 42; 42 / 8 = 5.25.
    let scaler = Standardize::fit_scalar(&data).unwrap();
    assert_eq!(scaler.mean(), &[[3.5; 2]; 2]);
    assert_eq!(scaler.std(), &[[5.25f32.sqrt(); 2]; 2]);
    // Per pixel instead: pixel (0, 0) is 0 and 4, mean 2, std 2.
    let per_pixel = Standardize::fit(&data).unwrap();
    assert_eq!(per_pixel.mean(), &[[2.0, 3.0], [4.0, 5.0]]);
    assert_eq!(per_pixel.std(), &[[2.0; 2]; 2]);
}

#[test]
fn scalar_figures_of_the_bundled_mnist_are_close_to_torchvision_s() {
    // torchvision's 0.1307 and 0.3081 are the mean and std of the full 60,000 training digits;
    // the bundled 10,000 are a sample of them, so their figures agree to about 3 decimals.
    let mnist = Mnist::bundled().unwrap();
    let scaler = Standardize::fit_scalar(&mnist.train).unwrap();
    let (mean, std) = (scaler.mean()[0][0], scaler.std()[0][0]);
    assert!((mean - Mnist::MEAN).abs() < 0.003, "mean {mean}");
    assert!((std - Mnist::STD).abs() < 0.003, "std {std}");
    // Corner pixels are 0 in every digit: per pixel, their std is 0 and they stay 0.
    let per_pixel = Standardize::fit(&mnist.train).unwrap();
    assert_eq!((per_pixel.mean()[0][0], per_pixel.std()[0][0]), (0.0, 0.0));
    assert_eq!(per_pixel.transform(mnist.test.get(0).0)[0][0], 0.0);
}

#[test]
fn an_empty_training_set_is_an_error() {
    let empty = InMemory::new(Vec::<[f32; 2]>::new(), Vec::<usize>::new()).unwrap();
    let error = Standardize::fit(&empty).unwrap_err();
    assert!(error.to_string().contains("the training set is empty"), "{error}");
    assert!(Standardize::fit_scalar(&empty).is_err());
}

#[test]
fn standardising_the_bundled_csv() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/fruit/fruit.csv");
    let table = Csv::read(path).unwrap();
    let (mut data, _) = table
        .classification(["length_mm", "width_mm", "mass_g", "sugar_percent"], "fruit")
        .unwrap();
    let scaler = Standardize::fit(&data).unwrap();
    scaler.apply(&mut data);
    let after = Standardize::fit(&data).unwrap();
    for feature in 0..4 {
        assert!(after.mean()[feature].abs() < 1e-5, "{:?}", after.mean());
        assert!((after.std()[feature] - 1.0).abs() < 1e-5, "{:?}", after.std());
    }
}
