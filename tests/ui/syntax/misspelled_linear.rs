// A misspelled built-in layer gets a suggestion.
use nn::prelude::*;

network! {
    pub struct Net: [784] => Linaer<784, 10>
}

fn main() {}
