//! Classification metrics against values computed by hand (the arithmetic is in the comments;
//! scikit-learn's `classification_report` gives the same numbers for these labels).

use nn::metrics::{top_k_accuracy, ConfusionMatrix};

/// truths      0 0 0 1 1 2 2 2 2
/// predictions 0 0 1 1 2 2 2 0 1
///
/// rows = truth:  0: [2 1 0]  1: [0 1 1]  2: [1 1 2]; column sums 3 3 3; supports 3 2 4.
fn example() -> ConfusionMatrix {
    ConfusionMatrix::from_predictions(3, &[0, 0, 0, 1, 1, 2, 2, 2, 2], &[0, 0, 1, 1, 2, 2, 2, 0, 1])
}

fn assert_near(actual: f32, expected: f64, what: &str) {
    assert!(
        (f64::from(actual) - expected).abs() < 1e-6,
        "{what}: {actual} vs {expected}"
    );
}

#[test]
fn counts_and_accuracy() {
    let m = example();
    assert_eq!(
        (
            m.count(0, 0),
            m.count(0, 1),
            m.count(2, 0),
            m.count(2, 1),
            m.count(2, 2)
        ),
        (2, 1, 1, 1, 2)
    );
    assert_eq!((m.support(0), m.support(1), m.support(2), m.total()), (3, 2, 4, 9));
    assert_near(m.accuracy(), 5.0 / 9.0, "accuracy (2 + 1 + 2 correct of 9)");
}

#[test]
fn per_class_precision_recall_f1() {
    let m = example();
    // precision = diagonal / column sum; recall = diagonal / row sum.
    let expected = [
        (2.0 / 3.0, 2.0 / 3.0, 2.0 / 3.0),
        (1.0 / 3.0, 1.0 / 2.0, 2.0 / 5.0), // f1 = 2 (1/3)(1/2) / (1/3 + 1/2) = 2/5
        (2.0 / 3.0, 2.0 / 4.0, 4.0 / 7.0), // f1 = 2 (2/3)(1/2) / (2/3 + 1/2) = 4/7
    ];
    for (class, (precision, recall, f1)) in expected.into_iter().enumerate() {
        assert_near(m.precision(class), precision, &format!("precision {class}"));
        assert_near(m.recall(class), recall, &format!("recall {class}"));
        assert_near(m.f1(class), f1, &format!("f1 {class}"));
    }
}

#[test]
fn macro_and_weighted_f1() {
    let m = example();
    // macro: (2/3 + 2/5 + 4/7) / 3 = 172/315; weighted: (3 * 2/3 + 2 * 2/5 + 4 * 4/7) / 9 = 178/315.
    assert_near(m.macro_f1(), 172.0 / 315.0, "macro F1");
    assert_near(m.weighted_f1(), 178.0 / 315.0, "weighted F1");
}

#[test]
fn classes_never_predicted_or_absent_score_zero_not_nan() {
    let m = ConfusionMatrix::from_predictions(3, &[0, 1], &[0, 0]);
    assert_eq!((m.precision(1), m.recall(1), m.f1(1)), (0.0, 0.0, 0.0));
    assert_eq!((m.precision(2), m.recall(2), m.f1(2)), (0.0, 0.0, 0.0));
    assert_near(m.precision(0), 0.5, "precision 0");
}

#[test]
fn table_shows_counts_and_scores() {
    let table = example().to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(lines[0].starts_with("true\\pred 0 1 2"), "{table}");
    assert!(lines[3].starts_with("        2 1 1 2"), "{table}");
    assert!(lines[2].contains("0.3333  0.5000  0.4000        2"), "{table}");
    assert!(lines[4].contains("accuracy 0.5556"), "{table}");
}

#[test]
fn top_k_counts_a_label_within_the_k_largest() {
    let outputs = [[0.1f32, 0.6, 0.3], [0.5, 0.2, 0.3], [0.2, 0.2, 0.6]];
    // Ranks of the labels: sample 0 label 2 is 2nd; sample 1 label 1 is 3rd; sample 2 label 1
    // ties with label 0 at 0.2 and comes after it (lower index first): 3rd.
    let labels = [2, 1, 1];
    assert_near(top_k_accuracy(&outputs, &labels, 1), 0.0, "top-1");
    assert_near(top_k_accuracy(&outputs, &labels, 2), 1.0 / 3.0, "top-2");
    assert_near(top_k_accuracy(&outputs, &labels, 3), 1.0, "top-3");
}
