//! The floor of a Python binding of telhook (see Cargo.toml): built from one event at set-up,
//! `Floor.normalize(method, url, headers, body, now)` takes the arguments telhook's
//! `_core.Receiver.normalize` takes, reads them as it does, and returns an object equal to that
//! event, built anew, without any of telhook's work (no verification, parse or normalization).
//! Built for this Python version (not the stable ABI bindings-python uses for 3.9 onwards), so
//! it may borrow strings where that binding must copy them: a lower bound for any binding.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyDict, PyFloat, PyList, PyString};

/// How one value of the event is made again on each call.
enum Shape {
    /// A dict: copied from a template holding its keys when that is cheaper (from
    /// `COPY_FROM_KEYS` keys on; measured in CPython 3.11, copy-and-replace wins on a 16-key
    /// dict and loses on an 8-key one), else built key by key.
    Dict {
        template: Option<Py<PyDict>>,
        entries: Vec<(Py<PyString>, Shape)>,
    },
    List(Vec<Shape>),
    /// A string that changes from one delivery to the next: made from Rust text once a call
    /// (as a binding makes it from the core's event) and shared wherever the event repeats it
    /// (an id in `raw` and in `message.id`): the index of its text in [`Floor`]'s texts.
    Text(usize),
    Int(i64),
    Float(f64),
    /// An object a binding can reuse across calls: `None`, `True`/`False`, a vocabulary word.
    Reused(Py<PyAny>),
}

const COPY_FROM_KEYS: usize = 9;

/// Vocabulary words (`message.received`, `inbound`, `limephone`): short, lower-case, no digits
/// that would make them an id. A binding can keep one object for each.
fn is_vocabulary(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
}

fn shape_of(value: &Bound<'_, PyAny>, texts: &mut Vec<String>) -> PyResult<Shape> {
    let py = value.py();
    if value.is_none() || value.is_instance_of::<pyo3::types::PyBool>() {
        return Ok(Shape::Reused(value.clone().unbind()));
    }
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        let mut entries = Vec::with_capacity(dict.len());
        for (key, item) in dict.iter() {
            let key = key.cast_into_exact::<PyString>()?;
            let interned = PyString::intern(py, &key.to_cow()?);
            entries.push((interned.unbind(), shape_of(&item, texts)?));
        }
        let template = if entries.len() >= COPY_FROM_KEYS {
            let template = PyDict::new(py);
            for (key, _) in &entries {
                template.set_item(key.bind(py), py.None())?;
            }
            Some(template.unbind())
        } else {
            None
        };
        return Ok(Shape::Dict { template, entries });
    }
    if let Ok(list) = value.cast_exact::<PyList>() {
        return list
            .iter()
            .map(|item| shape_of(&item, texts))
            .collect::<PyResult<_>>()
            .map(Shape::List);
    }
    if let Ok(text) = value.cast_exact::<PyString>() {
        let text = text.to_cow()?;
        if is_vocabulary(&text) {
            return Ok(Shape::Reused(
                PyString::intern(py, &text).into_any().unbind(),
            ));
        }
        let index = match texts.iter().position(|known| *known == *text) {
            Some(index) => index,
            None => {
                texts.push(text.into_owned());
                texts.len() - 1
            }
        };
        return Ok(Shape::Text(index));
    }
    if let Ok(number) = value.extract::<i64>() {
        return Ok(Shape::Int(number));
    }
    Ok(Shape::Float(value.extract::<f64>()?))
}

fn build<'py>(
    py: Python<'py>,
    shape: &Shape,
    texts: &[Bound<'py, PyString>],
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match shape {
        Shape::Dict { template, entries } => {
            let dict = match template {
                Some(template) => template.bind(py).copy()?,
                None => PyDict::new(py),
            };
            for (key, item) in entries {
                dict.set_item(key.bind(py), build(py, item, texts)?)?;
            }
            dict.into_any()
        }
        Shape::List(items) => {
            let built = items
                .iter()
                .map(|item| build(py, item, texts))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, built)?.into_any()
        }
        Shape::Text(index) => match texts.get(*index) {
            Some(text) => text.clone().into_any(),
            None => py.None().into_bound(py),
        },
        Shape::Int(number) => number.into_pyobject(py)?.into_any(),
        Shape::Float(number) => PyFloat::new(py, *number).into_any(),
        Shape::Reused(object) => object.bind(py).clone(),
    })
}

/// A header name or value, borrowed: the least reading (bindings-python's, under the stable ABI
/// of Python 3.9, copies it).
fn text<'a>(item: &'a Bound<'_, PyAny>) -> Option<&'a str> {
    item.cast_exact::<PyString>().ok()?.to_str().ok()
}

#[pyclass(frozen)]
struct Floor {
    shape: Shape,
    texts: Vec<String>,
}

#[pymethods]
impl Floor {
    #[new]
    fn new(event: &Bound<'_, PyAny>) -> PyResult<Self> {
        let mut texts = Vec::new();
        let shape = shape_of(event, &mut texts)?;
        Ok(Floor { shape, texts })
    }

    /// The same arguments as `_core.Receiver.normalize`, read the same way (a dict of headers
    /// into owned pairs, the body borrowed); returns the event built again.
    fn normalize<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: Option<&str>,
        headers: &Bound<'py, PyAny>,
        body: PyBackedBytes,
        now: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let headers = headers.cast_exact::<PyDict>()?;
        let mut read = method.len() + url.map_or(0, str::len) + body.len();
        for (name, value) in headers.iter() {
            read += text(&name)
                .zip(text(&value))
                .map_or(0, |(n, v)| n.len() + v.len());
        }
        // What is read must be used, or the compiler could drop the reading.
        std::hint::black_box((read, now));
        let texts: Vec<_> = self
            .texts
            .iter()
            .map(|text| PyString::new(py, text))
            .collect();
        build(py, &self.shape, &texts)
    }
}

#[pymodule]
fn telhook_bench_python_floor(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Floor>()
}
