//! Random shifts of images: the shift itself, the offsets' range and spread, determinism, and
//! training through the wrapper.
//!
//! The expected images are written out by hand: shifting by `(down, right)` moves the pixel at
//! `(row, column)` to `(row + down, column + right)` and fills the rest with 0.

use std::collections::HashMap;

use nn::data::{Dataset, InMemory, Mnist, MnistImage, RandomShift, Shift};
use nn::prelude::*;

const IMAGE: [[f32; 3]; 3] = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]];

#[test]
fn shifts_by_hand() {
    assert_eq!(IMAGE.shifted(0, 0), IMAGE);
    assert_eq!(IMAGE.shifted(1, 0), [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    assert_eq!(
        IMAGE.shifted(-1, 0),
        [[4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [0.0, 0.0, 0.0]]
    );
    assert_eq!(
        IMAGE.shifted(0, -1),
        [[2.0, 3.0, 0.0], [5.0, 6.0, 0.0], [8.0, 9.0, 0.0]]
    );
    assert_eq!(
        IMAGE.shifted(-1, 1),
        [[0.0, 4.0, 5.0], [0.0, 7.0, 8.0], [0.0, 0.0, 0.0]]
    );
    assert_eq!(IMAGE.shifted(2, 2), [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]);
    assert_eq!(IMAGE.shifted(3, 0), [[0.0; 3]; 3]);
    assert_eq!(IMAGE.shifted(0, -7), [[0.0; 3]; 3]);
    assert_eq!(IMAGE.shifted(isize::MIN, isize::MAX), [[0.0; 3]; 3]);
}

#[test]
fn the_border_takes_the_fill_value() {
    assert_eq!(
        IMAGE.shifted_with(1, 1, -1.0),
        [[-1.0, -1.0, -1.0], [-1.0, 1.0, 2.0], [-1.0, 4.0, 5.0]]
    );
    let data = InMemory::new(vec![[[0.0f32; 3]; 3]], vec![0]).unwrap();
    let shifted = RandomShift::new(data, 4).fill(9.0);
    // Find a visit whose offset is not (0, 0); its image has 9.0 in the uncovered border.
    let visit = (0..).find(|&visit| shifted.offset(0, visit) != (0, 0)).unwrap();
    let (down, right) = shifted.offset(0, visit);
    for _ in 0..visit {
        shifted.get(0);
    }
    let image = shifted.get(0).0;
    assert_eq!(image, [[0.0f32; 3]; 3].shifted_with(down, right, 9.0));
    assert!(image.iter().flatten().any(|&v| v == 9.0));
}

#[test]
fn every_channel_moves_alike() {
    let channels = [IMAGE, IMAGE.map(|row| row.map(|v| -v))];
    let moved = channels.shifted(1, -1);
    // Channel 0 as IMAGE.shifted(1, -1): row 0 empty, then rows 0 and 1 of IMAGE moved left.
    assert_eq!(moved[0], [[0.0, 0.0, 0.0], [2.0, 3.0, 0.0], [5.0, 6.0, 0.0]]);
    assert_eq!(moved[1], moved[0].map(|row| row.map(|v| -v)));
}

/// A 28x28 image, 0 except for 1.0 at `(row, column)`.
fn dot(row: usize, column: usize) -> MnistImage {
    let mut image = [[0.0; 28]; 28];
    image[row][column] = 1.0;
    image
}

/// Where the single 1.0 of an image is.
fn find_dot(image: &MnistImage) -> (isize, isize) {
    for (row, pixels) in image.iter().enumerate() {
        if let Some(column) = pixels.iter().position(|&v| v == 1.0) {
            return (row as isize, column as isize);
        }
    }
    panic!("no dot");
}

#[test]
fn each_read_moves_the_image_by_that_read_s_offset() {
    let data = InMemory::new(vec![dot(10, 10), dot(20, 5)], vec![3, 8]).unwrap();
    let shifted = RandomShift::new(data, 7);
    for visit in 0..20 {
        for (index, (row, column), label) in [(0, (10, 10), 3), (1, (20, 5), 8)] {
            let (image, target) = shifted.get(index);
            let (down, right) = shifted.offset(index, visit);
            assert_eq!(target, label);
            assert_eq!(
                find_dot(&image),
                (row + down, column + right),
                "sample {index}, visit {visit}"
            );
            assert_eq!(
                image.iter().flatten().sum::<f32>(),
                1.0,
                "the dot stays inside the image"
            );
        }
    }
}

#[test]
fn offsets_cover_minus_two_to_two_evenly() {
    let data = InMemory::new(vec![dot(0, 0); 100], vec![0; 100]).unwrap();
    let shifted = RandomShift::new(data, 2026);
    let mut counts: HashMap<(isize, isize), usize> = HashMap::new();
    for index in 0..100 {
        for visit in 0..25 {
            *counts.entry(shifted.offset(index, visit)).or_default() += 1;
        }
    }
    // 2500 draws over the 5 x 5 = 25 offsets: 100 each on average, binomial standard deviation
    // sqrt(2500 * 1/25 * 24/25) = 9.8; every count must be within 4 of those of 100.
    assert_eq!(counts.len(), 25, "{counts:?}");
    for (&(down, right), &count) in &counts {
        assert!((-2..=2).contains(&down) && (-2..=2).contains(&right));
        assert!(
            (60..=140).contains(&count),
            "offset ({down}, {right}) drawn {count} times"
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_images_in_any_order_and_from_any_thread() {
    let inputs: Vec<MnistImage> = (0..64).map(|i| dot(4 + i % 20, 4 + i / 4)).collect();
    let data = InMemory::new(inputs, vec![0; 64]).unwrap();
    let (a, b, c) = (
        RandomShift::new(data.clone(), 1),
        RandomShift::new(data.clone(), 1),
        RandomShift::new(data.clone(), 2),
    );
    // Three "epochs": `a` reads in order, `b` backwards from four threads at once.
    let forward: Vec<MnistImage> = (0..3)
        .flat_map(|_| (0..64).map(|i| a.get(i).0).collect::<Vec<_>>())
        .collect();
    let mut threaded = vec![[[0.0; 28]; 28]; 3 * 64];
    for epoch in 0..3 {
        let chunk = &mut threaded[epoch * 64..(epoch + 1) * 64];
        std::thread::scope(|scope| {
            for (part, images) in chunk.chunks_mut(16).enumerate().rev() {
                let b = &b;
                scope.spawn(move || {
                    for (offset, image) in images.iter_mut().enumerate().rev() {
                        *image = b.get(part * 16 + offset).0;
                    }
                });
            }
        });
    }
    assert_eq!(forward, threaded);
    // Epochs differ from each other, and seeds from each other.
    assert_ne!(forward[..64], forward[64..128]);
    let other: Vec<MnistImage> = (0..64).map(|i| c.get(i).0).collect();
    assert_ne!(forward[..64], other[..]);
    // reset() replays the first epoch.
    a.reset();
    let replay: Vec<MnistImage> = (0..64).map(|i| a.get(i).0).collect();
    assert_eq!(forward[..64], replay[..]);
}

#[test]
fn max_shift_zero_leaves_images_alone() {
    let data = InMemory::new(vec![IMAGE; 3], vec![0, 1, 2]).unwrap();
    let same = RandomShift::new(data, 3).max_shift(0);
    for _ in 0..5 {
        assert_eq!(
            (0..3).map(|i| same.get(i)).collect::<Vec<_>>(),
            [(IMAGE, 0), (IMAGE, 1), (IMAGE, 2)]
        );
    }
    assert_eq!(same.offset(0, 0), (0, 0));
}

#[test]
fn wrapped_sets_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<RandomShift<InMemory<MnistImage>>>();
}

network! {
    struct Small: [28, 28] => Flatten -> Linear<784, 32> -> ReLU -> Linear<32, 10>
}

#[test]
fn trains_through_the_wrapper_reproducibly() {
    let mut mnist = Mnist::bundled().unwrap();
    mnist.normalize(Mnist::MEAN, Mnist::STD).unwrap();
    let first = |data: &InMemory<MnistImage>, n: usize| {
        InMemory::new(data.inputs()[..n].to_vec(), data.targets()[..n].to_vec()).unwrap()
    };
    let (train, test) = (first(&mnist.train, 1000), first(&mnist.test, 500));
    let run = || {
        // The digits are normalised already: fill the border with the normalised background.
        let train = RandomShift::new(train.clone(), 11).fill(-Mnist::MEAN / Mnist::STD);
        let valid = RandomShift::new(test.clone(), 0).max_shift(0);
        let mut net = Small::init(0);
        let mut opt = Sgd::new(0.05).momentum(0.9);
        nn::Trainer::new(CrossEntropy)
            .epochs(3)
            .quiet()
            .fit(&mut net, &mut opt, &train, Some(&valid))
            .unwrap()
    };
    let (one, two) = (run(), run());
    let losses = |report: &nn::TrainReport| report.epochs.iter().map(|e| e.train_loss.to_bits()).collect::<Vec<_>>();
    assert_eq!(losses(&one), losses(&two), "same seed, same run");
    let accuracy = one.last().unwrap().valid_accuracy.unwrap();
    assert!(
        accuracy > 0.6,
        "accuracy {accuracy} after 3 epochs on 1000 shifted digits"
    );
}
