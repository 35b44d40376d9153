//! [`Sampler`]: the next token of a language model, drawn from its logits with a temperature
//! and an optional top-k, from a seeded [`Rng`].

use crate::{Error, Result, Rng};

/// Draws a token id from a model's logits: from `softmax(logits / temperature)`, restricted to
/// the `top_k` largest logits when a top-k is given (the others get probability 0), as
/// `torch.multinomial(F.softmax(logits / temperature, -1), 1)` after the usual top-k filter
/// (`logits[logits < v[-1]] = -inf` with `v = torch.topk(logits, k).values`), except that ties at
/// the k-th logit are broken in favour of the lower token id, so exactly `k` tokens remain.
///
/// A temperature below 1 sharpens the distribution, above 1 flattens it; `top_k = 1` always
/// gives the largest logit (the lowest id among equal ones), whatever the temperature.
///
/// ```
/// let sampler = nn::Sampler::new(0.8, Some(5))?;
/// let mut rng = nn::Rng::seed(0);
/// let logits = [0.1, 2.0, -1.0, 0.5];
/// let token = sampler.sample(&logits, &mut rng);
/// assert!(token < logits.len());
/// // The same seed draws the same tokens.
/// let again = sampler.sample(&logits, &mut nn::Rng::seed(0));
/// assert_eq!(token, again);
/// # Ok::<(), nn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampler {
    temperature: f32,
    top_k: Option<usize>,
}

impl Sampler {
    /// A sampler dividing the logits by `temperature` (finite and above 0; 1 leaves them as they
    /// are) and, with `Some(k)`, keeping only the `k` largest (`k` at least 1; a `k` at least the
    /// number of logits keeps them all, as `None` does).
    ///
    /// ```
    /// assert!(nn::Sampler::new(1.0, None).is_ok());
    /// let error = nn::Sampler::new(0.0, None).unwrap_err();
    /// assert_eq!(error.to_string(), "invalid argument: Sampler: the temperature must be a finite number above 0, not 0 (for the most likely token, use a top-k of 1)");
    /// let error = nn::Sampler::new(1.0, Some(0)).unwrap_err();
    /// assert_eq!(error.to_string(), "invalid argument: Sampler: top_k must be at least 1 (or None to keep every token), not 0");
    /// ```
    pub fn new(temperature: f32, top_k: Option<usize>) -> Result<Self> {
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(Error::InvalidArgument(format!(
                "Sampler: the temperature must be a finite number above 0, not {temperature} \
                 (for the most likely token, use a top-k of 1)"
            )));
        }
        if top_k == Some(0) {
            return Err(Error::InvalidArgument(
                "Sampler: top_k must be at least 1 (or None to keep every token), not 0".into(),
            ));
        }
        Ok(Sampler { temperature, top_k })
    }

    /// The temperature the logits are divided by.
    ///
    /// ```
    /// assert_eq!(nn::Sampler::new(0.7, None)?.temperature(), 0.7);
    /// # Ok::<(), nn::Error>(())
    /// ```
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// How many of the largest logits are kept (`None`: all).
    ///
    /// ```
    /// assert_eq!(nn::Sampler::new(1.0, Some(3))?.top_k(), Some(3));
    /// # Ok::<(), nn::Error>(())
    /// ```
    pub fn top_k(&self) -> Option<usize> {
        self.top_k
    }

    /// The index of the next token, drawn from `logits` with one 64-bit draw of `rng`; the same
    /// seed gives the same tokens. No allocation: the top-k threshold is found by bisection over
    /// the 32-bit order of the logits (at most 32 passes over them, whatever `k`), and the
    /// probabilities are summed in f64 in the order of the token ids.
    ///
    /// Logits are expected to be finite. If they are not (a NaN or an infinity from a diverged
    /// model), the token is still an index into `logits`: the largest logit among those kept,
    /// whenever the probabilities cannot be computed.
    ///
    /// # Panics
    ///
    /// If `logits` is empty: there is no token to choose.
    ///
    /// ```
    /// let greedy = nn::Sampler::new(1.0, Some(1))?;
    /// let mut rng = nn::Rng::seed(3);
    /// assert_eq!(greedy.sample(&[0.5, 3.0, 3.0, -2.0], &mut rng), 1); // argmax, lower id of a tie
    /// # Ok::<(), nn::Error>(())
    /// ```
    pub fn sample(&self, logits: &[f32], rng: &mut Rng) -> usize {
        assert!(!logits.is_empty(), "Sampler::sample: the logits are empty");
        let kept = Kept::new(logits, self.top_k);
        let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let inv_temperature = 1.0 / f64::from(self.temperature);
        let weight = |x: f32| ((f64::from(x) - f64::from(max)) * inv_temperature).exp();
        let total: f64 = kept.indices(logits).map(|i| weight(logits[i])).sum();
        let draw = rng.unit_f64() * total;
        let mut sum = 0.0;
        for i in kept.indices(logits) {
            sum += weight(logits[i]);
            if draw < sum {
                return i;
            }
        }
        // Reached when rounding leaves `draw` at `total`, or when `total` is NaN or 0.
        kept.first(logits)
    }
}

