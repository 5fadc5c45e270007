//! The floor of a Python binding of telhook (see Cargo.toml): built from one event at set-up,
//! `Floor.normalize(method, url, headers, body, now)` takes the arguments telhook's
//! `_core.Receiver.normalize` takes, reads them as it does, and returns an object equal to that
//! event, built anew, without any of telhook's work (no verification, parse or normalization).
//! Built for this Python version's full C API (not the stable ABI bindings-python uses for 3.9
//! onwards), so it may borrow strings where that binding must copy them, and a bare METH_FASTCALL
//! function instead of PyO3's argument parsing: a lower bound for any binding that uses CPython's
//! public C API. (Writing values straight into a copied dict's entries, CPython 3.11's private
//! layout, was measured too: bench/PROFILE.md, 2026-12-04.)
//!
//! Unsafe, unlike telhook: the least work means raw `pyo3::ffi` calls.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

/// How one value of the event is made again on each call.
enum Shape {
    /// A dict: a copy of a template holding its keys, with the values that are `None` (and, at
    /// the top, the receiver's constants `schema_version` and `provider`) already in place; the
    /// other values are set on the copy (each key is there: a replacement, never a resize).
    Dict {
        template: Py<PyDict>,
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

/// Vocabulary words (`message.received`, `inbound`, `limephone`): short, lower-case, no digits
/// that would make them an id. A binding can keep one object for each.
fn is_vocabulary(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.')
}

fn shape_of(value: &Bound<'_, PyAny>, texts: &mut Vec<String>, top: bool) -> PyResult<Shape> {
    let py = value.py();
    if value.is_none() || value.is_instance_of::<pyo3::types::PyBool>() {
        return Ok(Shape::Reused(value.clone().unbind()));
    }
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        let template = PyDict::new(py);
        let mut entries = Vec::new();
        for (key, item) in dict.iter() {
            let key = key.cast_into_exact::<PyString>()?;
            let key = PyString::intern(py, &key.to_cow()?);
            let constant = top && matches!(&*key.to_cow()?, "schema_version" | "provider");
            if item.is_none() || constant {
                template.set_item(&key, &item)?;
            } else {
                template.set_item(&key, py.None())?;
                entries.push((key.clone().unbind(), shape_of(&item, texts, false)?));
            }
        }
        return Ok(Shape::Dict { template: template.unbind(), entries });
    }
    if let Ok(list) = value.cast_exact::<PyList>() {
        return list
            .iter()
            .map(|item| shape_of(&item, texts, false))
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

/// A new reference to the value built again, or null with an exception set.
unsafe fn build(shape: &Shape, texts: &[*mut ffi::PyObject]) -> *mut ffi::PyObject {
    match shape {
        Shape::Dict { template, entries } => {
            let dict = ffi::PyDict_Copy(template.as_ptr());
            if dict.is_null() {
                return dict;
            }
            for (key, item) in entries {
                let value = build(item, texts);
                if value.is_null() {
                    ffi::Py_DECREF(dict);
                    return value;
                }
                let set = ffi::PyDict_SetItem(dict, key.as_ptr(), value);
                ffi::Py_DECREF(value);
                if set != 0 {
                    ffi::Py_DECREF(dict);
                    return std::ptr::null_mut();
                }
            }
            dict
        }
        Shape::List(items) => {
            let list = ffi::PyList_New(items.len() as ffi::Py_ssize_t);
            if list.is_null() {
                return list;
            }
            for (index, item) in items.iter().enumerate() {
                let value = build(item, texts);
                if value.is_null() {
                    ffi::Py_DECREF(list);
                    return value;
                }
                ffi::PyList_SET_ITEM(list, index as ffi::Py_ssize_t, value);
            }
            list
        }
        Shape::Text(index) => {
            let text = texts[*index];
            ffi::Py_INCREF(text);
            text
        }
        Shape::Int(number) => ffi::PyLong_FromLongLong(*number),
        Shape::Float(number) => ffi::PyFloat_FromDouble(*number),
        Shape::Reused(object) => {
            ffi::Py_INCREF(object.as_ptr());
            object.as_ptr()
        }
    }
}

/// A str made from Rust text: ASCII copied into a new compact string, else decoded.
unsafe fn new_text(text: &str) -> *mut ffi::PyObject {
    if text.len() > 1 && text.is_ascii() {
        let string = ffi::PyUnicode_New(text.len() as ffi::Py_ssize_t, 127);
        if !string.is_null() {
            std::ptr::copy_nonoverlapping(text.as_ptr(), ffi::PyUnicode_1BYTE_DATA(string), text.len());
        }
        string
    } else {
        ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), text.len() as ffi::Py_ssize_t)
    }
}

/// A str argument's UTF-8, borrowed (a compact ASCII string's own data, else CPython's UTF-8).
unsafe fn text<'a>(object: *mut ffi::PyObject) -> Option<&'a [u8]> {
    if ffi::PyUnicode_Check(object) == 0 {
        return None;
    }
    if ffi::PyUnicode_IS_COMPACT_ASCII(object) != 0 {
        let length = ffi::PyUnicode_GET_LENGTH(object) as usize;
        return Some(std::slice::from_raw_parts(ffi::PyUnicode_1BYTE_DATA(object), length));
    }
    let mut length: ffi::Py_ssize_t = 0;
    let data = ffi::PyUnicode_AsUTF8AndSize(object, &mut length);
    if data.is_null() {
        ffi::PyErr_Clear();
        return None;
    }
    Some(std::slice::from_raw_parts(data.cast(), length as usize))
}

unsafe fn type_error(message: &std::ffi::CStr) -> *mut ffi::PyObject {
    ffi::PyErr_SetString(ffi::PyExc_TypeError, message.as_ptr());
    std::ptr::null_mut()
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
        let shape = shape_of(event, &mut texts, true)?;
        Ok(Floor { shape, texts })
    }
}

