//! `Conv2d`, `MaxPool2d` and `AvgPool2d`: the layers that work on `[C, H, W]` images.
//!
//! Users write the sizes PyTorch's constructor takes (`Conv2d<1, 6, 5>(padding = 2)`,
//! `MaxPool2d<2>`); the macro computes every output `[C, H, W]` with PyTorch's formula
//! `(H + 2P - K) / S + 1`, floored, and emits the runtime type with the output size filled in
//! (`Conv2d<1, 6, 5, 1, 2, 28, 28>`), since stable Rust cannot compute an array length from
//! generic parameters.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Expr, GenericArgument, Lit};

use super::{dim, edit_distance, generic_dim, respan, shape_text, shape_ty, Dim, Flow, Origin, Shape};
use crate::ast::{display_tokens, LayerDecl};
use crate::ctxt::Ctxt;

/// What kind of spatial layer is being checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Conv,
    MaxPool,
    AvgPool,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Conv => "Conv2d",
            Kind::MaxPool => "MaxPool2d",
            Kind::AvgPool => "AvgPool2d",
        }
    }

    /// The generic sizes, as the message for a wrong count spells them.
    fn sizes(self) -> &'static str {
        match self {
            Kind::Conv => "`Conv2d<IN_CHANNELS, OUT_CHANNELS, KERNEL>`",
            Kind::MaxPool => "`MaxPool2d<KERNEL>`",
            Kind::AvgPool => "`AvgPool2d<KERNEL>`",
        }
    }

    /// The named options in parentheses, and an example of them.
    fn options(self) -> (&'static [&'static str], &'static str) {
        match self {
            Kind::Conv => (&["stride", "padding"], "(stride = 1, padding = 2)"),
            Kind::MaxPool | Kind::AvgPool => (&["stride"], "(stride = 2)"),
        }
    }

    /// What the kernel is called in messages.
    fn window(self) -> &'static str {
        match self {
            Kind::Conv => "kernel",
            Kind::MaxPool | Kind::AvgPool => "window",
        }
    }
}

