//! `nn::Sampler` draws tokens with the probabilities it promises: frequencies over many draws
//! against `softmax(logits / temperature)` restricted to the top k, computed here in f64.

use nn::{Rng, Sampler};

/// The expected probabilities: softmax of `logits / temperature` over the `k` largest (no ties
/// in the logits used here), zero elsewhere.
fn expected(logits: &[f32], temperature: f64, k: usize) -> Vec<f64> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let kept = &order[..k];
    let max = f64::from(logits[order[0]]);
    let mut p = vec![0.0; logits.len()];
    for &i in kept {
        p[i] = ((f64::from(logits[i]) - max) / temperature).exp();
    }
    let total: f64 = p.iter().sum();
    p.iter().map(|w| w / total).collect()
}

/// How often each token is drawn in `draws` draws from one seeded generator.
fn counts(sampler: &Sampler, logits: &[f32], draws: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::seed(seed);
    let mut counts = vec![0; logits.len()];
    for _ in 0..draws {
        counts[sampler.sample(logits, &mut rng)] += 1;
    }
    counts
}

/// Pearson's chi-square statistic of `counts` against probabilities `p` over the tokens with
/// `p > 0`; the tokens with `p == 0` must never be drawn.
fn chi_square(counts: &[usize], p: &[f64]) -> f64 {
    let draws: usize = counts.iter().sum();
    let mut statistic = 0.0;
    for (&count, &p) in counts.iter().zip(p) {
        if p == 0.0 {
            assert_eq!(count, 0, "a token outside the top k was drawn");
        } else {
            let expected = p * draws as f64;
            statistic += (count as f64 - expected).powi(2) / expected;
        }
    }
    statistic
}

/// With top-k 3 the statistic has 2 degrees of freedom, whose tail is exactly
/// `P(X > x) = exp(-x / 2)`: a correct sampler exceeds `2 ln(1e6) = 27.6` with probability 1e-6.
/// A sampler that ignored the temperature (probabilities of `softmax(logits)` over the top 3,
/// 0.599, 0.220, 0.180 instead of 0.662, 0.190, 0.148) would give a statistic of about 1,800
/// over 100,000 draws.
#[test]
fn frequencies_follow_the_tempered_top_k_softmax() {
    let logits = [1.0f32, 2.0, 0.5, 3.0, -1.0, 1.8];
    let sampler = Sampler::new(0.8, Some(3)).unwrap();
    let p = expected(&logits, 0.8, 3);
    let draws = 100_000;
    let statistic = chi_square(&counts(&sampler, &logits, draws, 11), &p);
    let bound = 2.0 * 1e6f64.ln();
    println!("chi-square {statistic:.2} (2 degrees of freedom, bound {bound:.1}) over {draws} draws");
    assert!(statistic < bound, "chi-square {statistic} >= {bound}");
}

/// Without top-k every token is drawn in proportion to `exp(logit / temperature)`: each
/// frequency within 5 standard deviations `sqrt(p (1 - p) / n)` of its probability (a correct
/// sampler fails one of the six with probability below 4e-6).
#[test]
fn frequencies_follow_the_tempered_softmax_without_top_k() {
    let logits = [0.2f32, -0.5, 1.1, 0.0, 0.7, -2.0];
    let sampler = Sampler::new(1.5, None).unwrap();
    let p = expected(&logits, 1.5, logits.len());
    let draws = 100_000;
    let counts = counts(&sampler, &logits, draws, 5);
    for (i, (&count, &p)) in counts.iter().zip(&p).enumerate() {
        let frequency = count as f64 / draws as f64;
        let bound = 5.0 * (p * (1.0 - p) / draws as f64).sqrt();
        assert!(
            (frequency - p).abs() < bound,
            "token {i}: frequency {frequency} vs probability {p} (bound {bound})"
        );
    }
}

#[test]
fn top_k_of_one_is_the_argmax() {
    let sampler = Sampler::new(5.0, Some(1)).unwrap();
    let mut rng = Rng::seed(0);
    let logits = [0.3f32, 4.0, -1.0, 4.0, 2.0];
    for _ in 0..1000 {
        assert_eq!(sampler.sample(&logits, &mut rng), 1);
    }
}

#[test]
fn the_same_seed_draws_the_same_sequence() {
    let sampler = Sampler::new(1.0, Some(4)).unwrap();
    let logits = [0.5f32, 0.4, 0.3, 0.2, 0.1, 0.0];
    let draw = |seed| {
        let mut rng = Rng::seed(seed);
        (0..200).map(|_| sampler.sample(&logits, &mut rng)).collect::<Vec<_>>()
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8), "200 draws from 4 tokens: different seeds differ");
}

#[test]
fn invalid_settings_are_errors() {
    for temperature in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let error = Sampler::new(temperature, None).unwrap_err();
        assert!(error.to_string().contains("temperature"), "{error}");
    }
    let error = Sampler::new(1.0, Some(0)).unwrap_err();
    assert!(error.to_string().contains("top_k"), "{error}");
    assert!(Sampler::new(1e-3, Some(usize::MAX)).is_ok());
}