/// `Floor.normalize(method, url, headers, body, now)`, a bare METH_FASTCALL method: the same
/// arguments as `_core.Receiver.normalize` (positional), read (the headers borrowed pair by
/// pair, the body borrowed); returns the event built again.
unsafe extern "C" fn normalize(
    slf: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    if nargs != 5 {
        return type_error(c"normalize() takes 5 positional arguments");
    }
    let args = std::slice::from_raw_parts(args, 5);
    let Some(method) = text(args[0]) else {
        return type_error(c"method must be a str");
    };
    let url = if args[1] == ffi::Py_None() {
        None
    } else {
        match text(args[1]) {
            Some(url) => Some(url),
            None => return type_error(c"url must be a str or None"),
        }
    };
    if ffi::PyDict_CheckExact(args[2]) == 0 {
        return type_error(c"headers must be a dict");
    }
    if ffi::PyBytes_Check(args[3]) == 0 {
        return type_error(c"body must be bytes");
    }
    let body = std::slice::from_raw_parts(
        ffi::PyBytes_AS_STRING(args[3]).cast::<u8>(),
        ffi::PyBytes_Size(args[3]) as usize,
    );
    let now = ffi::PyLong_AsLongLong(args[4]);
    if now == -1 && !ffi::PyErr_Occurred().is_null() {
        return std::ptr::null_mut();
    }
    let (mut position, mut name, mut value) = (0, std::ptr::null_mut(), std::ptr::null_mut());
    while ffi::PyDict_Next(args[2], &mut position, &mut name, &mut value) != 0 {
        // What is read must be used, or the compiler could drop the reading.
        std::hint::black_box((text(name), text(value)));
    }
    std::hint::black_box((method, url, body, now));

    let floor = Bound::from_borrowed_ptr(Python::assume_attached(), slf);
    let floor = floor.cast_unchecked::<Floor>().get();
    let (mut stack, mut heap) = ([std::ptr::null_mut(); 32], Vec::new());
    let texts: &mut [*mut ffi::PyObject] = if floor.texts.len() <= stack.len() {
        &mut stack[..floor.texts.len()]
    } else {
        heap.resize(floor.texts.len(), std::ptr::null_mut());
        &mut heap
    };
    let mut made = true;
    for (slot, text) in texts.iter_mut().zip(&floor.texts) {
        *slot = new_text(text);
        made &= !slot.is_null();
    }
    let event = if made { build(&floor.shape, texts) } else { std::ptr::null_mut() };
    for text in texts.iter().filter(|text| !text.is_null()) {
        ffi::Py_DECREF(*text);
    }
    event
}

#[pymodule]
fn telhook_bench_python_floor(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add_class::<Floor>()?;
    let floor = py.get_type::<Floor>();
    let def = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"normalize".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunctionFast: normalize },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: std::ptr::null(),
    }));
    unsafe {
        let descriptor = Bound::from_owned_ptr_or_err(py, ffi::PyDescr_NewMethod(floor.as_type_ptr(), def))?;
        floor.setattr("normalize", descriptor)?;
    }
    Ok(())
}