/// Checks a spatial layer against its input; returns the runtime type and the tensor it gives.
pub(super) fn check(
    cx: &mut Ctxt,
    krate: &syn::Path,
    layer: &LayerDecl,
    args: &[&GenericArgument],
    flow: &Flow,
    kind: Kind,
) -> (TokenStream, Flow) {
    let display = layer.display();
    let name = kind.name();
    let sizes: Vec<Option<Dim>> = args.iter().map(|arg| generic_dim(cx, arg)).collect();
    let expected = if kind == Kind::Conv { 3 } else { 1 };
    if sizes.len() != expected {
        cx.error_spanned_by(
            &layer.path,
            format!(
                "`{name}` takes {} {}, {}, but `{display}` has {}{}",
                if expected == 1 { "one" } else { "three" },
                if expected == 1 { "size" } else { "sizes" },
                kind.sizes(),
                sizes.len(),
                match kind {
                    Kind::Conv => "\n= help: write `Conv2d<1, 6, 5>` for PyTorch's `nn.Conv2d(1, 6, 5)`",
                    Kind::MaxPool => "\n= help: write `MaxPool2d<2>` for PyTorch's `nn.MaxPool2d(2)`",
                    Kind::AvgPool => "\n= help: write `AvgPool2d<2>` for PyTorch's `nn.AvgPool2d(2)`",
                }
            ),
        );
        return (quote!(()), unknown_flow(flow, None, &display));
    }
    let options = options(cx, layer, kind);
    let options_wrong = options.wrong;
    let Some(sizes) = sizes.into_iter().collect::<Option<Vec<Dim>>>() else {
        return (quote!(()), unknown_flow(flow, None, &display));
    };
    let kernel = sizes.last().expect("checked count").clone();
    let stride = options.stride.unwrap_or_else(|| match kind {
        Kind::Conv => literal_dim(1),
        // PyTorch's pooling stride defaults to the window size.
        Kind::MaxPool | Kind::AvgPool => kernel.clone(),
    });
    let padding = options.padding.unwrap_or_else(|| literal_dim(0));

    let Some([channels, height, width]) = image_dims(cx, krate, layer, flow, &display) else {
        let channels = (kind == Kind::Conv).then(|| sizes[1].clone());
        return (quote!(()), unknown_flow(flow, channels, &display));
    };
    let out_channels = match kind {
        Kind::Conv => {
            check_channels(cx, args[0], &sizes[0], &channels, flow, &display);
            sizes[1].clone()
        }
        Kind::MaxPool | Kind::AvgPool => channels,
    };
    let fits = check_fit(
        cx,
        args.last().expect("checked count"),
        kind,
        &display,
        flow,
        [&height, &width],
        &kernel,
        &padding,
    );
    let (out_height, out_width) = if fits && !options_wrong {
        (
            output_dim(&height, &kernel, &stride, &padding),
            output_dim(&width, &kernel, &stride, &padding),
        )
    } else {
        (unknown(), unknown())
    };

    let ident = layer.ident();
    let krate = respan(krate, ident.span());
    let [k, s, p, ho, wo] = [&kernel, &stride, &padding, &out_height, &out_width].map(|dim| &dim.tokens);
    let ty = match kind {
        Kind::Conv => {
            let (input, output) = (&sizes[0].tokens, &sizes[1].tokens);
            quote_spanned!(ident.span()=> #krate::__private::#ident<#input, #output, #k, #s, #p, #ho, #wo>)
        }
        Kind::MaxPool | Kind::AvgPool => {
            quote_spanned!(ident.span()=> #krate::__private::#ident<#k, #s, #ho, #wo>)
        }
    };
    let shape = Shape::Known(vec![out_channels, out_height, out_width]);
    let origin = match kind {
        // As after `Linear`, messages name the chain from the last layer with parameters.
        Kind::Conv => Origin::Chain(display),
        Kind::MaxPool | Kind::AvgPool => flow.origin.then(&display),
    };
    (
        ty,
        Flow {
            ty: shape_ty(&shape),
            shape,
            origin,
        },
    )
}

/// `stride = ..` and `padding = ..` as written in parentheses.
#[derive(Default)]
struct Options {
    stride: Option<Dim>,
    padding: Option<Dim>,
    /// Whether an option was reported as wrong: the output size is then unknown, so that the
    /// layers after it report nothing that follows from it.
    wrong: bool,
}

/// Reads the named options in parentheses, reporting unknown, repeated and unnamed ones.
fn options(cx: &mut Ctxt, layer: &LayerDecl, kind: Kind) -> Options {
    let mut options = Options::default();
    let Some(args) = &layer.args else { return options };
    let name = kind.name();
    let (allowed, example) = kind.options();
    for arg in args {
        let Expr::Assign(assign) = arg else {
            cx.error_spanned_by(
                arg,
                format!(
                    "`{name}` options are written by name: `{name}<..>{example}`\n= help: sizes go in angle brackets: {}",
                    kind.sizes()
                ),
            );
            options.wrong = true;
            continue;
        };
        let option = display_tokens(&assign.left);
        let slot = match option.as_str() {
            "stride" if allowed.contains(&"stride") => &mut options.stride,
            "padding" if allowed.contains(&"padding") => &mut options.padding,
            _ => {
                let help = match allowed.iter().find(|known| similar_option(known, &option)) {
                    Some(known) => format!("did you mean `{known}`?"),
                    None => format!("`{name}` takes {}", quoted_list(allowed)),
                };
                let why = if option == "padding" {
                    ": pooling here never pads its input"
                } else {
                    ""
                };
                cx.error_spanned_by(
                    &assign.left,
                    format!("`{name}` has no option `{option}`{why}\n= help: {help}"),
                );
                options.wrong = true;
                continue;
            }
        };
        if slot.is_some() {
            cx.error_spanned_by(&assign.left, format!("`{option}` is given twice\n= help: remove one"));
            options.wrong = true;
            continue;
        }
        *slot = option_value(cx, &assign.right, option == "padding");
        options.wrong |= slot.is_none();
    }
    options
}

/// `pad` for `padding`, `strides` for `stride`: a prefix either way, or a near spelling.
fn similar_option(known: &str, written: &str) -> bool {
    let written = written.to_ascii_lowercase();
    known.starts_with(&written) || written.starts_with(known) || edit_distance(known, &written) <= 2
}

/// "`stride` and `padding`".
fn quoted_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match quoted.as_slice() {
        [only] => format!("only {only}"),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
        [] => "no options".into(),
    }
}

/// An option's value: a whole number (0 allowed for padding) or a `const`.
fn option_value(cx: &mut Ctxt, expr: &Expr, zero_allowed: bool) -> Option<Dim> {
    if let Expr::Lit(syn::ExprLit { lit: Lit::Int(int), .. }) = expr {
        if zero_allowed && int.base10_parse::<u64>().ok() == Some(0) {
            return Some(literal_dim(0));
        }
    }
    dim(cx, expr)
}

/// `[C, H, W]` of the input, or an error saying the layer needs an image.
fn image_dims(cx: &mut Ctxt, krate: &syn::Path, layer: &LayerDecl, flow: &Flow, display: &str) -> Option<[Dim; 3]> {
    match &flow.shape {
        Shape::Known(dims) if dims.len() == 3 => Some([dims[0].clone(), dims[1].clone(), dims[2].clone()]),
        Shape::Known(dims) => {
            let shape = shape_text(&flow.shape);
            let help = match (&flow.origin, dims.len()) {
                (Origin::Input(_), 2) => format!(
                    "give the input a channel dimension: `[1, {}, {}]`",
                    dims[0].text, dims[1].text
                ),
                (Origin::Input(_), _) => "declare the input as an image `[C, H, W]`, such as `[1, 28, 28]`".into(),
                _ => "image layers come before `Flatten` and `Linear`".into(),
            };
            cx.error_spanned_by(
                &layer.path,
                format!(
                    "`{display}` takes an image `[C, H, W]`, but {}\n= help: {help}",
                    flow.origin.gives_shape(&shape)
                ),
            );
            None
        }
        // Reported before any layer but `Embedding` sees token ids.
        Shape::Tokens(_) => None,
        // After a custom layer only the compiler knows the shape: read it from the type.
        Shape::Opaque => {
            let previous = &flow.ty;
            let krate = respan(krate, layer.ident().span());
            let axis = |index: usize, text: &str| Dim {
                value: None,
                tokens: quote!({ <#previous as #krate::__private::Tensor>::SHAPE[#index] }),
                text: text.into(),
            };
            Some([axis(0, "C"), axis(1, "H"), axis(2, "W")])
        }
    }
}

/// A convolution's input channels must be the channels it is given.
fn check_channels(cx: &mut Ctxt, arg: &GenericArgument, takes: &Dim, given: &Dim, flow: &Flow, display: &str) {
    let (Some(takes), Some(gives)) = (takes.value, given.value) else {
        return;
    };
    if takes == gives {
        return;
    }
    let fixed = display.replacen(&format!("<{takes},"), &format!("<{gives},"), 1);
    cx.error_spanned_by(
        arg,
        format!(
            "shape mismatch: `{display}` takes {takes} input channels, but {}: {gives} channels\n= help: write `{fixed}`",
            flow.origin.gives_shape(&shape_text(&flow.shape))
        ),
    );
}

/// The kernel (or pooling window) must fit in the padded input; reports it at the kernel size.
#[allow(clippy::too_many_arguments)]
fn check_fit(
    cx: &mut Ctxt,
    arg: &GenericArgument,
    kind: Kind,
    display: &str,
    flow: &Flow,
    [height, width]: [&Dim; 2],
    kernel: &Dim,
    padding: &Dim,
) -> bool {
    let (Some(h), Some(w), Some(k), Some(p)) = (height.value, width.value, kernel.value, padding.value) else {
        return true;
    };
    let smallest = h.min(w) + 2 * p;
    if k <= smallest {
        return true;
    }
    let window = kind.window();
    let padded = if p > 0 {
        format!(", {}x{} with padding {p}", h + 2 * p, w + 2 * p)
    } else {
        String::new()
    };
    let help = match kind {
        Kind::Conv => format!(
            "use a kernel of at most {smallest}, or pad the input: `(padding = {})`",
            (k - h.min(w)).div_ceil(2)
        ),
        Kind::MaxPool | Kind::AvgPool => format!("use a window of at most {smallest}"),
    };
    cx.error_spanned_by(
        arg,
        format!(
            "`{display}`: its {k}x{k} {window} does not fit its input: {}, which is {h}x{w}{padded}\n= help: {help}",
            flow.origin.gives_shape(&shape_text(&flow.shape))
        ),
    );
    false
}

/// PyTorch's output size, `(size + 2 * padding - kernel) / stride + 1` floored: a literal when
/// every term is one, else an expression the compiler evaluates.
fn output_dim(size: &Dim, kernel: &Dim, stride: &Dim, padding: &Dim) -> Dim {
    if let (Some(n), Some(k), Some(s), Some(p)) = (size.value, kernel.value, stride.value, padding.value) {
        return literal_dim((n + 2 * p - k) / s + 1);
    }
    let [n, k, s, p] = [size, kernel, stride, padding].map(|dim| &dim.tokens);
    Dim {
        value: None,
        tokens: quote!({ (#n + 2 * #p - #k) / #s + 1 }),
        text: format!(
            "({} + 2*{} - {}) / {} + 1",
            size.text, padding.text, kernel.text, stride.text
        ),
    }
}

fn literal_dim(value: u64) -> Dim {
    Dim {
        value: Some(value),
        tokens: Literal::u64_unsuffixed(value).into_token_stream(),
        text: value.to_string(),
    }
}

/// A size already reported as wrong: unknown, so it causes no further errors.
fn unknown() -> Dim {
    Dim {
        value: None,
        tokens: quote!(1),
        text: "?".into(),
    }
}

/// The tensor after a layer that was reported as wrong: an image whose sizes are unknown (so
/// that later layers are still checked for their rank but cause no cascade of size errors).
fn unknown_flow(flow: &Flow, channels: Option<Dim>, display: &str) -> Flow {
    let shape = Shape::Known(vec![channels.unwrap_or_else(unknown), unknown(), unknown()]);
    Flow {
        ty: shape_ty(&shape),
        shape,
        origin: flow.origin.then(display),
    }
}
