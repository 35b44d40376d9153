"""Write data/fruit/fruit.csv: a small, synthetic, labelled table for the CSV example and tests.

Run from the repository root with any Python 3 (standard library only):

    python3 tools/make_fruit_csv.py

The rows are invented, not measured: for each class, each feature is drawn from a normal
distribution with the mean and standard deviation in CLASSES below (Box-Muller on
random.random(), whose stream Python guarantees for a given seed), rounded to one decimal.
The classes overlap a little, so a classifier does well but not perfectly. The features have
different scales (grams against percent), which is what standardisation is for.
"""

import math
import random

SEED = 2026
ROWS_PER_CLASS = 20
FEATURES = ["length_mm", "width_mm", "mass_g", "sugar_percent"]
# class: [(mean, std) for each feature]
CLASSES = {
    "apple": [(70, 6), (75, 6), (180, 25), (11, 1.2)],
    "pear": [(95, 9), (65, 6), (190, 30), (10, 1.2)],
    "plum": [(50, 5), (48, 5), (60, 12), (13, 1.5)],
}


def normal(rng, mean, std):
    u1, u2 = rng.random(), rng.random()
    return mean + std * math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def main():
    rng = random.Random(SEED)
    rows = []
    for name, stats in CLASSES.items():
        for _ in range(ROWS_PER_CLASS):
            rows.append([f"{normal(rng, mean, std):.1f}" for mean, std in stats] + [name])
    rng.shuffle(rows)
    with open("data/fruit/fruit.csv", "w", newline="") as out:
        out.write(",".join(FEATURES + ["fruit"]) + "\n")
        for row in rows:
            out.write(",".join(row) + "\n")


if __name__ == "__main__":
    main()