/// A total order on f32 as an integer: `key(a) < key(b)` when `a < b`, `-0.0` just below
/// `0.0`, NaNs at the ends; so that thresholds can be found by bisection on integers.
fn key(x: f32) -> u32 {
    let bits = x.to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

/// Which tokens take part in a draw: every token whose key is above `threshold`, and the
/// first `at_threshold` tokens (lowest ids) whose key equals it; exactly `k` tokens.
struct Kept {
    threshold: u32,
    at_threshold: usize,
}

impl Kept {
    fn new(logits: &[f32], top_k: Option<usize>) -> Kept {
        let k = match top_k {
            Some(k) if k < logits.len() => k,
            _ => {
                return Kept {
                    threshold: 0,
                    at_threshold: logits.len(),
                }
            }
        };
        let at_least = |threshold: u32| logits.iter().filter(|&&x| key(x) >= threshold).count();
        // The largest threshold that at least k keys reach: the k-th largest key.
        let (mut low, mut high) = (0u32, u32::MAX);
        while low < high {
            let middle = low + (high - low).div_ceil(2);
            if at_least(middle) >= k {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        let above = logits.iter().filter(|&&x| key(x) > low).count();
        Kept {
            threshold: low,
            at_threshold: k - above,
        }
    }

    /// The kept token ids, in increasing order.
    fn indices<'a>(&'a self, logits: &'a [f32]) -> impl Iterator<Item = usize> + 'a {
        let mut equal_seen = 0;
        logits.iter().enumerate().filter_map(move |(i, &x)| {
            let key = key(x);
            let kept = key > self.threshold || (key == self.threshold && equal_seen < self.at_threshold);
            equal_seen += usize::from(key == self.threshold);
            kept.then_some(i)
        })
    }

    /// The kept token with the largest logit (the lowest id among equal ones).
    fn first(&self, logits: &[f32]) -> usize {
        let mut best = None;
        for i in self.indices(logits) {
            if best.is_none_or(|b: usize| key(logits[i]) > key(logits[b])) {
                best = Some(i);
            }
        }
        best.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(logits: &[f32], k: Option<usize>) -> Vec<usize> {
        Kept::new(logits, k).indices(logits).collect()
    }

    #[test]
    fn top_k_keeps_the_largest_and_breaks_ties_by_lower_id() {
        let logits = [1.0, 5.0, 3.0, 5.0, 3.0, -2.0, 3.0];
        assert_eq!(kept(&logits, Some(1)), [1]);
        assert_eq!(kept(&logits, Some(2)), [1, 3]);
        assert_eq!(kept(&logits, Some(3)), [1, 2, 3]);
        assert_eq!(kept(&logits, Some(4)), [1, 2, 3, 4]);
        assert_eq!(kept(&logits, Some(6)), [0, 1, 2, 3, 4, 6]);
        assert_eq!(kept(&logits, Some(7)), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(kept(&logits, Some(100)), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(kept(&logits, None), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(kept(&[-0.0, 0.0, f32::MIN, f32::MAX], Some(2)), [1, 3]);
    }

    #[test]
    fn keys_follow_the_order_of_the_floats() {
        let ordered = [f32::NEG_INFINITY, -3.5, -1e-30, -0.0, 0.0, 1e-30, 2.0, f32::INFINITY];
        for pair in ordered.windows(2) {
            assert!(key(pair[0]) < key(pair[1]), "{pair:?}");
        }
    }

    #[test]
    fn non_finite_logits_still_give_a_token() {
        let sampler = Sampler::new(1.0, None).unwrap();
        let mut rng = Rng::seed(0);
        for logits in [[f32::NAN, 1.0, 0.0], [0.0, f32::INFINITY, 1.0], [f32::NEG_INFINITY; 3]] {
            assert!(sampler.sample(&logits, &mut rng) < 3);
        }
        assert_eq!(sampler.sample(&[0.0, f32::INFINITY, 1.0], &mut rng), 1);
    }
}
